"""Judging a finished task: success, partial failure, cancellation, timeout."""

from __future__ import annotations

from typing import Any


def judge(event: dict[str, Any], *, allow_rejected_rows: bool = False) -> tuple[bool, str]:
    """(ok, message) for a trigger/sensor event ``{"status", "task", "rejected", ...}``."""
    status = event.get("status")
    task = event.get("task") or {}
    summary = task.get("summary") or f"task {task.get('task_id')}"
    rejected = event.get("rejected") or []
    shown = ("; first rejected rows: " + " | ".join(rejected)) if rejected else ""
    if status == "timeout":
        action = " and was cancelled" if event.get("cancelled") else ""
        return False, f"{summary}: no result within the timeout{action}"
    if status == "error":
        return False, str(event.get("message") or "status polling failed")
    if task.get("state") == "CANCELLED":
        return False, f"{summary}: the task was cancelled"
    if task.get("successful") is False:
        return False, f"{summary}: import NOT successful{shown}"
    failed = (task.get("counts") or {}).get("failedCount", 0)
    if failed:
        return allow_rejected_rows, f"{summary}: {failed} row(s) rejected{shown}"
    return True, summary
