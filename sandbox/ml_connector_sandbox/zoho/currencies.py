"""An organization's currencies and exchange-rate series: ``GET /settings/currencies`` and
``GET /settings/currencies/{currency_id}/exchangerates``.

A rate is in units of the organization's base currency for one unit of the foreign
currency. Each foreign currency of an organization (``foreign_currencies`` and
``rate_currencies``) has one rate per business day (Monday to Friday) from a month before
the organization's ``start_date`` to its ``end_date``: a random walk around the currency's
level (``USD_VALUE`` of it over that of the base currency), pulled back towards the level,
rounded to 6 decimals, from a random stream of its own (``seed:org:fx:code``), so nothing
else the emulator generates moves when a series is added. The rate in effect on a day is
the latest one effective on or before it (a weekend takes Friday's).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Literal

from ml_connector_sandbox.zoho import errors
from ml_connector_sandbox.zoho.times import parse_date

#: US dollars per unit, the level each series walks around.
USD_VALUE = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "INR": 0.012, "AUD": 0.66, "JPY": 0.0067,
             "CAD": 0.74, "CNY": 0.138, "SAR": 0.2667, "CHF": 1.13}
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "INR": "₹", "AUD": "$", "JPY": "¥", "CAD": "$",
           "CNY": "¥", "SAR": "SAR", "CHF": "CHF"}
NAMES = {"USD": "US Dollar", "EUR": "Euro", "GBP": "Pound Sterling", "INR": "Indian Rupee",
         "AUD": "Australian Dollar", "JPY": "Japanese Yen", "CAD": "Canadian Dollar",
         "CNY": "Yuan Renminbi", "SAR": "Saudi Riyal", "CHF": "Swiss Franc"}
#: Id code (``Catalog.make_id``) of exchange-rate entries; currencies use 9.
RATE_CODE = 21
#: Entries per currency in the id space of ``RATE_CODE``.
RATE_BLOCK = 100_000
#: Daily standard deviation of the walk (log scale) and its daily pull towards the level.
VOLATILITY, PULL = 0.004, 0.03

Order = Literal["newest_first", "oldest_first"]


def month_before(day: date) -> date:
    """The same day a month earlier (the month's last day where it has fewer days)."""
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def business_days(first: date, last: date) -> list[date]:
    """Monday to Friday from ``first`` to ``last`` inclusive."""
    days, day = [], first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def rate_series(seed: int, organization_id: str, base: str, code: str, first: date,
                last: date) -> list[tuple[date, float]]:
    """``(effective date, rate)`` of ``code`` in ``base`` per business day, oldest first."""
    rng = random.Random(f"{seed}:{organization_id}:fx:{code}")
    level = USD_VALUE.get(code, 1.0) / USD_VALUE.get(base, 1.0)
    drift, series = 0.0, []
    for day in business_days(first, last):
        drift = drift * (1 - PULL) + rng.gauss(0, VOLATILITY)
        series.append((day, round(level * math.exp(drift), 6)))
    return series


class Currencies:
    """The currencies of one organization (``codes``: base first) and their rate series."""

    def __init__(self, seed: int, organization_id: str, codes: list[str], first: date,
                 last: date, make_id: Callable[[int, int], str]) -> None:
        self.codes = codes
        self.base = codes[0]
        self.make_id = make_id
        self.series = {code: rate_series(seed, organization_id, self.base, code,
                                         month_before(first), last) for code in codes[1:]}
        self._days = {code: [d for d, _ in rows] for code, rows in self.series.items()}

    def currency_id(self, code: str) -> str:
        return self.make_id(9, self.codes.index(code))

    def rate_on(self, code: str, day: date) -> float:
        """The rate of ``code`` in effect on ``day`` (1 for the base currency; the first
        rate before the series starts)."""
        if code == self.base:
            return 1.0
        return self.series[code][self._position(code, day)][1]

    def _position(self, code: str, day: date) -> int:
        return max(0, bisect_right(self._days[code], day) - 1)

    def currencies_body(self, today: date) -> dict:
        """``GET /settings/currencies``: each currency with the rate in effect ``today``."""
        rows = [{"currency_id": self.currency_id(code), "currency_code": code,
                 "currency_name": f"{code}- {NAMES.get(code, code)}",
                 "currency_symbol": SYMBOLS.get(code, code),
                 "price_precision": 2, "currency_format": "1,234,567.89",
                 "is_base_currency": code == self.base,
                 "exchange_rate": self.rate_on(code, today)} for code in self.codes]
        return {"code": 0, "message": "success", "currencies": rows,
                "page_context": {"page": 1, "per_page": 200, "has_more_page": False,
                                 "report_name": "Currencies", "applied_filter": "Status.All",
                                 "sort_column": "currency_code", "sort_order": "A"}}

    def rates_body(self, currency_id: str, params: Mapping[str, str], today: date,
                   page: int, per_page: int, order: Order) -> dict:
        """``GET /settings/currencies/{currency_id}/exchangerates``: the rates effective on
        or after ``from_date``, or (``is_current_date=true``) the one in effect ``today``;
        ordered as ``order`` says, page ``page`` of ``per_page``. The base currency has
        none."""
        code = next((c for c in self.codes if self.currency_id(c) == currency_id), None)
        if code is None:
            raise errors.not_found("Currency")
        rows = self.series.get(code, [])
        k = self.codes.index(code)
        entries = [(n, day, rate) for n, (day, rate) in enumerate(rows)]
        if params.get("is_current_date", "").lower() == "true":
            entries = [entries[self._position(code, today)]] if entries else []
        elif params.get("from_date"):
            try:
                start = parse_date(params["from_date"])
            except ValueError:
                raise errors.invalid_value("from_date") from None
            entries = [e for e in entries if e[1] >= start]
        if order == "newest_first":
            entries.reverse()
        chosen = entries[(page - 1) * per_page:page * per_page]
        return {"code": 0, "message": "success",
                "exchange_rates": [{"exchange_rate_id": self.make_id(RATE_CODE,
                                                                     k * RATE_BLOCK + n),
                                    "currency_id": currency_id, "currency_code": code,
                                    "effective_date": day.isoformat(), "rate": rate}
                                   for n, day, rate in chosen],
                "page_context": {"page": page, "per_page": per_page,
                                 "has_more_page": page * per_page < len(entries),
                                 "report_name": "Exchange Rates",
                                 "sort_column": "effective_date",
                                 "sort_order": "D" if order == "newest_first" else "A"}}
