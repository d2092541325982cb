"""The audit trail: one row per Zoho record per flow run."""

from __future__ import annotations

import time
from collections.abc import Iterable
from itertools import islice
from typing import Any

from sqlalchemy import delete, insert, select

from ml_connector.state import schema
from ml_connector.state.store import StateStore

STATUSES = ("imported", "failed", "skipped")


class AuditLog:
    """Write a run's rows (replacing a previous attempt of the same run) and query them."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def replace_run(self, flow: str, run_id: str, interval: tuple[str, str],
                    rows: Iterable[dict[str, Any]], batch: int = 1000) -> dict[str, int]:
        """Store ``rows`` as the audit of ``flow`` for the data ``interval`` in one
        transaction, replacing any earlier run of the same interval: rerunning a month leaves
        one row per record, never two. Returns counts per status."""
        table = schema.audit
        counts = dict.fromkeys(STATUSES, 0)
        now = time.time()
        start, end = interval
        it = iter(rows)
        with self.store.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.flow == flow,
                                             table.c.window_start == start,
                                             table.c.window_end == end))
            while chunk := list(islice(it, batch)):
                for row in chunk:
                    counts[row["status"]] = counts.get(row["status"], 0) + 1
                conn.execute(insert(table), [{**row, "flow": flow, "run_id": run_id,
                                              "window_start": start, "window_end": end,
                                              "recorded_at": now} for row in chunk])
        return counts

    def query(self, *, flow: str | None = None, status: str | None = None,
              run_id: str | None = None, record_id: str | None = None,
              limit: int = 100) -> list[dict[str, Any]]:
        table = schema.audit
        stmt = select(table).order_by(table.c.id.desc()).limit(limit)
        for column, value in (("flow", flow), ("status", status), ("run_id", run_id),
                              ("record_id", record_id)):
            if value is not None:
                stmt = stmt.where(table.c[column] == value)
        with self.store.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]
