"""Extraction: a window of one entity streamed to JSON Lines, with a small summary."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from itertools import chain, islice
from typing import IO, Any

from pydantic import BaseModel, Field

from ml_connector.errors import ConfigError, QuotaExhausted
from ml_connector.zoho.client import ZohoBooksClient
from ml_connector.zoho.entities import Entity, get_entity
from ml_connector.zoho.report import jsonl_line, read_jsonl
from ml_connector.zoho.tags import tag_option_rows
from ml_connector.zoho.timefmt import format_zoho_time, parse_zoho_time

log = logging.getLogger(__name__)

#: Whether a list row of a module is left out of an extract.
Leave = Callable[[Entity, dict], bool]


@dataclass(frozen=True)
class ExtractWindow:
    """Which records to read: by document ``date`` in ``[start, end)``, and/or those modified
    strictly after ``modified_after``. Empty means everything."""

    start: date | None = None
    end: date | None = None
    modified_after: datetime | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start >= self.end:
            raise ConfigError(
                f"window start {self.start.isoformat()} must be before end {self.end.isoformat()}"
            )
        if self.modified_after is not None and self.modified_after.tzinfo is None:
            raise ConfigError("modified_after must carry a time zone")

    def params(self, entity: Entity) -> dict[str, str]:
        """Zoho list filters for this window (``date_end`` is inclusive, so ``end - 1 day``)."""
        query: dict[str, str] = {}
        if self.start or self.end:
            if not entity.date_filters:
                raise ConfigError(f"entity {entity.name!r} cannot be filtered by date")
            if self.start:
                query["date_start"] = self.start.isoformat()
            if self.end:
                query["date_end"] = (self.end - timedelta(days=1)).isoformat()
        if self.modified_after is not None:
            if entity.modified_filter:
                query["last_modified_time"] = format_zoho_time(self.modified_after)
            elif entity.date_filters:
                # Modules whose modified filter is unreliable: everything dated after the day
                # before; callers de-duplicate downstream.
                day = self.modified_after.date() - timedelta(days=1)
                query["date_after"] = day.isoformat()
            else:
                raise ConfigError(f"entity {entity.name!r} cannot be read incrementally")
        return query

    def describe(self) -> dict[str, str | None]:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "modified_after": (
                format_zoho_time(self.modified_after) if self.modified_after else None
            ),
        }


class ExtractManifest(BaseModel):
    """What an extraction staged and read, never the records: small enough for an XCom,
    whose JSON it is."""

    entity: str
    organization_id: str
    window: dict[str, str | None]
    read_at: float = Field(default_factory=time.time)  # when the read began (epoch seconds)
    count: int = 0
    line_items: bool = False
    requests: int = 0
    cache_hits: int = 0
    max_last_modified_time: str | None = None
    path: str | None = None
    windows: list[dict[str, str | None]] | None = None
    entities: dict[str, int] | None = None
    details_planned: int | None = None
    reused_from: str | None = None
    #: List rows the reader left out before any detail (dated into a closed month): month
    #: (``yyyy-mm``) -> their ids.
    left_out: dict[str, list[str]] = Field(default_factory=dict)


def _newer(current: str | None, candidate: str | None) -> str | None:
    if not candidate:
        return current
    if current is None or parse_zoho_time(candidate) > parse_zoho_time(current):
        return candidate
    return current


def iter_window(
    client: ZohoBooksClient, entity: str, window: ExtractWindow, *, line_items: bool = False
) -> Iterator[dict]:
    """Records of ``entity`` in ``window``; with ``line_items``, their detail records."""
    ent = get_entity(entity)
    if line_items and not ent.detailed:
        raise ConfigError(f"entity {ent.name!r} has no details to read (no line items)")
    records = client.iter_records(ent, window.params(ent))
    return client.with_details(ent, records) if line_items else records


class Progress:
    """Logs an extract's progress every ``every`` seconds: records listed, requests,
    requests per minute, cache hits and, once the details to fetch are known, how many are
    fetched and the time left."""

    def __init__(self, client: ZohoBooksClient, entity: str, emit: Callable[[str], None], *,
                 every: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self.entity, self.emit = client, entity, emit
        self.every, self.clock = every, clock
        self.started = self.last = clock()
        self.requests0, self.hits0 = client.requests, client.cache_hits
        self.phase = "listing"
        self.planned: int | None = None
        self.planned_at = 0
        self.records = 0

    def plan(self, listed: int, details: int, hint: str = "") -> None:
        """The list is read: ``details`` detail requests are still to come; said at once
        with the time they take at the client's request budget, and ``hint`` (a cheaper way
        to the same figures) after it when they take more than a minute."""
        self.phase, self.planned = f"details of {listed:,}", details
        self.records = 0
        self.planned_at = self.client.requests
        budget = self.client.config.requests_per_minute
        if details:
            self.emit(f"{self.entity}: {details:,} detail(s) of {listed:,} to fetch at "
                      f"{budget:,}/min (the connection's requests_per_minute): about "
                      f"{details / budget:,.1f} min")
        if hint and details > budget:
            self.emit(hint)

    def tick(self, records: int | None = None) -> None:
        """Called as records are written (``records`` so far) and as details arrive: a
        line once ``every`` seconds have passed since the last."""
        if records is not None:
            self.records = records
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self.emit(self.line(self.records, now))

    def line(self, records: int, now: float) -> str:
        """Listing: the records listed so far. Details: how many of the planned are fetched
        and the time left at the pace kept, which the connection's budget caps. The rate
        is taken over one budget window at least: the window lets a burst through first,
        which over less time would read as more than the budget."""
        requests = self.client.requests - self.requests0
        minutes = max(now - self.started, self.client.config.rate_window, 1e-9) / 60
        rate = requests / minutes
        hits = f"{self.client.cache_hits - self.hits0:,} cache hits"
        if self.planned is None:
            return (f"{self.entity} (listing): {records:,} records, {requests:,} requests "
                    f"({rate:,.0f}/min), {hits}")
        fetched = min(self.client.requests - self.planned_at, self.planned)
        left = self.planned - fetched
        pace = min(rate, float(self.client.config.requests_per_minute))
        return (f"{self.entity} ({self.phase}): {fetched:,} of {self.planned:,} details "
                f"fetched, {requests:,} requests ({rate:,.0f}/min on average), {hits}, about "
                f"{left / max(pace, 1e-9):,.1f} min left ({left:,} requests)")


def extract_to(
    client: ZohoBooksClient,
    entity: str | Sequence[str],
    window: ExtractWindow | Sequence[ExtractWindow],
    sink: IO[str],
    *,
    line_items: bool = False,
    progress: Callable[[str], None] | None = None,
    progress_every: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    partial: bool = False,
    hint: str = "",
    tags: Sequence[str] = (),
    leave: Leave | None = None,
) -> ExtractManifest:
    """Stream the window's (or each window's, in turn) records of ``entity`` (or of each of
    several modules, in turn: invoices and their credit notes) to ``sink`` as JSON Lines and
    summarise what was read.

    With ``line_items`` the lists are read first (spooled to temporary files), then the
    details not in the cache are counted and forecast against the organization's daily quota
    (``QuotaExhausted`` before any of them is fetched), then fetched. With ``partial`` an
    extract that does not fit first fetches (and caches) as many details as today's quota
    leaves room for, so that a job larger than a day's quota advances every day. ``tags``:
    of module ``tagoptions``, only these reporting tags' options (names or ids).
    ``leave``: list rows to leave out as they are listed (neither written nor their details
    fetched); their ``last_modified_time`` still counts as read: the caller has seen them.
    """
    ents, windows = _targets(entity, window, line_items)
    summary = _manifest(client, ents, windows, line_items)
    names = "+".join(e.name for e in ents)
    meter = Progress(client, names, progress or log.info, every=progress_every, clock=clock)
    writer = _Writer(summary, sink, meter, leave)
    before, hits = client.requests, client.cache_hits
    what = f"extract of {names} for organization {client.organization_id}"
    if client.store is not None:  # at least one list page per window and module
        client.quota.check(len(windows) * len(ents), f"{what}, its lists (at least one "
                           "page per module and window; details are forecast once listed)")
    if not line_items:
        for ent in ents:
            writer.write(ent, writer.kept(ent, _listed(client, ent, windows, tags)))
    else:
        _write_with_details(client, ents, windows, writer, what, partial=partial, hint=hint)
    if len(ents) > 1:
        summary.entities = {e.name: writer.counts.get(e.name, 0) for e in ents}
    summary.requests = client.requests - before
    summary.cache_hits = client.cache_hits - hits
    return summary


def _windows(window: ExtractWindow | Sequence[ExtractWindow]) -> list[ExtractWindow]:
    """One window or several, as a list."""
    return [window] if isinstance(window, ExtractWindow) else list(window)


def _targets(entity: str | Sequence[str], window: ExtractWindow | Sequence[ExtractWindow],
             line_items: bool) -> tuple[list[Entity], list[ExtractWindow]]:
    """The modules and windows of an extract, checked: at least one of each."""
    ents = [get_entity(e) for e in ([entity] if isinstance(entity, str) else entity)]
    if not ents:
        raise ConfigError("no entity to extract")
    for ent in ents:
        if line_items and not ent.detailed:
            raise ConfigError(f"entity {ent.name!r} has no details to read (no line items)")
    windows = _windows(window)
    if not windows:
        raise ConfigError("no window to extract")
    return ents, windows


def _manifest(client: ZohoBooksClient, ents: Sequence[Entity],
              windows: Sequence[ExtractWindow], line_items: bool) -> ExtractManifest:
    """An empty manifest of the extract: its module, organization and window(s)."""
    summary = ExtractManifest(
        entity=ents[0].name, organization_id=client.organization_id,
        window=windows[0].describe() if len(windows) == 1 else {
            "start": windows[0].describe()["start"], "end": windows[-1].describe()["end"],
            "modified_after": None},
        line_items=line_items,
    )
    if len(windows) > 1:
        summary.windows = [w.describe() for w in windows]
    return summary


def _listed(client: ZohoBooksClient, ent: Entity, windows: Sequence[ExtractWindow],
            tags: Sequence[str] = ()) -> Iterator[dict]:
    """The list records of one module, window after window (tag options: every tag's, or
    those of ``tags``, read whole)."""
    if ent.reader == "tags":
        return tag_option_rows(client, tags)
    return chain.from_iterable(client.iter_records(ent, w.params(ent)) for w in windows)


@dataclass
class _Writer:
    """Writes records to the sink as JSON Lines and counts them into the manifest; list
    rows ``leave`` picks are left out (their modification time counts as read)."""

    summary: ExtractManifest
    sink: IO[str]
    meter: Progress
    leave: Leave | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def kept(self, ent: Entity, rows: Iterable[dict]) -> Iterator[dict]:
        """``rows`` less those ``leave`` picks."""
        for row in rows:
            if self.leave is not None and self.leave(ent, row):
                self.summary.max_last_modified_time = self._newest(
                    ent, row, self.summary.max_last_modified_time)
                continue
            yield row

    @staticmethod
    def _newest(ent: Entity, record: dict, newest: str | None) -> str | None:
        try:
            return _newer(newest, record.get("last_modified_time"))
        except ConfigError as exc:
            raise ConfigError(f"{ent.name} {ent.id_field} {record.get(ent.id_field)} "
                              f"last_modified_time: {exc}") from None

    def write(self, ent: Entity, records: Iterator[dict]) -> None:
        """Stream one module's records to the sink, one at a time."""
        summary = self.summary
        count, newest = summary.count, summary.max_last_modified_time
        for record in records:
            self.sink.write(jsonl_line(record))
            count += 1
            newest = self._newest(ent, record, newest)
            self.meter.tick(count)
        self.counts[ent.name] = self.counts.get(ent.name, 0) + count - summary.count
        summary.count, summary.max_last_modified_time = count, newest


def _write_with_details(client: ZohoBooksClient, ents: Sequence[Entity],
                        windows: Sequence[ExtractWindow], writer: _Writer, what: str, *,
                        partial: bool, hint: str) -> None:
    """Spool the lists, check their details against the quota, then write records and details."""
    with ExitStack() as stack:
        spools = [stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
                  for _ in ents]
        rows, planned = _spool_lists(client, ents, windows, spools, writer)
        writer.summary.details_planned = planned
        writer.meter.plan(rows, planned, hint)
        if client.store is not None:
            _check_details(client, ents, spools, f"{what}: {planned:,} uncached detail(s) of "
                           f"{rows:,} listed", planned, partial=partial)
        for ent, spool in zip(ents, spools, strict=True):
            spool.seek(0)
            writer.write(ent, client.with_details(ent, read_jsonl(spool),
                                                  tick=writer.meter.tick))


def _spool_lists(client: ZohoBooksClient, ents: Sequence[Entity],
                 windows: Sequence[ExtractWindow], spools: Sequence[IO[str]],
                 writer: _Writer) -> tuple[int, int]:
    """Spool each module's list to its file (less the rows the writer leaves out): the
    rows kept and their uncached details."""
    rows = planned = 0
    for ent, spool in zip(ents, spools, strict=True):
        for row in writer.kept(ent, _listed(client, ent, windows)):
            spool.write(jsonl_line(row))
            rows += 1
            writer.meter.tick(rows)
        spool.seek(0)
        planned += client.uncached(ent, read_jsonl(spool))
    return rows, planned


def _check_details(client: ZohoBooksClient, ents: Sequence[Entity], spools: Sequence[IO[str]],
                   what: str, planned: int, *, partial: bool) -> None:
    """Forecast ``planned`` details against today's quota; with ``partial``, fetch what fits."""
    try:
        client.quota.check(planned, what)
    except QuotaExhausted as exc:
        if not partial:
            raise
        fetched = _prefetch(client, ents, spools, client.quota.room() or 0)
        raise QuotaExhausted(f"{exc} Fetched {fetched:,} of the details now, as "
                             "many as today leaves room for; the rest follow "
                             "after the reset.", resets_at=exc.resets_at) from None


def _prefetch(client: ZohoBooksClient, ents: Sequence[Entity], spools: Sequence[IO[str]],
              room: int) -> int:
    """Fetch into the detail cache up to ``room`` uncached details of the spooled rows."""
    fetched = 0
    for ent, spool in zip(ents, spools, strict=True):
        if fetched >= room:
            break
        spool.seek(0)
        wanted = islice(client.uncached_rows(ent, read_jsonl(spool)), room - fetched)
        fetched += sum(1 for _ in client.with_details(ent, list(wanted)))
    return fetched


def _full_read(windows: Sequence[ExtractWindow]) -> bool:
    return all(w == ExtractWindow() for w in windows)


def stage_extract(
    client: ZohoBooksClient,
    entity: str | Sequence[str],
    window: ExtractWindow | Sequence[ExtractWindow],
    path: Any,
    *,
    line_items: bool = False,
    reuse_within: float | None = None,
    progress: Callable[[str], None] | None = None,
    progress_every: float = 30.0,
    partial: bool = False,
    hint: str = "",
    tags: Sequence[str] = (),
    leave: Leave | None = None,
) -> ExtractManifest:
    """Extract to ``path`` (anything with ``open()``: a ``Path``, an ``ObjectStoragePath``).

    A full read of a list (no window) is kept in the state store for reuse, and reused
    instead of read while younger than ``reuse_within`` seconds: no request then.
    """
    several = not isinstance(entity, str)
    ent = get_entity(entity if isinstance(entity, str) else entity[0])
    windows = _windows(window)
    keep = (_full_read(windows) and not line_items and client.store is not None
            and not several and leave is None)
    key = f"{ent.name}:{','.join(sorted(tags)) or 'all'}"
    if keep and reuse_within:
        kept = client.lists.get(key, reuse_within)
        if kept is not None:
            fetched_at, rows = kept
            count = 0
            with path.open("w", encoding="utf-8") as sink:
                for count, row in enumerate(rows, start=1):  # noqa: B007
                    sink.write(jsonl_line(row))
            summary = ExtractManifest(
                entity=ent.name, organization_id=client.organization_id,
                window=ExtractWindow().describe(), path=str(path), count=count,
                read_at=fetched_at,
                reused_from=datetime.fromtimestamp(fetched_at, timezone.utc).isoformat())
            (progress or log.info)(
                f"Reused the {summary.count:,} {ent.name} read at {summary.reused_from}"
                f" (younger than {reuse_within:,.0f} s): no Zoho request")
            return summary
    with path.open("w", encoding="utf-8") as sink:
        summary = extract_to(client, entity, windows, sink, line_items=line_items,
                             progress=progress, progress_every=progress_every,
                             partial=partial, hint=hint, tags=tags, leave=leave)
    summary.path = str(path)
    if keep:
        with path.open("r", encoding="utf-8") as staged:
            client.lists.put(key, list(read_jsonl(staged)))
    return summary
