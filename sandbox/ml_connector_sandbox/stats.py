"""What both emulators' request accounting shares: a lock and a reset."""

from __future__ import annotations

import threading


class StatsBase:
    """Thread-safe counters: subclasses set them up in ``_clear`` (called under the lock)
    and update them under ``self._lock``; ``snapshot`` returns plain JSON-ready dicts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        raise NotImplementedError
