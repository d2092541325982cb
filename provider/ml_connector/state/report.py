"""Per flow run and month (and organization, for a flow of several), what happened: records
read, imported, skipped and failed (with the reasons), documents deleted in Zoho that the
run removed, the Anaplan task, the Zoho and Anaplan requests the run made and the month's
verification; of a dry run's month, what it would have changed; of an organization a run
left out (one of several), why. Read from the audit trail, the reads, the request counts,
the verifications and the organizations' outcomes; nothing else."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from ml_connector.flows.closed import Closure
from ml_connector.flows.spec import dag_id
from ml_connector.state import schema
from ml_connector.state.anaplan_requests import AnaplanRequests
from ml_connector.state.audit import PLANNED
from ml_connector.state.reads import ReadLog
from ml_connector.state.store import StateStore
from ml_connector.window import month_name


@dataclass
class RunMonth:
    """One run's month of one flow."""

    flow: str
    run_id: str
    month: str
    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    tasks: set[str] = field(default_factory=set)
    requests: int | None = None
    cache_hits: int | None = None
    anaplan_requests: int | None = None
    verified: str | None = None
    recorded_at: float = 0.0
    planned: str | None = None  # a dry run: what it would change (nothing was sent)
    organization: str = ""  # '': the flow's only organization
    left_out: str | None = None  # an organization the run left out: its step and why

    @property
    def records(self) -> int:
        """The records read (documents deleted in Zoho and removed are not)."""
        return sum(n for status, n in self.counts.items() if status != "deleted")


def run_months(store: StateStore, flow: str, month: str | None = None,
               limit: int = 20) -> list[RunMonth]:
    """The newest ``limit`` runs' months of ``flow`` (or only ``month``, ``yyyy-mm``), a
    row per run, month and organization."""
    audit = schema.audit
    where = [audit.c.flow == flow]
    if month:
        where.append(audit.c.window_start.startswith(month))
    grouped = (select(audit.c.run_id, audit.c.window_start, audit.c.organization,
                      audit.c.status, audit.c.task_id, audit.c.error, func.count(),
                      func.max(audit.c.recorded_at))
               .where(*where).group_by(audit.c.run_id, audit.c.window_start,
                                       audit.c.organization, audit.c.status, audit.c.task_id,
                                       audit.c.error))
    found: dict[tuple[str, str, str], RunMonth] = {}
    with store.engine.connect() as conn:
        for run_id, start, org, status, task, error, count, at in conn.execute(grouped):
            key = (run_id, (start or "")[:7], org)
            row = found.setdefault(key, RunMonth(flow, run_id, key[1], organization=org))
            row.recorded_at = max(row.recorded_at, at or 0.0)
            if status == PLANNED:
                row.planned = error
                continue
            row.counts[status] += count
            if task:
                row.tasks.add(task)
            if status != "imported" and error:
                said = error if error.startswith(f"{status}:") else f"{status}: {error}"
                row.reasons[said[:80]] += count
        checks = schema.verifications
        for run_id, start, org, status in conn.execute(
                select(checks.c.run_id, checks.c.window_start, checks.c.organization,
                       checks.c.status).where(checks.c.flow == flow).order_by(checks.c.id)):
            if (run_id, start[:7], org) in found:
                found[(run_id, start[:7], org)].verified = status
    latest: dict[str, float] = {}
    for (run_id, _, _), row in found.items():
        latest[run_id] = max(latest.get(run_id, 0.0), row.recorded_at)
    newest = sorted(latest, key=lambda run: -latest[run])[:limit]
    spent = ReadLog(store).requests(dag_id(flow), newest)
    anaplan = AnaplanRequests(store).totals(dag_id(flow), newest)
    rows = [v for k, v in found.items() if k[0] in newest]
    for row in rows:
        row.requests, row.cache_hits = spent.get(row.run_id, (None, None))
        row.anaplan_requests = anaplan.get(row.run_id)
    rows += _left_out(store, flow, rows)
    order = {run: n for n, run in enumerate(newest)}
    return sorted(rows, key=lambda r: (order[r.run_id], r.month, r.organization))


def failed_units(store: StateStore, flow: str, run_ids: Collection[str]
                 ) -> dict[str, dict[str, tuple[str, float]]]:
    """Run id -> organization -> (why, when) of the organizations of ``flow`` that those
    runs left out because a step of theirs failed."""
    table = schema.unit_outcomes
    query = (select(table.c.run_id, table.c.organization, table.c.detail,
                    table.c.recorded_at)
             .where(table.c.dag_id == dag_id(flow), table.c.run_id.in_(list(run_ids)),
                    table.c.state == "failed"))
    found: dict[str, dict[str, tuple[str, float]]] = {}
    with store.engine.connect() as conn:
        for run_id, org, detail, at in conn.execute(query):
            found.setdefault(run_id, {})[org] = (detail, at)
    return found


def _left_out(store: StateStore, flow: str, rows: list[RunMonth]) -> list[RunMonth]:
    """A row for each organization a run of several left out (a step of its failed), in
    each month the others recorded."""
    named = {(r.run_id, r.month, r.organization) for r in rows if r.organization}
    if not named:
        return []
    failed = failed_units(store, flow, {run for run, _, _ in named})
    out = []
    for run_id, month in sorted({(run, month) for run, month, _ in named}):
        for org, (why, at) in sorted(failed.get(run_id, {}).items()):
            if (run_id, month, org) not in named:
                first = next(r for r in rows if r.run_id == run_id)
                out.append(RunMonth(flow, run_id, month, requests=first.requests,
                                    cache_hits=first.cache_hits,
                                    anaplan_requests=first.anaplan_requests, recorded_at=at,
                                    organization=org, left_out=why))
    return out


def table(rows: list[RunMonth], reasons: int = 3, closure: Closure | None = None
          ) -> list[str]:
    """The rows as a printed table, a run's requests on its first month, the commonest
    reasons under each month that had any; a dry run's month says ``planned`` and, under
    it, what it would change; a month ``closure`` closes is marked ``[closed]``, and what
    closed it said last. Rows of several organizations get an ``Org`` column; an
    organization the run left out says ``left out``, and why under it."""
    width = max((len(r.organization) for r in rows), default=0)

    def org(name: str) -> str:
        return f"{name:<{max(width, 3)}} " if width else ""

    lines = [f"{'flow':<22} {'month':<14} {org('Org')}{'records':>8} {'imported':>9} "
             f"{'skipped':>8} {'failed':>7} {'deleted':>8} {'requests':>9} {'Anaplan':>8}  "
             f"{'verified':<9} Anaplan task  run"]
    shown: set[str] = set()
    for row in rows:
        first = row.run_id not in shown
        shown.add(row.run_id)
        spent = f"{row.requests:,}" if first and row.requests is not None else ""
        anaplan = f"{row.anaplan_requests:,}" if first and row.anaplan_requests else ""
        counts = [row.records, *(row.counts[s] for s in ("imported", "skipped", "failed",
                                                          "deleted"))]
        shown_counts = [f"{n:,}" if row.left_out is None else "-" for n in counts]
        verdict = "left out" if row.left_out else PLANNED if row.planned else row.verified
        lines.append(f"{row.flow:<22} {month_name(row.month):<14} {org(row.organization)}"
                     f"{shown_counts[0]:>8} "
                     f"{shown_counts[1]:>9} {shown_counts[2]:>8} "
                     f"{shown_counts[3]:>7} {shown_counts[4]:>8} {spent:>9} "
                     f"{anaplan:>8}  "
                     f"{verdict or '-':<9} "
                     f"{', '.join(sorted(row.tasks)) or '-'}  {row.run_id}"
                     + ("  [closed]" if closure is not None and row.month
                        and closure.closes(date.fromisoformat(f"{row.month}-01")) else ""))
        lines += [f"    {count:>6} x {reason}" for reason, count in
                  row.reasons.most_common(reasons)]
        if row.planned:
            lines.append(f"    {row.planned}")
        if row.left_out:
            lines.append(f"    {row.left_out}")
    if closure is not None:
        lines.append(f"[closed]: a month {closure}; runs of it are refused unless "
                     "reopened (reopen: true)")
    return lines
