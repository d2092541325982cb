"""Client-side request budgets, built on pyrate-limiter's sliding-window log.

A limiter is process-local by default. Given ``shared_path`` it keeps its window in a
file-locked SQLite database, so every process on the machine that names the same file (all
Airflow tasks of one worker, say) shares one budget. Given ``postgres_url`` (the state
store, when it is PostgreSQL) it keeps the window in a table there, shared by every worker
on every machine (pyrate-limiter's ``PostgresBucket``; needs ``ml-connector[postgres]``).
"""

from __future__ import annotations

import threading
from pathlib import Path

from pyrate_limiter import AbstractBucket, InMemoryBucket, Limiter, Rate, SQLiteBucket

from ml_connector.transport.errors import ConfigError

_POOLS: dict[str, object] = {}
_POOLS_LOCK = threading.Lock()


class RateLimiter:
    """At most ``limit`` acquisitions in any ``window`` seconds; ``acquire`` waits for a slot."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        name: str = "default",
        shared_path: str | Path | None = None,
        postgres_url: str | None = None,
    ) -> None:
        if limit < 1:
            raise ConfigError(f"rate limit must be at least 1 request per window, got {limit}")
        self.limit = limit
        self.window = window
        self.name = name
        rates = [Rate(limit, int(window * 1000))]
        bucket: AbstractBucket
        if postgres_url is not None:
            from pyrate_limiter import PostgresBucket

            bucket = PostgresBucket(_pool(postgres_url), f"mlc_{_table_safe(name)}", rates)
        elif shared_path is not None:
            Path(shared_path).parent.mkdir(parents=True, exist_ok=True)
            bucket = SQLiteBucket.init_from_file(
                rates, table=f"rate_{_table_safe(name)}", db_path=str(shared_path),
                use_file_lock=True,
            )
        else:
            bucket = InMemoryBucket(rates)
        self._limiter = Limiter(bucket)

    def acquire(self) -> None:
        self._limiter.try_acquire(self.name)

    async def acquire_async(self) -> None:
        await self._limiter.try_acquire_async(self.name)


def postgres_conninfo(url: str) -> str | None:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL; ``None`` for others."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _pool(url: str):
    """One small connection pool per database and process, shared by its limiters."""
    try:
        from psycopg_pool import ConnectionPool
    except ImportError:
        raise ConfigError("a PostgreSQL state store shares the request budget through "
                          "PostgreSQL: install ml-connector[postgres]") from None
    with _POOLS_LOCK:
        pool = _POOLS.get(url)
        if pool is None:
            pool = _POOLS[url] = ConnectionPool(url, min_size=1, max_size=4, open=True)
        return pool


def _table_safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).lower()
