"""Plan-vs-actual alignments kept per flow, month and plan version (``mlc_alignments``):
the latest report replaces the one before, whether a flow run or the CLI made it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from ml_connector.flows.align import Alignment
from ml_connector.state import schema
from ml_connector.state.store import StateStore


@dataclass(frozen=True)
class StoredAlignment:
    """One stored report: whose, when, how it was read, and the report itself."""

    flow: str
    month: str  # yyyy-mm
    run_id: str
    export_id: str
    anaplan_requests: int
    aligned_at: float
    alignment: Alignment


class AlignmentLog:
    """Keep a month's alignment of a flow against a plan version, and read them back."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def record(self, flow: str, month: str, alignment: Alignment, *, run_id: str,
               export_id: str, anaplan_requests: int) -> None:
        """Keep ``alignment`` as ``flow``'s for ``month`` (``yyyy-mm``) and its version."""
        actual, plan = alignment.totals()
        self.store.upsert(
            schema.alignments, {"flow": flow, "month": month, "version": alignment.version},
            run_id=run_id, export_id=export_id, ok=alignment.ok, rows=len(alignment.rows),
            unplanned=len(alignment.of_kind("unplanned")),
            unactual=len(alignment.of_kind("unactual")), breaches=len(alignment.breaches),
            actual=str(actual), plan=str(plan), anaplan_requests=anaplan_requests,
            report=alignment.model_dump_json(), aligned_at=time.time())

    def query(self, *, flow: str | None = None, month: str | None = None
              ) -> list[StoredAlignment]:
        """The stored reports (of ``flow``, of ``month``), by flow, month and version."""
        table = schema.alignments
        stmt = select(table).order_by(table.c.flow, table.c.month, table.c.version)
        if flow is not None:
            stmt = stmt.where(table.c.flow == flow)
        if month is not None:
            stmt = stmt.where(table.c.month == month)
        with self.store.engine.connect() as conn:
            rows = [row._mapping for row in conn.execute(stmt)]
        return [StoredAlignment(flow=r["flow"], month=r["month"], run_id=r["run_id"],
                                export_id=r["export_id"],
                                anaplan_requests=r["anaplan_requests"],
                                aligned_at=r["aligned_at"],
                                alignment=Alignment.model_validate_json(r["report"]))
                for r in rows]
