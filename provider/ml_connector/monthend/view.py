"""What the Month-end page shows for a month, read from the state store only (the audit
trail, the reads, the verifications and the alignments): never Zoho or Anaplan."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Literal

from sqlalchemy import func, select, union

from ml_connector.flows.align import KINDS, Kind, MemberTotal, RoutedValue, Row
from ml_connector.flows.spec import Flow, dag_id
from ml_connector.state import schema
from ml_connector.state.alignments import AlignmentLog
from ml_connector.state.audit import PLANNED
from ml_connector.state.report import RunMonth, run_months
from ml_connector.state.store import StateStore

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
#: The commonest reasons shown for a run's skipped and failed records.
REASONS = 3
Outcome = Literal["imported", "failed", "differs", "skipped"]


def check_month(month: str) -> str:
    """``month`` if it is ``yyyy-mm`` text, else a ``ValueError`` saying so."""
    if not MONTH.match(month):
        raise ValueError(f"month {month!r} is not a month: write it yyyy-mm, e.g. 2026-01")
    return month


@dataclass(frozen=True)
class Verification:
    """The month's cells read back out of Anaplan after the run, and how many differed."""

    cells: int
    differences: int
    status: str  # verified | differs
    detail: str | None


@dataclass(frozen=True)
class LastRun:
    """The newest run of a flow that recorded the month, and what it did to it."""

    run_id: str
    recorded_at: datetime
    records: int
    imported: int
    skipped: int
    failed: int
    reasons: list[tuple[str, int]]  # the commonest reasons, most records first
    requests: int | None  # Zoho requests the run was charged (all its months)
    cache_hits: int | None
    anaplan_requests: int | None  # Anaplan requests of the run's tasks
    tasks: list[str]  # Anaplan task ids
    verification: Verification | None
    runs: int  # runs that recorded the month (the newest 20 at most)

    @property
    def outcome(self) -> Outcome:
        if self.failed:
            return "failed"
        if self.verification is not None and self.verification.differences:
            return "differs"
        return "imported" if self.imported else "skipped"


@dataclass(frozen=True)
class FlowRow:
    """A flow of flows.yaml and its last run of the month (None: no run)."""

    flow: str
    dag_id: str
    kind: Literal["actuals", "list"]
    description: str
    run: LastRun | None


@dataclass(frozen=True)
class AlignmentReport:
    """A flow's month against a plan version, as the last alignment stored it."""

    flow: str
    dag_id: str
    version: str
    run_id: str
    aligned_at: datetime
    columns: list[str]
    counts: dict[Kind, int]
    rows: list[Row]
    breaches: list[Row]
    routed: list[RoutedValue]
    member_totals: list[MemberTotal]
    actual: Decimal
    plan: Decimal
    ok: bool
    names: dict[str, dict[str, str]]  # key column -> member code -> its name in Anaplan

    def shown(self, column: str, code: str) -> str:
        """A member as a person reads it: its name in Anaplan, else its code."""
        return self.names.get(column, {}).get(code) or code


@dataclass(frozen=True)
class MonthView:
    """The page's content: a row per flow (file order), the month's alignment reports and
    the months that hold any data (newest first) for the month picker."""

    month: str
    months: list[str]
    flows: list[FlowRow] = field(default_factory=list)
    alignments: list[AlignmentReport] = field(default_factory=list)

    @property
    def actuals(self) -> list[FlowRow]:
        return [f for f in self.flows if f.kind == "actuals"]

    @property
    def lists(self) -> list[FlowRow]:
        return [f for f in self.flows if f.kind == "list"]


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def months_with_data(store: StateStore, flows: Sequence[str]) -> list[str]:
    """The months (``yyyy-mm``, newest first) any of ``flows`` recorded a run, a
    verification or an alignment of."""
    audit, checks, aligned = schema.audit, schema.verifications, schema.alignments
    query = union(
        select(func.substr(audit.c.window_start, 1, 7).label("month"))
        .where(audit.c.flow.in_(flows), audit.c.status != PLANNED).distinct(),
        select(func.substr(checks.c.window_start, 1, 7)).where(checks.c.flow.in_(flows)),
        select(aligned.c.month).where(aligned.c.flow.in_(flows)))
    with store.engine.connect() as conn:
        found = {m for (m,) in conn.execute(query) if m and MONTH.match(m)}
    return sorted(found, reverse=True)


def default_month(months: Sequence[str], today: date | None = None) -> str:
    """The newest month with data, else the month before ``today``'s."""
    if months:
        return months[0]
    today = today or date.today()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _verification(store: StateStore, row: RunMonth) -> Verification | None:
    table = schema.verifications
    query = (select(table.c.cells, table.c.differences, table.c.status, table.c.detail)
             .where(table.c.flow == row.flow, table.c.run_id == row.run_id,
                    table.c.window_start.startswith(row.month))
             .order_by(table.c.id.desc()).limit(1))
    with store.engine.connect() as conn:
        found = conn.execute(query).first()
    return None if found is None else Verification(*found)


def last_run(store: StateStore, flow: str, month: str) -> LastRun | None:
    """The newest run of ``flow`` that recorded ``month`` (None: none did); a dry run is
    not a run of the month."""
    rows = [r for r in run_months(store, flow, month) if not r.planned]
    if not rows:
        return None
    row = rows[0]
    return LastRun(
        run_id=row.run_id, recorded_at=_when(row.recorded_at), records=row.records,
        imported=row.counts["imported"], skipped=row.counts["skipped"],
        failed=row.counts["failed"], reasons=row.reasons.most_common(REASONS),
        requests=row.requests, cache_hits=row.cache_hits,
        anaplan_requests=row.anaplan_requests, tasks=sorted(row.tasks),
        verification=_verification(store, row) if row.verified else None,
        runs=len({r.run_id for r in rows}))


def alignment_reports(store: StateStore, flows: Sequence[str], month: str
                      ) -> list[AlignmentReport]:
    """The month's stored alignments of ``flows``, in their order, then by plan version."""
    order = {flow: n for n, flow in enumerate(flows)}
    stored = [s for s in AlignmentLog(store).query(month=month) if s.flow in order]
    out = []
    for s in sorted(stored, key=lambda s: (order[s.flow], s.alignment.version)):
        a = s.alignment
        actual, plan = a.totals()
        out.append(AlignmentReport(
            flow=s.flow, dag_id=dag_id(s.flow), version=a.version, run_id=s.run_id,
            aligned_at=_when(s.aligned_at), columns=a.columns,
            counts={k: len(a.of_kind(k)) for k in KINDS}, rows=a.rows, breaches=a.breaches,
            routed=a.routed, member_totals=a.member_totals(), actual=actual, plan=plan,
            ok=a.ok, names=a.names))
    return out


def month_view(store: StateStore, flows: Sequence[Flow], month: str | None = None
               ) -> MonthView:
    """The page for ``month`` (``yyyy-mm``; None: the newest month with data) over
    ``flows``, in their order: the flows a user may see, as flows.yaml lists them."""
    ids = [f.id for f in flows]
    months = months_with_data(store, ids)
    month = check_month(month) if month else default_month(months)
    rows = [FlowRow(flow=f.id, dag_id=dag_id(f.id), kind="list" if f.mode == "full" else
                    "actuals", description=f.description, run=last_run(store, f.id, month))
            for f in flows]
    return MonthView(month=month, months=months, flows=rows,
                     alignments=alignment_reports(store, ids, month))


def flows_file() -> Path:
    """The flows file the DAGs were made from: ``ml-connector init``'s
    ``<dags folder>/ml_connector/flows.yaml``, else ``<dags folder>/flows.yaml``, else the
    command line's default (``dags/flows.yaml``)."""
    from ml_connector.cli import dags_folder, default_flows

    folder = dags_folder()
    for path in (folder / "ml_connector" / "flows.yaml", folder / "flows.yaml"):
        if path.exists():
            return path
    return Path(default_flows())
