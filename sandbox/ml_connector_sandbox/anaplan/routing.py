"""The emulator's FastAPI routes: every request passes the tenant rate limit, is handled
under the emulator's lock and counted by path template and status; a request no route
takes gets Anaplan's 404 or 405."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.routing import Match

from ml_connector_sandbox.anaplan import errors

if TYPE_CHECKING:
    from ml_connector_sandbox.anaplan.emulator import AnaplanEmulator

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


class Dispatcher:
    """Handlers registered with ``add`` become FastAPI routes of ``router``; ``close`` adds
    the answer for paths no route takes (after every ``add``)."""

    def __init__(self, emu: AnaplanEmulator) -> None:
        self.emu = emu
        self.router = APIRouter()

    def add(self, method: str, template: str, handler: Handler) -> None:
        async def endpoint(request: Request) -> Response:
            path = PARAM.sub(lambda m: str(request.path_params[m[1]]), template)
            return await self._serve(request, path, f"{method} {template}", handler)

        self.router.add_api_route(template, endpoint, methods=[method],
                                  name=f"{method} {template}", include_in_schema=False)

    def close(self) -> None:
        async def unknown(rest: str, request: Request) -> Response:
            scope = {**request.scope, "path": "/" + rest, "root_path": ""}  # as routed here
            allowed = any(route.matches(scope)[0] == Match.PARTIAL
                          for route in self.router.routes[:-1] if isinstance(route, APIRoute))
            error = errors.ApiError(405) if allowed else errors.not_found()

            def refuse(_call: Call) -> Reply:
                raise error

            return await self._serve(request, "/" + rest, f"{request.method} /{rest}", refuse)

        self.router.add_api_route("/{rest:path}", unknown, methods=METHODS,
                                  include_in_schema=False)

    async def _serve(self, request: Request, path: str, template: str,
                     handler: Handler) -> Response:
        prefix = request.url.path[: len(request.url.path) - len(path)]
        call = Call(request.method, path, dict(request.path_params), request.query_params,
                    request.headers, await request.body(),
                    f"{request.url.scheme}://{request.url.netloc}{prefix}")
        reply = await run_in_threadpool(self.handle, call, template, handler)
        return reply.response()

    def handle(self, call: Call, template: str, handler: Handler) -> Reply:
        emu = self.emu
        with emu.lock:
            call.now = emu.clock.now()
            try:
                wait = emu.bucket.take(call.now)
                if wait is not None:
                    headers = ({"Retry-After": emu.bucket.retry_after(wait)}
                               if emu.config.send_retry_after else {})
                    raise errors.ApiError(429, "Too Many Requests", headers)
                reply = handler(call)
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


PARAM = re.compile(r"\{(\w+)\}")
