"""The state store: an SQLAlchemy engine over SQLite (default) or PostgreSQL."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, delete, event, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from ml_connector.state import migrate, schema
from ml_connector.transport.errors import ConnectorError

log = logging.getLogger(__name__)
#: The schema revision this version writes (``migrate.head()``; a test keeps them equal).
HEAD = "0001"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class StateStore:
    """Connector state in one database, safe to share between processes."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._create_tables()

    def _create_tables(self, attempts: int = 10) -> None:
        """Migrate the schema to this version (Alembic); another process doing the same at
        the same moment is fine: the loser retries and finds the work done."""
        if migrate.current(self.engine) == HEAD:
            return
        for attempt in range(attempts):
            try:
                migrate.upgrade(self.engine)
                return
            except (OperationalError, ProgrammingError, IntegrityError):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    @classmethod
    def sqlite(cls, path: str | Path) -> StateStore:
        return cls(f"sqlite:///{Path(path).resolve()}")

    @contextmanager
    def lock(
        self, key: str, *, lease: float = 120.0, wait: float = 300.0, poll: float = 0.05
    ) -> Iterator[None]:
        """Hold a lease-based lock named ``key`` across processes and machines.

        A holder that dies frees the lock when its ``lease`` runs out.
        """
        holder = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        waited = False
        while not self._try_lock(key, holder, lease):
            if not waited:
                log.info("Waiting for lock %r, held by another process", key)
                waited = True
            if time.monotonic() > deadline:
                raise ConnectorError(f"timed out after {wait:.0f}s waiting for lock {key!r}")
            time.sleep(poll)
        try:
            yield
        finally:
            with self.engine.begin() as conn:
                conn.execute(
                    delete(schema.locks).where(
                        schema.locks.c.lock_key == key, schema.locks.c.holder == holder
                    )
                )

    def _try_lock(self, key: str, holder: str, lease: float) -> bool:
        now = time.time()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(schema.locks).values(
                        lock_key=key, holder=holder, lease_until=now + lease
                    )
                )
            return True
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(schema.locks)
                .where(schema.locks.c.lock_key == key, schema.locks.c.lease_until < now)
                .values(holder=holder, lease_until=now + lease)
            )
            return taken.rowcount == 1

    def get_watermark(self, flow: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(schema.watermarks.c.value).where(schema.watermarks.c.flow == flow)
            ).scalar_one_or_none()

    def set_watermark(self, flow: str, value: str) -> None:
        self.upsert(schema.watermarks, "flow", flow, value=value, updated_at=time.time())

    def upsert(self, table: Table, key_column: str, key: str, **values: object) -> None:
        """Insert or update the row of ``table`` whose ``key_column`` is ``key``, in one
        statement (``INSERT … ON CONFLICT DO UPDATE``): two writers never race."""
        statement = self._insert(table).values({key_column: key, **values})
        with self.engine.begin() as conn:
            conn.execute(statement.on_conflict_do_update(index_elements=[key_column],
                                                         set_=values))

    def insert_missing(self, conn: Connection, table: Table, row: dict[str, object]) -> None:
        """Insert ``row`` unless a row with its key exists (``ON CONFLICT DO NOTHING``), in
        ``conn``'s transaction: an update that follows always finds the row, however many
        workers start at once."""
        conn.execute(self._insert(table).values(row).on_conflict_do_nothing())

    def _insert(self, table: Table) -> Any:
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            return postgres_insert(table)
        if dialect == "sqlite":
            return sqlite_insert(table)
        raise ConnectorError(f"the state store supports SQLite and PostgreSQL, not {dialect}")
