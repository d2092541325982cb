"""A whole flow run in one process, the DAG's steps in its order: for tests, the request
budget and a run outside Airflow. Waits go through ``sleep`` (a sandbox's clock in tests)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ml_connector.anaplan.handoff import Lock, no_lock, send_file
from ml_connector.errors import NothingChanged
from ml_connector.flows.run import FlowRun, RunSummary, Scope, flow_reads, stage_read
from ml_connector.flows.spec import Defaults
from ml_connector.state.reads import ReadLog
from ml_connector.zoho.client import ZohoBooksClient
from ml_connector.zoho.extract import ExtractManifest

log = logging.getLogger(__name__)


@dataclass
class Staged:
    """What a run's reads staged: manifests by task id, the lookups by entity, the scope;
    ``unchanged``: an incremental aggregate run found nothing changed (no extract then)."""

    read: dict[str, ExtractManifest] = field(default_factory=dict)
    lookups: dict[str, ExtractManifest] = field(default_factory=dict)
    scope: Scope | None = None
    unchanged: bool = False


def stage_reads(run: FlowRun, defaults: Defaults, zoho: ZohoBooksClient) -> Staged:
    """Every Zoho read of ``run`` in the DAG's order (lookups, changes and scope, extract or
    ledger), staged in its ``out_dir`` through one client."""
    flow, staged = run.flow, Staged()
    for step in flow_reads(flow, defaults):
        if step.kind in ("extract", "ledger") and flow.rebuilds_months:
            try:
                staged.scope = run.scope(staged.read["changes"])
            except NothingChanged:
                staged.unchanged = True
                return staged
        watermark = (run.store.get_watermark(step.watermark_key) if step.watermark_key
                     else None)
        chart = (flow, run.records(staged.lookups["chartofaccounts"])) \
            if step.kind == "ledger" else None
        scope = run.scoped(staged.scope) if step.kind == "ledger" else staged.scope
        manifest = stage_read(zoho, step, run.out_dir / f"{step.task_id}.jsonl",
                              interval=run.interval, watermark=watermark, scope=scope,
                              ledger=chart)
        staged.read[step.task_id] = manifest
        ReadLog(run.store).record(f"zoho_{flow.id}", run.run_id, step.task_id, manifest)
        if step.kind == "lookup":
            staged.lookups[step.entities[0]] = manifest
    return staged


def run_flow(run: FlowRun, defaults: Defaults, *, sleep: Callable[[float], None] = time.sleep,
             lock: Lock = no_lock) -> RunSummary:
    """Extract, scope, build, import, wait and reconcile ``run`` (its ``zoho`` and
    ``anaplan`` clients are required). Raises what the DAG's tasks would fail with."""
    assert run.zoho is not None and run.anaplan is not None, "run_flow needs both clients"
    flow = run.flow
    with run.zoho() as zoho:  # one client (and token) for every read of the run
        staged = stage_reads(run, defaults, zoho)
    read, lookups, scope = staged.read, staged.lookups, staged.scope
    changes = read.get("changes", read.get("extract"))
    try:
        if staged.unchanged:
            raise NothingChanged("nothing changed since the watermark")
        built = run.build(read["extract"], lookups, scope)
    except NothingChanged as exc:  # the DAG skips the rest of the run, reconcile too
        log.info("%s; nothing sent", exc)
        return RunSummary(flow=flow.id, run_id=run.run_id)
    target = flow.target
    params = [{"entityType": k, "entityName": v} for k, v in target.mapping_parameters.items()]

    with run.anaplan() as client:
        handoff = send_file(client, target.import_, run.path_of(built.path), lock=lock,
                            mapping_parameters=params or None, sleep=sleep)
        status = client.wait(handoff.import_id, handoff.task_id, sleep=sleep)
    verified = run.verify(read["extract"], built, handoff, scope, sleep=sleep) \
        if flow.verify is not None and status.state == "COMPLETE" else None
    return run.reconcile(changes, built, handoff, scope, verified)
