"""AnaplanTaskSensor: wait for an Anaplan import task, deferrable by default."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, BaseSensorOperator, conf

from ml_connector.anaplan.outcome import judge
from ml_connector.hooks.anaplan import AnaplanHook
from ml_connector.triggers.anaplan import AnaplanTaskTrigger


def default_deferrable() -> bool:
    return conf.getboolean("operators", "default_deferrable", fallback=False)


class AnaplanTaskMixin:
    """What the sensor and the import operator share: building the trigger, judging events."""

    anaplan_conn_id: str
    allow_rejected_rows: bool

    def task_trigger(self, hook: AnaplanHook, import_id: str, task_id: str,
                     timeout: float | None, cancel_on_timeout: bool,
                     poll_interval: float) -> AnaplanTaskTrigger:
        config = hook.client.config
        return AnaplanTaskTrigger(
            anaplan_conn_id=self.anaplan_conn_id, workspace_id=config.workspace_id,
            model_id=config.model_id, import_id=import_id, anaplan_task_id=task_id,
            poll_interval=poll_interval,
            deadline=time.time() + timeout if timeout else None,
            cancel_on_timeout=cancel_on_timeout,
        )

    def finish(self, event: dict[str, Any]) -> dict[str, Any]:
        ok, message = judge(event, allow_rejected_rows=self.allow_rejected_rows)
        if not ok:
            raise AirflowException(f"Anaplan import failed: {message}")
        log = self.log  # type: ignore[attr-defined]
        (log.warning if event.get("rejected") else log.info)("Anaplan import finished: %s",
                                                              message)
        return event.get("task") or {}


class AnaplanTaskSensor(AnaplanTaskMixin, BaseSensorOperator):
    """Succeeds when an import or process task is COMPLETE and successful with no rejected
    rows. ``import_id`` is the import's (``112…``) or the process's (``118…``) id.

    Fails on CANCELLED, on ``successful: false``, on rejected rows (unless
    ``allow_rejected_rows``) with the first rejected rows from the failure dump, and on
    timeout (cancelling the task when ``cancel_on_timeout``). Deferrable by default
    (``[operators] default_deferrable``): the wait happens in the triggerer, not a worker.
    """

    template_fields: Sequence[str] = ("import_id", "anaplan_task_id")
    ui_color = "#f3e8ff"

    def __init__(
        self,
        *,
        import_id: str,
        anaplan_task_id: str,
        anaplan_conn_id: str = AnaplanHook.default_conn_name,
        workspace_id: str | None = None,
        model_id: str | None = None,
        deferrable: bool | None = None,
        cancel_on_timeout: bool = False,
        allow_rejected_rows: bool = False,
        poll_interval: float = 5.0,
        timeout: float | timedelta = timedelta(hours=2),
        **kwargs: Any,
    ) -> None:
        timeout_s = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
        super().__init__(poke_interval=max(5.0, poll_interval), timeout=timeout_s, **kwargs)
        self.import_id = import_id
        self.anaplan_task_id = anaplan_task_id
        self.anaplan_conn_id = anaplan_conn_id
        self.workspace_id = workspace_id
        self.model_id = model_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.cancel_on_timeout = cancel_on_timeout
        self.allow_rejected_rows = allow_rejected_rows
        self.poll_interval = max(5.0, poll_interval)

    @property
    def hook(self) -> AnaplanHook:
        return AnaplanHook(self.anaplan_conn_id, self.workspace_id, self.model_id)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        self.defer(
            trigger=self.task_trigger(self.hook, self.import_id, self.anaplan_task_id,
                                      self.timeout, self.cancel_on_timeout, self.poll_interval),
            method_name="execute_complete",
        )

    def poke(self, context: Any) -> bool:
        client = self.hook.client
        status = client.task(self.import_id, self.anaplan_task_id)
        self.log.info("Anaplan task %s: %s", status.task_id, status.state)
        if not status.terminal:
            return False
        rejected = [r.describe() for r in client.rejected_rows(
            self.import_id, status.task_id, 10, status)] if status.failure_dump else []
        self.finish({"status": "done", "task": status.as_dict(), "rejected": rejected})
        return True

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        return self.finish(event)
