"""A month's rates from a series of dated rates (each in effect from its date until the
next): the month-end rate and the mean of the month's daily rates."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ml_connector.fx.rates import MonthRates, month_days, rate_text

#: The places an average rate is rounded to (half-up): Zoho keeps a rate to 6 places.
AVERAGE_PLACES = Decimal("1e-6")


def month_rates(series: Mapping[date, Decimal], month: str) -> MonthRates:
    """``month``'s rates: month-end, the rate in effect on its last day (the latest dated on
    or before it); average, the mean over every calendar day of the rate in effect that
    day, half-up to 6 places (as Zoho keeps rates). Both are unknown when no rate is in
    effect on its first day."""
    first, last = month_days(month)
    days = sorted(series)
    if not days or days[0] > first:
        return MonthRates()
    total = Decimal(0)
    day = first
    while day <= last:
        total += series[days[bisect_right(days, day) - 1]]
        day += timedelta(days=1)
    average = (total / last.day).quantize(AVERAGE_PLACES, rounding=ROUND_HALF_UP)
    month_end = series[days[bisect_right(days, last) - 1]]
    return MonthRates(month_end=rate_text(month_end), average=rate_text(average))
