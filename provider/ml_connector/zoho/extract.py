"""Extraction: a window of one entity streamed to JSON Lines, with a small summary."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from itertools import chain
from typing import IO, Any

from ml_connector.transport.errors import ConfigError
from ml_connector.zoho.client import ZohoBooksClient
from ml_connector.zoho.entities import Entity, get_entity
from ml_connector.zoho.timefmt import format_zoho_time, parse_zoho_time

log = logging.getLogger(__name__)


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


@dataclass
class ExtractSummary:
    """What an extraction read; small enough for an XCom."""

    entity: str
    organization_id: str
    window: dict[str, str | None]
    count: int = 0
    line_items: bool = False
    requests: int = 0
    max_last_modified_time: str | None = None
    path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    if line_items and not ent.has_line_items:
        raise ConfigError(f"entity {ent.name!r} has no line items")
    records = client.iter_records(ent, window.params(ent))
    return client.with_details(ent, records) if line_items else records


def extract_to(
    client: ZohoBooksClient,
    entity: str,
    window: ExtractWindow | Sequence[ExtractWindow],
    sink: IO[str],
    *,
    line_items: bool = False,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 1000,
) -> ExtractSummary:
    """Stream the window's (or each window's, in turn) records to ``sink`` as JSON Lines and
    summarise what was read."""
    ent = get_entity(entity)
    windows = [window] if isinstance(window, ExtractWindow) else list(window)
    if not windows:
        raise ConfigError("no window to extract")
    summary = ExtractSummary(
        entity=ent.name, organization_id=client.organization_id,
        window=windows[0].describe() if len(windows) == 1 else {
            "start": windows[0].describe()["start"], "end": windows[-1].describe()["end"],
            "modified_after": None},
        line_items=line_items,
    )
    if len(windows) > 1:
        summary.extra["windows"] = [w.describe() for w in windows]
    before = client.requests
    records = chain.from_iterable(iter_window(client, ent.name, w, line_items=line_items)
                                  for w in windows)
    for record in records:
        sink.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
        sink.write("\n")
        summary.count += 1
        summary.max_last_modified_time = _newer(
            summary.max_last_modified_time, record.get("last_modified_time")
        )
        if progress and summary.count % progress_every == 0:
            progress(summary.count)
    summary.requests = client.requests - before
    return summary
