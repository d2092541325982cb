"""Flow runs in this process (``run_flow``: the DAG's steps in its order) against the
sandbox over HTTP, on a real SQLite state store; waits advance the sandbox clock."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from ml_connector.flows.local import Walked, run_flow, walk
from ml_connector.flows.organizations import Organization
from ml_connector.flows.plan import flow_plan
from ml_connector.flows.run import FlowRun, RunSummary
from ml_connector.flows.spec import FlowsFile, list_flows, list_loads, load_flows, parse_flows
from ml_connector.state.audit import AuditLog
from ml_connector.state.store import StateStore
from ml_connector.zoho import ZohoBooksClient, ZohoCredentials
from ml_connector_sandbox.zoho.pnl import Member, actuals_by, by_tag

from ..cells import CENT, ORG
from ..conftest import MODEL, zoho_credentials

ROOT = Path(__file__).resolve().parents[2]
#: The month the flow tests load their lists for, by default.
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
#: The emulator's member of a posting by its Department option, untagged lines and charges
#: on Unassigned (as the flows by department send them).
DEPARTMENT = by_tag("Department", untagged="Unassigned", charges="Unassigned")


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
    #: Zoho connection id -> (region, refresh token or None for the region's first), as a
    #: flow's organizations name their connections.
    connections: dict[str, tuple[str, str | None]] = field(default_factory=lambda: {
        "zoho_books_default": ("us", None), "zoho_books_eu": ("eu", None),
        "zoho_books_in": ("in", None)})

    @classmethod
    def of(cls, spec: dict | FlowsFile, sandbox, zoho_client, anaplan_client, tmp_path: Path,
           **kw) -> Flows:
        """The flows of ``spec`` (a flows file, or its parsed form) on a new state store in
        ``tmp_path``, each run's files in a folder there; ``kw``: ``list_rules``."""
        return cls(spec if isinstance(spec, FlowsFile) else parse_flows(spec),
                   StateStore.sqlite(tmp_path / "state.db"), tmp_path, sandbox, zoho_client,
                   anaplan_client, itertools.count(1), **kw)

    def load(self, *flow_ids: str, start: date = JAN, end: date = FEB) -> None:
        """Run each of ``flow_ids`` in turn (list flows, parents first) for ``[start, end)``;
        none may fail a record."""
        for flow_id in flow_ids:
            summary = self.run(flow_id, start, end)
            assert summary.counts.get("failed", 0) == 0, (flow_id, summary.counts)

    @property
    def audit(self) -> AuditLog:
        return AuditLog(self.store)

    def cells_of(self, flow_id: str, organization: str = "") -> set:
        """The cells the state store holds as last sent by ``flow_id`` for an
        organization, over every window."""
        from ml_connector.state import schema

        table = schema.cells
        with self.store.engine.connect() as conn:
            return set(conn.execute(table.select().with_only_columns(
                table.c.window_start, table.c.cell_key).where(
                table.c.flow == flow_id, table.c.organization == organization)))

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
                       sleep=self.sandbox.sandbox.clock.advance, lock=self.store.lock,
                       defaults=self.spec.defaults, zoho_for=self.zoho_for, **rules)

    def zoho_for(self, org: Organization) -> Callable[[], ZohoBooksClient]:
        """The client factory of one organization of a flow (its connection's region and
        refresh token, as ``connections`` says)."""
        region, token = self.connections[org.conn_id(self.spec.defaults.zoho_conn_id)]
        wanted = org.organization_id or {"us": "10234695"}.get(region)
        known = zoho_credentials(self.sandbox, region)
        extra = {"credentials": ZohoCredentials(known.client_id, known.client_secret,
                                                token)} if token else {}
        return lambda: self.zoho_client(region, store=self.store, organization_id=wanted,
                                        **extra)

    def walk(self, flow_id: str, start: date, end: date) -> Walked:
        """Every step of a run of ``flow_id``, kept: each step's manifest and failure."""
        run = self.flow_run(flow_id, start, end)
        return walk(run, flow_plan(run.flow, self.spec.defaults))


@pytest.fixture
def flows(sandbox, zoho_client, anaplan_client, tmp_path) -> Flows:
    return Flows.of(load_flows(ROOT / "dags" / "flows.yaml"), sandbox, zoho_client,
                    anaplan_client, tmp_path)


def cells(sandbox, module: str, dimension: str = "Departments"
          ) -> dict[tuple[str, str, str], Decimal]:
    """An Accounts x ``dimension`` x Time module's Amount cells, to the cent (of the Actual
    version, in a module that has versions)."""
    return {(c["dimensions"]["Accounts"], c["dimensions"][dimension], c["dimensions"]["Time"]):
            Decimal(repr(c["values"]["Amount"])).quantize(CENT)
            for c in sandbox.sandbox.anaplan.module_cells(MODEL, module)
            if c["dimensions"].get("Versions", "Actual") == "Actual"}


def books(sandbox, kinds: Iterable[str], member: Member, start: date = JAN, end: date = FEB
          ) -> dict[tuple[str, str, str], Decimal]:
    """The emulator's P&L of ``kinds`` by account, ``member`` and month, without its zero
    cells (an emptied cell is not sent)."""
    found = actuals_by(sandbox.sandbox.zoho, ORG, kinds, start, end, member)
    return {k: v for k, v in found.items() if v}
