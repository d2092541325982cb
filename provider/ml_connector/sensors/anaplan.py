"""AnaplanTaskSensor: wait for an Anaplan import task, deferrable by default."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from ml_connector.anaplan.handoff import Handoff
from ml_connector.anaplan.outcome import TaskEvent, judge
from ml_connector.anaplan.tasks import TaskStatus
from ml_connector.hooks.anaplan import AnaplanHook
from ml_connector.operators.failures import fail_fast
from ml_connector.triggers.anaplan import AnaplanTaskTrigger


def default_deferrable() -> bool:
    return conf.getboolean("operators", "default_deferrable", fallback=False)


class AnaplanTaskMixin:
    """What the sensor and the import operator share: their hook, building the trigger,
    judging events, and cancelling the task they wait for when Airflow kills them."""

    anaplan_conn_id: str
    workspace_id: str | None
    model_id: str | None
    allow_rejected_rows: bool
    cancel_on_kill: bool
    #: (import or process id, task id) of the Anaplan task waited for in this process, from
    #: its start until the wait ends or is handed to the triggerer: what ``on_kill`` cancels.
    running_task: tuple[str, str] | None = None

    @cached_property
    def hook(self) -> AnaplanHook:
        """One hook (and client) per run of the task (Airflow runs a copy of the operator)."""
        return AnaplanHook(self.anaplan_conn_id, self.workspace_id, self.model_id)

    def release(self) -> None:
        """The wait is over or handed to the triggerer: nothing left for ``on_kill`` to
        cancel; the client is closed. (A failed run keeps both: Airflow calls ``on_kill``
        after an ``execution_timeout``.)"""
        self.running_task = None
        self.count_requests(self.hook.client.requests)
        self.hook.client.close()

    def count_requests(self, requests: int | None) -> None:
        """Add ``requests`` Anaplan requests to the running task's count in the state store
        (``ml-connector runs`` and the Month-end page show a run's); never fails the task."""
        if not requests:
            return
        from airflow.sdk import get_current_context

        from ml_connector.hooks.state import DEFAULT_STATE_CONN_ID, state_store, state_url
        from ml_connector.state.anaplan_requests import AnaplanRequests

        try:
            ti = get_current_context()["ti"]
            store = state_store(state_url(getattr(self, "state_conn_id", DEFAULT_STATE_CONN_ID)))
            AnaplanRequests(store).add(ti.dag_id, ti.run_id, ti.task_id, requests)
        except Exception as exc:  # a count is worth less than the task
            self.log.warning("Could not count %d Anaplan request(s): %s",  # type: ignore[attr-defined]
                             requests, exc)

    def task_trigger(self, import_id: str, task_id: str, timeout: float | None,
                     cancel_on_timeout: bool, poll_interval: float) -> AnaplanTaskTrigger:
        config = self.hook.client.config
        return AnaplanTaskTrigger(
            anaplan_conn_id=self.anaplan_conn_id, workspace_id=config.workspace_id,
            model_id=config.model_id, import_id=import_id, anaplan_task_id=task_id,
            poll_interval=poll_interval,
            deadline=time.time() + timeout if timeout else None,
            cancel_on_timeout=cancel_on_timeout, cancel_on_kill=self.cancel_on_kill,
        )

    def on_kill(self) -> None:
        """Cancel the Anaplan task this process waits for (unless not ``cancel_on_kill``):
        Airflow calls this when a user marks the running task failed or success, or clears
        it, and on ``execution_timeout``. Nothing waited for, nothing cancelled; a cancel
        that fails (the task already finished: 409; Anaplan unreachable) is a warning.

        A deferred wait has no worker process: ``AnaplanTaskTrigger.on_kill`` cancels then.
        """
        task, self.running_task = self.running_task, None
        if task is None or not self.cancel_on_kill:
            return
        log = self.log  # type: ignore[attr-defined]
        action_id, task_id = task
        try:
            status = self.hook.client.cancel(action_id, task_id, quick=True)
        except Exception as exc:  # on_kill must never raise
            log.warning("Could not cancel Anaplan task %s of %s: %s", task_id, action_id, exc)
            return
        log.info("Cancelled Anaplan task %s of %s: %s", task_id, action_id, status.state)

    def finish(self, event: TaskEvent | dict[str, Any]) -> TaskStatus:
        """The finished task, or an exception saying why the wait failed: for a task that
        ended (failed, cancelled, rows rejected) one that is not retried, since polling it
        again gives the same answer."""
        outcome = TaskEvent.model_validate(event)
        self.count_requests(outcome.requests)  # the triggerer's, for a deferred wait
        ok, message = judge(outcome, allow_rejected_rows=self.allow_rejected_rows)
        if not ok and outcome.status == "done":
            raise AirflowFailException(f"Anaplan import failed: {message}")
        if not ok or outcome.task is None:
            raise AirflowException(f"Anaplan import failed: {message}")
        log = self.log  # type: ignore[attr-defined]
        (log.warning if outcome.rejected else log.info)("Anaplan import finished: %s", message)
        return outcome.task

    def outcome(self, client: Any, import_id: str, status: TaskStatus) -> TaskEvent:
        """The event of a task found terminal by polling here (not in the triggerer)."""
        rejected = [r.describe() for r in client.rejected_rows(
            import_id, status.task_id, 10, status)] if status.failure_dump else []
        return TaskEvent(status="done", task=status, rejected=rejected)


class AnaplanTaskSensor(AnaplanTaskMixin, BaseSensorOperator):
    """Succeeds when an import or process task is COMPLETE and successful with no rejected
    rows. ``import_id`` is the import's (``112…``) or the process's (``118…``) id; instead of
    it and ``anaplan_task_id``, ``handoff`` takes the import operator's output (its XCom).

    Fails on CANCELLED, on ``successful: false``, on rejected rows (unless
    ``allow_rejected_rows``) with the first rejected rows from the failure dump, and on
    timeout (cancelling the task when ``cancel_on_timeout``); returns the finished
    ``TaskStatus`` (its JSON), deferred or not. Deferrable by default
    (``[operators] default_deferrable``): the wait happens in the triggerer, not a worker.
    When a user marks the waiting task failed (or success, or clears it), the Anaplan task
    is cancelled unless ``cancel_on_kill`` is False (see ``AnaplanTaskMixin.on_kill`` and
    ``AnaplanTaskTrigger.on_kill``).
    """

    template_fields: Sequence[str] = ("import_id", "anaplan_task_id", "handoff")
    ui_color = "#f3e8ff"

    def __init__(
        self,
        *,
        import_id: str | None = None,
        anaplan_task_id: str | None = None,
        handoff: Any = None,
        anaplan_conn_id: str = AnaplanHook.default_conn_name,
        workspace_id: str | None = None,
        model_id: str | None = None,
        deferrable: bool | None = None,
        cancel_on_timeout: bool = False,
        cancel_on_kill: bool = True,
        allow_rejected_rows: bool = False,
        poll_interval: float = 5.0,
        timeout: float | timedelta = timedelta(hours=2),
        **kwargs: Any,
    ) -> None:
        timeout_s = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
        super().__init__(poke_interval=max(5.0, poll_interval), timeout=timeout_s, **kwargs)
        if handoff is None and not (import_id and anaplan_task_id):
            raise ValueError("AnaplanTaskSensor needs import_id and anaplan_task_id, or the "
                             "import operator's output as handoff")
        self.import_id = import_id
        self.anaplan_task_id = anaplan_task_id
        self.handoff = handoff
        self.anaplan_conn_id = anaplan_conn_id
        self.workspace_id = workspace_id
        self.model_id = model_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.cancel_on_timeout = cancel_on_timeout
        self.cancel_on_kill = cancel_on_kill
        self.allow_rejected_rows = allow_rejected_rows
        self.poll_interval = max(5.0, poll_interval)

    def waited_for(self) -> tuple[str, str]:
        """(import or process id, task id) of the task to wait for."""
        if self.handoff is not None:  # the import operator's XCom, resolved at run time
            started = Handoff.model_validate(self.handoff)
            return started.import_id, started.task_id
        return str(self.import_id), str(self.anaplan_task_id)

    @fail_fast()
    def execute(self, context: Any) -> Any:
        import_id, task_id = self.running_task = self.waited_for()
        if not self.deferrable:
            result = super().execute(context)
            self.release()
            return result
        trigger = self.task_trigger(import_id, task_id, self.timeout, self.cancel_on_timeout,
                                    self.poll_interval)
        self.release()
        self.defer(trigger=trigger, method_name="execute_complete")

    @fail_fast()
    def poke(self, context: Any) -> bool | PokeReturnValue:
        client = self.hook.client
        import_id, task_id = self.waited_for()
        status = client.task(import_id, task_id)
        self.log.info("Anaplan task %s: %s", status.task_id, status.state)
        if not status.terminal:
            return False
        finished = self.finish(self.outcome(client, import_id, status))
        # Its XCom, as when deferred: the finished task.
        return PokeReturnValue(is_done=True, xcom_value=finished.model_dump(mode="json"))

    @fail_fast()
    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        return self.finish(event).model_dump(mode="json")
