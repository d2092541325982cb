"""Task lifecycle of one model on the sandbox clock: one task runs at a time (the model is
locked meanwhile), later ones wait NOT_STARTED; a task's imports are applied the moment it
becomes COMPLETE. State is settled lazily whenever someone looks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from ml_connector_sandbox.anaplan import errors
from ml_connector_sandbox.anaplan.config import TaskTiming
from ml_connector_sandbox.anaplan.definition import ImportSpec
from ml_connector_sandbox.anaplan.files import chunked
from ml_connector_sandbox.anaplan.imports import Outcome, count_rows, run_import
from ml_connector_sandbox.anaplan.model import ModelState

STEP_TEXT = {"NOT_STARTED": "Waiting for the model.", "COMPLETE": "Complete.",
             "CANCELLING": "Cancelling.", "CANCELLED": "Cancelled."}


@dataclass
class Step:
    """One import of a running task, with the source data it read when the task started."""

    spec: ImportSpec
    data: bytes | None
    rows: int
    seconds: float


@dataclass
class Task:
    id: str
    kind: str
    action_id: str
    user: str
    imports: list[ImportSpec]
    params: dict[str, str]
    created: float
    steps: list[Step] = field(default_factory=list)
    state: str = "NOT_STARTED"
    started: float | None = None
    ends: float | None = None
    cancel_at: float | None = None
    progress: float = 0.0
    result: dict | None = None
    dumps: dict[str, bytes] = field(default_factory=dict)
    finished: float | None = None
    superseded: bool = False

    def body(self, now: float) -> dict:
        """The ``task`` object of the status endpoint."""
        progress = self.progress
        step = STEP_TEXT.get(self.state, "")
        if self.state == "IN_PROGRESS":
            assert self.started is not None and self.ends is not None
            span = max(self.ends - self.started, 1e-9)
            progress = min(1.0, max(0.0, (now - self.started) / span))
            step = f"Running {self._step_at(now).spec.name}." if self.steps else "Exporting."
        task = {"type": "taskInformation", "taskId": self.id, "taskState": self.state,
                "creationTime": int(self.created * 1000), "progress": round(progress, 4),
                "currentStep": step}
        if self.result is not None:
            task["result"] = self.result
        return task

    def _step_at(self, now: float) -> Step:
        elapsed = now - (self.started or now)
        for step in self.steps:
            elapsed -= step.seconds
            if elapsed < 0:
                return step
        return self.steps[-1]


class TaskBoard:
    """All tasks of one model, run in creation order. Callers ``settle`` the board to the
    sandbox clock before they read or change it."""

    def __init__(self, model: ModelState, timing: TaskTiming, dump_retention: float) -> None:
        self.model = model
        self.timing = timing
        self.dump_retention = dump_retention
        self.tasks: dict[str, Task] = {}
        self.active: Task | None = None
        self.free_at = 0.0

    def create(self, kind: str, action_id: str, user: str, imports: list[ImportSpec],
               params: dict[str, str], now: float) -> Task:
        """Queue a task (NOT_STARTED until the next look at the board); the user's earlier
        dumps of the same action are gone from now on."""
        for old in self.tasks.values():
            if (old.kind, old.action_id, old.user) == (kind, action_id, user):
                old.superseded = True
        task = Task(uuid.uuid4().hex.upper(), kind, action_id, user, imports, params, now)
        self.tasks[task.id] = task
        return task

    def find(self, kind: str, action_id: str, task_id: str) -> Task:
        task = self.tasks.get(task_id)
        if task is None or (task.kind, task.action_id) != (kind, action_id):
            raise errors.not_found()
        return task

    def listing(self, kind: str, action_id: str) -> list[Task]:
        return [t for t in self.tasks.values() if (t.kind, t.action_id) == (kind, action_id)]

    def cancel(self, task: Task, now: float) -> Task:
        """NOT_STARTED/IN_PROGRESS -> CANCELLING; CANCELLED after ``cancel_seconds``; nothing
        of a cancelled task is applied. Cancelling a COMPLETE task is a conflict (409).

        Anaplan: ``DELETE`` on the task's status URL cancels it; CANCELLING until CANCELLED,
        "the changes have been rolled back" (help page "Monitor the import tasks",
        https://help.anaplan.com/monitor-the-import-tasks-107143d0-91b3-4158-b2ee-c30a9ba4ee5f).
        The answer for a finished task is not documented: 409 is the notes' "state mismatch".
        """
        if task.state == "COMPLETE":
            raise errors.ApiError(409, "Conflict: the task has already completed")
        if task.state in ("NOT_STARTED", "IN_PROGRESS"):
            if task.state == "IN_PROGRESS":
                task.progress = task.body(now)["progress"]
            task.state = "CANCELLING"
            task.cancel_at = now + self.timing.cancel_seconds
            self.settle(now)
        return task

    def dump(self, task: Task, object_id: str, now: float) -> bytes:
        """A failure dump of ``task`` (404 when absent, expired or replaced by a newer run)."""
        dump = task.dumps.get(object_id)
        if (dump is None or task.superseded
                or (task.finished is not None and now > task.finished + self.dump_retention)):
            raise errors.not_found()
        return dump

    def settle(self, now: float) -> None:
        """Advance every task to where the clock says it is, in chronological order."""
        for other in self.tasks.values():
            if (other is not self.active and other.state == "CANCELLING"
                    and other.cancel_at is not None and other.cancel_at <= now):
                self._finish(other, other.cancel_at, None)
        while True:
            task = self.active
            if task is not None:
                if (task.state == "CANCELLING" and task.cancel_at is not None
                        and task.cancel_at <= now):
                    self._finish(task, task.cancel_at, None)
                elif task.state == "IN_PROGRESS" and task.ends is not None and task.ends <= now:
                    self._finish(task, task.ends, [
                        run_import(self.model, s.spec, s.data, task.params) for s in task.steps])
                else:
                    return
                self.active = None
                self.free_at = task.finished if task.finished is not None else now
                continue
            waiting = next((t for t in self.tasks.values() if t.state == "NOT_STARTED"), None)
            if waiting is None:
                return
            start = max(waiting.created + self.timing.queue_seconds, self.free_at)
            if start > now:
                return
            waiting.state, waiting.started = "IN_PROGRESS", start
            waiting.steps = [self._step(spec, waiting.user, start) for spec in waiting.imports]
            waiting.ends = start + (sum(s.seconds for s in waiting.steps)
                                    if waiting.steps else self.timing.base_seconds)
            self.active = waiting

    def _step(self, spec: ImportSpec, user: str, at: float) -> Step:
        """The import as it starts: it reads the user's current upload of its source file."""
        content = self.model.files.content(spec.source, user, at)
        data = content.data if content else None
        rows = count_rows(spec, data)
        return Step(spec, data, rows,
                    self.timing.base_seconds + self.timing.per_row_seconds * rows)

    def _export(self, task: Task, at: float) -> None:
        """The export's module or list as it is now, written to the file of its id."""
        export = self.model.exports[task.action_id]
        data = self.model.exported(export).to_csv(export.headers)
        self.model.files.write(export.id, task.user,
                               chunked(data, self.model.config.dump_chunk_bytes), at)
        rows = data.count(b"\n") - 1
        task.result = {"successful": True, "failureDumpAvailable": False,
                       "objectId": export.id,
                       "details": [{"type": "exportSucceeded", "occurrences": 0,
                                    "localMessageText": f"{export.name}: {rows} rows exported",
                                    "values": ["rowCount", str(rows)]}]}

    def _finish(self, task: Task, at: float, outcomes: list[Outcome] | None) -> None:
        task.finished = at
        if outcomes is None:
            task.state = "CANCELLED"
            task.result = {"successful": False, "failureDumpAvailable": False,
                           "objectId": task.action_id,
                           "details": [{"type": "taskCancelled", "occurrences": 0,
                                        "localMessageText": "The task was cancelled.",
                                        "values": []}]}
            return
        task.state, task.progress = "COMPLETE", 1.0
        if task.kind == "exports":
            self._export(task, at)
            return
        task.dumps = {o.result["objectId"]: o.dump for o in outcomes if o.dump is not None}
        if task.kind == "imports":
            task.result = outcomes[0].result
            return
        task.result = {"successful": all(o.result["successful"] for o in outcomes),
                       "failureDumpAvailable": any(o.dump is not None for o in outcomes),
                       "objectId": task.action_id,
                       "nestedResults": [o.result for o in outcomes]}
