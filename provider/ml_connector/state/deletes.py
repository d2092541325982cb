"""Deleted Zoho documents: the deletes found (a webhook's "Deleted" event, an id sweep of
open months), which of them a flow has still to remove from Anaplan, and the rows a
record-grain flow last sent for each document (kept apart from the detail cache, which is
pruned, so a deleted document's rows can be sent once more as zero)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, exists, insert, select

from ml_connector.state import schema
from ml_connector.state.audit import KEPT
from ml_connector.state.store import StateStore

#: The audit status of a document a flow removed from Anaplan because Zoho deleted it.
DELETED = "deleted"


@dataclass(frozen=True)
class Deleted:
    """A document deleted in Zoho that a flow still has in Anaplan."""

    entity: str
    record_id: str
    source: str
    found_at: float


@dataclass(frozen=True)
class SentRows:
    """The rows a record-grain flow last sent for one document, and its month."""

    record_id: str
    entity: str
    month: str
    rows: list[list[str]]


class DeleteLog:
    """``mlc_deletes``: one row per deleted document, however often it was announced."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def found(self, organization_id: str, entity: str, record_ids: Iterable[str],
              source: str, at: float | None = None) -> int:
        """Record deletes (``source``: webhook, sweep); how many were new."""
        at = time.time() if at is None else at
        new = 0
        with self.store.engine.begin() as conn:
            for record_id in dict.fromkeys(record_ids):
                new += self.store.insert_missing(conn, schema.deletes, {
                    "organization_id": organization_id, "entity": entity,
                    "record_id": str(record_id), "source": source, "found_at": at})
        return new

    def pending(self, flow: str, organization_id: str, entities: Sequence[str], *,
                by_lines: bool = False, organization: str = "") -> list[Deleted]:
        """The deleted documents of ``entities`` (in Zoho organization ``organization_id``)
        that ``flow`` still has in Anaplan for its ``organization``: its audit holds them
        other than as deleted, or (``by_lines``, record grain, whose audit windows are run
        intervals) it remembers their rows."""
        table, audit, lines = schema.deletes, schema.audit, schema.sent_lines
        held = exists().where(lines.c.flow == flow, lines.c.organization == organization,
                              lines.c.record_id == table.c.record_id) \
            if by_lines else \
            exists().where(audit.c.flow == flow, audit.c.organization == organization,
                           audit.c.record_id == table.c.record_id,
                           audit.c.status.notin_(KEPT))
        query = (select(table.c.entity, table.c.record_id, table.c.source, table.c.found_at)
                 .where(table.c.organization_id == organization_id,
                        table.c.entity.in_(list(entities)), held)
                 .order_by(table.c.found_at, table.c.record_id))
        with self.store.engine.connect() as conn:
            return [Deleted(*row) for row in conn.execute(query)]

    def any_since(self, organization_id: str, at: float) -> bool:
        """Whether a delete in the organization was recorded at or after ``at``."""
        table = schema.deletes
        query = select(table.c.record_id).where(table.c.organization_id == organization_id,
                                                table.c.found_at >= at).limit(1)
        with self.store.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def rows(self, organization_id: str | None = None, limit: int = 100) -> list[dict]:
        """The newest deletes first, as rows."""
        table = schema.deletes
        query = select(table).order_by(table.c.found_at.desc()).limit(limit)
        if organization_id:
            query = query.where(table.c.organization_id == organization_id)
        with self.store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]


class SentLines:
    """``mlc_sent_lines``: per record-grain flow, organization ('': the flow's only one)
    and document, the rows last sent."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def remember(self, flow: str, sent: Iterable[SentRows], organization: str = "") -> int:
        """Replace what ``flow`` remembers of each document of ``sent`` (of
        ``organization``)."""
        now = time.time()
        rows = [{"flow": flow, "organization": organization, "record_id": s.record_id,
                 "entity": s.entity, "month": s.month, "line_keys": json.dumps(s.rows),
                 "sent_at": now}
                for s in sent]
        table = schema.sent_lines
        with self.store.engine.begin() as conn:
            for start in range(0, len(rows), 500):
                chunk = rows[start:start + 500]
                conn.execute(delete(table).where(
                    table.c.flow == flow, table.c.organization == organization,
                    table.c.record_id.in_([r["record_id"] for r in chunk])))
                conn.execute(insert(table), chunk)
        return len(rows)

    def of(self, flow: str, record_ids: Sequence[str], organization: str = ""
           ) -> dict[str, SentRows]:
        """What ``flow`` last sent for these documents of ``organization`` (those it
        remembers)."""
        table = schema.sent_lines
        query = select(table.c.record_id, table.c.entity, table.c.month,
                       table.c.line_keys).where(table.c.flow == flow,
                                                table.c.organization == organization,
                                                table.c.record_id.in_(list(record_ids)))
        with self.store.engine.connect() as conn:
            return {r: SentRows(r, e, m, json.loads(k)) for r, e, m, k in conn.execute(query)}

    def forget(self, flow: str, record_ids: Sequence[str], organization: str = "") -> None:
        table = schema.sent_lines
        with self.store.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.flow == flow,
                                             table.c.organization == organization,
                                             table.c.record_id.in_(list(record_ids))))


def sent_ids(store: StateStore, flow: str, entity: str, month: str, *,
             by_lines: bool = False, organization: str = "") -> set[str]:
    """The documents of ``entity`` that ``flow`` last sent for ``month`` (``yyyy-mm``) of
    ``organization``: in its audit's month windows (not those recorded as deleted, nor a
    dry run's) or, ``by_lines`` (record grain), among the rows it remembers."""
    audit, lines = schema.audit, schema.sent_lines
    query = select(lines.c.record_id).where(
        lines.c.flow == flow, lines.c.organization == organization,
        lines.c.entity == entity, lines.c.month == month) \
        if by_lines else select(audit.c.record_id).where(
        audit.c.flow == flow, audit.c.organization == organization,
        audit.c.entity == entity, audit.c.status.notin_(KEPT),
        audit.c.window_start.like(f"{month}-01%"))
    with store.engine.connect() as conn:
        return set(conn.execute(query).scalars())
