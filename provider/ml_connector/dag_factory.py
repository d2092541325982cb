"""One DAG per flow of ``flows.yaml``: extract -> build -> import -> wait -> reconcile."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

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
    get_current_context,
    task,
)
from pydantic import BaseModel

from ml_connector.anaplan.handoff import Handoff
from ml_connector.errors import ConfigError, NothingChanged
from ml_connector.flows.run import BuildManifest, FlowRun, Scope, first_loads, flow_reads
from ml_connector.flows.spec import PERIODS, SCHEDULES, Defaults, Flow, load_valid_flows
from ml_connector.flows.verify import Verification
from ml_connector.flows.windows import parse_months
from ml_connector.hooks.anaplan import AnaplanHook
from ml_connector.hooks.state import state_store, state_url
from ml_connector.hooks.zoho_books import ZohoBooksHook
from ml_connector.operators.anaplan_import import AnaplanImportOperator
from ml_connector.operators.extract_zoho import ExtractZohoOperator
from ml_connector.operators.failures import fail_fast
from ml_connector.operators.staging import staged_path
from ml_connector.sensors.anaplan import AnaplanTaskSensor
from ml_connector.triggers.zoho import ZohoChangeTrigger
from ml_connector.zoho.extract import ExtractManifest

log = logging.getLogger(__name__)


def _doc(flow: Flow) -> str:
    columns = "\n".join(f"- `{name}`: {col.model_dump(exclude_none=True, exclude_defaults=True)}"
                        for name, col in flow.columns.items())
    credited = f" less `{flow.credits}`" if flow.credits else ""
    return (f"### {flow.id}\n{flow.description}\n\nZoho `{flow.entity}`{credited} "
            f"({flow.mode}, {flow.grain} grain, lines as {flow.lines}) into Anaplan import "
            f"`{flow.target.import_}`.\n\n{columns}\n")


def _params(flow: Flow) -> dict[str, Param]:
    """A ledger flow in mode period can load several months in one run (Trigger DAG w/
    config: ``{"months": "2026-01..2026-12"}``): each account is read once for all of them."""
    if not (flow.is_ledger and flow.mode == "period"):
        return {}
    return {"months": Param(None, type=["null", "string"], title="Months",
                            description="Load these months in one run instead of the data "
                            "interval's, e.g. 2026-01..2026-12 or 2026-01,2026-03: each "
                            "account's postings are read once for all of them")}


def change_asset(entity: str, defaults: Defaults) -> Asset:
    """The asset of a module's changes in the organization of the Zoho connection, with
    the watcher that fires it (``defaults.changes``); one per module and connection, shared
    by every flow that reads the module."""
    changes = defaults.changes
    conn = defaults.zoho_conn_id
    watchers = [] if changes.source == "schedule" else [AssetWatcher(
        name=f"{conn}.{entity}", trigger=ZohoChangeTrigger(
            watcher=f"{conn}.{entity}", entities=[entity], source=changes.source,
            zoho_conn_id=conn, interval=changes.interval, settle=changes.settle_seconds))]
    return Asset(name=f"zoho_books.{conn}.{entity}", uri=f"zoho-books://{conn}/{entity}",
                 group="zoho-books", watchers=watchers)


def loaded_asset(flow_id: str) -> Asset:
    """The asset a flow updates each time its import succeeded (a dimension flow: its
    Anaplan list is loaded)."""
    return Asset(name=f"ml_connector.{flow_id}", uri=f"ml-connector://flows/{flow_id}",
                 group="anaplan")


def dimensions(flows: list[Flow]) -> dict[str, list[str]]:
    """Module -> the flows that load it whole into an Anaplan list (mode full)."""
    found: dict[str, list[str]] = {}
    for flow in flows:
        if flow.mode == "full" and flow.grain == "record" and not flow.is_ledger:
            found.setdefault(flow.entity, []).append(flow.id)
    return found


def watched_modules(flow: Flow, lists: dict[str, list[str]]) -> list[str]:
    """The modules whose changes start a run of ``flow`` (``lists``: ``dimensions``): a
    dimension flow's own, an incremental flow's change modules, none for the others."""
    if flow.id in lists.get(flow.entity, []):
        return [flow.entity]
    return flow.change_entities if flow.mode == "incremental" else []


def _schedule(flow: Flow, defaults: Defaults, lists: dict[str, list[str]]) -> Any:
    """The cron schedule. A dimension flow also runs when its module changes; an
    incremental flow when the modules it reads change, and when a dimension flow has
    loaded a list it looks members up in (a run that waited for that list, or could not
    send records for want of a member, kept its watermark: they are sent then)."""
    cron = CronDataIntervalTimetable(SCHEDULES[flow.schedule], timezone="UTC")
    modules = watched_modules(flow, lists)
    if defaults.changes.source == "schedule" or not modules:
        return cron
    if flow.mode != "incremental":  # a dimension flow: reload when its module changes
        return AssetOrTimeSchedule(timetable=cron, assets=change_asset(modules[0], defaults))
    loaded = [loaded_asset(d) for e in sorted(flow.lookup_entities) for d in lists.get(e, [])]
    return AssetOrTimeSchedule(timetable=cron, assets=AssetAny(
        *(change_asset(e, defaults) for e in modules), *loaded))


def flow_run(flow: Flow, defaults: Defaults,
             lists: dict[str, list[str]] | None = None) -> FlowRun:
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
    target = flow.target
    months = (context.get("params") or {}).get("months")
    return FlowRun(
        flow, state_store(state_url()), run_id=context["run_id"],
        interval=(start.isoformat(), end.isoformat()),
        months=parse_months(months) if months else None, lists=lists or {},
        out_dir=staged_path(None, context, "x").parent, path_of=ObjectStoragePath,
        zoho=lambda: ZohoBooksHook(defaults.zoho_conn_id).client,
        anaplan=lambda: AnaplanHook(defaults.anaplan_conn_id, target.workspace_id,
                                    target.model_id).client)


def step(call: Callable[[], BaseModel]) -> dict[str, Any]:
    """Run a flow step; its manifest's JSON is the task's XCom. A run with nothing to send
    is skipped; a failure that would repeat fails at once, without retries."""
    try:
        with fail_fast():
            return call().model_dump(mode="json")
    except NothingChanged as exc:
        raise AirflowSkipException(str(exc)) from None


def flow_dag(flow: Flow, defaults: Defaults, lists: dict[str, list[str]] | None = None) -> DAG:
    """The DAG of one flow; its id is ``zoho_<flow id>``.

    Incremental aggregate flows first read what changed (``changes``), then re-extract every
    month those records touch (``scope`` -> ``extract``), so each cell sent is whole.
    """
    zoho: dict[str, Any] = {"pool": defaults.zoho_pool.name} if defaults.zoho_pool else {}
    anaplan: dict[str, Any] = {"pool": defaults.anaplan_pool.name} if defaults.anaplan_pool \
        else {}
    with DAG(
        dag_id=f"zoho_{flow.id}",
        description=flow.description or f"Zoho {flow.entity} to Anaplan {flow.target.import_}",
        schedule=_schedule(flow, defaults, lists or {}),
        start_date=datetime.combine(defaults.start_date, datetime.min.time(), timezone.utc),
        catchup=False,
        max_active_runs=1,
        tags=["ml-connector", "zoho-books", "anaplan", flow.entity],
        doc_md=_doc(flow),
        default_args={"owner": defaults.owner, "retries": defaults.retries,
                      "retry_delay": timedelta(minutes=2)},
        params=_params(flow),
    ) as dag:
        scoped: Any = None

        plan = flow_reads(flow, defaults)

        @task(task_id="extract", multiple_outputs=False, **zoho)
        def ledger_task(lookups: Any, scope: Any) -> dict:
            """The postings of a ledger flow's accounts for the run's months."""
            read = next(r for r in plan if r.kind == "ledger")
            return step(lambda: flow_run(flow, defaults, lists).extract(
                read, {e: ExtractManifest.model_validate(m) for e, m in lookups.items()},
                Scope.model_validate(scope) if scope is not None else None))

        @task(task_id="scope", multiple_outputs=False)
        def scope(changes: Any) -> dict:
            return step(lambda: flow_run(flow, defaults, lists).scope(
                ExtractManifest.model_validate(changes)))

        outputs: dict[str, Any] = {}  # task id -> its manifest (XCom)
        lookups: dict[str, Any] = {}  # entity -> its lookup read's manifest
        for read in plan:
            if read.kind in ("extract", "ledger") and flow.rebuilds_months:
                scoped = scope(outputs["changes"])
            if read.kind == "ledger":
                outputs[read.task_id] = ledger_task(lookups, scoped)
                continue
            outputs[read.task_id] = ExtractZohoOperator(
                task_id=read.task_id, entity=read.entities[0], with_entities=read.entities[1:],
                mode=read.mode, line_items=read.line_items, watermark_key=read.watermark_key,
                overlap=read.overlap, windows=scoped if read.kind == "extract" else None,
                reuse_within=timedelta(hours=read.reuse_hours) if read.reuse_hours else None,
                zoho_conn_id=defaults.zoho_conn_id, on_quota=defaults.on_quota,
                requires=first_loads(flow, lists or {}), **zoho).output
            if read.kind == "lookup":
                lookups[read.entities[0]] = outputs[read.task_id]
        extract = outputs["extract"]
        changes = outputs.get("changes", extract)

        @task(task_id="build", multiple_outputs=False)
        def build(extract: Any, lookups: Any, scope: Any) -> dict:
            return step(lambda: flow_run(flow, defaults, lists).build(
                ExtractManifest.model_validate(extract),
                {e: ExtractManifest.model_validate(m) for e, m in lookups.items()},
                Scope.model_validate(scope) if scope is not None else None))

        built = build(extract, lookups, scoped)
        params = [{"entityType": k, "entityName": v}
                  for k, v in flow.target.mapping_parameters.items()]
        start = AnaplanImportOperator(
            task_id="import", import_id=flow.target.import_, source=built,
            anaplan_conn_id=defaults.anaplan_conn_id, workspace_id=flow.target.workspace_id,
            model_id=flow.target.model_id, mapping_parameters=params or None, **anaplan,
        )
        wait = AnaplanTaskSensor(
            task_id="wait", handoff=start.output,
            anaplan_conn_id=defaults.anaplan_conn_id, workspace_id=flow.target.workspace_id,
            model_id=flow.target.model_id, allow_rejected_rows=True, **anaplan,
        )

        @task(task_id="verify", multiple_outputs=False, **anaplan)
        def verify(extract: Any, built: Any, handoff: Any, scope: Any) -> dict:
            """The run's months read back out of Anaplan and compared (never retried: a
            difference is reported by reconcile, after the audit)."""
            return step(lambda: flow_run(flow, defaults, lists).verify(
                ExtractManifest.model_validate(extract), BuildManifest.model_validate(built),
                Handoff.model_validate(handoff),
                Scope.model_validate(scope) if scope is not None else None))

        # After a failure too (it audits what failed), never after a skip: a run that had
        # nothing to send, or waits for a dimension flow, has nothing to reconcile.
        @task(task_id="reconcile", trigger_rule="none_skipped", multiple_outputs=False,
              outlets=[loaded_asset(flow.id)])
        def reconcile(changes: Any, built: Any, handoff: Any, scope: Any,
                      verified: Any = None) -> dict:
            return step(lambda: flow_run(flow, defaults, lists).reconcile(
                ExtractManifest.model_validate(changes) if changes else None,
                BuildManifest.model_validate(built) if built else None,
                Handoff.model_validate(handoff) if handoff else None,
                Scope.model_validate(scope) if scope is not None else None,
                Verification.model_validate(verified) if verified else None))

        [*lookups.values()] >> start
        if flow.verify is not None:
            checked = verify(extract, built, start.output, scoped)
            wait >> checked
            reconcile(changes, built, start.output, scoped, checked)
        else:
            wait >> reconcile(changes, built, start.output, scoped)
    return dag


def build_dags(path: str | Path) -> dict[str, DAG]:
    """The enabled, valid flows of a ``flows.yaml`` as DAGs, by dag id; an invalid flow is
    left out (``check_flows`` reports it) and the others keep their DAGs."""
    spec, problems = load_valid_flows(path)
    for problem in problems:
        log.warning("%s", problem)
    enabled = [f for f in spec.flows if f.enabled]
    lists = dimensions(enabled)
    return {f"zoho_{f.id}": flow_dag(f, spec.defaults, lists) for f in enabled}


def check_flows(path: str | Path) -> None:
    """Raise a ``ConfigError`` naming every invalid flow of a ``flows.yaml`` (flow, key and
    value): a DAG file that calls it shows them as an Airflow import error."""
    _, problems = load_valid_flows(path)
    if problems:
        raise ConfigError(f"{len(problems)} flow(s) of {Path(path).name} are invalid and have "
                          "no DAG until fixed (the other flows run as usual):\n  "
                          + "\n  ".join(problems))
