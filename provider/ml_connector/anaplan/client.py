"""AnaplanClient (sync, for operators) and AsyncAnaplanClient (task status, for triggers)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import httpx
from pydantic import ValidationError

from ml_connector.anaplan import ids
from ml_connector.anaplan.auth import AnaplanAuth, AsyncAnaplanAuth, Method, TokenBook
from ml_connector.anaplan.config import AnaplanConfig
from ml_connector.anaplan.dump import RejectedRow, parse_dump
from ml_connector.anaplan.errors import SERVICE, anaplan_error, auth_error, envelope
from ml_connector.anaplan.models import (
    Action,
    AnaplanModel,
    Chunk,
    Export,
    ExportMetadata,
    File,
    Import,
    ImportMetadata,
    ListInfo,
    ListItem,
    ModelInfo,
    Process,
    ProcessMetadata,
    Resource,
)
from ml_connector.anaplan.tasks import TaskStatus, parse_task, poll_delays
from ml_connector.anaplan.upload import UploadResult, chunk_plan, prepared_chunks
from ml_connector.errors import AuthError, ConfigError, ConnectorError, ProtocolError
from ml_connector.transport.aio import AsyncTransport
from ml_connector.transport.ratelimit import RateLimiter
from ml_connector.transport.retry import RetryPolicy
from ml_connector.transport.sync import Transport

log = logging.getLogger(__name__)
#: Seconds a quick cancel (``cancel(..., quick=True)``) may take per connect/read.
QUICK_TIMEOUT = 3.0


R = TypeVar("R", bound=Resource)
M = TypeVar("M", bound=AnaplanModel)


def _match(items: list[R], id_or_name: str) -> R | None:
    return next((i for i in items if id_or_name in (i.id, i.name)), None)


def _listed(items: list[R]) -> str:
    return ", ".join(f"{i.id} ({i.name})" for i in items)


def _parsed(response: httpx.Response, value: Any, kind: type[M]) -> M:
    """``value`` (from ``response``) as a ``kind``; JSON that does not fit is a ProtocolError."""
    try:
        return kind.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the object"
        raise ProtocolError(f"{kind.__name__} does not fit Anaplan's answer: {where}: "
                            f"{first['msg']}", service=SERVICE, status=response.status_code,
                            method=response.request.method,
                            url=str(response.request.url)) from None


def _limiter(config: AnaplanConfig) -> RateLimiter:
    return RateLimiter(config.requests_per_minute, 60.0, name="anaplan",
                       shared_path=config.rate_limit_file)


class AnaplanClient:
    """A synchronous client for one model. No Airflow needed."""

    def __init__(self, method: Method, config: AnaplanConfig, *,
                 clock: Callable[[], float] = time.time, http: httpx.Client | None = None) -> None:
        self.config = config
        http = http or httpx.Client(timeout=config.timeout)
        limiter = _limiter(config)
        self.book = TokenBook(method, config.auth_url, clock=clock)
        self.auth = AnaplanAuth(self.book, Transport("Anaplan auth", auth_error, limiter=limiter,
                                                     policy=config.retry, client=http))
        self.api = Transport(SERVICE, anaplan_error, limiter=limiter, policy=config.retry,
                             client=http)

    @property
    def requests(self) -> int:
        return self.api.requests + self.auth.transport.requests

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """An authenticated call; a refused token is replaced once."""
        for second_try in (False, True):
            token = self.auth.token()
            try:
                return self.api.request(
                    method, url, auth=_bearer(token),
                    **kwargs,
                )
            except AuthError:
                if second_try:
                    raise
                log.info("Anaplan refused the token; authenticating again")
                self.book.forget(token)
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, key: str | None = None) -> Any:
        """The raw JSON (or its ``key``) of ``GET`` on a path of the model, for resources
        without a model of their own."""
        return envelope(self.request("GET", self.config.model_url + path), key)

    def _one(self, url: str, key: str, kind: type[M], params: dict | None = None) -> M:
        response = self.request("GET", url, params=params)
        return _parsed(response, envelope(response, key), kind)

    def _many(self, url: str, key: str, kind: type[M], params: dict | None = None) -> list[M]:
        response = self.request("GET", url, params=params)
        rows = envelope(response, key) or []
        if not isinstance(rows, list):
            raise ProtocolError(f"{key!r} is not a list", service=SERVICE,
                                status=response.status_code, method=response.request.method,
                                url=str(response.request.url))
        return [_parsed(response, row, kind) for row in rows]

    # -- model objects --------------------------------------------------------------------

    def models(self) -> list[ModelInfo]:
        """The workspace's models (``GET /workspaces/{ws}/models``) the user can see."""
        url = f"{self.config.api_url}/workspaces/{self.config.workspace_id}/models"
        return self._many(url, "models", ModelInfo)

    def model_page(self) -> str:
        """The model in Anaplan's web UI, for a person: the connection's ``model_page_url``,
        else the ``modelUrl`` Anaplan lists for it (``GET /workspaces/{ws}/models``, see
        https://help.anaplan.com/retrieve-model-ids-from-workspace-eeca6683-e38a-4c77-bb22-ca9ddab5552e;
        the listing, unlike the model's own resource, is not held up by a running import)."""
        configured = self.config.page_url()
        if configured:
            return configured
        found = _match(self.models(), self.config.model_id)
        return (found.model_url or "") if found else ""

    def files(self) -> list[File]:
        return self._many(self.config.model_url + "/files", "files", File)

    def imports(self) -> list[Import]:
        return self._many(self.config.model_url + "/imports", "imports", Import)

    def processes(self) -> list[Process]:
        return self._many(self.config.model_url + "/processes", "processes", Process)

    def exports(self) -> list[Export]:
        return self._many(self.config.model_url + "/exports", "exports", Export)

    def process_metadata(self, process_id: str) -> ProcessMetadata:
        """A process's actions, in the order it runs them."""
        url = f"{self.config.model_url}/processes/{ids.object_id(process_id, 'process')}"
        return self._one(url, "processMetadata", ProcessMetadata)

    def find_action(self, id_or_name: str) -> Action:
        """An import or a process by id or exact name, with its ``steps`` (the imports it
        runs, as listed by ``/imports``); the error lists what exists."""
        imports = self.imports()
        found = _match(imports, id_or_name)
        if found is not None:
            return Action(id=found.id, name=found.name, kind="import", steps=[found])
        processes = self.processes()
        process = _match(processes, id_or_name)
        if process is None:
            raise ConfigError(f"no import or process {id_or_name!r} in model "
                              f"{self.config.model_id}; there are: "
                              f"{_listed([*imports, *processes])}")
        meta = self.process_metadata(process.id)
        by_id = {i.id: i for i in imports}
        return Action(id=process.id, name=process.name, kind="process",
                      steps=[by_id[a.id] for a in meta.actions if a.id in by_id])

    def find_export(self, id_or_name: str) -> Export:
        """An export action by id or exact name; the error lists the model's exports."""
        return self._find(self.exports(), id_or_name, "export")

    def _find(self, items: list[R], id_or_name: str, what: str) -> R:
        """The one of ``items`` with this id or exact name; the error lists them all."""
        found = _match(items, id_or_name)
        if found is None:
            raise ConfigError(f"no {what} {id_or_name!r} in model {self.config.model_id}; "
                              f"there are: {_listed(items) or 'none'}")
        return found

    def export_metadata(self, export_id: str) -> ExportMetadata:
        url = f"{self.config.model_url}/exports/{ids.object_id(export_id, 'export')}"
        return self._one(url, "exportMetadata", ExportMetadata)

    def import_metadata(self, import_id: str) -> ImportMetadata:
        url = f"{self.config.model_url}/imports/{ids.object_id(import_id, 'import')}"
        return self._one(url, "importMetadata", ImportMetadata)

    def lists(self) -> list[ListInfo]:
        """The model's lists (refused with 423 while an action holds the model)."""
        return self._many(self.config.model_url + "/lists", "lists", ListInfo)

    def find_list(self, id_or_name: str, lists: list[ListInfo] | None = None) -> ListInfo:
        """A list by id or exact name, among ``lists`` (default: the model's, one request);
        the error lists the model's lists."""
        return self._find(self.lists() if lists is None else lists, id_or_name, "list")

    def list_items(self, list_id: str, include_all: bool = False) -> list[ListItem]:
        """A list's members; ``include_all`` asks for codes, properties and parents too."""
        url = f"{self.config.model_url}/lists/{ids.numbered_id(list_id, 'list')}/items"
        return self._many(url, "listItems", ListItem,
                          {"includeAll": "true"} if include_all else None)

    def download(self, file_id: str) -> Iterator[bytes]:
        """A model file's chunks in order (an export writes the file of its own id)."""
        url = f"{self.config.model_url}/files/{file_id}/chunks"
        for chunk in sorted(self._many(url, "chunks", Chunk), key=lambda c: int(c.id)):
            yield self.request("GET", f"{url}/{chunk.id}").content

    def run_export(self, export_id: str, *, sleep: Callable[[float], None] = time.sleep,
                   timeout: float = 3600) -> bytes:
        """Run an export (``116…``), wait for it, and return the file it wrote."""
        export_id = ids.object_id(export_id, "export")
        task = self.start_task(export_id)
        status = self.wait(export_id, task, sleep=sleep, timeout=timeout)
        if not status.ok:
            raise ConnectorError(f"export {export_id} task {task} ended {status.state}: "
                                 f"{status.summary}")
        return b"".join(self.download(export_id))

    # -- upload ---------------------------------------------------------------------------

    def upload(self, file_id: str, source: str | Path | BinaryIO,
               size: int | None = None) -> UploadResult:
        """Upload in gzip chunks (each ≤ 50 MB uncompressed, ≤ 1,000 chunks) to an existing
        data source file; posting to an unknown id would silently create a file."""
        file_id = ids.object_id(file_id, "file")
        known = {f.id for f in self.files()}
        if file_id not in known:
            raise ConfigError(f"file {file_id} does not exist in model {self.config.model_id}; "
                              f"files: {', '.join(sorted(known))}")
        started = time.perf_counter()
        if isinstance(source, (str, Path)):
            with open(source, "rb") as stream:
                return self.upload(file_id, stream, Path(source).stat().st_size)
        if size == 0:
            raise ConfigError(f"refusing to upload an empty file to {file_id}: an import file "
                              "has at least its header row")
        chunk_size, count = chunk_plan(size or 0, self.config.chunk_size)
        url = f"{self.config.model_url}/files/{file_id}"
        self.request("POST", url, json={"chunkCount": count if size is not None else -1})
        content_type = "application/x-gzip" if self.config.compress else (
            "application/octet-stream")
        sent = total = chunks = 0
        for raw, body in prepared_chunks(source, chunk_size, self.config.compress):
            self.request("PUT", f"{url}/chunks/{chunks}", content=body,
                         headers={"Content-Type": content_type})
            chunks += 1
            total += raw
            sent += len(body)
        if size is None:
            self.request("POST", f"{url}/complete", json={"id": file_id})
        result = UploadResult(file_id, chunks, total, sent, time.perf_counter() - started)
        log.info("Uploaded %d bytes to file %s in %d chunk(s) (%d bytes sent)",
                 total, file_id, result.chunks, sent)
        return result

    # -- tasks ----------------------------------------------------------------------------

    def start_task(self, action_id: str, locale: str = "en_US",
                   mapping_parameters: list[dict] | None = None) -> str:
        """Run an import (``112…``) or a process (``118…``); returns the task id."""
        body: dict[str, Any] = {"localeName": locale}
        if mapping_parameters:
            body["mappingParameters"] = mapping_parameters
        task = envelope(self.request("POST", self.config.task_url(action_id), json=body), "task")
        return ids.task_id(task["taskId"])

    def task(self, action_id: str, task_id: str) -> TaskStatus:
        return parse_task(envelope(self.request("GET", self.config.task_url(action_id, task_id)),
                                   "task"))

    def cancel(self, action_id: str, task_id: str, *, quick: bool = False) -> TaskStatus:
        """Cancel a task: ``DELETE`` on its status URL answers the task, CANCELLING until it
        is CANCELLED with its changes rolled back (Anaplan help, "Monitor the import tasks":
        https://help.anaplan.com/monitor-the-import-tasks-107143d0-91b3-4158-b2ee-c30a9ba4ee5f).
        ``quick``: one attempt with a short timeout, for a task being stopped (``on_kill``)."""
        return parse_task(envelope(self.request(
            "DELETE", self.config.task_url(action_id, task_id), **_quick(quick)), "task"))

    def wait(self, action_id: str, task_id: str, *, timeout: float = 3600,
             sleep: Callable[[float], None] = time.sleep,
             until: Callable[[TaskStatus], bool] = lambda s: s.terminal) -> TaskStatus:
        """Poll until COMPLETE or CANCELLED (or ``until``), 5 s growing to 60 s between polls."""
        waited = 0.0
        for delay in poll_delays():
            status = self.task(action_id, task_id)
            if until(status):
                return status
            if waited >= timeout:
                raise ConnectorError(f"task {task_id} still {status.state} after {waited:.0f}s")
            sleep(delay)
            waited += delay
        raise AssertionError("unreachable")  # pragma: no cover

    def rejected_rows(self, action_id: str, task_id: str, limit: int | None = None,
                      status: TaskStatus | None = None) -> list[RejectedRow]:
        """Rows of the task's failure dump(s): the import's, or every failed process step's."""
        objects = (status or self.task(action_id, task_id)).dump_objects if ids.is_process(
            action_id) else []
        rows = (row for url in self.config.dump_urls(action_id, task_id, objects)
                for row in parse_dump(self.request("GET", url).text))
        return [row for _, row in zip(range(limit), rows, strict=False)] if limit else list(rows)

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> AnaplanClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncAnaplanClient:
    """Task status, cancel and dump, awaited (for the triggerer)."""

    def __init__(self, method: Method, config: AnaplanConfig, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        http = httpx.AsyncClient(timeout=config.timeout)
        limiter = _limiter(config)
        self.book = TokenBook(method, config.auth_url, clock=clock)
        self.auth = AsyncAnaplanAuth(self.book, AsyncTransport(
            "Anaplan auth", auth_error, limiter=limiter, policy=config.retry, client=http))
        self.api = AsyncTransport(SERVICE, anaplan_error, limiter=limiter, policy=config.retry,
                                  client=http)

    @property
    def requests(self) -> int:
        return self.api.requests + self.auth.transport.requests

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        for second_try in (False, True):
            token = await self.auth.token()
            try:
                return await self.api.request(
                    method, url, auth=_bearer(token),
                    **kwargs,
                )
            except AuthError:
                if second_try:
                    raise
                self.book.forget(token)
        raise AssertionError("unreachable")  # pragma: no cover

    async def task(self, action_id: str, task_id: str) -> TaskStatus:
        response = await self.request("GET", self.config.task_url(action_id, task_id))
        return parse_task(envelope(response, "task"))

    async def cancel(self, action_id: str, task_id: str, *, quick: bool = False) -> TaskStatus:
        """See ``AnaplanClient.cancel``."""
        response = await self.request("DELETE", self.config.task_url(action_id, task_id),
                                      **_quick(quick))
        return parse_task(envelope(response, "task"))

    async def rejected_rows(self, action_id: str, task_id: str, limit: int = 10,
                            status: TaskStatus | None = None) -> list[RejectedRow]:
        objects = (status or await self.task(action_id, task_id)).dump_objects if (
            ids.is_process(action_id)) else []
        rows: list[RejectedRow] = []
        for url in self.config.dump_urls(action_id, task_id, objects):
            response = await self.request("GET", url)
            rows += [row for _, row in zip(range(limit - len(rows)), parse_dump(response.text),
                                           strict=False)]
        return rows

    async def aclose(self) -> None:
        self.auth.close()
        await self.api.aclose()


def _quick(quick: bool) -> dict[str, Any]:
    """Request options of a quick cancel: Airflow gives ``on_kill`` a few seconds (a worker
    is killed 5 s after SIGTERM), and a 409 (the task already finished) would not pass."""
    return {"policy": RetryPolicy(attempts=1), "timeout": QUICK_TIMEOUT} if quick else {}


def _bearer(token: str) -> Callable[[], dict[str, str]]:
    """The Authorization header of an Integration API call."""
    return lambda: {"Authorization": f"AnaplanAuthToken {token}"}
