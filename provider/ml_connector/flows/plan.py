"""A flow's steps, described once (``FlowPlan``): the DAG factory turns each step into a
task, the local runner calls them in order in one process. A step names the ``FlowRun``
method that runs it, the manifests it takes (by the steps that return them) and the one
it returns; adding a step to every flow is one entry here and one method there."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from ml_connector.anaplan.handoff import Handoff
from ml_connector.anaplan.tasks import TaskStatus
from ml_connector.errors import ConfigError, NothingChanged
from ml_connector.flows.closed import Closed
from ml_connector.flows.deletes import SweepResult
from ml_connector.flows.listtext import ListCheck
from ml_connector.flows.member_maps import export_maps
from ml_connector.flows.members import MemberCheck
from ml_connector.flows.plan_actual import Aligned
from ml_connector.flows.preview import Preview
from ml_connector.flows.reads import Read, flow_reads
from ml_connector.flows.run import BuildManifest, FlowRun, RunSummary, Scope
from ml_connector.flows.spec import Defaults, Flow, dag_id
from ml_connector.flows.verify import Verification
from ml_connector.fx.rates import Rates
from ml_connector.state.anaplan_requests import AnaplanRequests
from ml_connector.state.units import UnitOutcomes
from ml_connector.zoho.extract import ExtractManifest

#: Where a step's input comes from: a step's name, or key -> step name (lookups by module).
Source = str | Mapping[str, str]
Pool = Literal["zoho", "anaplan"]
TriggerRule = Literal["all_success", "none_skipped", "all_done"]


@dataclass(frozen=True)
class Step:
    """One step of a flow run.

    ``method``: the ``FlowRun`` method that runs it (a Zoho ``read`` is given its ``Read``
    first); ``inputs``: its parameters, each the manifest of a step; ``after``: steps it
    waits for without taking their manifest; ``pool``: the service whose Airflow pool it
    runs in; ``trigger_rule``: Airflow's (``none_skipped`` runs after a failure too, to
    record it, then fails: the run's state is its own); ``optional``: inputs it runs well
    without (a failure without the others follows from theirs); ``announces``: its success
    means the flow's data reached Anaplan."""

    name: str
    method: str
    returns: type[BaseModel]
    inputs: Mapping[str, Source] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    pool: Pool | None = None
    trigger_rule: TriggerRule = "all_success"
    read: Read | None = None
    optional: tuple[str, ...] = ()
    announces: bool = False
    #: The organization (its entity key) whose unit of work the step belongs to: its task
    #: group; its name is ``<group>.<base>``.
    organization: str | None = None

    @property
    def group(self) -> str | None:
        return self.name.split(".", 1)[0] if self.organization is not None else None

    @property
    def base(self) -> str:
        """The step's name within its organization's group."""
        return self.name.split(".", 1)[1] if self.organization is not None else self.name

    def upstream(self) -> list[str]:
        """The steps this one runs after: those it takes manifests of, then ``after``."""
        names: list[str] = []
        for source in self.inputs.values():
            names += [source] if isinstance(source, str) else list(source.values())
        return list(dict.fromkeys([*names, *self.after]))


@dataclass(frozen=True)
class FlowPlan:
    """The steps of ``flow``'s runs, in an order that has every step after its upstream."""

    flow: Flow
    steps: tuple[Step, ...]

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def load(self, step: Step, values: Mapping[str, Any]) -> dict[str, Any]:
        """``step``'s inputs from their JSON (an XCom), each validated as the type its step
        returns; a missing one (a step that failed or was skipped) stays ``None``."""
        def typed(name: str, value: Any) -> Any:
            if value is None or isinstance(value, BaseModel):
                return value
            return self.step(name).returns.model_validate(value)

        loaded: dict[str, Any] = {}
        for param, source in step.inputs.items():
            value = values.get(param)
            if isinstance(source, str):
                loaded[param] = typed(source, value)
            else:
                loaded[param] = {key: typed(name, (value or {}).get(key))
                                 for key, name in source.items()}
        return loaded

    def call(self, run: FlowRun, step: Step, inputs: Mapping[str, Any]) -> BaseModel:
        """Run ``step`` of ``run`` on its (typed) ``inputs``; returns its manifest. The
        Anaplan requests it made are counted for the run's task, failed or not."""
        before = run.anaplan_requests
        try:
            if (why := run.left_out(step.organization)) is not None:
                raise NothingChanged(why)
            method = getattr(run.unit(step.organization), step.method)
            result: BaseModel = (method(step.read, **inputs) if step.read is not None
                                 else method(**inputs))
        except Exception as exc:
            if step.organization is not None:  # combine names why it has no file
                UnitOutcomes(run.store).record(
                    dag_id(self.flow.id), run.run_id, step.organization,
                    "skipped" if isinstance(exc, NothingChanged) else "failed",
                    f"{step.name}: {exc}")
            raise
        finally:
            AnaplanRequests(run.store).add(dag_id(self.flow.id), run.run_id, step.name,
                                           run.anaplan_requests - before)
        return result


def sweeps_after(flow: Flow, read: Read) -> bool:
    """Whether ``flow``'s id sweep (``sweep``) follows ``read``: its read of what changed
    since the watermark (``changes``; a record-grain flow's ``extract``)."""
    return flow.sweep is not None and (
        read.kind == "changes" or (read.kind == "extract" and flow.remembers_lines))


def flow_plan(flow: Flow, defaults: Defaults) -> FlowPlan:
    """The steps of ``flow``: for a period flow the check that its months are not closed,
    its Zoho reads (lookup lists; for an incremental aggregate
    flow the changes and the months they touch; the id sweep after the read of changes of
    a flow with ``sweep``), build, the member check (when the flow has
    ``list:`` columns), for an aggregate flow the dry run's plan of what would change,
    import, wait, verify (when the flow verifies or cross-checks its
    cells, or a list flow reads back the list it ``loads``), reconcile and, for a flow that
    aligns, plan against actual. A flow of several organizations has the steps up to the
    build once per organization (a task group each), then ``combine`` joins their files."""
    steps: list[Step] = []
    organizations = flow.organizations_of(defaults)
    if flow.entity_column and not organizations:
        raise ConfigError(f"flow {flow.id}: column {flow.entity_column!r} holds the Entity "
                          "member of an organization: name them under organizations (the "
                          "flow's or the file's defaults)")
    pool: dict[str, Pool | None] = {"zoho": "zoho", "anaplan": "anaplan", "csv": None}
    fx = flow.fx_of(defaults)
    if flow.translated and fx is None:
        raise ConfigError(f"flow {flow.id}: column(s) {', '.join(flow.translated)} are "
                          "translated: say where the rates come from with fx: (the flow's or "
                          "the file's defaults)")
    entities = [o.entity for o in organizations]
    if flow.translated and fx is not None and fx.source == "zoho" and organizations and \
            fx.organization not in entities:
        raise ConfigError(f"flow {flow.id}: fx.organization must name the organization whose "
                          "Zoho Books base currency is the group currency, one of "
                          f"{', '.join(entities)} (got {fx.organization!r})")
    builds: list[Step] = []
    keys: list[str | None] = [*entities] or [None]  # None: the connection's one
    for key in keys:
        reads, build = _zoho_steps(flow, defaults, key, flow.translated)
        steps += reads
        builds.append(build)
    if flow.translated:  # read once, before every build
        rated: dict[str, Source] = _scope(steps)
        if organizations and flow.rebuilds_months:
            rated = {"scopes": {o.entity: f"{o.group}.scope" for o in organizations}}
        # Of several organizations, it runs whatever became of each one's scope.
        steps.append(Step("rates", "rates", Rates, rated,
                          trigger_rule="all_done" if organizations else "all_success",
                          optional=("scopes",) if organizations else (),
                          pool=pool[fx.source] if fx else None))
    steps += builds
    if not organizations:
        built, lookups, scope = "build", _lookups(steps), _scope(steps)
    else:
        units = {o.entity: f"{o.group}.build" for o in organizations}
        read = "changes" if flow.rebuilds_months else "extract"
        changed = {"changes": {o.entity: f"{o.group}.{read}" for o in organizations}} \
            if flow.mode == "incremental" else {}
        steps.append(Step("combine", "combine", BuildManifest, {"parts": units, **changed},
                          trigger_rule="all_done", optional=("parts", "changes")))
        built, lookups, scope = "combine", {}, {}
    steps += _anaplan_steps(flow, built, lookups, scope)
    return FlowPlan(flow, tuple(steps))


def _lookups(steps: list[Step]) -> dict[str, str]:
    return {s.read.entities[0]: s.name for s in steps
            if s.read is not None and s.read.kind == "lookup"}


def _scope(steps: list[Step]) -> dict[str, Source]:
    return {"scope": "scope"} if any(s.name == "scope" for s in steps) else {}


def _zoho_steps(flow: Flow, defaults: Defaults, organization: str | None,
                rated: list[str]) -> tuple[list[Step], Step]:
    """The steps that read one organization, and the build of its file: the closed-month
    check of a period flow, the reads (the id sweep and the scope after the read of
    changes); the build takes the ``rates`` step's when columns are translated
    (``rated``). ``organization``: its entity key (its steps named ``<group>.<step>``), or
    None for the connection's one organization."""
    prefix = f"{organization.lower()}." if organization is not None else ""

    def step(name: str, method: str, returns: type[BaseModel],
             inputs: Mapping[str, Source] | None = None, **options: Any) -> Step:
        named = {k: (v if k == "rates" else prefix + v if isinstance(v, str)
                     else {e: prefix + n for e, n in v.items()})
                 for k, v in (inputs or {}).items()}
        options["after"] = tuple(prefix + a for a in options.get("after", ()))
        return Step(prefix + name, method, returns, named, organization=organization,
                    **options)

    steps: list[Step] = []
    lookups: dict[str, str] = {}
    scope: dict[str, Source] = {}
    checked: tuple[str, ...] = ()
    swept: tuple[str, ...] = ()
    if flow.mode == "period":  # a closed month is refused before anything is read
        steps.append(step("closed", "closed", Closed, pool="zoho"))
        checked = ("closed",)
    for read in flow_reads(flow, defaults):
        inputs: dict[str, Source] = {}
        if read.rebuilds:
            inputs.update(scope)
            if read.kind == "ledger":
                inputs["lookups"] = lookups
                if scope:  # what changed says whether another run's read still holds
                    inputs["changes"] = "changes"
        if organization is not None:
            read = read.model_copy(update={"task_id": prefix + read.task_id,
                                           "organization": organization})
        steps.append(step(read.task_id.removeprefix(prefix), "read", ExtractManifest, inputs,
                          after=checked, pool="zoho", read=read))
        if read.kind == "lookup":
            lookups[read.entities[0]] = read.task_id.removeprefix(prefix)
        if sweeps_after(flow, read):  # the deletes are known before months or rows are
            steps.append(step("sweep", "sweep", SweepResult, {"changes": "changes"
                                                              if read.kind == "changes"
                                                              else "extract"}, pool="zoho"))
            swept = ("sweep",)
        if read.kind == "changes":
            steps.append(step("scope", "scope", Scope, {"changes": "changes"}, after=swept))
            scope = {"scope": "scope"}
    build = step("build", "build", BuildManifest,
                 {"extract": "extract", "lookups": lookups, **scope,
                  **({"rates": "rates"} if rated else {})},
                 after=() if scope else swept,
                 pool="anaplan" if export_maps(flow) else None)  # a crosswalk export
    return steps, build


def _anaplan_steps(flow: Flow, built: str, lookups: Mapping[str, str],
                   scope: Mapping[str, Source]) -> list[Step]:
    """The steps after the build(s): member check, dry run, import, wait, verify,
    reconcile, align; ``built`` names the step whose file is imported."""
    steps: list[Step] = []
    changes = "changes" if flow.rebuilds_months else "extract"
    single = built == "build"
    checked: tuple[str, ...] = ()
    if flow.member_lists:  # the import runs only once every member is known
        steps.append(Step("check_members", "check_members", MemberCheck, {"built": built},
                          pool="anaplan"))
        checked = ("check_members",)
    planned: tuple[str, ...] = ()
    if flow.grain == "aggregate":  # a dry run ends here, saying what the import would change
        steps.append(Step("dry_run", "plan_changes", Preview, {"built": built, **scope},
                          after=checked, pool="anaplan" if flow.verify is not None else None))
        planned = ("dry_run",)
    steps += [
        Step("import", "send", Handoff, {"built": built},
             after=(*lookups.values(), *checked, *planned), pool="anaplan"),
        Step("wait", "wait", TaskStatus, {"handoff": "import"}, pool="anaplan"),
    ]
    verified: dict[str, Source] = {}
    if flow.verify is not None or flow.crosscheck is not None:
        # A cross-check alone reads the state store only: no Anaplan pool slot.
        steps.append(Step("verify", "verify", Verification,
                          {**({"extract": "extract"} if single else {}), "built": built,
                           "handoff": "import", **scope}, after=("wait",),
                          pool="anaplan" if flow.verify is not None else None))
        verified = {"verified": "verify"}
    elif flow.loads is not None:  # a list flow reads its list back
        steps.append(Step("verify", "verify_list", ListCheck,
                          {"extract": "extract", "built": built}, after=("wait",),
                          pool="anaplan"))
        verified = {"listed": "verify"}
    # Reconcile takes a manifest of each step it follows: a step that failed leaves it one
    # short, and it fails the run after recording what happened. Without the wait's or
    # verify's it still judges the import (it reads the task itself): its failure is the
    # run's.
    steps.append(Step("reconcile", "reconcile", RunSummary,
                      {**({"changes": changes} if single else {}), "built": built,
                       "handoff": "import", "waited": "wait", **scope, **verified},
                      trigger_rule="none_skipped",
                      optional=("waited", "verified", "listed"),
                      announces=True))
    if flow.align is not None:  # plan against actual, once the data is in and verified
        steps.append(Step("align", "align", Aligned, {"built": built, "summary": "reconcile"},
                          pool="anaplan"))
    return steps
