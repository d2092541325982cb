"""Choosing an extraction window from a run's data interval, explicit bounds or a watermark."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

from ml_connector.errors import ConfigError
from ml_connector.zoho.extract import ExtractWindow
from ml_connector.zoho.timefmt import parse_zoho_time

#: The words of ``flows.yaml``'s ``mode``; ``window`` and ``all`` are older names of
#: ``period`` and ``full``, still accepted.
Mode = Literal["period", "incremental", "full", "window", "all"]
ALIASES = {"window": "period", "all": "full"}


def _as_date(value: date | datetime | str | None, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        raise ConfigError(f"{field} must be a date (yyyy-mm-dd), got {value!r}") from None


def _as_moment(value: datetime | str | None, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            moment = parse_zoho_time(str(value))
    if moment.tzinfo is None:
        raise ConfigError(f"{field} must carry a time zone offset, got {value!r}")
    return moment


def plan_window(
    mode: Mode,
    *,
    interval_start: datetime | None = None,
    interval_end: datetime | None = None,
    window_start: date | datetime | str | None = None,
    window_end: date | datetime | str | None = None,
    modified_after: datetime | str | None = None,
    watermark: str | None = None,
    overlap: timedelta = timedelta(minutes=10),
) -> ExtractWindow:
    """The window a run should read.

    - ``period``: documents dated in ``[window_start, window_end)``, defaulting to the run's
      data interval (a backfill of a month reads exactly that month).
    - ``incremental``: records modified after ``modified_after``, else after the stored
      ``watermark`` less ``overlap`` (re-reading a little is safe; downstream de-duplicates).
      Without either, everything.
    - ``full``: everything.
    """
    mode = ALIASES.get(mode, mode)  # type: ignore[assignment]
    if mode == "full":
        return ExtractWindow()
    if mode == "incremental":
        since = _as_moment(modified_after, "modified_after")
        if since is None and watermark:
            since = parse_zoho_time(watermark) - overlap
        return ExtractWindow(modified_after=since)
    if mode != "period":
        raise ConfigError(f"mode must be 'period', 'incremental' or 'full', got {mode!r}")
    start = _as_date(window_start, "window_start") or _as_date(interval_start, "data interval")
    end = _as_date(window_end, "window_end") or _as_date(interval_end, "data interval")
    if start is None or end is None:
        raise ConfigError(
            "period mode needs window_start and window_end, or a run with a data interval"
        )
    if start == end:
        raise ConfigError(
            f"the window {start.isoformat()}..{end.isoformat()} is empty: the run's data "
            "interval has no width (use a CronDataIntervalTimetable schedule, or pass "
            "window_start/window_end)"
        )
    return ExtractWindow(start=start, end=end)


def plan_windows(windows: str | Sequence[Sequence[str]]) -> list[ExtractWindow]:
    """Document-date windows from ``[[start, end], ...]`` (or its JSON text): a run that
    rebuilds several months reads each one whole."""
    if isinstance(windows, str):
        try:
            windows = json.loads(windows)
        except ValueError:
            raise ConfigError(f"windows must be a JSON list of [start, end], got {windows!r}"
                              ) from None
    if not isinstance(windows, (list, tuple)) or not all(
            isinstance(w, (list, tuple)) and len(w) == 2 for w in windows):
        raise ConfigError(f"windows must be a list of [start, end] pairs, got {windows!r}")
    return [ExtractWindow(start=_as_date(start, "windows start"), end=_as_date(end, "windows end"))
            for start, end in windows]


def plan_extract(
    mode: Mode,
    *,
    windows: str | Sequence[Sequence[str]] | None = None,
    **bounds: Any,
) -> ExtractWindow | list[ExtractWindow]:
    """The window(s) of an extract step: the given ``windows`` read in turn, else
    ``plan_window(mode, **bounds)``."""
    return plan_windows(windows) if windows else plan_window(mode, **bounds)
