"""Zoho records -> rows at an Anaplan module's grain: periods, base currency, totals, CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import IO, Any

from ml_connector.errors import ConfigError

CENT = Decimal("0.01")


@lru_cache(maxsize=8192)
def period_label(day: str) -> str:
    """Anaplan's month label of a ``yyyy-mm-dd`` date: ``2026-01-15`` -> ``Jan 26``."""
    try:
        return date.fromisoformat(day).strftime("%b %y")
    except (TypeError, ValueError):
        raise ConfigError(f"not a date (yyyy-mm-dd): {day!r}") from None


def to_base(value: Decimal, rate: Decimal | None) -> Decimal:
    """``value`` times ``rate`` (None: 1), half-up to the cent."""
    return (value if rate is None else value * rate).quantize(CENT, rounding=ROUND_HALF_UP)


@lru_cache(maxsize=4096, typed=True)  # typed: True is not the rate 1
def rate_of(exchange_rate: Any) -> Decimal | None:
    """A document's ``exchange_rate`` as a positive decimal, None for 1 (no conversion);
    ``ValueError`` for anything else (null, zero, negative, text, NaN, a boolean)."""
    if type(exchange_rate) is bool or exchange_rate in (None, ""):
        raise ValueError(exchange_rate)
    try:
        rate = Decimal(str(exchange_rate))
    except InvalidOperation:
        raise ValueError(exchange_rate) from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError(exchange_rate)
    return None if rate == 1 else rate


def write_csv(stream: IO[str], header: list[str], rows: Iterable[Iterable[Any]]) -> int:
    """Write a header and rows as CSV; returns the number of data rows."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
