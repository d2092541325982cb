"""Queries over generated records plus an overlay of edits: filters, sorting and pages.

A query first narrows the index range (date filters and ``last_modified_time`` both bound
``created_time``, which grows with the index), then tests per-record predicates inside that
range only. Edited and added records live in an overlay and are always judged on their
merged content. Results are memoized per (query, overlay version) as a ``range`` or an
``array('l')`` of indexes, so deep pages cost one slice.
"""

from __future__ import annotations

import copy
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ml_connector_sandbox.zoho import errors
from ml_connector_sandbox.zoho.config import DimensionsSpec, OrgSpec
from ml_connector_sandbox.zoho.dimensions import Dimensions
from ml_connector_sandbox.zoho.kinds import Kind, norm
from ml_connector_sandbox.zoho.seed import MAX_LAG, Table, build_tables
from ml_connector_sandbox.zoho.times import format_time, midnight, parse_date, parse_time, zone

MAX_PER_PAGE = 200
_MEMO_SIZE = 16


@dataclass(frozen=True)
class Query:
    """A validated list request, hashable for memoization."""

    date_from: date | None = None
    date_to: date | None = None
    modified_after: int | None = None
    modified_before: int | None = None  # exclusive; with modified_on_day kinds only
    match: tuple[tuple[str, frozenset], ...] = ()
    sort_column: str = "created_time"
    descending: bool = True
    applied_filter: str = "Status.All"


def _date_param(params: Mapping[str, str], name: str) -> date | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return parse_date(value)
    except ValueError:
        raise errors.invalid_value(name) from None


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise errors.invalid_value(name)
    return int(value)


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    """``(page, per_page)``; ``per_page`` above 200 is clamped to 200 as Zoho does."""
    page = _int_param(params, "page", 1)
    per_page = min(_int_param(params, "per_page", MAX_PER_PAGE), MAX_PER_PAGE)
    return page, per_page


def parse_query(kind: Kind, params: Mapping[str, str], tz) -> Query:
    """Turn query parameters into a ``Query``; malformed values raise code 2 errors."""
    date_from = date_to = None
    if kind.has_date:
        bounds = {name: _date_param(params, name)
                  for name in ("date_start", "date_end", "date_after", "date_before")}
        lows = [d for d in (bounds["date_start"],
                            bounds["date_after"] and bounds["date_after"] + timedelta(days=1))
                if d]
        highs = [d for d in (bounds["date_end"],
                             bounds["date_before"] and bounds["date_before"] - timedelta(days=1))
                 if d]
        date_from = max(lows) if lows else None
        date_to = min(highs) if highs else None
    modified_after = modified_before = None
    if params.get("last_modified_time"):
        try:
            modified_after = parse_time(params["last_modified_time"], tz)
        except ValueError:
            raise errors.invalid_value("last_modified_time") from None
        if kind.modified_on_day:  # the value's whole local day, not "after it"
            day = datetime.fromtimestamp(modified_after, tz).date()
            modified_after = midnight(day, tz) - 1
            modified_before = midnight(day + timedelta(days=1), tz)
    match: list[tuple[str, frozenset]] = []
    if params.get("status"):
        found = kind.filters.get(norm(params["status"]))
        if found is None:
            raise errors.invalid_value("status")
        match.append(found)
    applied = kind.all_filter
    if params.get("filter_by"):
        applied = params["filter_by"]
        prefix, _, name = applied.partition(".")
        if prefix.lower() != kind.filter_prefix.lower() or not name:
            raise errors.invalid_value("filter_by")
        if norm(name) != "all":
            found = kind.filters.get(norm(name))
            if found is None:
                raise errors.invalid_value("filter_by")
            match.append(found)
    if kind.party and params.get(f"{kind.party}_id"):
        match.append((f"{kind.party}_id", frozenset({params[f"{kind.party}_id"]})))
    column = params.get("sort_column") or kind.default_sort
    if column not in kind.sort_columns:
        raise errors.invalid_value("sort_column")
    order = (params.get("sort_order") or kind.default_order).upper()
    if order not in ("A", "D"):
        raise errors.invalid_value("sort_order")
    return Query(date_from, date_to, modified_after, modified_before, tuple(match), column,
                 order == "D", applied)


class EntityStore:
    """One entity of one org: its generated table, the overlay of edits, memoized queries."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.kind = table.kind
        self.tz = table.catalog.tz
        self.overlay: dict[int, dict] = {}
        #: Indexes of deleted records: gone from details, listings and the ledger.
        self.deleted: set[int] = set()
        self.version = 0
        self._memo: OrderedDict[tuple[Query, int], Sequence[int]] = OrderedDict()
        self._lock = threading.RLock()
        #: Turns a copy of a record into what the API serves now (current tag names).
        self.present: Callable[[str, dict], dict] = lambda _kind, record: record

    # -- records ---------------------------------------------------------------------------

    def get(self, i: int) -> dict:
        """Record ``i`` with its edits applied (shared: copy before mutating)."""
        record = self.table.record(i)
        changes = self.overlay.get(i)
        return {**record, **changes} if changes else record

    def index(self, record_id: str) -> int:
        i = self.table.index_of(record_id)
        if i is None or i in self.deleted:
            raise errors.not_found(self.kind.label)
        return i

    def live(self) -> Iterator[int]:
        """Indexes of every record not deleted, oldest first."""
        return (i for i in range(self.table.size) if i not in self.deleted)

    def detail(self, record_id: str) -> dict:
        with self._lock:
            return self.served(self.index(record_id))

    def served(self, i: int) -> dict:
        """Record ``i`` as its detail response shows it (a copy)."""
        return self.present(self.kind.name, copy.deepcopy(self.get(i)))

    def row(self, i: int) -> dict:
        record = self.get(i)
        return {f: record[f] for f in self.kind.list_fields if f in record}

    def edit(self, record_id: str, changes: Mapping[str, Any], now: float, *,
             same_second: bool = False) -> dict:
        """Merge ``changes`` into a record; ``last_modified_time`` becomes ``now`` unless the
        changes set it or ``same_second`` keeps it (an edit within the second of the one
        before, which Zoho's whole-second stamp cannot tell apart). Returns the new record."""
        with self._lock:
            i = self.index(record_id)
            merged = {**self.overlay.get(i, {}), **copy.deepcopy(dict(changes))}
            if "last_modified_time" not in changes and not same_second:
                merged["last_modified_time"] = format_time(int(now), self.tz)
            self.overlay[i] = merged
            self._changed()
            return self.served(i)

    def add(self, fields: Mapping[str, Any], now: float) -> dict:
        """Append a new record created at ``now`` (or just after the newest one)."""
        with self._lock:
            table = self.table
            newest = table.created(table.size - 1) + 1 if table.size else int(now)
            table.added.append(max(int(now), newest))
            self.overlay[table.size - 1] = copy.deepcopy(dict(fields))
            self._changed()
            return self.served(table.size - 1)

    def delete(self, record_id: str) -> dict:
        """Delete a record (Zoho keeps no trace an API shows); returns it as it was."""
        with self._lock:
            i = self.index(record_id)
            record = self.served(i)
            self.deleted.add(i)
            self._changed()
            return record

    def _changed(self) -> None:
        self.version += 1
        self._memo.clear()

    # -- queries ---------------------------------------------------------------------------

    def select(self, query: Query) -> Sequence[int]:
        """Indexes of the matching records in response order."""
        with self._lock:
            key = (query, self.version)
            found = self._memo.get(key)
            if found is None:
                found = self._order(self._filter(query), query)
                self._memo[key] = found
                while len(self._memo) > _MEMO_SIZE:
                    self._memo.popitem(last=False)
            else:
                self._memo.move_to_end(key)
            return found

    def page(self, query: Query, page: int, per_page: int) -> tuple[list[dict], bool]:
        with self._lock:
            found = self.select(query)
            start = (page - 1) * per_page
            rows = [self.row(i) for i in found[start:start + per_page]]
            return rows, len(found) > start + per_page

    def list_body(self, params: Mapping[str, str]) -> dict:
        """The JSON body of ``GET /<entity>`` for these query parameters."""
        query = parse_query(self.kind, params, self.tz)
        page, per_page = paging(params)
        rows, more = self.page(query, page, per_page)
        return {
            "code": 0,
            "message": "success",
            self.kind.list_key: rows,
            "page_context": {
                "page": page,
                "per_page": per_page,
                "has_more_page": more,
                "report_name": self.kind.report_name,
                "applied_filter": query.applied_filter,
                "sort_column": query.sort_column,
                "sort_order": "D" if query.descending else "A",
            },
        }

    def _bounds(self, query: Query) -> tuple[int, int]:
        table = self.table
        indexes = range(table.size)
        lo, hi = 0, table.size
        if query.date_from:
            lo = bisect_left(indexes, midnight(query.date_from, self.tz), key=table.created)
        if query.date_to:
            end = midnight(query.date_to + timedelta(days=1), self.tz)
            hi = bisect_left(indexes, end, key=table.created)
        if query.modified_after is not None:
            earliest = query.modified_after - MAX_LAG
            lo = max(lo, bisect_right(indexes, earliest, key=table.created))
        if query.modified_before is not None:
            hi = min(hi, bisect_left(indexes, query.modified_before, key=table.created))
        return lo, max(lo, hi)

    def _filter(self, query: Query) -> Sequence[int]:
        lo, hi = self._bounds(query)
        edited, gone = self.overlay, self.deleted
        hits = {i for i in edited
                if i not in gone and self._matches_merged(self.get(i), query)}
        plain = not query.match and query.modified_after is None
        if (plain and all((lo <= i < hi) == (i in hits) for i in edited)
                and not any(lo <= i < hi for i in gone)):
            return range(lo, hi)
        table = self.table
        chosen = array("l", (
            i for i in range(lo, hi)
            if i not in edited and i not in gone
            and (query.modified_after is None or table.modified(i) > query.modified_after)
            and (query.modified_before is None or table.modified(i) < query.modified_before)
            and (not query.match or _fields_match(table.record(i), query.match))
        ))
        if hits:
            chosen = array("l", sorted([*chosen, *hits]))
        return chosen

    def _matches_merged(self, record: dict, query: Query) -> bool:
        if self.kind.date_field and (query.date_from or query.date_to):
            day = str(record.get(self.kind.date_field, ""))
            if query.date_from and day < query.date_from.isoformat():
                return False
            if query.date_to and day > query.date_to.isoformat():
                return False
        if query.modified_after is not None:
            try:
                stamp = parse_time(str(record.get("last_modified_time", "")), self.tz)
            except ValueError:
                return False
            if stamp <= query.modified_after:
                return False
            if query.modified_before is not None and stamp >= query.modified_before:
                return False
        return _fields_match(record, query.match)

    def _order(self, chosen: Sequence[int], query: Query) -> Sequence[int]:
        column = query.sort_column
        if column in self.kind.index_sorted and not any(
            column in changes for changes in self.overlay.values()
        ):
            return chosen[::-1] if query.descending else chosen
        key = self._sort_key(column)
        ordered = sorted(chosen, key=lambda i: (key(i), i), reverse=query.descending)
        return array("l", ordered)

    def _sort_key(self, column: str):
        table, edited = self.table, self.overlay
        if column == "last_modified_time":
            def modified(i: int) -> int:
                if i not in edited:
                    return table.modified(i)
                try:
                    return parse_time(str(self.get(i).get(column, "")), self.tz)
                except ValueError:
                    return 0
            return modified

        def value(i: int) -> Any:
            found = self.get(i).get(column)
            return (0, "") if found is None else (1, found)
        return value


def _fields_match(record: Mapping[str, Any], match: tuple[tuple[str, frozenset], ...]) -> bool:
    return all(record.get(name) in allowed for name, allowed in match)


class Organization:
    """One org: its spec, zone and one ``EntityStore`` per served module."""

    def __init__(self, seed: int, spec: OrgSpec,
                 dimensions: DimensionsSpec | None = None) -> None:
        self.spec = spec
        self.id = spec.organization_id
        self.tz = zone(spec.utc_offset)
        tables = build_tables(seed, spec)
        catalog = tables["contacts"].catalog
        self.catalog = catalog
        self.dimensions = Dimensions(catalog, spec, dimensions or DimensionsSpec(),
                                     tables["contacts"])
        catalog.dimensions = self.dimensions
        self.stores = {name: EntityStore(t) for name, t in tables.items()}
        for store in self.stores.values():
            store.present = self.dimensions.present

    def store(self, entity: str) -> EntityStore:
        return self.stores[entity]

    def counts(self) -> dict[str, int]:
        return {name: s.table.size for name, s in self.stores.items()}
