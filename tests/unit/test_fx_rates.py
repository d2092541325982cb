"""Rates per currency and month: a month's rates from dated rates, missing rates,
translation with half-up rounding, and the rates travelling as JSON."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ml_connector.errors import ConfigError, ConnectorError, MissingRate
from ml_connector.fx import MonthRates, Rates, month_key
from ml_connector.fx.series import month_rates


def series(*rates: tuple[str, str]) -> dict[date, Decimal]:
    return {date.fromisoformat(day): Decimal(rate) for day, rate in rates}


SPARSE = series(("2025-12-20", "1.25"), ("2026-01-10", "1.30"), ("2026-01-25", "1.28"))


def test_a_sparse_series_weights_each_rate_by_the_days_it_is_in_effect():
    # January: the 1st-9th at 1.25 (9 days), the 10th-24th at 1.30 (15), the 25th-31st at
    # 1.28 (7): (11.25 + 19.50 + 8.96) / 31 = 39.71 / 31 = 1.28096774193548...
    assert month_rates(SPARSE, "2026-01") == MonthRates(month_end="1.28",
                                                       average="1.280968")
    # February: 1.28 every day, from the rate dated in January.
    assert month_rates(SPARSE, "2026-02") == MonthRates(month_end="1.28", average="1.28")


def test_weekends_take_the_rate_of_the_friday_before():
    # February 2026 starts on a Sunday. Rates on weekdays only: Fri 30 Jan 1.10, Mon-Thu
    # 2-5 Feb 1.11, Fri 6 Feb 1.20, then 1.12 each weekday from the 9th to Fri 27 Feb.
    weekdays = [("2026-01-30", "1.10"), *((f"2026-02-0{d}", "1.11") for d in (2, 3, 4, 5)),
                ("2026-02-06", "1.20")]
    weekdays += [(f"2026-02-{d:02d}", "1.12") for d in (9, 10, 11, 12, 13, 16, 17, 18, 19,
                                                         20, 23, 24, 25, 26, 27)]
    # Sun 1st 1.10 (1 day); 2nd-5th 1.11 (4); Fri 6th-Sun 8th 1.20 (3); 9th-Sat 28th 1.12
    # (20): (1.10 + 4.44 + 3.60 + 22.40) / 28 = 31.54 / 28 = 1.126428571428...
    assert month_rates(series(*weekdays), "2026-02") == MonthRates(month_end="1.12",
                                                                  average="1.126429")


def test_the_average_is_rounded_half_up_at_six_places():
    # 1st-2nd at 1 (2 days), 3rd-31st at 1.000001 (29): 31.000029 / 31 = 1.00000093548...,
    # to six places 1.000001; and 1.0000005 exactly (14 days each in February) rounds up.
    rising = series(("2026-01-01", "1"), ("2026-01-03", "1.000001"))
    assert month_rates(rising, "2026-01").average == "1.000001"
    half = series(("2026-02-01", "1"), ("2026-02-15", "1.000001"))  # 14 days each
    assert month_rates(half, "2026-02").average == "1.000001"


def test_a_month_before_the_first_known_rate_has_no_rates():
    assert month_rates(SPARSE, "2025-12") == MonthRates()
    assert month_rates({}, "2026-01") == MonthRates()


def rates() -> Rates:
    return Rates(group="USD", source="zoho",
                 origin="the Zoho Books exchange rates of organization us (10234695)",
                 rates={"GBP": {"2026-01": MonthRates(month_end="1.25", average="1.2702"),
                                "2026-02": MonthRates(month_end="1.3")}})


def test_a_rate_is_read_by_currency_month_and_type():
    held = rates()
    assert held.rate("GBP", "2026-01", "month_end") == Decimal("1.25")
    assert held.rate("GBP", "2026-01", "average") == Decimal("1.2702")
    assert held.rate("GBP", "2026-01-17", "average") == Decimal("1.2702")  # a date's month
    assert held.rate("USD", "2026-07", "average") == 1  # the group currency itself


def test_translation_rounds_half_up_to_the_cent():
    held = rates()
    # 10.02 x 1.25 = 12.525: half-up 12.53 (half-even would give 12.52), and away from 0.
    assert held.translate(Decimal("10.02"), "GBP", "2026-01", "month_end") == (
        Decimal("12.53"), Decimal("1.25"))
    assert held.translate(Decimal("-10.02"), "GBP", "2026-01", "month_end")[0] == Decimal(
        "-12.53")
    # 1000 x 1.2702 = 1270.2; 0.01 x 1.2702 = 0.012702 -> 0.01.
    assert held.translate(Decimal("1000"), "GBP", "2026-01", "average")[0] == Decimal("1270.20")
    assert held.translate(Decimal("0.01"), "GBP", "2026-01", "average")[0] == Decimal("0.01")
    assert held.translate(Decimal("100.005"), "USD", "2026-01", "average") == (
        Decimal("100.01"), Decimal(1))


@pytest.mark.parametrize(("currency", "month", "kind"), [
    ("GBP", "2026-02", "average"),  # the month is there, its average is not
    ("GBP", "2026-03", "month_end"),  # no such month
    ("INR", "2026-01", "month_end"),  # no such currency
])
def test_a_missing_rate_names_currency_month_type_source_and_fix(currency, month, kind):
    with pytest.raises(MissingRate) as caught:
        rates().rate(currency, month, kind)
    text = str(caught.value)
    assert f"of {currency} to USD for {month}" in text
    assert ("month-end rate" if kind == "month_end" else "average rate") in text
    assert "organization us (10234695)" in text
    assert "Zoho Books (Settings > Currencies" in text and "fx.lookback_days" in text
    assert "nothing is translated with a guessed rate" in text
    error = caught.value
    assert (error.currency, error.month, error.kind) == (currency, month, kind)
    assert isinstance(error, ConnectorError) and isinstance(error, ConfigError)


@pytest.mark.parametrize(("source", "fix"), [
    ("anaplan", "enter the average rate of GBP for Mar 26 in the FX module the export reads"),
    ("csv", "add the line GBP,2026-03,<month_end>,<average> to the file"),
])
def test_the_fix_names_where_the_rate_is_entered(source, fix):
    held = rates().model_copy(update={"source": source, "origin": "somewhere"})
    with pytest.raises(MissingRate, match="in somewhere: " + fix):
        held.rate("GBP", "2026-03", "average")


def test_rates_travel_as_json():
    held = rates()
    again = Rates.model_validate_json(held.model_dump_json())
    assert again == held
    assert again.rate("GBP", "2026-01", "average") == Decimal("1.2702")


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "Jan 26", "2026-02-30", ""])
def test_a_month_that_is_not_one_is_refused(bad):
    with pytest.raises(ConfigError, match="not a month"):
        month_key(bad)
    with pytest.raises(ConfigError, match="not a month"):
        rates().rate("GBP", bad, "average")
