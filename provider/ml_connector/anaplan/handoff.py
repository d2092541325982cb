"""Handing a file to an import or process: check its columns, upload it to the data source,
start the task and hold the file until Anaplan has read it.

A data source file is one per user and a queued task reads it only when it starts, so two
runs that upload to the same file must not overlap from upload to start: the upload, start
and wait-for-start happen under a lock named for the file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, BinaryIO

from pydantic import BaseModel

from ml_connector.anaplan.client import AnaplanClient
from ml_connector.anaplan.columns import check_header
from ml_connector.anaplan.models import ImportSource
from ml_connector.anaplan.tasks import TaskStatus
from ml_connector.errors import ApiError, ConfigError, ConnectorError

Lock = Callable[[str], AbstractContextManager[Any]]


def no_lock(_key: str) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


@dataclass(frozen=True)
class ActionPlan:
    """An import or process resolved to the one file it reads and the columns it expects."""

    action_id: str
    name: str
    kind: str  # "import" | "process"
    model: str  # workspace/model
    file_id: str
    header_names: tuple[tuple[str, list[str]], ...]  # (import label, headerNames) per step
    separator: str = ","
    delimiter: str = '"'

    def check_header(self, header: list[str]) -> None:
        for label, expected in self.header_names:
            check_header(header, expected, label)

    @property
    def lock_key(self) -> str:
        return f"anaplan-file:{self.model}/{self.file_id}"


def plan_action(client: AnaplanClient, id_or_name: str) -> ActionPlan:
    """Resolve an import or process by id or name; a process's imports must read one file."""
    action = client.find_action(id_or_name)
    steps = action.steps
    if not steps:
        raise ConfigError(f"process {action.name!r} ({action.id}) runs no import")
    files = sorted({str(s.import_data_source_id) for s in steps})
    if len(files) != 1 or any(s.import_data_source_id is None for s in steps):
        raise ConfigError(
            f"{action.kind} {action.name!r} ({action.id}) reads data source files "
            f"{files}; a flow supplies exactly one file")
    headers: list[tuple[str, list[str]]] = []
    source = ImportSource()
    for step in steps:
        source = client.import_metadata(step.id).source or ImportSource()
        headers.append((f"import {step.name!r} ({step.id})", list(source.header_names or [])))
    model = f"{client.config.workspace_id}/{client.config.model_id}"
    return ActionPlan(action.id, action.name, action.kind, model, files[0], tuple(headers),
                      source.column_separator or ",", source.text_delimiter or '"')


class Handoff(BaseModel):
    """What ``hand_over`` did: the task started and the upload that fed it; ``task`` once
    waited for. Its JSON is the import operator's XCom."""

    import_id: str
    task_id: str
    file_id: str
    chunks: int
    bytes: int
    state: str
    task: TaskStatus | None = None


def hand_over(
    client: AnaplanClient,
    plan: ActionPlan,
    stream: BinaryIO,
    size: int,
    *,
    locale: str = "en_US",
    mapping_parameters: list[dict] | None = None,
    lock: Lock = no_lock,
    start_timeout: float = 1800.0,
    first_check: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda _m: None,
    on_start: Callable[[str, str], None] = lambda _a, _t: None,
) -> Handoff:
    """Upload, start and wait until the task has left NOT_STARTED (it has read the file),
    all under ``lock(plan.lock_key)``: status is read ``first_check`` seconds after the
    start, then every 5 s or more. A task still queued after ``start_timeout`` is
    cancelled, so that it cannot read a later run's upload. ``on_start(action id, task id)``
    is called as soon as the task exists."""
    with lock(plan.lock_key):
        upload = client.upload(plan.file_id, stream, size)
        task_id = client.start_task(plan.action_id, locale, mapping_parameters)
        on_start(plan.action_id, task_id)
        log(f"Started {plan.kind} {plan.name!r} task {task_id} ({upload.chunks} chunk(s), "
            f"{upload.bytes} bytes)")
        sleep(first_check)
        try:
            status = client.wait(plan.action_id, task_id, timeout=start_timeout, sleep=sleep,
                                 until=lambda s: s.state != "NOT_STARTED")
        except ApiError:  # its status could not be read: stop it if it can be, say why
            _cancel(client, plan.action_id, task_id, log)
            raise
        except ConnectorError:
            _cancel(client, plan.action_id, task_id, log)
            raise ConnectorError(
                f"{plan.kind} {plan.name!r} task {task_id} did not start within "
                f"{start_timeout:.0f}s (the model is busy); it was cancelled") from None
    return Handoff(import_id=plan.action_id, task_id=task_id, file_id=plan.file_id,
                   chunks=upload.chunks, bytes=upload.bytes, state=status.state)


def _cancel(client: AnaplanClient, action_id: str, task_id: str,
            log: Callable[[str], None]) -> None:
    """One attempt to cancel a task the run gives up on; a task that finished already
    (409) or a refused cancel is said, not retried."""
    try:
        client.cancel(action_id, task_id, quick=True)
    except ConnectorError as exc:
        log(f"Could not cancel task {task_id}: {exc}")


def read_header(path: Any, separator: str = ",", quote: str = '"') -> list[str]:
    """The first row of a CSV file (anything with ``open()``)."""
    with path.open("r", encoding="utf-8", newline="") as handle:
        first = handle.readline()
    return next(csv.reader(io.StringIO(first), delimiter=separator, quotechar=quote), [])


def send_file(
    client: AnaplanClient,
    id_or_name: str,
    path: Any,
    *,
    lock: Lock = no_lock,
    locale: str = "en_US",
    mapping_parameters: list[dict] | None = None,
    start_timeout: float = 1800.0,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda _m: None,
    on_start: Callable[[str, str], None] = lambda _a, _t: None,
) -> Handoff:
    """Resolve the import or process, check the file's header against what it expects, and
    ``hand_over`` the file at ``path`` (anything with ``open()`` and ``stat()``)."""
    plan = plan_action(client, id_or_name)
    plan.check_header(read_header(path, plan.separator, plan.delimiter))
    log(f"Uploading {path} to file {plan.file_id} of {plan.kind} {plan.name!r}")
    with path.open("rb") as stream:
        return hand_over(client, plan, stream, path.stat().st_size, locale=locale,
                         mapping_parameters=mapping_parameters, lock=lock,
                         start_timeout=start_timeout, sleep=sleep, log=log,
                         on_start=on_start)
