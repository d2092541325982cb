"""One DAG per flow of ``flows.yaml``: a task per step of the flow's plan (``flows.plan``)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSkipException,
    ObjectStoragePath,
)
from airflow.sdk import (
    DAG,
    Asset,
    AssetAny,
    AssetOrTimeSchedule,
    AssetWatcher,
    CronDataIntervalTimetable,
    Param,
    TaskGroup,
    get_current_context,
    task,
)

from ml_connector.errors import ConfigError, NothingChanged
from ml_connector.flows.closed import holds_back
from ml_connector.flows.organizations import Organization
from ml_connector.flows.plan import FlowPlan, Step, flow_plan
from ml_connector.flows.run import FlowRun, first_loads
from ml_connector.flows.spec import (
    PERIODS,
    SCHEDULES,
    Defaults,
    Flow,
    dag_id,
    list_flows,
    list_loads,
    load_valid_flows,
)
from ml_connector.flows.windows import one_month, parse_months
from ml_connector.hooks.clients import flow_clients
from ml_connector.hooks.state import state_store, state_url
from ml_connector.operators.anaplan_import import AnaplanImportOperator
from ml_connector.operators.extract_zoho import ExtractZohoOperator
from ml_connector.operators.failures import fail_fast
from ml_connector.operators.staging import staged_dir
from ml_connector.sensors.anaplan import AnaplanTaskSensor
from ml_connector.triggers.zoho import ZohoChangeTrigger
from ml_connector.window import Window
from ml_connector.zoho.entities import get_entity

log = logging.getLogger(__name__)


def _doc(flow: Flow) -> str:
    columns = "\n".join(f"- `{name}`: "
                        f"{col.model_dump(exclude_none=True, exclude_defaults=True, by_alias=True)}"
                        for name, col in flow.columns.items())
    credited = f" less `{flow.credits}`" if flow.credits else ""
    return (f"### {flow.id}\n{flow.description}\n\nZoho `{flow.entity}`{credited} "
            f"({flow.mode}, {flow.grain} grain, lines as {flow.lines}) into Anaplan import "
            f"`{flow.target.import_}`.\n\n{columns}\n")


def _params(flow: Flow, defaults: Defaults) -> dict[str, Param]:
    """A flow in mode period loads the month its data interval covers (a run at 1 February
    loads January), or the ``month`` it is given (Trigger DAG w/ config: ``{"month":
    "2026-02"}``); a ledger flow can load several ``months`` in one run (``{"months":
    "2026-01..2026-12"}``): each account is read once for all of them. Period and
    incremental documents flows take ``reopen`` (closed months); an aggregate flow's
    ``dry_run`` reads and builds, logs the cells the import would change and sends
    nothing; a period flow of several organizations reads only the ``organizations``
    given (those a run left out)."""
    params: dict[str, Param] = {}
    if flow.mode == "period" and flow.is_ledger:
        params["months"] = Param(None, type=["null", "string"], title="Months",
                                 description="Load these months in one run instead of the "
                                 "data interval's, e.g. 2026-01..2026-12 or 2026-01,2026-03: "
                                 "each account's postings are read once for all of them")
    elif flow.mode == "period":
        params["month"] = Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$",
                                title="Month", description="Load this month (yyyy-mm) "
                                "instead of the data interval's (a run at 1 February loads "
                                "January)")
    if flow.mode == "period" or flow.rebuilds_months or holds_back(flow):
        params["reopen"] = Param(False, type="boolean", title="Reopen closed months",
                                 description="Run a month that a Zoho transaction lock or "
                                 "closed_before has closed: re-read and rewrite it (period "
                                 "flows), or apply changes dated into it (incremental flows)")
    if flow.mode == "period" and flow.organizations_of(defaults):
        params["organizations"] = Param(
            None, type=["null", "string"], title="Organizations",
            description="Read only these organizations (entity codes, comma-separated, e.g. "
            "those a run left out): their cells are sent whole, the others' stay as they are")
    if flow.grain == "aggregate":
        params["dry_run"] = Param(False, type="boolean", title="Dry run",
                                  description="Read Zoho and build the file as a run would, "
                                  "log the cells the import would change (added, changed, "
                                  "zeroed) and end before the import: nothing is uploaded "
                                  "and no watermark moves")
    return params


def change_asset(entity: str, defaults: Defaults, org: Organization | None = None) -> Asset:
    """The asset of a module's changes in the organization of the Zoho connection (or
    ``org``, one of a flow's organizations), with the watcher that fires it
    (``defaults.changes``); one per module and organization, shared by every flow that
    reads it."""
    changes = defaults.changes
    conn = org.conn_id(defaults.zoho_conn_id) if org else defaults.zoho_conn_id
    wanted = org.wanted if org else None
    name = f"{conn}.{wanted}.{entity}" if wanted else f"{conn}.{entity}"
    watchers = [] if changes.source == "schedule" else [AssetWatcher(
        name=name, trigger=ZohoChangeTrigger(
            watcher=name, entities=[entity], source=changes.source,
            zoho_conn_id=conn, interval=changes.interval, settle=changes.settle_seconds,
            organization=wanted))]
    where = f"{conn}/{quote(wanted, safe='')}/{entity}" if wanted else f"{conn}/{entity}"
    return Asset(name=f"zoho_books.{name}", uri=f"zoho-books://{where}",
                 group="zoho-books", watchers=watchers)


def loaded_asset(flow_id: str) -> Asset:
    """The asset a flow updates each time its import succeeded (a list flow: its
    Anaplan list is loaded)."""
    return Asset(name=f"ml_connector.{flow_id}", uri=f"ml-connector://flows/{flow_id}",
                 group="anaplan")


def watched_modules(flow: Flow, lists: Mapping[str, list[str]]) -> list[str]:
    """The modules whose changes start a run of ``flow`` (``lists``: ``list_flows``): a
    list flow's own (when Zoho's changes to it can be watched), an incremental flow's
    change modules, none for the others."""
    if flow.id in lists.get(flow.entity, []):
        return [flow.entity] if get_entity(flow.entity).watched else []
    return flow.change_entities if flow.mode == "incremental" else []


def _schedule(flow: Flow, defaults: Defaults, lists: Mapping[str, list[str]],
              loads: Mapping[str, list[str]]) -> Any:
    """The cron schedule. A list flow also runs when its module changes; an
    incremental flow when the modules it reads change, and when a list flow has
    loaded a list it looks members up in or its ``list:`` columns hold (``loads``) (a run
    that waited for that list, or could not send records for want of a member, kept its
    watermark: they are sent then)."""
    cron = CronDataIntervalTimetable(SCHEDULES[flow.schedule], timezone="UTC")
    modules = watched_modules(flow, lists)
    if defaults.changes.source == "schedule" or not modules:
        return cron
    if flow.mode != "incremental":  # a list flow: reload when its module changes
        return AssetOrTimeSchedule(timetable=cron, assets=change_asset(modules[0], defaults))
    loaders = [d for e in sorted(flow.lookup_entities) for d in lists.get(e, [])]
    loaders += [d for name in sorted(flow.member_lists) for d in loads.get(name, [])]
    loaded = [loaded_asset(d) for d in dict.fromkeys(loaders)]
    orgs: list[Organization | None] = list(flow.organizations_of(defaults)) or [None]
    return AssetOrTimeSchedule(timetable=cron, assets=AssetAny(
        *(change_asset(e, defaults, o) for o in orgs for e in modules), *loaded))


def flow_run(flow: Flow, defaults: Defaults, lists: Mapping[str, list[str]],
             loads: Mapping[str, list[str]]) -> FlowRun:
    """The ``FlowRun`` of the running task's DAG run."""
    context = get_current_context()
    start: datetime | None = context.get("data_interval_start")
    end: datetime | None = context.get("data_interval_end")
    if (start is None or end is None) and flow.mode in ("incremental", "full"):
        # Started by changes (no data interval): it reads since its watermark, and reports
        # the schedule's period up to the run as its interval.
        end = context["dag_run"].run_after
        start = end - PERIODS[flow.schedule]
    if start is None or end is None:
        raise AirflowFailException(f"flow {flow.id}: a run needs a data interval")
    params = context.get("params") or {}
    months, month = params.get("months"), params.get("month")
    return FlowRun(
        flow, state_store(state_url()), run_id=context["run_id"],
        interval=one_month(month) if month else Window.of(start, end),
        months=parse_months(months) if months else None, lists=lists, loads=loads,
        defaults=defaults, reopen=bool(params.get("reopen")),
        dry_run=bool(params.get("dry_run")),
        only=[o.strip() for o in str(params["organizations"]).split(",") if o.strip()]
        if params.get("organizations") else None,
        out_dir=staged_dir(None, context), path_of=ObjectStoragePath,
        **flow_clients(flow, defaults))


@dataclass(frozen=True)
class Factory:
    """What every task of a flow's DAG is built from: the flow, its plan, the file's
    defaults and the list flows (``lists``: module -> the flows that load its list;
    ``loads``: Anaplan list -> the flows whose import writes it)."""

    flow: Flow
    plan: FlowPlan
    defaults: Defaults
    lists: Mapping[str, list[str]]
    loads: Mapping[str, list[str]]

    @cached_property
    def params(self) -> dict[str, Param]:
        """The DAG's params (a period flow's ``month``, a ledger flow's ``months``, an
        aggregate flow's ``dry_run``)."""
        return _params(self.flow, self.defaults)

    def organization(self, step: Step) -> Organization | None:
        """The organization whose unit of work ``step`` belongs to (None: the only one)."""
        return next((o for o in self.flow.organizations_of(self.defaults)
                     if o.entity == step.organization), None)

    def pool(self, step: Step) -> dict[str, Any]:
        pool = {"zoho": self.defaults.zoho_pool, "anaplan": self.defaults.anaplan_pool}.get(
            step.pool or "")
        return {"pool": pool.name} if pool else {}

    def task(self, step: Step, inputs: dict[str, Any]) -> Any:
        """``step`` as a task taking its inputs' manifests (XComs): an operator of the
        provider where Airflow runs the step its own way, else a Python task that builds
        the run's ``FlowRun`` and calls the step's method."""
        build = OPERATORS.get(step.method)
        if build is not None and (step.read is None or step.read.kind != "ledger"):
            return build(self, step, inputs)
        return self.python_task(step)(**inputs)

    def python_task(self, step: Step) -> Any:
        plan, flow, defaults = self.plan, self.flow, self.defaults
        lists, loads = self.lists, self.loads

        def run(**values: Any) -> dict[str, Any]:
            try:
                with fail_fast():
                    return plan.call(flow_run(flow, defaults, lists, loads), step,
                                     plan.load(step, values)).model_dump(mode="json")
            except NothingChanged as exc:  # nothing to send: the rest of the run is skipped
                raise AirflowSkipException(str(exc)) from None

        run.__doc__ = getattr(FlowRun, step.method).__doc__
        run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY, default=None)
             for p in step.inputs])  # its inputs only, not Airflow's context
        outlets = [loaded_asset(flow.id)] if step.announces else []
        return task(task_id=step.base, trigger_rule=step.trigger_rule, multiple_outputs=False,
                    outlets=outlets, **self.pool(step))(run)


def _read(factory: Factory, step: Step, inputs: dict[str, Any]) -> Any:
    assert step.read is not None
    month = {"month": "{{ params.month or '' }}"} if "month" in factory.params and \
        step.read.kind == "extract" else {}
    closed = {"closed_of": (factory.flow, factory.defaults),
              "reopen": "{{ params.reopen }}"} \
        if holds_back(factory.flow) and step.read.kind == "extract" else {}
    org = factory.organization(step)
    return ExtractZohoOperator.of_read(
        step.read.model_copy(update={"task_id": step.base}), windows=inputs.get("scope"),
        zoho_conn_id=org.conn_id(factory.defaults.zoho_conn_id) if org else
        factory.defaults.zoho_conn_id, organization=org.wanted if org else None,
        on_quota=factory.defaults.on_quota,
        requires=first_loads(factory.flow, factory.lists, factory.loads),
        **month, **closed, **factory.pool(step)).output


def _send(factory: Factory, step: Step, inputs: dict[str, Any]) -> Any:
    target = factory.flow.target
    return AnaplanImportOperator(
        task_id=step.name, import_id=target.import_, source=inputs["built"],
        anaplan_conn_id=factory.defaults.anaplan_conn_id, workspace_id=target.workspace_id,
        model_id=target.model_id, mapping_parameters=target.parameters() or None,
        **factory.pool(step)).output


def _wait(factory: Factory, step: Step, inputs: dict[str, Any]) -> Any:
    target = factory.flow.target
    return AnaplanTaskSensor(
        task_id=step.name, handoff=inputs["handoff"],
        anaplan_conn_id=factory.defaults.anaplan_conn_id, workspace_id=target.workspace_id,
        model_id=target.model_id, allow_rejected_rows=True, **factory.pool(step)).output


#: The steps Airflow runs through the provider's operators (a Zoho read waits for its quota
#: in the triggerer; the wait for Anaplan's task is deferred), by ``FlowRun`` method.
OPERATORS: dict[str, Callable[[Factory, Step, dict[str, Any]], Any]] = {
    "read": _read, "send": _send, "wait": _wait}


def flow_dag(flow: Flow, defaults: Defaults, lists: Mapping[str, list[str]] | None = None,
             loads: Mapping[str, list[str]] | None = None) -> DAG:
    """The DAG of one flow, its id ``zoho_<flow id>``: a task per step of its plan
    (``lists``, ``loads``: as ``Factory`` takes them)."""
    plan = flow_plan(flow, defaults)
    factory = Factory(flow, plan, defaults, lists or {}, loads or {})
    with DAG(
        dag_id=dag_id(flow.id),
        description=flow.description or f"Zoho {flow.entity} to Anaplan {flow.target.import_}",
        schedule=_schedule(flow, defaults, factory.lists, factory.loads),
        start_date=datetime.combine(defaults.start_date, datetime.min.time(), timezone.utc),
        catchup=False,
        max_active_runs=1,
        tags=["ml-connector", "zoho-books", "anaplan", flow.entity],
        doc_md=_doc(flow),
        default_args={"owner": defaults.owner, "retries": defaults.retries,
                      "retry_delay": timedelta(minutes=2)},
        params=factory.params,
    ) as dag:
        outputs: dict[str, Any] = {}  # step -> its manifest (an XComArg)
        groups: dict[str, TaskGroup] = {}  # an organization's unit of work
        for step in plan:
            inputs = {param: outputs[source] if isinstance(source, str) else
                      {key: outputs[name] for key, name in source.items()}
                      for param, source in step.inputs.items()}
            group = step.group
            if group is not None and group not in groups:
                org = factory.organization(step)
                groups[group] = TaskGroup(group, tooltip=f"Organization {step.organization}"
                                          + (f" ({org.wanted})" if org and org.wanted else ""))
            with groups[group] if group is not None else nullcontext():
                outputs[step.name] = factory.task(step, inputs)
            for name in step.after:
                dag.get_task(name) >> dag.get_task(step.name)
    return dag


def build_dags(path: str | Path) -> dict[str, DAG]:
    """The enabled, valid flows of a ``flows.yaml`` as DAGs, by dag id; an invalid flow is
    left out (``check_flows`` reports it) and the others keep their DAGs."""
    spec, problems = load_valid_flows(path)
    for problem in problems:
        log.warning("%s", problem)
    enabled = [f for f in spec.flows if f.enabled]
    lists, loads = list_flows(enabled), list_loads(enabled)
    return {dag_id(f.id): flow_dag(f, spec.defaults, lists, loads) for f in enabled}


def check_flows(path: str | Path) -> None:
    """Raise a ``ConfigError`` naming every invalid flow of a ``flows.yaml`` (flow, key and
    value): a DAG file that calls it shows them as an Airflow import error."""
    _, problems = load_valid_flows(path)
    if problems:
        raise ConfigError(f"{len(problems)} flow(s) of {Path(path).name} are invalid and have "
                          "no DAG until fixed (the other flows run as usual):\n  "
                          + "\n  ".join(problems))
