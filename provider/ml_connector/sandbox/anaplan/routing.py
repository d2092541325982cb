"""A small dispatcher: every request under the emulator's prefix passes the tenant rate
limit, is matched against path templates (404/405 in Anaplan's shape otherwise), handled
under the emulator's lock and counted by template and status."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams

from ml_connector.sandbox.anaplan import errors

if TYPE_CHECKING:
    from ml_connector.sandbox.anaplan.emulator import AnaplanEmulator

log = logging.getLogger(__name__)
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


@dataclass
class Call:
    """One request as the handlers see it; ``path`` is relative to the mount point and
    ``origin`` is the absolute URL of the mount point."""

    method: str
    path: str
    params: dict[str, str]
    query: QueryParams
    headers: Headers
    body: bytes
    origin: str
    now: float = 0.0
    user: Any = None

    def json(self) -> dict:
        """The body as a JSON object ({} when empty; 400 when not an object)."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise errors.bad_request("The request body must be a JSON object")
        return value


@dataclass
class Reply:
    status: int = 200
    body: dict | bytes | None = None
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        content = json.dumps(self.body).encode() if isinstance(self.body, dict) else self.body
        return Response(content, self.status, self.headers,
                        media_type=self.media_type if content is not None else None)


Handler = Callable[[Call], Reply | dict]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    pattern: re.Pattern = field(init=False)

    def __post_init__(self) -> None:
        self.pattern = re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template) + "$")


class Dispatcher:
    """Routes registered with ``add``; ``router`` is the FastAPI router serving them."""

    def __init__(self, emu: AnaplanEmulator) -> None:
        self.emu = emu
        self.routes: list[Route] = []
        self.router = APIRouter()
        self.router.add_api_route("/{rest:path}", self._endpoint, methods=METHODS,
                                  include_in_schema=False)

    def add(self, method: str, template: str, handler: Handler) -> None:
        self.routes.append(Route(method, template, handler))

    async def _endpoint(self, rest: str, request: Request) -> Response:
        path = "/" + rest
        prefix = request.url.path[: len(request.url.path) - len(path)]
        call = Call(request.method, path, {}, request.query_params, request.headers,
                    await request.body(), f"{request.url.scheme}://{request.url.netloc}{prefix}")
        reply = await run_in_threadpool(self.handle, call)
        return reply.response()

    def handle(self, call: Call) -> Reply:
        emu = self.emu
        with emu.lock:
            call.now = emu.clock.now()
            template = f"{call.method} {call.path}"
            try:
                wait = emu.bucket.take(call.now)
                if wait is not None:
                    headers = ({"Retry-After": emu.bucket.retry_after(wait)}
                               if emu.config.send_retry_after else {})
                    raise errors.ApiError(429, "Too Many Requests", headers)
                route = self._match(call)
                template = f"{call.method} {route.template}"
                reply = route.handler(call)
                if isinstance(reply, dict):
                    reply = Reply(body=reply)
            except errors.Refusal as refusal:
                reply = Reply(refusal.status, refusal.body(call.path, emu.timestamp(call.now)),
                              headers=refusal.headers)
            except Exception:
                log.exception("anaplan emulator failed on %s %s", call.method, call.path)
                error = errors.ApiError(500)
                reply = Reply(500, error.body(call.path, emu.timestamp(call.now)))
            emu.stats_book.request(template, reply.status)
            return reply

    def _match(self, call: Call) -> Route:
        allowed = False
        for route in self.routes:
            found = route.pattern.match(call.path)
            if found is None:
                continue
            if route.method == call.method:
                call.params = found.groupdict()
                return route
            allowed = True
        raise errors.ApiError(405) if allowed else errors.not_found()
