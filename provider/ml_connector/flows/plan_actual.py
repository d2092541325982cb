"""Plan against actual for a flow's months, as the ``align`` step and ``ml-connector align``
do it: one export of the target module (every version) and each aligned list's members
read from Anaplan, each month held against each plan version (``flows.align``), the
reports kept in the state store and written as CSV. Anaplan requests are counted."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from ml_connector.flows.align import Alignment, RoutedValue, align, version_cells
from ml_connector.flows.build import period_label
from ml_connector.flows.members import read_members
from ml_connector.flows.spec import Align, Flow
from ml_connector.flows.windows import Window, month_of, next_month
from ml_connector.state.alignments import AlignmentLog
from ml_connector.state.store import StateStore

if TYPE_CHECKING:
    from ml_connector.anaplan.client import AnaplanClient

class AlignedMonth(BaseModel):
    """One month against one plan version: counts, and where its CSV went."""

    month: str  # yyyy-mm
    version: str
    ok: bool
    rows: int
    unplanned: int
    unactual: int
    breaches: int
    csv: str | None = None


class Aligned(BaseModel):
    """What an align read and found: the export, its Anaplan requests, each report."""

    flow: str
    export_id: str
    requests: int
    months: list[AlignedMonth] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(m.ok for m in self.months)

    def message(self) -> str:
        failed = [m for m in self.months if not m.ok]
        return (f"flow {self.flow}: {sum(m.breaches for m in failed)} row(s) of "
                + ", ".join(f"{m.month} against {m.version}" for m in failed)
                + " breach the align thresholds (the report above names them); the data "
                "is in Anaplan and verified: correct the plan, the documents or the "
                "thresholds in flows.yaml")


@dataclass(frozen=True)
class Report:
    """A month's alignment against one version, as read."""

    month: str  # yyyy-mm
    alignment: Alignment


def window_months(windows: Iterable[Window]) -> list[date]:
    """The months (first days) the windows cover."""
    months: set[date] = set()
    for window in windows:
        start, end = window.dates()
        month = month_of(start.isoformat())
        while month < end:
            months.add(month)
            month = next_month(month)
    return sorted(months)


def key_columns(flow: Flow) -> list[str]:
    """The columns a flow's cells are aligned by: its non-amount columns but the period."""
    return [n for n, c in flow.columns.items() if c.amount is None and c.period is None]


def read_reports(client: AnaplanClient, flow: Flow, months: Sequence[date],
                 routed: Sequence[RoutedValue] = (), *,
                 sleep: Callable[[float], None]) -> tuple[str, int, list[Report]]:
    """(export id, Anaplan requests, reports) of ``flow``'s ``months`` against each plan
    version of its ``align``: the export run once, each ``list:`` key column's list read
    once for its members' names."""
    spec = flow.align
    assert spec is not None and spec.export is not None and spec.columns is not None
    keys = key_columns(flow)
    period = next(n for n, c in flow.columns.items() if c.period is not None)
    amount = next(n for n, c in flow.columns.items() if c.amount)
    before = client.requests
    export_id = client.find_export(spec.export).id
    data = client.run_export(export_id, sleep=sleep)
    lists = {c: str(flow.columns[c].list_) for c in keys if flow.columns[c].list_}
    members = read_members(client, set(lists.values())) if lists else {}
    requests = client.requests - before
    labels = {period_label(m.isoformat()): m for m in months}
    cells = version_cells(data, export=spec.export, columns=spec.columns, keys=keys,
                          period=period, amount=amount, version=spec.version,
                          versions=[spec.actual, *spec.plans], months=labels)
    names = {c: dict(members[name].names) for c, name in lists.items()}
    reports = [Report(f"{month:%Y-%m}", _align(spec, keys, cells[spec.actual][label],
                                               cells[plan][label], plan, routed, names))
               for label, month in labels.items() for plan in spec.plans]
    return export_id, requests, reports


def _align(spec: Align, keys: list[str], actual: Any, plan: Any, version: str,
           routed: Sequence[RoutedValue], names: dict[str, dict[str, str]]) -> Alignment:
    return align(actual, plan, columns=keys, version=version, routed=routed,
                 unplanned_above=spec.unplanned_above,
                 variance_above_percent=spec.variance_above_percent, names=names)


def keep_reports(store: StateStore, flow: Flow, export_id: str, requests: int,
                 reports: Sequence[Report], *, run_id: str, out_dir: Any = None) -> Aligned:
    """Keep each report in the state store (replacing the month's last) and write it as
    ``align_<month>_<version>.csv`` in ``out_dir`` (when given)."""
    aligned = Aligned(flow=flow.id, export_id=export_id, requests=requests)
    log_ = AlignmentLog(store)
    for report in reports:
        found = report.alignment
        log_.record(flow.id, report.month, found, run_id=run_id, export_id=export_id,
                    anaplan_requests=requests)
        path = None
        if out_dir is not None:
            path = out_dir / f"align_{report.month}_{found.version}.csv"
            with path.open("w", encoding="utf-8", newline="") as handle:
                found.write_csv(handle)
        aligned.months.append(AlignedMonth(
            month=report.month, version=found.version, ok=found.ok, rows=len(found.rows),
            unplanned=len(found.of_kind("unplanned")), unactual=len(found.of_kind("unactual")),
            breaches=len(found.breaches), csv=None if path is None else str(path)))
    return aligned


def report_lines(flow: Flow, aligned: Aligned, reports: Sequence[Report]) -> list[str]:
    """Each report's table, then what was read: for the task log and the command line."""
    lines = [line for report in reports
             for line in [f"{flow.id} {report.month}:", *report.alignment.lines(), ""]]
    read = (f"{flow.id}: aligned {', '.join(sorted({r.month for r in reports}))} against "
            f"{', '.join(flow.align.plans if flow.align else [])} through export "
            f"{aligned.export_id}, {aligned.requests} Anaplan request(s)"
            + "".join(f"; CSV {m.csv}" for m in aligned.months if m.csv))
    return [*lines, read]
