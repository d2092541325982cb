"""Request accounting for assertions: requests by path template and status, 429s, tokens
issued, task status polls."""

from __future__ import annotations

from collections import Counter, defaultdict

from ml_connector_sandbox.stats import StatsBase


class Stats(StatsBase):
    """Thread-safe counters; ``snapshot`` returns plain JSON-ready dicts."""

    def _clear(self) -> None:
        self._paths: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._statuses: Counter[str] = Counter()
        self._tokens: Counter[str] = Counter()
        self._polls: Counter[str] = Counter()
        self._last_poll: dict[str, float] = {}
        self._min_interval: dict[str, float] = {}

    def request(self, template: str, status: int) -> None:
        with self._lock:
            self._paths[template][str(status)] += 1
            self._statuses[str(status)] += 1

    def token(self, kind: str) -> None:
        """One token issued: ``basic``, ``certificate``, ``refresh``, ``oauth``."""
        with self._lock:
            self._tokens[kind] += 1

    def poll(self, task_id: str, now: float) -> None:
        with self._lock:
            self._polls[task_id] += 1
            last = self._last_poll.get(task_id)
            if last is not None:
                gap = now - last
                self._min_interval[task_id] = min(self._min_interval.get(task_id, gap), gap)
            self._last_poll[task_id] = now

    def snapshot(self) -> dict:
        """``total``; ``by_path`` (``"GET /2/0/..."`` template -> status -> count);
        ``by_status``; ``rate_limited`` (429s given); ``tokens_issued`` by kind;
        ``status_polls`` per task id and ``min_poll_interval`` (seconds, sandbox clock)."""
        with self._lock:
            return {
                "total": sum(self._statuses.values()),
                "by_path": {k: dict(v) for k, v in self._paths.items()},
                "by_status": dict(self._statuses),
                "rate_limited": self._statuses.get("429", 0),
                "tokens_issued": dict(self._tokens),
                "status_polls": dict(self._polls),
                "min_poll_interval": dict(self._min_interval),
            }
