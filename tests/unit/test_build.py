"""Building Anaplan rows from Zoho records: periods, currency, totals, CSV."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from ml_connector.errors import ConfigError
from ml_connector.flows.build import period_label, rate_of, to_base, write_csv


def test_period_labels_and_base_amounts():
    assert period_label("2026-01-15") == "Jan 26"
    assert period_label("2025-12-31") == "Dec 25"
    with pytest.raises(ConfigError, match="not a date"):
        period_label("15/01/2026")
    assert to_base(Decimal("100.005"), rate_of(1)) == Decimal("100.01")  # half up, to the cent
    assert to_base(Decimal(200), rate_of("1.0835")) == Decimal("216.70")
    assert to_base(Decimal(10), None) == Decimal("10.00")
    for bad in (None, 0, -1.08, "abc", "NaN", "Infinity", True):
        with pytest.raises(ValueError):
            rate_of(bad)


def test_csv_quotes_what_needs_quoting():
    out = io.StringIO()
    assert write_csv(out, ["Code", "Name"], [["4000", "Sales, domestic"]]) == 1
    assert out.getvalue() == 'Code,Name\n4000,"Sales, domestic"\n'
