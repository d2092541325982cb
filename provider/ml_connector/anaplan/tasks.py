"""Task status: parsing Anaplan's task objects, summarising results, pacing polls."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, Field, computed_field

TERMINAL = {"COMPLETE", "CANCELLED"}


def pairs(values: list[Any]) -> dict[str, str]:
    """Anaplan's flat alternating key/value list as a dict."""
    return {str(values[i]): str(values[i + 1]) for i in range(0, len(values) - 1, 2)}


class TaskStatus(BaseModel):
    """One read of a task: state, progress and, once terminal, the result (its JSON, with
    ``summary``, is what task outcomes and trigger events carry)."""

    task_id: str
    state: str
    progress: float = 0.0
    current_step: str | None = None
    successful: bool | None = None
    failure_dump: bool = False
    counts: dict[str, int] = Field(default_factory=dict)
    messages: list[str] = Field(default_factory=list)
    dump_objects: list[str] = Field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def failed_rows(self) -> int:
        return self.counts.get("failedCount", 0)

    @property
    def ok(self) -> bool:
        """COMPLETE, successful and no failed rows."""
        return self.state == "COMPLETE" and bool(self.successful) and self.failed_rows == 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> str:
        parts = [f"task {self.task_id} {self.state}"]
        if self.successful is not None:
            parts.append("successful" if self.successful else "NOT successful")
        if self.counts:
            parts.append(", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())))
        parts += self.messages
        return "; ".join(parts)


def parse_task(task: dict[str, Any]) -> TaskStatus:
    """A ``task`` object of ``GET .../tasks/{taskId}`` (unknown fields ignored)."""
    result = task.get("result") or {}
    counts: dict[str, int] = {}
    messages: list[str] = []
    for detail in [*result.get("details", []),
                   *[d for n in result.get("nestedResults", []) for d in n.get("details", [])]]:
        for key, value in pairs(detail.get("values") or []).items():
            if key.endswith("Count"):
                with contextlib.suppress(ValueError):
                    counts[key] = counts.get(key, 0) + int(float(value))
        if detail.get("localMessageText"):
            messages.append(str(detail["localMessageText"]).strip())
    return TaskStatus(
        task_id=str(task.get("taskId", "")),
        state=str(task.get("taskState", "UNKNOWN")),
        progress=float(task.get("progress") or 0.0),
        current_step=task.get("currentStep"),
        successful=result.get("successful") if result else None,
        failure_dump=bool(result.get("failureDumpAvailable")) if result else False,
        counts=counts,
        messages=messages,
        dump_objects=[str(n.get("objectId")) for n in result.get("nestedResults", [])
                      if n.get("failureDumpAvailable")],
    )


def poll_delays(first: float = 5.0, factor: float = 1.5, longest: float = 60.0) -> Iterator[float]:
    """Seconds between status polls: never under 5 (Anaplan's guidance), growing to 60."""
    delay = max(first, 5.0)
    while True:
        yield delay
        delay = min(delay * factor, longest)
