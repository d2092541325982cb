"""The verification trail: per flow run, organization ('': the flow's only one) and month,
the cells read back out of Anaplan and how many differed from what the run sent."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select

from ml_connector.state import schema
from ml_connector.state.store import StateStore


class VerificationLog:
    """Append a run's verification (a row per month) and read the latest ones back."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def record(self, flow: str, run_id: str, export_id: str,
               months: Mapping[str, tuple[int, int, str | None]],
               organization: str = "") -> None:
        """``months``: window start -> (cells compared, differences, detail)."""
        now = time.time()
        rows = [{"flow": flow, "run_id": run_id, "window_start": start, "export_id": export_id,
                 "cells": cells, "differences": differences,
                 "status": "differs" if differences else "verified", "detail": detail,
                 "organization": organization, "checked_at": now}
                for start, (cells, differences, detail) in months.items()]
        if rows:
            with self.store.engine.begin() as conn:
                conn.execute(insert(schema.verifications), rows)

    def query(self, *, flow: str | None = None, window_start: str | None = None,
              organization: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest verification rows first (each with its ``organization``), of those
        given only."""
        table = schema.verifications
        stmt = select(table).order_by(table.c.id.desc()).limit(limit)
        for column, value in (("flow", flow), ("window_start", window_start),
                              ("organization", organization)):
            if value is not None:
                stmt = stmt.where(table.c[column] == value)
        with self.store.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]
