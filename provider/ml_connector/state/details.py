"""Zoho records fetched before, kept compressed in the state store so that no request is
spent twice on the same version of a document.

A document whose ``last_modified_time`` has not changed is the same document (see the API
notes), so a detail is fetched once per ``(organization, entity, id, last_modified_time)``
for every run and every flow. That stamp has whole seconds: the client hands over only
details read once their second was over (``ml_connector.zoho.settle``). List responses are
kept too, for lookup lists (the chart of accounts) that many runs read and that rarely
change.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import and_, delete, func, insert, select, tuple_

from ml_connector.state import schema
from ml_connector.state.store import StateStore

Clock = Callable[[], float]


def pack(value: object) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)


def unpack(blob: bytes) -> object:
    return json.loads(zlib.decompress(blob))


class DetailCache:
    """Details of one organization's documents by id and ``last_modified_time``.

    Entries older than ``max_age`` seconds are dropped, and the oldest go first once the
    organization's entries pass ``max_bytes`` (compressed) when ``prune`` runs.
    """

    def __init__(self, store: StateStore, org_key: str, *, max_age: float = 400 * 86400,
                 max_bytes: int = 512 * 2**20, clock: Clock = time.time) -> None:
        self.store = store
        self.org_key = org_key
        self.max_age = max_age
        self.max_bytes = max_bytes
        self.clock = clock

    def _where(self, entity: str, versions: Sequence[tuple[str, str]]):
        table = schema.zoho_details
        return and_(table.c.org_key == self.org_key, table.c.entity == entity,
                    tuple_(table.c.record_id, table.c.modified).in_(versions))

    def fresh(self, entity: str, versions: Sequence[tuple[str, str]]) -> set[str]:
        """Ids among ``(id, last_modified_time)`` pairs whose exact version is cached."""
        if not versions:
            return set()
        table = schema.zoho_details
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(table.c.record_id).where(self._where(entity, versions)))
            return {row[0] for row in rows}

    def get(self, entity: str, versions: Sequence[tuple[str, str]]) -> dict[str, dict]:
        """The cached details of those versions, by id (misses are absent)."""
        if not versions:
            return {}
        table = schema.zoho_details
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(table.c.record_id, table.c.body)
                                .where(self._where(entity, versions)))
            return {row[0]: unpack(row[1]) for row in rows}  # type: ignore[misc]

    def put(self, entity: str, id_field: str, records: Iterable[Mapping]) -> int:
        """Keep these details (replacing older versions of the same ids)."""
        now = self.clock()
        values = []
        for record in records:
            modified = record.get("last_modified_time")
            if not modified:
                continue  # without a version there is nothing to compare with next time
            blob = pack(record)
            values.append({"org_key": self.org_key, "entity": entity,
                           "record_id": str(record[id_field]), "modified": str(modified),
                           "body": blob, "size": len(blob), "fetched_at": now})
        if not values:
            return 0
        table = schema.zoho_details
        with self.store.engine.begin() as conn:
            conn.execute(delete(table).where(
                table.c.org_key == self.org_key, table.c.entity == entity,
                table.c.record_id.in_([v["record_id"] for v in values])))
            conn.execute(insert(table), values)
        return len(values)

    def prune(self) -> int:
        """Drop entries past ``max_age``, then the oldest beyond ``max_bytes``."""
        table = schema.zoho_details
        mine = table.c.org_key == self.org_key
        dropped = 0
        with self.store.engine.begin() as conn:
            dropped += conn.execute(delete(table).where(
                mine, table.c.fetched_at < self.clock() - self.max_age)).rowcount
            total = conn.execute(select(func.coalesce(func.sum(table.c.size), 0))
                                 .where(mine)).scalar_one()
            if total > self.max_bytes:
                cutoff, kept = None, 0
                for fetched_at, size in conn.execute(
                        select(table.c.fetched_at, table.c.size).where(mine)
                        .order_by(table.c.fetched_at.desc())):
                    kept += size
                    if kept > self.max_bytes:
                        cutoff = fetched_at
                        break
                if cutoff is not None:
                    dropped += conn.execute(delete(table).where(
                        mine, table.c.fetched_at <= cutoff)).rowcount
        return dropped

    def stats(self) -> dict[str, int]:
        table = schema.zoho_details
        with self.store.engine.connect() as conn:
            count, size = conn.execute(
                select(func.count(), func.coalesce(func.sum(table.c.size), 0))
                .where(table.c.org_key == self.org_key)).one()
        return {"entries": int(count), "bytes": int(size)}


class ListCache:
    """Whole list responses (rows in order) of one organization, by a key naming the list
    and its filters; reused while younger than the caller's ``max_age``."""

    def __init__(self, store: StateStore, org_key: str, *, clock: Clock = time.time) -> None:
        self.store = store
        self.org_key = org_key
        self.clock = clock

    def get(self, key: str, max_age: float) -> tuple[float, Iterator[dict]] | None:
        """``(fetched_at, rows)`` when a list younger than ``max_age`` seconds is kept."""
        table = schema.zoho_lists
        with self.store.engine.connect() as conn:
            row = conn.execute(select(table.c.body, table.c.fetched_at).where(
                table.c.org_key == self.org_key, table.c.list_key == key)).one_or_none()
        if row is None or row.fetched_at < self.clock() - max_age:
            return None
        rows = unpack(row.body)
        return row.fetched_at, iter(rows if isinstance(rows, list) else [])

    def put(self, key: str, rows: list[dict]) -> None:
        table = schema.zoho_lists
        with self.store.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.org_key == self.org_key,
                                             table.c.list_key == key))
            conn.execute(insert(table).values(org_key=self.org_key, list_key=key,
                                              body=pack(rows), count=len(rows),
                                              fetched_at=self.clock()))
