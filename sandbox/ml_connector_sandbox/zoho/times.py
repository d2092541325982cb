"""Zoho's date and time formats: ``yyyy-mm-dd`` and ``yyyy-MM-ddTHH:mm:ss±hhmm``."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

FORMAT = "%Y-%m-%dT%H:%M:%S%z"
_STAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+\- ]\d{2}:?\d{2})?$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def zone(offset: str) -> timezone:
    """The fixed zone of an offset written ``+hhmm`` / ``-hhmm``."""
    sign = -1 if offset[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))


def format_time(epoch: int, tz: timezone) -> str:
    return datetime.fromtimestamp(epoch, tz).strftime(FORMAT)


def local_date(epoch: int, tz: timezone) -> date:
    return datetime.fromtimestamp(epoch, tz).date()


def midnight(day: date, tz: timezone) -> int:
    """Epoch seconds of 00:00 on ``day`` in ``tz``."""
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def parse_date(value: str) -> date:
    """A strict ``yyyy-mm-dd`` date; raises ``ValueError`` otherwise."""
    if not _DATE.match(value):
        raise ValueError(value)
    return date.fromisoformat(value)


def parse_time(value: str, default_tz: timezone) -> int:
    """Epoch seconds of a Zoho timestamp.

    Accepts ``±hhmm``, ``±hh:mm`` and ``Z``; a space before the offset digits is a ``+`` that
    arrived un-encoded in a query string. Without an offset the org's zone is assumed.
    Raises ``ValueError`` for anything else.
    """
    match = _STAMP.match(value or "")
    if not match:
        raise ValueError(value)
    day, clock, offset = match.groups()
    moment = datetime.fromisoformat(f"{day}T{clock}")
    if offset is None:
        tz = default_tz
    elif offset == "Z":
        tz = timezone.utc
    else:
        digits = offset[1:].replace(":", "")
        tz = zone(("-" if offset[0] == "-" else "+") + digits)
    return int(moment.replace(tzinfo=tz).timestamp())
