"""Rates kept in tables: a CSV file beside flows.yaml and an Anaplan export of an FX module,
and ``read_rates`` choosing the source a flow names."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ml_connector.errors import ConfigError, MissingRate
from ml_connector.fx import FxSource, MonthRates, anaplan_rates, csv_rates, read_rates

CSV = FxSource(source="csv", file="fx_rates.csv")
EXPORT = FxSource(source="anaplan", export="FX Rates.csv")


def write(folder: Path, text: str) -> Path:
    path = folder / "fx_rates.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_rate_file_gives_the_needed_currencies_and_months(tmp_path):
    write(tmp_path, "currency,month,month_end,average\n"
          "GBP,2026-01,1.2700,1.265\n"
          "GBP,2026-02,1.28,\n"
          "\n"
          "INR,2026-01,0.012,0.0119\n"
          "EUR,2026-01,1.08,1.07\n"
          "GBP,2026-01,1.27,1.265\n"  # the same rates again: no conflict
          "USD,2026-01,1,1\n")
    rates = csv_rates(CSV, tmp_path, "USD", ["USD", "GBP", "INR"], ["2026-01", "2026-02"])
    assert rates.rates == {
        "GBP": {"2026-01": MonthRates(month_end="1.27", average="1.265"),
                "2026-02": MonthRates(month_end="1.28")},
        "INR": {"2026-01": MonthRates(month_end="0.012", average="0.0119")},
    }
    assert rates.rate("INR", "2026-01", "average") == Decimal("0.0119")
    with pytest.raises(MissingRate, match=r"no average rate of GBP to USD for 2026-02 in "
                       r"fx_rates.csv \(beside flows.yaml\): add the line "
                       r"GBP,2026-02,<month_end>,<average> to the file \(or fill its average"):
        rates.rate("GBP", "2026-02", "average")
    with pytest.raises(MissingRate, match="of INR to USD for 2026-02"):
        rates.rate("INR", "2026-02", "month_end")


@pytest.mark.parametrize(("text", "error"), [
    ("currency,month,rate\nGBP,2026-01,1.2\n",
     "fx_rates.csv line 1: the header must be currency,month,month_end,average"),
    ("", "fx_rates.csv line 1: the header must be"),
    ("currency,month,month_end,average\nGBP,2026-01,1.2,1.2\nGBP,2026-02,1.3\n",
     "fx_rates.csv line 3: expected 4 values"),
    ("currency,month,month_end,average\ngbp,2026-01,1.2,1.2\n",
     "fx_rates.csv line 2: currency must be an ISO code, three capital letters"),
    ("currency,month,month_end,average\nGBP,2026-1,1.2,1.2\n",
     "fx_rates.csv line 2: month must be yyyy-mm"),
    ("currency,month,month_end,average\nGBP,Jan 26,1.2,1.2\n",
     "fx_rates.csv line 2: month must be yyyy-mm"),
    ("currency,month,month_end,average\nGBP,2026-01,abc,1.2\n",
     "fx_rates.csv line 2: month_end: a rate must be a positive number"),
    ("currency,month,month_end,average\nGBP,2026-01,1.2,0\n",
     "fx_rates.csv line 2: average: a rate must be a positive number"),
    ("currency,month,month_end,average\nGBP,2026-01,1.2,-1\n",
     "fx_rates.csv line 2: average: a rate must be a positive number"),
    ("currency,month,month_end,average\nGBP,2026-01,1.2,1.2\nGBP,2026-01,1.3,1.2\n",
     "fx_rates.csv line 3: GBP 2026-01 has other rates than at fx_rates.csv line 2; keep "
     "one row per currency and month"),
])
def test_a_malformed_rate_file_names_file_and_line(tmp_path, text, error):
    write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        csv_rates(CSV, tmp_path, "USD", ["GBP"], ["2026-01"])
    assert error in str(caught.value)


def test_a_missing_rate_file_says_where_it_goes(tmp_path):
    with pytest.raises(ConfigError,
                       match="fx_rates.csv: cannot read .*fx_rates.csv .*beside flows.yaml"):
        csv_rates(CSV, tmp_path, "USD", ["GBP"], ["2026-01"])


EXPORT_CSV = ('\ufeffCurrency,Period,Month End,Average,Note\n'
              'GBP,Jan 26,1.27,1.2654,\n'
              'GBP,Feb 26,1.28,,entered late\n'
              'GBP,Q1 FY26,1.28,1.27,\n'  # a quarter: not a month
              'GBP,FY26,1.28,1.27,\n'
              'INR,Jan 26,0.012,0.01195,\n'
              'JPY,Jan 26,"1,234.5","1,230",\n'  # thousands separators, as Anaplan writes
              ',Jan 26,9,9,\n'
              'EUR,Dec 25,1.08,1.07,\n').encode("utf-8")


def test_an_export_of_the_fx_module_gives_rates_by_month_label():
    rates = anaplan_rates(EXPORT, EXPORT_CSV, "USD", ["GBP", "INR", "JPY"],
                          ["2026-01", "2026-02", "2026-03"])
    assert rates.rates == {
        "GBP": {"2026-01": MonthRates(month_end="1.27", average="1.2654"),
                "2026-02": MonthRates(month_end="1.28")},
        "INR": {"2026-01": MonthRates(month_end="0.012", average="0.01195")},
        "JPY": {"2026-01": MonthRates(month_end="1234.5", average="1230")},
    }
    with pytest.raises(MissingRate, match=r"no month-end rate of GBP to USD for 2026-03 in "
                       r"Anaplan export 'FX Rates.csv': enter the month-end rate of GBP for "
                       r"Mar 26 in the FX module the export reads"):
        rates.rate("GBP", "2026-03", "month_end")


def test_the_export_columns_are_configurable():
    source = FxSource.model_validate({"source": "anaplan", "export": "FX", "columns": {
        "currency": "Code", "period": "Time", "month_end": "Closing", "average": "Mean"}})
    data = b"Time,Code,Mean,Closing\nJan 26,GBP,1.26,1.27\n"
    rates = anaplan_rates(source, data, "USD", ["GBP"], ["2026-01"])
    assert rates.rates["GBP"]["2026-01"] == MonthRates(month_end="1.27", average="1.26")


def test_an_export_without_a_configured_column_lists_its_columns():
    with pytest.raises(ConfigError, match=r"export 'FX Rates.csv' has no column 'Month End', "
                       r"'Average'; its columns: Currency, Period, Rate \(fix fx.columns"):
        anaplan_rates(EXPORT, b"Currency,Period,Rate\nGBP,Jan 26,1.2\n", "USD", ["GBP"],
                      ["2026-01"])


def test_a_bad_export_cell_names_the_row():
    with pytest.raises(ConfigError, match=r"export 'FX Rates.csv' row 3: average: a rate "
                       r"must be a positive number .* got '#N/A'"):
        anaplan_rates(EXPORT, b"Currency,Period,Month End,Average\nGBP,Jan 26,1.2,1.2\n"
                      b"GBP,Feb 26,1.3,#N/A\n", "USD", ["GBP"], ["2026-01"])


def test_read_rates_reads_the_source_the_flow_names(tmp_path):
    write(tmp_path, "currency,month,month_end,average\nGBP,2026-01,1.27,1.26\n")
    from_file = read_rates(CSV, "USD", ["GBP"], ["2026-01"], folder=tmp_path)
    assert from_file.rate("GBP", "2026-01", "average") == Decimal("1.26")
    assert from_file.source == "csv"
    asked: list[str] = []

    def read_export(name: str) -> bytes:
        asked.append(name)
        return EXPORT_CSV

    from_export = read_rates(EXPORT, "USD", ["GBP"], ["2026-01"], read_export=read_export)
    assert asked == ["FX Rates.csv"]
    assert from_export.rate("GBP", "2026-01", "month_end") == Decimal("1.27")
    with pytest.raises(ConfigError, match="source csv needs the folder of flows.yaml"):
        read_rates(CSV, "USD", ["GBP"], ["2026-01"])
    with pytest.raises(ConfigError, match="source zoho needs a Zoho client"):
        read_rates(FxSource(source="zoho", organization="us"), "USD", ["GBP"], ["2026-01"])
