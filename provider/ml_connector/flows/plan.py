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
from ml_connector.state.anaplan_requests import AnaplanRequests
from ml_connector.zoho.extract import ExtractManifest

#: Where a step's input comes from: a step's name, or key -> step name (lookups by module).
Source = str | Mapping[str, str]
Pool = Literal["zoho", "anaplan"]
TriggerRule = Literal["all_success", "none_skipped"]


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
        method = getattr(run, step.method)
        before = run.anaplan_requests
        try:
            result: BaseModel = (method(step.read, **inputs) if step.read is not None
                                 else method(**inputs))
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
    aligns, plan against actual."""
    steps: list[Step] = []
    lookups: dict[str, str] = {}
    scope: dict[str, Source] = {}
    checked: tuple[str, ...] = ()
    swept: tuple[str, ...] = ()
    if flow.mode == "period":  # a closed month is refused before anything is read
        steps.append(Step("closed", "closed", Closed, pool="zoho"))
        checked = ("closed",)
    for read in flow_reads(flow, defaults):
        inputs: dict[str, Source] = {}
        if read.rebuilds:
            inputs.update(scope)
            if read.kind == "ledger":
                inputs["lookups"] = lookups
        steps.append(Step(read.task_id, "read", ExtractManifest, inputs, after=checked,
                          pool="zoho", read=read))
        if read.kind == "lookup":
            lookups[read.entities[0]] = read.task_id
        if sweeps_after(flow, read):  # the deletes are known before months or rows are
            steps.append(Step("sweep", "sweep", SweepResult, {"changes": read.task_id},
                              pool="zoho"))
            swept = ("sweep",)
        if read.kind == "changes":
            steps.append(Step("scope", "scope", Scope, {"changes": read.task_id}, after=swept))
            scope = {"scope": "scope"}
    changes = "changes" if flow.rebuilds_months else "extract"
    steps.append(Step("build", "build", BuildManifest,
                      {"extract": "extract", "lookups": lookups, **scope},
                      after=() if scope else swept,
                      pool="anaplan" if export_maps(flow) else None))  # a crosswalk export
    checked = ()
    if flow.member_lists:  # the import runs only once every member is known
        steps.append(Step("check_members", "check_members", MemberCheck, {"built": "build"},
                          pool="anaplan"))
        checked = ("check_members",)
    planned: tuple[str, ...] = ()
    if flow.grain == "aggregate":  # a dry run ends here, saying what the import would change
        steps.append(Step("dry_run", "plan_changes", Preview, {"built": "build", **scope},
                          after=checked, pool="anaplan" if flow.verify is not None else None))
        planned = ("dry_run",)
    steps += [
        Step("import", "send", Handoff, {"built": "build"},
             after=(*lookups.values(), *checked, *planned), pool="anaplan"),
        Step("wait", "wait", TaskStatus, {"handoff": "import"}, pool="anaplan"),
    ]
    verified: dict[str, Source] = {}
    if flow.verify is not None or flow.crosscheck is not None:
        # A cross-check alone reads the state store only: no Anaplan pool slot.
        steps.append(Step("verify", "verify", Verification,
                          {"extract": "extract", "built": "build", "handoff": "import",
                           **scope}, after=("wait",),
                          pool="anaplan" if flow.verify is not None else None))
        verified = {"verified": "verify"}
    elif flow.loads is not None:  # a list flow reads its list back
        steps.append(Step("verify", "verify_list", ListCheck,
                          {"extract": "extract", "built": "build"}, after=("wait",),
                          pool="anaplan"))
        verified = {"listed": "verify"}
    # Reconcile takes a manifest of each step it follows: a step that failed leaves it one
    # short, and it fails the run after recording what happened. Without the wait's or
    # verify's it still judges the import (it reads the task itself): its failure is the
    # run's.
    steps.append(Step("reconcile", "reconcile", RunSummary,
                      {"changes": changes, "built": "build", "handoff": "import",
                       "waited": "wait", **scope, **verified},
                      trigger_rule="none_skipped",
                      optional=("waited", "verified", "listed"),
                      announces=True))
    if flow.align is not None:  # plan against actual, once the data is in and verified
        steps.append(Step("align", "align", Aligned, {"built": "build", "summary": "reconcile"},
                          pool="anaplan"))
    return FlowPlan(flow, tuple(steps))
