"""What the Month-end page shows for a month, read from the state store only (the audit
trail, the reads, the verifications, the organizations' outcomes and the alignments): never
Zoho or Anaplan. A flow of several organizations gets a line per organization under it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Literal

from sqlalchemy import func, select, union

from ml_connector.flows.align import KINDS, Kind, MemberTotal, RoutedValue, Row
from ml_connector.flows.spec import Defaults, Flow, dag_id
from ml_connector.state import schema
from ml_connector.state.alignments import AlignmentLog
from ml_connector.state.anaplan_requests import AnaplanRequests
from ml_connector.state.audit import PLANNED
from ml_connector.state.reads import ReadLog
from ml_connector.state.report import RunMonth, run_months
from ml_connector.state.store import StateStore
from ml_connector.state.units import UnitOutcomes

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
    left_out: list[str] = field(default_factory=list)  # organizations a step of failed

    @property
    def outcome(self) -> Outcome:
        if self.failed or self.left_out:
            return "failed"
        if self.verification is not None and self.verification.differences:
            return "differs"
        return "imported" if self.imported else "skipped"


@dataclass(frozen=True)
class EntityRow:
    """One organization of a flow of several: its newest run of the month (None: no run
    recorded it) and, when the flow's last run did not read it, why (``left_out``; with
    ``failed``, a step of its failed, else it was not asked for or had nothing to send)."""

    entity: str
    run: LastRun | None
    left_out: str | None = None
    failed: bool = False

    @property
    def outcome(self) -> Outcome | Literal["left out"] | None:
        if self.failed:
            return "left out"
        return None if self.run is None else self.run.outcome


@dataclass(frozen=True)
class FlowRow:
    """A flow of flows.yaml and its last run of the month (None: no run); a flow of several
    organizations, a row per organization (``entities``; none for a flow of one)."""

    flow: str
    dag_id: str
    kind: Literal["actuals", "list"]
    description: str
    run: LastRun | None
    entities: list[EntityRow] = field(default_factory=list)


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


def _verifications(store: StateStore, row: RunMonth) -> dict[str, Verification]:
    """Organization -> the newest verification of ``row``'s run and month."""
    table = schema.verifications
    query = (select(table.c.organization, table.c.cells, table.c.differences,
                    table.c.status, table.c.detail)
             .where(table.c.flow == row.flow, table.c.run_id == row.run_id,
                    table.c.window_start.startswith(row.month))
             .order_by(table.c.id))
    with store.engine.connect() as conn:
        return {org: Verification(*found) for org, *found in conn.execute(query)}


def _combined(found: Mapping[str, Verification]) -> Verification | None:
    """One verification of several organizations': their cells and differences summed,
    the details of those that differ named by organization."""
    if len(found) < 2:
        return next(iter(found.values()), None)
    differences = sum(v.differences for v in found.values())
    detail = "; ".join(f"{org}: {v.detail}" for org, v in found.items() if v.detail)
    return Verification(sum(v.cells for v in found.values()), differences,
                        "differs" if differences else "verified", detail or None)


def _last(store: StateStore, rows: Sequence[RunMonth], runs: int,
          left_out: Sequence[str] = ()) -> LastRun:
    """What one run did to the month: ``rows``, its rows of the month (one per organization
    it recorded), taken together."""
    first = rows[0]
    counts: Counter[str] = sum((r.counts for r in rows), Counter())
    reasons: Counter[str] = sum((r.reasons for r in rows), Counter())
    verified = {r.organization for r in rows if r.verified}
    checks = _verifications(store, first) if verified else {}
    return LastRun(
        run_id=first.run_id, recorded_at=_when(max(r.recorded_at for r in rows)),
        records=sum(r.records for r in rows), imported=counts["imported"],
        skipped=counts["skipped"], failed=counts["failed"],
        reasons=reasons.most_common(REASONS), requests=first.requests,
        cache_hits=first.cache_hits, anaplan_requests=first.anaplan_requests,
        tasks=sorted(set().union(*(r.tasks for r in rows))),
        verification=_combined({o: v for o, v in checks.items() if o in verified}),
        runs=runs, left_out=list(left_out))


def _ran(store: StateStore, flow: str, month: str) -> list[RunMonth]:
    """The newest runs' rows of ``flow``'s ``month``; a dry run is not a run of it."""
    return [r for r in run_months(store, flow, month) if not r.planned]


def last_run(store: StateStore, flow: str, month: str,
             rows: Sequence[RunMonth] | None = None) -> LastRun | None:
    """The newest run of ``flow`` that recorded ``month`` (None: none did), over the
    organizations it read (and naming those a step of failed); ``rows``: the month's rows
    (default: read)."""
    rows = _ran(store, flow, month) if rows is None else rows
    if not rows:
        return None
    newest = [r for r in rows if r.run_id == rows[0].run_id]
    read = [r for r in newest if r.left_out is None]
    return _last(store, read, len({r.run_id for r in rows}),
                 sorted({r.organization for r in newest if r.left_out is not None}))


def entity_rows(store: StateStore, flow: str, rows: Sequence[RunMonth],
                entities: Sequence[str] = ()) -> list[EntityRow]:
    """A row per organization of a flow of several (``entities`` first, in their order,
    then any other the month's ``rows`` or the last run name): its newest run of the month,
    and why the flow's last run left it out."""
    newest = rows[0].run_id if rows else None
    outcomes = UnitOutcomes(store).of(dag_id(flow), newest) if newest else {}
    found = {r.organization for r in rows if r.organization} | set(outcomes)
    out = []
    for entity in [*entities, *sorted(found - set(entities))]:
        mine = [r for r in rows if r.organization == entity and r.left_out is None]
        run = None
        if mine:
            shown = _last(store, [r for r in mine if r.run_id == mine[0].run_id],
                          len({r.run_id for r in mine}))
            run = _own_requests(store, flow, entity, shown)
        state, why = outcomes.get(entity, (None, None))
        if run is not None and run.run_id == newest:
            state = why = None
        out.append(EntityRow(entity, run, why, state == "failed"))
    return out


def _own_requests(store: StateStore, flow: str, entity: str, run: LastRun) -> LastRun:
    """``run`` with the Zoho and Anaplan requests of ``entity``'s own steps (its task
    group's)."""
    group = f"{entity.lower()}."
    tasks = ReadLog(store).task_requests(dag_id(flow), run.run_id)
    anaplan = AnaplanRequests(store).by_task(dag_id(flow), run.run_id)
    return replace(run, cache_hits=None,
                   requests=sum(n for t, n in tasks.items() if t.startswith(group)),
                   anaplan_requests=sum(n for t, n in anaplan.items() if t.startswith(group)))


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


def flow_row(store: StateStore, flow: Flow, month: str, defaults: Defaults | None = None
             ) -> FlowRow:
    """``flow``'s row of the page for ``month``; a flow of several organizations (those of
    flows.yaml, the file's ``defaults`` too, or any the month's rows name) with a row each."""
    rows = _ran(store, flow.id, month)
    named = [o.entity for o in (flow.organizations_of(defaults) if defaults is not None
                                else flow.organizations or [])]
    several = bool(named) or any(r.organization for r in rows)
    return FlowRow(flow=flow.id, dag_id=dag_id(flow.id),
                   kind="list" if flow.mode == "full" else "actuals",
                   description=flow.description, run=last_run(store, flow.id, month, rows),
                   entities=entity_rows(store, flow.id, rows, named) if several else [])


def month_view(store: StateStore, flows: Sequence[Flow], month: str | None = None,
               defaults: Defaults | None = None) -> MonthView:
    """The page for ``month`` (``yyyy-mm``; None: the newest month with data) over
    ``flows``, in their order: the flows a user may see, as flows.yaml lists them (its
    ``defaults`` name the organizations of flows that name none)."""
    ids = [f.id for f in flows]
    months = months_with_data(store, ids)
    month = check_month(month) if month else default_month(months)
    return MonthView(month=month, months=months,
                     flows=[flow_row(store, f, month, defaults) for f in flows],
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
