"""Task outcomes: the event a wait ends with (trigger or poll), and judging it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ml_connector.anaplan.tasks import TaskStatus


class TaskEvent(BaseModel):
    """How waiting for a task ended: ``done`` (terminal, with the task and the first
    rejected rows), ``timeout`` (``cancelled`` says whether the task was cancelled) or
    ``error`` (status polling failed, ``message`` says why). Triggers emit its JSON."""

    status: Literal["done", "timeout", "error"]
    task: TaskStatus | None = None
    rejected: list[str] = Field(default_factory=list)
    polls: int | None = None
    requests: int | None = None  # the Anaplan requests the triggerer made for the wait
    cancelled: bool = False
    message: str | None = None
    task_id: str | None = None


def judge(event: TaskEvent, *, allow_rejected_rows: bool = False) -> tuple[bool, str]:
    """(ok, message) for a finished wait."""
    task = event.task
    summary = task.summary if task else f"task {event.task_id}"
    shown = ("; first rejected rows: " + " | ".join(event.rejected)) if event.rejected else ""
    if event.status == "timeout":
        action = " and was cancelled" if event.cancelled else ""
        return False, f"{summary}: no result within the timeout{action}"
    if event.status == "error" or task is None:
        return False, event.message or "status polling failed"
    if task.state == "CANCELLED":
        return False, f"{summary}: the task was cancelled"
    if task.successful is False:
        return False, f"{summary}: import NOT successful{shown}"
    if task.failed_rows:
        return allow_rejected_rows, f"{summary}: {task.failed_rows} row(s) rejected{shown}"
    return True, summary
