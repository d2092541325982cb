"""The state store: an SQLAlchemy engine over SQLite (default) or PostgreSQL."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, delete, event, insert, make_url, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, ProgrammingError

from ml_connector.errors import ConnectorError, StateStoreError
from ml_connector.state import migrate, schema

log = logging.getLogger(__name__)
#: The schema revision this version writes (``migrate.head()``; a test keeps them equal).
HEAD = "0012"
#: Seconds a lock's lease lasts; its holder renews it every third of that.
LEASE = 30.0


#: Seconds SQLite waits for another writer before it reports the store locked.
BUSY_TIMEOUT = 30.0


def safe_url(url: str) -> str:
    """A store's URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(an unparseable URL)"


class StateStore:
    """Connector state in one database, safe to share between processes."""

    def __init__(self, url: str, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.url = url
        self.busy_timeout = busy_timeout
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": busy_timeout}} if url.startswith("sqlite") \
            else {}
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except ModuleNotFoundError as exc:
            raise StateStoreError(
                f"the state store {safe_url(url)} needs the {exc.name} driver, which is not "
                "installed: pip install 'ml-connector[postgres]'") from None
        except (ArgumentError, ValueError):  # the text may quote the URL, password and all
            raise StateStoreError(
                f"the state store URL {safe_url(url)} is not valid: use sqlite:///<path> or "
                "postgresql+psycopg://<user>:<password>@<host>/<database>") from None
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", self._sqlite_pragmas)
        event.listen(self.engine, "handle_error", self._explain)
        self._create_tables()

    def _sqlite_pragmas(self, dbapi_conn, _record) -> None:
        """WAL mode, asked for by whichever connection sees the store first.

        Switching into WAL needs the file to itself, and SQLite answers "locked" at once
        (its busy handler is not asked) while another process opens the new file too:
        the switch is retried, and done once that other process has made it.
        """
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                cur.execute("PRAGMA journal_mode=WAL")  # ":memory:" stays "memory"
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        cur.close()

    def _explain(self, context: Any) -> None:
        """Turn a store that cannot be used into a ``StateStoreError`` that says why."""
        original = context.original_exception
        text = str(original).strip().splitlines()[0] if str(original).strip() else ""
        where = safe_url(self.url)
        if self.engine.dialect.name == "sqlite" and "locked" in text:
            raise StateStoreError(
                f"the state store {where} stayed locked by another process for more than "
                f"{self.busy_timeout:g} s; the task fails and is retried. SQLite serialises "
                "writers on one machine: workers that run at once, or on several machines, "
                "need a PostgreSQL state store (the ml_connector_state connection, with "
                "ml-connector[postgres])") from None
        if context.is_disconnect or context.connection is None:
            raise StateStoreError(f"cannot reach the state store {where}: {text}") from None

    def _create_tables(self, attempts: int = 10) -> None:
        """Migrate the schema to this version (Alembic); another process doing the same at
        the same moment is fine: the loser retries and finds the work done."""
        if (found := migrate.current(self.engine)) == HEAD:
            return
        for attempt in range(attempts):
            try:
                migrate.upgrade(self.engine)
                log.info("State store %s: schema %s", safe_url(self.url),
                         f"brought from {found} to {HEAD}" if found else f"created at {HEAD}")
                return
            except (OperationalError, ProgrammingError, IntegrityError):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def beside(self, name: str) -> Path | None:
        """A file named ``name`` beside a SQLite store's database (None: not a SQLite file),
        for what every process using the store shares through a file."""
        if not self.url.startswith("sqlite:///") or self.url.startswith("sqlite:///:memory:"):
            return None
        return Path(self.url.removeprefix("sqlite:///")).with_name(name)

    @classmethod
    def sqlite(cls, path: str | Path) -> StateStore:
        return cls(f"sqlite:///{Path(path).resolve()}")

    @contextmanager
    def lock(self, key: str, *, lease: float = LEASE, wait: float = 300.0, poll: float = 0.05,
             purpose: str = "") -> Iterator[None]:
        """Hold a lock named ``key`` across processes and machines.

        The holder renews its ``lease`` every third of it while it works, so a holder that
        died (a killed worker, a lost machine) frees the lock within one lease, however long
        the work takes. A waiter logs who holds the lock (host, process, ``purpose``).
        """
        holder = uuid.uuid4().hex
        owner = f"{socket.gethostname()} pid {os.getpid()}" + (f" ({purpose})" if purpose
                                                                else "")
        deadline = time.monotonic() + wait
        seen: str | None = None
        while (current := self._try_lock(key, holder, owner[:255], lease)) is not None:
            if current != seen:
                log.info("Waiting for lock %r, held by %s (a holder that stops renewing it "
                         "loses it after %.0f s)", key, current, lease)
                seen = current
            if time.monotonic() > deadline:
                raise ConnectorError(f"timed out after {wait:.0f}s waiting for lock {key!r}, "
                                     f"held by {current}")
            time.sleep(poll)
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(key, holder, lease, stop),
                                   name=f"lock {key}", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            with self.engine.begin() as conn:
                conn.execute(
                    delete(schema.locks).where(
                        schema.locks.c.lock_key == key, schema.locks.c.holder == holder
                    )
                )

    def _renew(self, key: str, holder: str, lease: float, stop: threading.Event) -> None:
        """Extend the lease of a held lock until ``stop``."""
        locks = schema.locks
        while not stop.wait(lease / 3):
            try:
                with self.engine.begin() as conn:
                    kept = conn.execute(
                        update(locks)
                        .where(locks.c.lock_key == key, locks.c.holder == holder)
                        .values(lease_until=time.time() + lease)).rowcount
            except (OperationalError, StateStoreError) as exc:  # busy: the next round tries
                log.warning("Could not renew lock %r: %s", key, type(exc).__name__)
                continue
            if not kept:
                log.warning("Lock %r was taken over: this process did not renew it within "
                            "%.0f s (paused or cut off from the state store)", key, lease)
                return

    def _try_lock(self, key: str, holder: str, owner: str, lease: float) -> str | None:
        """Take the lock (None) or say who holds it."""
        locks = schema.locks
        now = time.time()
        values = {"holder": holder, "owner": owner, "lease_until": now + lease}
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(locks).values(lock_key=key, **values))
            return None
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            stale = conn.execute(select(locks.c.owner).where(
                locks.c.lock_key == key, locks.c.lease_until < now)).scalar_one_or_none()
            taken = conn.execute(
                update(locks).where(locks.c.lock_key == key, locks.c.lease_until < now)
                .values(**values))
            if taken.rowcount == 1:
                log.warning("Took over lock %r from %s, which stopped renewing it (a worker "
                            "that died?)", key, stale or "another process")
                return None
            row = conn.execute(select(locks.c.owner, locks.c.lease_until)
                               .where(locks.c.lock_key == key)).first()
        if row is None:
            return "another process (just released)"
        return f"{row.owner or 'another process'}, lease until " \
            f"{time.strftime('%H:%M:%S', time.localtime(row.lease_until))}"

    def get_watermark(self, flow: str, organization: str = "") -> str | None:
        """The watermark ``flow`` keeps for ``organization`` ('': its only one)."""
        table = schema.watermarks
        with self.engine.connect() as conn:
            return conn.execute(select(table.c.value).where(
                table.c.flow == flow, table.c.organization == organization)
            ).scalar_one_or_none()

    def set_watermark(self, flow: str, value: str, organization: str = "") -> None:
        self.upsert(schema.watermarks, {"flow": flow, "organization": organization},
                    value=value, updated_at=time.time())

    def watermarks(self, flow: str) -> dict[str, str]:
        """Every organization's watermark of ``flow``: organization -> value."""
        table = schema.watermarks
        with self.engine.connect() as conn:
            return dict(conn.execute(select(table.c.organization, table.c.value)
                                     .where(table.c.flow == flow)
                                     .order_by(table.c.organization)).all())

    def upsert(self, table: Table, key: Mapping[str, object], **values: object) -> None:
        """Insert or update the row of ``table`` whose key columns hold ``key``, in one
        statement (``INSERT … ON CONFLICT DO UPDATE``): two writers never race."""
        statement = self._insert(table).values({**key, **values})
        with self.engine.begin() as conn:
            conn.execute(statement.on_conflict_do_update(index_elements=list(key),
                                                         set_=values))

    def add(self, table: Table, key: Mapping[str, object], column: str, amount: int,
            **values: object) -> None:
        """Add ``amount`` to ``column`` of the row of ``table`` whose key columns hold
        ``key`` (a new row starts at ``amount``), in one statement; ``values`` are set."""
        statement = self._insert(table).values({**key, column: amount, **values})
        total = {column: table.c[column] + statement.excluded[column], **values}
        with self.engine.begin() as conn:
            conn.execute(statement.on_conflict_do_update(index_elements=list(key), set_=total))

    def insert_missing(self, conn: Connection, table: Table, row: dict[str, object]) -> bool:
        """Insert ``row`` unless a row with one of its unique keys exists (``ON CONFLICT DO
        NOTHING``), in ``conn``'s transaction: an update that follows always finds the row,
        however many workers start at once. Whether it was inserted."""
        statement = self._insert(table).values(row).on_conflict_do_nothing()
        inserted = conn.execute(statement.returning(*table.primary_key.columns)).first()
        return inserted is not None

    def _insert(self, table: Table) -> Any:
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            return postgres_insert(table)
        if dialect == "sqlite":
            return sqlite_insert(table)
        raise ConnectorError(f"the state store supports SQLite and PostgreSQL, not {dialect}")
