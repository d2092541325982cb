"""Webhook events in the state store: written by the receiver, read by the watchers.

An event only says *that* a record changed and *when* to look; the data always comes from
the Zoho API, so a forged or lost event can neither inject nor lose data.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from ml_connector.state import schema
from ml_connector.state.store import StateStore


@dataclass(frozen=True)
class Event:
    """One verified webhook: which record of which module of which organization changed."""

    organization_id: str
    entity: str
    record_id: str
    event_id: str
    signature: str
    received_at: float


@dataclass(frozen=True)
class Pending:
    """Events after a watcher's cursor: how many, the newest ``seq`` and when the newest
    arrived, and a few of their record ids (for the run's log)."""

    count: int
    last_seq: int
    oldest_at: float
    newest_at: float
    records: tuple[str, ...]


class EventLog:
    """The ``mlc_webhook_events`` table and the watchers' cursors (``mlc_event_cursors``)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def record(self, event: Event) -> bool:
        """Write ``event`` durably; False when it was recorded before (the same event id
        for the organization, or the same signature): a replay is accepted, kept once."""
        row = {"organization_id": event.organization_id, "entity": event.entity,
               "record_id": event.record_id, "event_id": event.event_id[:200],
               "digest": hashlib.sha256(event.signature.encode()).hexdigest(),
               "received_at": event.received_at}
        with self.store.engine.begin() as conn:
            return self.store.insert_missing(conn, schema.webhook_events, row)

    def pending(self, organization_id: str, entities: Iterable[str], after: int,
                *, sample: int = 10) -> Pending | None:
        """The events of ``entities`` recorded after ``seq`` ``after``, or None."""
        table = schema.webhook_events
        where = (table.c.organization_id == organization_id,
                 table.c.entity.in_(list(entities)), table.c.seq > after)
        with self.store.engine.connect() as conn:
            count, last, oldest, newest = conn.execute(
                select(func.count(), func.max(table.c.seq), func.min(table.c.received_at),
                       func.max(table.c.received_at)).where(*where)).one()
            if not count:
                return None
            records = conn.execute(select(table.c.record_id).where(*where)
                                   .order_by(table.c.seq.desc()).limit(sample)).scalars()
            return Pending(int(count), int(last), float(oldest), float(newest),
                           tuple(records))

    def newest(self, organization_id: str, entity: str) -> float | None:
        """When the newest event of ``entity`` arrived, or None."""
        table = schema.webhook_events
        with self.store.engine.connect() as conn:
            return conn.execute(select(func.max(table.c.received_at)).where(
                table.c.organization_id == organization_id,
                table.c.entity == entity)).scalar_one_or_none()

    def events(self, organization_id: str | None = None, limit: int = 100) -> list[dict]:
        """The newest events first, as rows (for ``ml-connector webhooks events``)."""
        table = schema.webhook_events
        query = select(table.c.seq, table.c.organization_id, table.c.entity,
                       table.c.record_id, table.c.event_id, table.c.received_at)
        if organization_id:
            query = query.where(table.c.organization_id == organization_id)
        with self.store.engine.connect() as conn:
            rows = conn.execute(query.order_by(table.c.seq.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]

    def cursor(self, watcher: str) -> str | None:
        """Where ``watcher`` has read up to (an event ``seq``, or a modified time)."""
        table = schema.event_cursors
        with self.store.engine.connect() as conn:
            return conn.execute(select(table.c.position)
                                .where(table.c.watcher == watcher)).scalar_one_or_none()

    def advance(self, watcher: str, position: str) -> None:
        self.store.upsert(schema.event_cursors, {"watcher": watcher}, position=position,
                          updated_at=time.time())
