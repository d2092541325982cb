"""Why an organization of a flow of several was left out of a run (``mlc_unit_outcomes``):
its steps found nothing to send (skipped) or one failed; the step that combines the
organizations' files reads it, in Airflow as in one process."""

from __future__ import annotations

import time

from sqlalchemy import select

from ml_connector.state import schema
from ml_connector.state.store import StateStore


class UnitOutcomes:
    """An organization's outcome in a run: the first step that ended its unit of work."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def record(self, dag_id: str, run_id: str, organization: str, state: str,
               detail: str) -> None:
        self.store.upsert(schema.unit_outcomes, {"dag_id": dag_id, "run_id": run_id,
                                                 "organization": organization},
                          state=state, detail=detail[:2000], recorded_at=time.time())

    def of(self, dag_id: str, run_id: str) -> dict[str, tuple[str, str]]:
        """Organization -> (state, detail) in one run."""
        table = schema.unit_outcomes
        query = select(table.c.organization, table.c.state, table.c.detail).where(
            table.c.dag_id == dag_id, table.c.run_id == run_id)
        with self.store.engine.connect() as conn:
            return {org: (state, detail) for org, state, detail in conn.execute(query)}
