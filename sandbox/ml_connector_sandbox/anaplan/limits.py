"""The tenant-wide request limit: a token bucket on the sandbox clock."""

from __future__ import annotations

import math
import threading


class TokenBucket:
    """``capacity`` tokens refilling at ``capacity / 60`` per second (600/min: 10/s)."""

    def __init__(self, per_minute: int, now: float) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._tokens = self.capacity
        self._at = now
        self._lock = threading.Lock()

    def take(self, now: float) -> float | None:
        """Spend one token; if none is left, return the seconds until one is (no token spent)."""
        with self._lock:
            elapsed = max(0.0, now - self._at)
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
            self._at = max(self._at, now)
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return (1 - self._tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        """The ``Retry-After`` value (whole seconds, at least 1) for a wait."""
        return str(max(1, math.ceil(wait)))
