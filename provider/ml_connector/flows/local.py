"""A flow run in one process: the steps of its plan (``flows.plan``) called in order, with
Airflow's trigger rules, for tests, the request budget, ``ml-connector reconcile`` and a run
outside Airflow."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel

from ml_connector.anaplan.handoff import Lock
from ml_connector.errors import NothingChanged
from ml_connector.flows.plan import FlowPlan, Source, flow_plan
from ml_connector.flows.preview import Planned
from ml_connector.flows.run import FlowRun, RunSummary
from ml_connector.flows.spec import Defaults

log = logging.getLogger(__name__)


@dataclass
class Walked:
    """What a walk left: each step's manifest (a dry run's ``dry_run`` step too, though it
    skips the rest), the steps skipped (why), the exceptions of
    those that failed, the steps not run because an upstream failed, and the steps that
    ran without a manifest they need (their failure follows from an upstream's)."""

    outputs: dict[str, BaseModel] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, Exception] = field(default_factory=dict)
    upstream_failed: set[str] = field(default_factory=set)
    partial: set[str] = field(default_factory=set)

    def verdict(self) -> Exception | None:
        """The failure a run ends with: the last of a step that had all its inputs (a
        reconcile that judged the import), else the first."""
        whole = [exc for name, exc in self.failed.items() if name not in self.partial]
        return whole[-1] if whole else next(iter(self.failed.values()), None)


def walk(run: FlowRun, plan: FlowPlan, *, through: str | None = None) -> Walked:
    """Call ``plan``'s steps on ``run`` in order, up to and including ``through``. A step
    after a skipped one is skipped; after a failed one it runs only when its trigger rule
    is ``none_skipped``, as in the DAG. Every Zoho read goes through one client."""
    done = Walked()
    with run.one_zoho_client():
        for step in plan:
            upstream = step.upstream()
            if step.trigger_rule != "all_done" and any(name in done.skipped
                                                        for name in upstream):
                done.skipped[step.name] = "an upstream step was skipped"
            elif step.trigger_rule == "all_success" and any(
                    name in done.failed or name in done.upstream_failed for name in upstream):
                done.upstream_failed.add(step.name)
            else:
                inputs = plan.load(step, {param: _output(done, source)
                                          for param, source in step.inputs.items()})
                if any(inputs[param] is None for param in step.inputs
                       if param not in step.optional):
                    done.partial.add(step.name)
                try:
                    done.outputs[step.name] = plan.call(run, step, inputs)
                except NothingChanged as exc:  # the DAG skips the rest of the run
                    said = str(exc)
                    log.info("%s", said if said.endswith("nothing sent") else
                             f"{said}; nothing sent")
                    done.skipped[step.name] = str(exc)
                    if isinstance(exc, Planned):  # a dry run's plan, kept as its manifest
                        done.outputs[step.name] = exc.preview
                except Exception as exc:  # recorded; raised by run_flow after the rest
                    log.warning("step %s failed: %s", step.name, exc)
                    done.failed[step.name] = exc
            if step.name == through:
                break
    return done


def _output(done: Walked, source: Source) -> object:
    if isinstance(source, str):
        return done.outputs.get(source)
    return {key: done.outputs.get(name) for key, name in source.items()}


def run_flow(run: FlowRun, defaults: Defaults, *, sleep: Callable[[float], None] | None = None,
             lock: Lock | None = None) -> RunSummary:
    """Every step of ``run`` (its ``zoho`` and ``anaplan`` clients are required); waits
    through ``sleep``, the upload under ``lock``. Raises the run's failure (``verdict``)
    after the steps that still run (reconcile records a failure)."""
    assert run.zoho is not None and run.anaplan is not None, "run_flow needs both clients"
    if sleep is not None:
        run.sleep = sleep
    if lock is not None:
        run.lock = lock
    run.defaults = defaults
    done = walk(run, flow_plan(run.flow, defaults))
    if (failure := done.verdict()) is not None:
        raise failure
    summary = done.outputs.get("reconcile")
    if isinstance(summary, RunSummary):
        return summary
    return RunSummary(flow=run.flow.id, run_id=run.run_id)
