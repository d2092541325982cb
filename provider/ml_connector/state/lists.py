"""When each list flow last loaded its Anaplan list (``mlc_list_loads``): a fact flow
that looks members up in that list waits for it."""

from __future__ import annotations

import time

from sqlalchemy import select

from ml_connector.state import schema
from ml_connector.state.store import StateStore


class ListLoads:
    """Record a list flow's load, and ask when it last loaded."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def record(self, flow: str, read_at: float, run_id: str | None = None) -> None:
        """``flow`` has loaded, into Anaplan, what its read begun at ``read_at`` found."""
        self.store.upsert(schema.list_loads, {"flow": flow}, read_at=read_at, run_id=run_id,
                          loaded_at=time.time())

    def read_at(self, flow: str) -> float | None:
        """When the read that ``flow`` last loaded began (None: it never loaded)."""
        table = schema.list_loads
        with self.store.engine.connect() as conn:
            value = conn.execute(select(table.c.read_at).where(table.c.flow == flow)
                                 ).scalar_one_or_none()
        return None if value is None else float(value)
