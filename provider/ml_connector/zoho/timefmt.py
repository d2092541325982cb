"""Zoho's timestamp format: ``yyyy-MM-ddTHH:mm:ss±hhmm`` (offset without a colon)."""

from __future__ import annotations

from datetime import datetime, timezone

from ml_connector.errors import ConfigError

FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def parse_zoho_time(value: str) -> datetime:
    """Parse a Zoho timestamp (also accepts ``±hh:mm`` and ``Z``) into an aware datetime."""
    if not isinstance(value, str):
        raise ConfigError(f"not a Zoho timestamp (yyyy-MM-ddTHH:mm:ss±hhmm): {value!r}")
    text = value.strip().replace("Z", "+0000")
    if len(text) >= 6 and text[-3] == ":" and text[-6] in "+-":
        text = text[:-3] + text[-2:]
    try:
        return datetime.strptime(text, FORMAT)
    except ValueError:
        raise ConfigError(
            f"not a Zoho timestamp (yyyy-MM-ddTHH:mm:ss±hhmm): {value!r}"
        ) from None


def format_zoho_time(moment: datetime) -> str:
    """Format an aware datetime the way Zoho's ``last_modified_time`` filter expects."""
    if moment.tzinfo is None:
        raise ConfigError(f"timestamp {moment.isoformat()} has no time zone")
    return moment.strftime(FORMAT)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)
