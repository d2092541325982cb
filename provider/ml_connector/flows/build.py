"""Zoho records -> rows at an Anaplan module's grain: periods, base currency, totals, CSV."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Any

from ml_connector.transport.errors import ConfigError

CENT = Decimal("0.01")
#: Documents that are not actuals: left out of every total.
NOT_ACTUALS = frozenset({"void", "draft"})


def period_label(day: str) -> str:
    """Anaplan's month label of a ``yyyy-mm-dd`` date: ``2026-01-15`` -> ``Jan 26``."""
    try:
        return date.fromisoformat(day).strftime("%b %y")
    except (TypeError, ValueError):
        raise ConfigError(f"not a date (yyyy-mm-dd): {day!r}") from None


def base_amount(amount: Any, exchange_rate: Any) -> Decimal:
    """An amount converted to the organization's base currency, rounded to the cent."""
    rate = Decimal(str(exchange_rate)) if exchange_rate not in (None, "", 0) else Decimal(1)
    return (Decimal(str(amount)) * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def account_month_totals(
    records: Iterable[Mapping[str, Any]], codes_by_account_id: Mapping[str, str],
    *, id_field: str,
) -> dict[tuple[str, str], Decimal]:
    """Line items summed per (account code, month) in base currency; void/draft left out.

    Each line is converted and rounded on its own, then summed, so totals are reproducible to
    the cent from the same records.
    """
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for record in records:
        if record.get("status") in NOT_ACTUALS:
            continue
        period = period_label(record["date"])
        for line in record.get("line_items") or []:
            account_id = str(line.get("account_id"))
            code = codes_by_account_id.get(account_id)
            if code is None:
                raise ConfigError(
                    f"{id_field} {record.get(id_field)}: line account {account_id} "
                    f"({line.get('account_name')}) is not in the chart of accounts"
                )
            totals[(code, period)] += base_amount(line["item_total"], record.get("exchange_rate"))
    return dict(totals)


def write_csv(stream: IO[str], header: list[str], rows: Iterable[Iterable[Any]]) -> int:
    """Write a header and rows as CSV; returns the number of data rows."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
