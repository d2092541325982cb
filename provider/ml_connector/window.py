"""The data window of a run, a month or a record: one type from the flow's reads to the audit
trail (a Zoho read's query, ``ExtractWindow``, is made from it)."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import NamedTuple


class Window(NamedTuple):
    """``[start, end)`` as ISO timestamps, as Airflow writes a data interval and the audit
    trail, the cell log and the build files store it; its JSON is ``[start, end]``."""

    start: str
    end: str

    @classmethod
    def of(cls, start: date | datetime | str, end: date | datetime | str) -> Window:
        """A window from dates (midnight UTC), datetimes or ISO text."""
        return cls(_stamp(start), _stamp(end))

    def dates(self) -> tuple[date, date]:
        """The first day in the window and the first day after it."""
        return date.fromisoformat(self.start[:10]), date.fromisoformat(self.end[:10])

    def __str__(self) -> str:
        return f"{self.start} -> {self.end}"


def _stamp(value: date | datetime | str) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return datetime.combine(value, time(), timezone.utc).isoformat()
    return str(value)


def month_name(month: date | str) -> str:
    """A month in words, ``January 2026``, from a date in it or ``yyyy-mm`` text (other
    text as it is)."""
    if not isinstance(month, str):
        return f"{month:%B %Y}"
    try:
        return f"{datetime.strptime(month, '%Y-%m'):%B %Y}"
    except ValueError:
        return month
