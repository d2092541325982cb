"""Request accounting for assertions: counts per org, tokens minted, 429s given."""

from __future__ import annotations

import copy
from collections import Counter

from ml_connector_sandbox.stats import StatsBase


def _bucket() -> dict:
    return {"total": 0, "by_path": Counter(), "by_status": Counter(), "max_in_flight": 0,
            "max_per_minute": 0, "writes": 0}


class Stats(StatsBase):
    """Thread-safe counters; ``snapshot`` returns plain JSON-ready dicts."""

    def _clear(self) -> None:
        self._orgs: dict[str, dict] = {}
        self._unscoped = _bucket()
        self._accounts = _bucket()
        self._minted: Counter[str] = Counter()
        self._limited: list[dict] = []

    def request(self, org_id: str | None, path: str, status: int, method: str = "GET") -> None:
        """Count a Books API request; ``org_id`` None for calls outside any known org. Every
        method but GET counts as a write attempt (the connector is one-way: it sends none)."""
        with self._lock:
            bucket = self._unscoped if org_id is None else self._org(org_id)
            self._count(bucket, path, status)
            if method.upper() != "GET":
                bucket["writes"] += 1

    def accounts(self, path: str, status: int) -> None:
        with self._lock:
            self._count(self._accounts, path, status)

    def minted(self, refresh_token: str) -> None:
        with self._lock:
            self._minted[refresh_token] += 1

    def admitted(self, org_id: str, in_flight: int, in_minute: int) -> None:
        """The peaks: requests in flight at once, and accepted in one sliding minute."""
        with self._lock:
            bucket = self._org(org_id)
            bucket["max_in_flight"] = max(bucket["max_in_flight"], in_flight)
            bucket["max_per_minute"] = max(bucket["max_per_minute"], in_minute)

    def limited(self, org_id: str, code: int, path: str, at: float) -> None:
        with self._lock:
            self._limited.append(
                {"organization_id": org_id, "code": code, "path": path, "time": at}
            )

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "organizations": {k: self._plain(v) for k, v in self._orgs.items()},
                "unscoped": self._plain(self._unscoped),
                "accounts": self._plain(self._accounts),
                "tokens_minted": dict(self._minted),
                "rate_limited": copy.deepcopy(self._limited),
                "writes": sum(b["writes"] for b in (*self._orgs.values(), self._unscoped)),
            }

    def _org(self, org_id: str) -> dict:
        return self._orgs.setdefault(org_id, _bucket())

    @staticmethod
    def _count(bucket: dict, path: str, status: int) -> None:
        bucket["total"] += 1
        bucket["by_path"][path] += 1
        bucket["by_status"][str(status)] += 1

    @staticmethod
    def _plain(bucket: dict) -> dict:
        return {"total": bucket["total"], "by_path": dict(bucket["by_path"]),
                "by_status": dict(bucket["by_status"]), "max_in_flight": bucket["max_in_flight"],
                "max_per_minute": bucket["max_per_minute"], "writes": bucket["writes"]}
