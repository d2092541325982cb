"""Per-organization request limits, measured on the sandbox clock."""

from __future__ import annotations

import math
import threading
from collections import deque
from datetime import timezone

from ml_connector_sandbox.zoho import errors


class OrgLimiter:
    """Accepted requests per sliding minute, per calendar day (in the org's zone) and in
    flight. Refused requests do not count."""

    def __init__(
        self, per_minute: int, per_day: int, concurrency: int, tz: timezone, window: float = 60.0
    ) -> None:
        self.per_minute = per_minute
        self.window = window
        self.per_day = per_day
        self.concurrency = concurrency
        self._offset = tz.utcoffset(None).total_seconds()
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._day: int | None = None
        self._day_count = 0
        self.in_flight = 0

    def acquire(self, now: float) -> tuple[int, int]:
        """Admit one request (returns the numbers in flight and in the sliding minute) or
        raise a 429 ``ZohoError``."""
        with self._lock:
            self._purge(now)
            self._roll(now)
            if self._day_count >= self.per_day:
                raise errors.per_day(self.per_day)
            if len(self._window) >= self.per_minute:
                raise errors.per_minute()
            if self.in_flight >= self.concurrency:
                raise errors.concurrency()
            self._window.append(now)
            self._day_count += 1
            self.in_flight += 1
            return self.in_flight, len(self._window)

    def release(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def headers(self, now: float) -> dict[str, str]:
        """``X-Rate-Limit-*`` as Zoho sends them on every response: the organization's
        *daily* cap, what is left of it today and the seconds until the day resets (org's
        zone). They say nothing about the per-minute window."""
        with self._lock:
            day = int((now + self._offset) // 86400)
            used = self._day_count if day == self._day else 0
            reset = (day + 1) * 86400 - self._offset - now
            return {
                "X-Rate-Limit-Limit": str(self.per_day),
                "X-Rate-Limit-Remaining": str(max(0, self.per_day - used)),
                "X-Rate-Limit-Reset": str(max(0, math.ceil(reset))),
            }

    def set_limits(self, per_minute: int | None, per_day: int | None) -> None:
        """New limits from now on (None: unchanged); requests counted so far stay."""
        with self._lock:
            if per_minute is not None:
                self.per_minute = per_minute
            if per_day is not None:
                self.per_day = per_day

    def exhaust(self, now: float) -> None:
        """Count today's quota as used up (by the organization's other integrations)."""
        with self._lock:
            self._roll(now)
            self._day_count = max(self._day_count, self.per_day)

    def snapshot(self, now: float) -> dict:
        """The limits, the requests counted today and the ``X-Rate-Limit-*`` figures."""
        with self._lock:
            self._roll(now)
            used = self._day_count
        headers = self.headers(now)
        return {"per_minute": self.per_minute, "per_day": self.per_day, "used_today": used,
                "remaining_today": int(headers["X-Rate-Limit-Remaining"]),
                "reset_seconds": int(headers["X-Rate-Limit-Reset"])}

    def _roll(self, now: float) -> None:
        """Start a new count when the org's calendar day has changed."""
        day = int((now + self._offset) // 86400)
        if day != self._day:
            self._day, self._day_count = day, 0

    def _purge(self, now: float) -> None:
        while self._window and self._window[0] <= now - self.window:
            self._window.popleft()
