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

#: Seconds ``AnaplanTaskTrigger.on_kill`` may take (Airflow waits 30 s by default).
KILL_TIMEOUT = 30.0
#: The cancels begun by ``on_kill``, referenced until done (asyncio keeps weak references).
_KILLS: set[asyncio.Future] = set()


class AnaplanTaskTrigger(BaseTrigger):
    """Polls ``GET .../imports|processes/{import_id}/tasks/{anaplan_task_id}`` with growing
    delays (from ``poll_interval`` ≥ 5 s up to ``max_poll_interval`` ≤ 60 s) until the task
    is COMPLETE or CANCELLED, or until ``deadline`` (epoch seconds) passes, then cancels it
    if asked.

    Only ids, the connection id and timing are serialized; never a credential or token.
    """

    #: What Airflow's execution API answers for a task instance that waits for a trigger.
    DEFERRED = "deferred"

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
        cancel_on_kill: bool = True,
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
        self.cancel_on_kill = cancel_on_kill

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
                "cancel_on_kill": self.cancel_on_kill,
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
                event.payload["requests"] = client.requests  # counted for the task
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

    async def on_kill(self) -> None:
        """Cancel the Anaplan task when a user marks the deferred task failed or success, or
        clears it (unless not ``cancel_on_kill``); Airflow 3.3 and later call this in the
        triggerer. A cancel that fails (409: the task already finished) is a warning.

        Airflow 3.3 also calls it on a triggerer whose triggers were handed to another
        triggerer (its heartbeat lapsed): ``TriggerRunnerSupervisor.update_triggers`` cancels
        every trigger missing from its assignment as a user action. So the Anaplan task is
        cancelled only once the task instance has left ``deferred``, and left running when
        that state cannot be read. Airflow 3.3 also cancels the trigger again at each
        triggerer loop (``TriggerRunner.cancel_triggers``) until it has ended, ``on_kill``
        included: the work runs shielded in a task of its own, within ``KILL_TIMEOUT``.
        """
        if not self.cancel_on_kill:
            return
        kill = asyncio.ensure_future(self._kill())
        _KILLS.add(kill)
        kill.add_done_callback(_KILLS.discard)
        await asyncio.shield(kill)

    async def _kill(self) -> None:
        task = f"Anaplan task {self.anaplan_task_id} of {self.import_id}"
        try:
            await asyncio.wait_for(self._cancel_unless_deferred(task), KILL_TIMEOUT)
        except Exception as exc:  # on_kill must never raise
            self.log.warning("Could not cancel %s: %s", task, exc or type(exc).__name__)

    async def _cancel_unless_deferred(self, task: str) -> None:
        try:
            state = await self._task_instance_state()
        except Exception as exc:
            self.log.warning("%s left running: the Airflow task's state is unknown (%s)",
                             task, exc)
            return
        if state is None or state == self.DEFERRED:
            self.log.info("%s left running: the Airflow task is %s", task,
                          state or "unknown (no task instance)")
            return
        from ml_connector.hooks.anaplan import AnaplanHook

        client = await AnaplanHook(self.anaplan_conn_id, self.workspace_id,
                                   self.model_id).async_client()
        try:
            status = await client.cancel(self.import_id, self.anaplan_task_id, quick=True)
        finally:
            await client.aclose()
        self.log.info("Cancelled %s (the Airflow task is %s): %s", task, state, status.state)

    async def _task_instance_state(self) -> str | None:
        """The state of the task instance this trigger serves, read through the triggerer
        (``RuntimeTaskInstance.get_task_states``); ``"removed"`` when it no longer exists,
        ``None`` when the trigger serves none."""
        ti = self.task_instance
        if ti is None:
            return None
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        map_index = ti.map_index if ti.map_index is not None else -1
        states = await asyncio.to_thread(
            RuntimeTaskInstance.get_task_states, dag_id=ti.dag_id, task_ids=[ti.task_id],
            run_ids=[ti.run_id], map_index=map_index)
        key = ti.task_id if map_index < 0 else f"{ti.task_id}_{map_index}"
        state = states.get(ti.run_id, {}).get(key, "removed")
        return str(getattr(state, "value", state) or "none")


def _event(event: TaskEvent) -> TriggerEvent:
    """A trigger event carries the outcome's JSON (read back with ``TaskEvent``)."""
    return TriggerEvent(event.model_dump(mode="json"))
