"""Flow runs in this process (``run_flow``: the DAG's steps in its order) against the
sandbox over HTTP, on a real SQLite state store; waits advance the sandbox clock."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path

import pytest

from ml_connector.flows.local import Walked, run_flow, walk
from ml_connector.flows.plan import flow_plan
from ml_connector.flows.run import FlowRun, RunSummary
from ml_connector.flows.spec import FlowsFile, list_flows, list_loads, load_flows
from ml_connector.state.audit import AuditLog
from ml_connector.state.store import StateStore

ROOT = Path(__file__).resolve().parents[2]


def stamp(day: date) -> str:
    return datetime.combine(day, time(), timezone.utc).isoformat()


@dataclass
class Flows:
    """Runs the shipped flows against one sandbox and one state store; with ``list_rules``
    a fact flow refuses to run before its list flows have loaded, as in its DAG."""

    spec: FlowsFile
    store: StateStore
    work: Path
    sandbox: object
    zoho_client: object
    anaplan_client: object
    runs: itertools.count
    list_rules: bool = False

    @property
    def audit(self) -> AuditLog:
        return AuditLog(self.store)

    def run(self, flow_id: str, start: date, end: date, months: list[date] | None = None,
            sleep=None) -> RunSummary:
        """One run of ``flow_id`` for the data interval ``[start, end)`` (or ``months``)."""
        return run_flow(self.flow_run(flow_id, start, end, months), self.spec.defaults,
                        sleep=sleep or self.sandbox.sandbox.clock.advance, lock=self.store.lock)

    def flow_run(self, flow_id: str, start: date, end: date,
                 months: list[date] | None = None) -> FlowRun:
        """The ``FlowRun`` of one run of ``flow_id``, its files in a folder of its own."""
        flow = next(f for f in self.spec.flows if f.id == flow_id)
        run_id = f"run{next(self.runs)}__{flow_id}__{end.isoformat()}"
        out = self.work / run_id
        out.mkdir()
        rules = {"lists": list_flows(self.spec.flows), "loads": list_loads(self.spec.flows)} \
            if self.list_rules else {}
        return FlowRun(flow, self.store, run_id, (stamp(start), stamp(end)), out,
                       zoho=lambda: self.zoho_client(store=self.store),
                       anaplan=lambda: self.anaplan_client(), months=months,
                       sleep=self.sandbox.sandbox.clock.advance, lock=self.store.lock, **rules)

    def walk(self, flow_id: str, start: date, end: date) -> Walked:
        """Every step of a run of ``flow_id``, kept: each step's manifest and failure."""
        run = self.flow_run(flow_id, start, end)
        return walk(run, flow_plan(run.flow, self.spec.defaults))


@pytest.fixture
def flows(sandbox, zoho_client, anaplan_client, tmp_path) -> Flows:
    return Flows(load_flows(ROOT / "dags" / "flows.yaml"),
                 StateStore.sqlite(tmp_path / "state.db"), tmp_path, sandbox, zoho_client,
                 anaplan_client, itertools.count(1))
