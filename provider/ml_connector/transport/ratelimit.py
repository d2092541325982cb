"""Client-side request budgets, built on pyrate-limiter's sliding-window log.

A limiter is process-local by default. Given ``shared_path`` it keeps its window in a
file-locked SQLite database, so every process on the machine that names the same file (all
Airflow tasks of one worker, say) shares one budget. Given ``postgres_url`` (the state
store, when it is PostgreSQL) it keeps the window in a table there, shared by every worker
on every machine (pyrate-limiter's ``PostgresBucket``; needs ``ml-connector[postgres]``).

``RequestSlots`` caps the requests in flight at once the same three ways: per process, per
machine (a locked file per slot) or across machines (a locked row per slot in the state
store's ``mlc_request_slots``). Both kinds of lock die with their holder's process or
connection, so a killed worker never keeps a slot.
"""

from __future__ import annotations

import fcntl
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pyrate_limiter import AbstractBucket, InMemoryBucket, Limiter, Rate, SQLiteBucket

from ml_connector.errors import ConfigError

_POOLS: dict[str, object] = {}
#: Frees a slot that was taken (slot takers return one, or ``None`` when all are held).
Release = Callable[[], None]
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


class RequestSlots:
    """At most ``limit`` requests in flight at once; ``hold()`` waits for a free slot.

    Zoho counts an organization's concurrent requests over all of its clients (429 code 1070
    beyond 10 on paid plans, 5 on free ones), so every process that calls one organization
    must share its slots: through files next to ``shared_path`` on one machine, through the
    PostgreSQL state store (``postgres_url``) across machines. A process never lets more of
    its threads wait than there are slots; waiting polls every ``poll`` seconds (jittered).
    """

    def __init__(
        self,
        limit: int,
        *,
        name: str = "default",
        shared_path: str | Path | None = None,
        postgres_url: str | None = None,
        poll: float = 0.05,
    ) -> None:
        if limit < 1:
            raise ConfigError(f"requests in flight must be at least 1, got {limit}")
        self.limit = limit
        self.name = name
        self.poll = poll
        self._local = threading.BoundedSemaphore(limit)
        self._take: Callable[[], Release | None] | None = None
        if postgres_url is not None:
            self._take = _RowSlots(postgres_url, name, limit)
        elif shared_path is not None:
            path = Path(shared_path)
            self._take = _FileSlots(path.with_name(f"{path.name}.slots"), name, limit)

    def close(self) -> None:
        """Close the connections of slots shared through PostgreSQL."""
        if isinstance(self._take, _RowSlots):
            self._take.close()

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._local:
            if self._take is None:
                yield
                return
            while (release := self._take()) is None:
                time.sleep(self.poll * random.uniform(0.5, 1.5))
            try:
                yield
            finally:
                release()


class _FileSlots:
    """One file per slot, held with ``flock`` (released by the kernel if the process dies)."""

    def __init__(self, folder: Path, name: str, limit: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.paths = [folder / f"{_table_safe(name)}.{i}" for i in range(limit)]

    def __call__(self) -> Release | None:
        start = random.randrange(len(self.paths))
        for path in self.paths[start:] + self.paths[:start]:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return lambda: os.close(fd)  # closing the descriptor drops its lock
        return None


class _RowSlots:
    """One row per slot in ``mlc_request_slots``, locked by an open transaction (``FOR UPDATE
    SKIP LOCKED``): the lock ends with the transaction, or with the connection if the
    process dies."""

    TAKE = ("SELECT slot FROM mlc_request_slots WHERE name = %s AND slot < %s "
            "ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED")

    def __init__(self, url: str, name: str, limit: int) -> None:
        self.name, self.limit = name, limit
        # Its own pool: a connection per slot this client can hold, never waited for.
        self.pool = _connection_pool(url, size=limit)
        with self.pool.connection() as conn:
            conn.execute("INSERT INTO mlc_request_slots (name, slot) "
                         "SELECT %s, s FROM generate_series(0, %s - 1) AS s "
                         "ON CONFLICT DO NOTHING", (name, limit))

    def __call__(self) -> Release | None:
        conn = self.pool.getconn()
        try:
            row = conn.execute(self.TAKE, (self.name, self.limit)).fetchone()
        except BaseException:
            self.pool.putconn(conn)
            raise
        if row is None:
            conn.rollback()
            self.pool.putconn(conn)
            return None

        def release() -> None:
            try:
                conn.rollback()
            finally:
                self.pool.putconn(conn)

        return release

    def close(self) -> None:
        self.pool.close()


def postgres_conninfo(url: str) -> str | None:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL; ``None`` for others."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _pool(url: str):
    """One small connection pool per database and process, shared by its limiters."""
    with _POOLS_LOCK:
        pool = _POOLS.get(url)
        if pool is None:
            pool = _POOLS[url] = _connection_pool(url, size=4)
        return pool


def _connection_pool(url: str, *, size: int):
    try:
        from psycopg_pool import ConnectionPool
    except ImportError:
        raise ConfigError("a PostgreSQL state store shares the request budget through "
                          "PostgreSQL: install ml-connector[postgres]") from None
    return ConnectionPool(url, min_size=1, max_size=size, open=True)


def _table_safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).lower()
