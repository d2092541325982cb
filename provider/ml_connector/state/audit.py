"""The audit trail: one row per Zoho record per flow run, organization and data window (the
organization '' is the flow's only one); a dry run leaves
one ``planned`` row per data window instead (no record, what it would change), which no
real run replaces and nothing counts as imported."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import delete, insert, select, tuple_

from ml_connector.state import schema
from ml_connector.state.store import StateStore
from ml_connector.window import Window

#: ``deleted``: a document Zoho deleted, removed from Anaplan by the row's task (kept when
#: its window is rebuilt: the trail says when and how it went).
STATUSES = ("imported", "failed", "skipped", "deleted")
#: The status of a dry run's row (``record_planned``).
PLANNED = "planned"
#: Rows a rebuild of their window keeps, and that say nothing of where a record was sent.
KEPT = ("deleted", PLANNED)


class AuditLog:
    """Write a run's rows (replacing earlier runs of the same windows) and query them."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def replace_run(self, flow: str, run_id: str, windows: Sequence[Window],
                    rows: Iterable[dict[str, Any]], batch: int = 1000,
                    organization: str = "") -> dict[str, int]:
        """Store ``rows`` as the audit of ``flow`` and ``organization`` for the data
        ``windows`` in one transaction, replacing what earlier runs wrote for that
        organization and those windows (other organizations' rows stay): rerunning a month
        leaves one row per record, never two (the rows of deleted documents stay). A row
        names its window (``window_start``, ``window_end``) or belongs to the first one.
        Returns counts per status."""
        table = schema.audit
        counts = dict.fromkeys(STATUSES[:3], 0)  # "deleted" only when the run removed some
        now = time.time()
        default = {"window_start": windows[0].start, "window_end": windows[0].end}
        it = iter(rows)
        with self.store.engine.begin() as conn:
            conn.execute(delete(table).where(
                table.c.flow == flow, table.c.organization == organization,
                table.c.status.notin_(KEPT),
                tuple_(table.c.window_start, table.c.window_end).in_(list(windows))))
            while chunk := list(islice(it, batch)):
                for row in chunk:
                    counts[row["status"]] = counts.get(row["status"], 0) + 1
                conn.execute(insert(table), [{**default, **row, "flow": flow, "run_id": run_id,
                                              "organization": organization,
                                              "recorded_at": now} for row in chunk])
        return counts

    def record_planned(self, flow: str, run_id: str, windows: Sequence[Window], entity: str,
                       summary: str, organization: str = "") -> None:
        """A dry run's entry for ``organization``: one ``planned`` row per data window,
        ``summary`` (what it would change) as its text; a rerun of the same dry run
        replaces its rows of that organization."""
        table = schema.audit
        now = time.time()
        with self.store.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.flow == flow, table.c.run_id == run_id,
                                             table.c.organization == organization,
                                             table.c.status == PLANNED))
            conn.execute(insert(table), [
                {"flow": flow, "entity": entity, "record_id": "", "run_id": run_id,
                 "window_start": w.start, "window_end": w.end, "status": PLANNED,
                 "error": summary, "organization": organization, "recorded_at": now}
                for w in windows])

    def windows_of(self, flow: str, record_ids: Sequence[str],
                   organization: str | None = None) -> set[str]:
        """Start of every window in which ``flow`` last recorded these records (of
        ``organization`` only, or of every one)."""
        table = schema.audit
        stmt = select(table.c.window_start).distinct().where(
            table.c.flow == flow, table.c.status.notin_(KEPT),
            table.c.record_id.in_(list(record_ids)))
        if organization is not None:
            stmt = stmt.where(table.c.organization == organization)
        with self.store.engine.connect() as conn:
            return {row[0] for row in conn.execute(stmt) if row[0]}

    def query(self, *, flow: str | None = None, status: str | None = None,
              run_id: str | None = None, record_id: str | None = None,
              organization: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest rows first (each with its ``organization``), of those given only."""
        table = schema.audit
        stmt = select(table).order_by(table.c.id.desc()).limit(limit)
        for column, value in (("flow", flow), ("status", status), ("run_id", run_id),
                              ("record_id", record_id), ("organization", organization)):
            if value is not None:
                stmt = stmt.where(table.c[column] == value)
        with self.store.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]
