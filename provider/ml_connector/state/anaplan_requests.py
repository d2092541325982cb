"""The Anaplan requests of each flow run, per task (``mlc_anaplan_requests``): Anaplan
allows 600 requests a minute for the whole tenant, so a run's share is shown beside the
Zoho requests it was charged (``ml-connector runs``, the Month-end page)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import func, select

from ml_connector.state import schema
from ml_connector.state.store import StateStore


class AnaplanRequests:
    """Count a task's Anaplan requests (each try and each part adds), and sum a run's."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def add(self, dag_id: str, run_id: str, task_id: str, requests: int) -> None:
        """``requests`` more Anaplan requests made by ``task_id`` of the run."""
        if requests > 0:
            self.store.add(schema.anaplan_requests,
                           {"dag_id": dag_id, "run_id": run_id, "task_id": task_id},
                           "requests", requests, recorded_at=time.time())

    def totals(self, dag_id: str, run_ids: Iterable[str]) -> dict[str, int]:
        """Run id -> its Anaplan requests, over its tasks (runs without any left out)."""
        table = schema.anaplan_requests
        query = (select(table.c.run_id, func.sum(table.c.requests))
                 .where(table.c.dag_id == dag_id, table.c.run_id.in_(list(run_ids)))
                 .group_by(table.c.run_id))
        with self.store.engine.connect() as conn:
            return {run: int(n or 0) for run, n in conn.execute(query)}

    def by_task(self, dag_id: str, run_id: str) -> dict[str, int]:
        """Task id -> its Anaplan requests, in one run."""
        table = schema.anaplan_requests
        query = select(table.c.task_id, table.c.requests).where(
            table.c.dag_id == dag_id, table.c.run_id == run_id)
        with self.store.engine.connect() as conn:
            return {task: int(n) for task, n in conn.execute(query)}
