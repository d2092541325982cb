"""Client-side request budgets, built on pyrate-limiter's sliding-window log.

A limiter is process-local by default. Given ``shared_path`` it keeps its window in a
file-locked SQLite database, so every process on the machine that names the same file (all
Airflow tasks of one worker, say) shares one budget.
"""

from __future__ import annotations

from pathlib import Path

from pyrate_limiter import InMemoryBucket, Limiter, Rate, SQLiteBucket

from ml_connector.transport.errors import ConfigError


class RateLimiter:
    """At most ``limit`` acquisitions in any ``window`` seconds; ``acquire`` waits for a slot."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        name: str = "default",
        shared_path: str | Path | None = None,
    ) -> None:
        if limit < 1:
            raise ConfigError(f"rate limit must be at least 1 request per window, got {limit}")
        self.limit = limit
        self.window = window
        self.name = name
        rates = [Rate(limit, int(window * 1000))]
        if shared_path is None:
            bucket = InMemoryBucket(rates)
        else:
            Path(shared_path).parent.mkdir(parents=True, exist_ok=True)
            bucket = SQLiteBucket.init_from_file(
                rates, table=f"rate_{_table_safe(name)}", db_path=str(shared_path),
                use_file_lock=True,
            )
        self._limiter = Limiter(bucket)

    def acquire(self) -> None:
        self._limiter.try_acquire(self.name)

    async def acquire_async(self) -> None:
        await self._limiter.try_acquire_async(self.name)


def _table_safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)
