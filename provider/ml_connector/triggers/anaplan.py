"""AnaplanTaskTrigger: polls an import task in the triggerer until it ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from ml_connector.anaplan.outcome import TaskEvent
from ml_connector.anaplan.tasks import poll_delays
from ml_connector.errors import ConnectorError


class AnaplanTaskTrigger(BaseTrigger):
    """Polls ``GET .../imports|processes/{import_id}/tasks/{anaplan_task_id}`` with growing
    delays (from ``poll_interval`` ≥ 5 s up to ``max_poll_interval`` ≤ 60 s) until the task
    is COMPLETE or CANCELLED, or until ``deadline`` (epoch seconds) passes, then cancels it
    if asked.

    Only ids, the connection id and timing are serialized; never a credential or token.
    """

    def __init__(
        self,
        *,
        anaplan_conn_id: str,
        workspace_id: str,
        model_id: str,
        import_id: str,
        anaplan_task_id: str,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        deadline: float | None = None,
        cancel_on_timeout: bool = False,
        rejected_rows_shown: int = 10,
    ) -> None:
        super().__init__()
        self.anaplan_conn_id = anaplan_conn_id
        self.workspace_id = workspace_id
        self.model_id = model_id
        self.import_id = import_id
        # Not ``task_id``: BaseTrigger uses that name for the Airflow task's id.
        self.anaplan_task_id = anaplan_task_id
        self.poll_interval = max(5.0, float(poll_interval))
        self.max_poll_interval = min(60.0, max(self.poll_interval, float(max_poll_interval)))
        self.deadline = deadline
        self.cancel_on_timeout = cancel_on_timeout
        self.rejected_rows_shown = rejected_rows_shown

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "anaplan_conn_id": self.anaplan_conn_id,
                "workspace_id": self.workspace_id,
                "model_id": self.model_id,
                "import_id": self.import_id,
                "anaplan_task_id": self.anaplan_task_id,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "deadline": self.deadline,
                "cancel_on_timeout": self.cancel_on_timeout,
                "rejected_rows_shown": self.rejected_rows_shown,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from ml_connector.hooks.anaplan import AnaplanHook

        hook = AnaplanHook(self.anaplan_conn_id, self.workspace_id, self.model_id)
        try:
            client = await hook.async_client()
        except ConnectorError as exc:
            yield _event(TaskEvent(status="error", message=str(exc),
                                   task_id=self.anaplan_task_id))
            return
        try:
            async for event in self._poll(client):
                yield event
        finally:
            await client.aclose()

    async def _poll(self, client) -> AsyncIterator[TriggerEvent]:
        delays = poll_delays(self.poll_interval, longest=self.max_poll_interval)
        for polls, delay in enumerate(delays, start=1):
            try:
                status = await client.task(self.import_id, self.anaplan_task_id)
            except ConnectorError as exc:
                yield _event(TaskEvent(status="error", message=str(exc),
                                       task_id=self.anaplan_task_id, polls=polls))
                return
            self.log.info("Anaplan task %s: %s (%.0f%%)", self.anaplan_task_id, status.state,
                          status.progress * 100)
            if status.terminal:
                rejected = []
                if status.failure_dump:
                    rows = await client.rejected_rows(self.import_id, self.anaplan_task_id,
                                                      self.rejected_rows_shown, status)
                    rejected = [row.describe() for row in rows]
                yield _event(TaskEvent(status="done", task=status, rejected=rejected,
                                       polls=polls))
                return
            if self.deadline is not None and time.time() + delay > self.deadline:
                cancelled = False
                if self.cancel_on_timeout:
                    await client.cancel(self.import_id, self.anaplan_task_id)
                    cancelled = True
                yield _event(TaskEvent(status="timeout", task=status, cancelled=cancelled,
                                       polls=polls))
                return
            await asyncio.sleep(delay)


def _event(event: TaskEvent) -> TriggerEvent:
    """A trigger event carries the outcome's JSON (read back with ``TaskEvent``)."""
    return TriggerEvent(event.model_dump(mode="json"))
