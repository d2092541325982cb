"""What each flow run read from Zoho, per task: records, requests charged, cache hits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from ml_connector.state import schema
from ml_connector.state.store import StateStore


class ReadLog:
    """``mlc_reads``: one row per run and read task (a retry replaces it)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def record(self, dag_id: str, run_id: str, task_id: str, manifest: Any) -> None:
        """Keep an ``ExtractManifest``'s counts for the run's task."""
        key = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id}
        self.store.upsert(schema.reads, key, entity=manifest.entity, records=manifest.count,
                          requests=manifest.requests, cache_hits=manifest.cache_hits,
                          read_at=manifest.read_at)

    def requests(self, dag_id: str, run_ids: Iterable[str]) -> dict[str, tuple[int, int]]:
        """Run id -> (requests charged, details from the cache), over its read tasks."""
        table = schema.reads
        query = (select(table.c.run_id, func.sum(table.c.requests), func.sum(table.c.cache_hits))
                 .where(table.c.dag_id == dag_id, table.c.run_id.in_(list(run_ids)))
                 .group_by(table.c.run_id))
        with self.store.engine.connect() as conn:
            return {run: (int(n or 0), int(h or 0)) for run, n, h in conn.execute(query)}

    def task_requests(self, dag_id: str, run_id: str) -> dict[str, int]:
        """Read task -> requests charged, of one run."""
        table = schema.reads
        query = select(table.c.task_id, table.c.requests).where(table.c.dag_id == dag_id,
                                                                 table.c.run_id == run_id)
        with self.store.engine.connect() as conn:
            return {task: int(n or 0) for task, n in conn.execute(query)}

    def typical(self, dag_id: str, runs: int = 5) -> float | None:
        """Requests a run of ``dag_id`` was charged, on average over its newest ``runs``
        runs (None: no run recorded)."""
        table = schema.reads
        per_run = (select(table.c.run_id, func.sum(table.c.requests).label("n"),
                          func.max(table.c.read_at).label("at"))
                   .where(table.c.dag_id == dag_id).group_by(table.c.run_id)
                   .order_by(func.max(table.c.read_at).desc()).limit(runs)).subquery()
        with self.store.engine.connect() as conn:
            value = conn.execute(select(func.avg(per_run.c.n))).scalar_one_or_none()
        return None if value is None else float(value)
