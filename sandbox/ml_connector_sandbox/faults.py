"""Fault injection shared by the emulators: tests switch faults on through the admin API."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["rate_limit", "server_error", "slow", "drop", "malformed", "expire_tokens",
                    "redirect"]


@dataclass
class Fault:
    """One armed fault: applies to the next ``count`` requests whose path contains ``path``.

    - ``rate_limit``: HTTP 429 in the API's own error shape (``retry_after`` adds the header
      where the API sends one).
    - ``server_error``: HTTP ``status`` (default 500) in the API's error shape.
    - ``slow``: the request is answered normally after ``delay`` seconds.
    - ``drop``: the connection is closed before a complete response is sent.
    - ``malformed``: HTTP 200 with a body that is not JSON.
    - ``redirect``: HTTP ``status`` (default 302) to another host, with a JSON body that
      looks like an empty success (as a misconfigured proxy might answer).
    - ``expire_tokens``: every access token of the API expires just before the request is
      served (the token it carries too), as if its lifetime had run out mid-run.
    """

    kind: FaultKind
    api: Literal["zoho", "anaplan", "any"] = "any"
    count: int = 1
    path: str = ""
    status: int | None = None
    delay: float = 0.0
    retry_after: str | None = None
    hits: int = field(default=0)


class FaultBoard:
    """Thread-safe list of armed faults; ``take`` consumes one matching fault use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, api: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.api not in ("any", api) or fault.path not in path:
                    continue
                fault.count -= 1
                fault.hits += 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def armed(self) -> list[dict]:
        with self._lock:
            return [vars(f).copy() for f in self._faults]





class FaultMiddleware:
    """ASGI middleware that applies armed faults before the emulator sees the request.

    ``api_of(path)`` names the API a path belongs to (or ``None`` for admin paths, which are
    never faulted); ``error_body[api](fault)`` renders ``rate_limit``/``server_error`` faults in
    that API's own error shape as ``(status, headers, body)``.
    """

    def __init__(self, app, board: FaultBoard, api_of, error_body: dict,
                 expire: dict | None = None) -> None:
        self.app = app
        self.board = board
        self.api_of = api_of
        self.error_body = error_body
        self.expire = expire or {}  # api -> ends that API's access tokens

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = self.api_of(scope["path"])
        fault = self.board.take(api, scope["path"]) if api else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
            return
        if fault.kind == "expire_tokens":
            self.expire[api]()
            await self.app(scope, receive, send)
            return
        if fault.kind == "drop":
            # Promise a body and close the connection half-way through it.
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'{"code":0,', "more_body": True})
            raise ConnectionAbortedError("sandbox fault: connection dropped")
        if fault.kind == "malformed":
            status, headers = 200, {"content-type": "text/html"}
            body = b"<html>502 Bad Gateway</html>"
        elif fault.kind == "redirect":
            status = fault.status or 302
            headers = {"content-type": "application/json",
                       "location": "https://elsewhere.example/login?next=api"}
            body = b'{"code": 0, "message": "success", "organizations": []}'
        else:
            status, headers, body = self.error_body[api](fault)
        raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        raw_headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})
