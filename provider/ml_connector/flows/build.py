"""Zoho records -> rows at an Anaplan module's grain: periods, base currency, totals, CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import IO, Any

from ml_connector.transport.errors import ConfigError

CENT = Decimal("0.01")


@lru_cache(maxsize=8192)
def period_label(day: str) -> str:
    """Anaplan's month label of a ``yyyy-mm-dd`` date: ``2026-01-15`` -> ``Jan 26``."""
    try:
        return date.fromisoformat(day).strftime("%b %y")
    except (TypeError, ValueError):
        raise ConfigError(f"not a date (yyyy-mm-dd): {day!r}") from None


def base_amount(amount: Any, exchange_rate: Any) -> Decimal:
    """An amount converted to the organization's base currency, rounded to the cent."""
    value = amount if type(amount) is Decimal else Decimal(str(amount))
    if exchange_rate in (None, "", 0, 1):
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    return (value * _rate(exchange_rate)).quantize(CENT, rounding=ROUND_HALF_UP)


@lru_cache(maxsize=4096)
def _rate(exchange_rate: Any) -> Decimal:
    return Decimal(str(exchange_rate))


def write_csv(stream: IO[str], header: list[str], rows: Iterable[Iterable[Any]]) -> int:
    """Write a header and rows as CSV; returns the number of data rows."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
