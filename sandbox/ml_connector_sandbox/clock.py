"""A wall clock that tests can move forward, shared by every emulator of one sandbox."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from email.utils import formatdate


class SandboxClock:
    """Real time plus an offset that only ever grows (``advance``); ``hold`` stops it (two
    edits, or an edit and a read, within one second), ``release`` lets it run on from there."""

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0 if start is None else start - time.time()
        self._held: float | None = None

    def now(self) -> float:
        """Seconds since the epoch, as the sandbox sees them."""
        with self._lock:
            return self._held if self._held is not None else time.time() + self._offset

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (must be >= 0), held or not; returns the
        new time."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            if self._held is not None:
                self._held += seconds
                return self._held
            self._offset += seconds
            return time.time() + self._offset

    def hold(self) -> float:
        """Stop the clock where it is (only ``advance`` moves it then); returns that time."""
        with self._lock:
            if self._held is None:
                self._held = time.time() + self._offset
            return self._held

    def release(self) -> float:
        """Let a held clock run on in real time from where it stands; returns that time."""
        with self._lock:
            if self._held is not None:
                self._offset, self._held = self._held - time.time(), None
            return time.time() + self._offset

    @property
    def held(self) -> bool:
        with self._lock:
            return self._held is not None


class DateHeader:
    """ASGI middleware: every response's HTTP ``Date`` is the sandbox clock's, as a server
    stamps it with the clock its records' modification times come from (uvicorn's own
    ``Date``, on real time, is switched off)."""

    def __init__(self, app, clock: SandboxClock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", formatdate(self.clock.now(), usegmt=True).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, dated)
