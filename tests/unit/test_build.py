"""Building Anaplan rows from Zoho records: periods, currency, totals, CSV."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from ml_connector.flows.build import (
    account_month_totals,
    base_amount,
    period_label,
    write_csv,
)
from ml_connector.transport.errors import ConfigError


def test_period_labels_and_base_amounts():
    assert period_label("2026-01-15") == "Jan 26"
    assert period_label("2025-12-31") == "Dec 25"
    with pytest.raises(ConfigError, match="not a date"):
        period_label("15/01/2026")
    assert base_amount("100.005", 1) == Decimal("100.01")  # half up, to the cent
    assert base_amount(200, "1.0835") == Decimal("216.70")
    assert base_amount(10, None) == Decimal("10.00")


def test_totals_per_account_and_month_skip_void_and_draft():
    records = [
        {"invoice_id": "1", "status": "paid", "date": "2026-01-31", "exchange_rate": 1.1,
         "line_items": [{"account_id": "a1", "item_total": 10.0},
                        {"account_id": "a2", "item_total": 5.55}]},
        {"invoice_id": "2", "status": "sent", "date": "2026-02-01", "exchange_rate": 1,
         "line_items": [{"account_id": "a1", "item_total": 1.0}]},
        {"invoice_id": "3", "status": "void", "date": "2026-01-05", "exchange_rate": 1,
         "line_items": [{"account_id": "a1", "item_total": 999.0}]},
        {"invoice_id": "4", "status": "draft", "date": "2026-01-05", "exchange_rate": 1,
         "line_items": [{"account_id": "a1", "item_total": 999.0}]},
    ]
    totals = account_month_totals(records, {"a1": "4000", "a2": "4100"}, id_field="invoice_id")
    assert totals == {("4000", "Jan 26"): Decimal("11.00"), ("4100", "Jan 26"): Decimal("6.11"),
                      ("4000", "Feb 26"): Decimal("1.00")}
    with pytest.raises(ConfigError, match="invoice_id 1: line account a2 .* not in the chart"):
        account_month_totals(records[:1], {"a1": "4000"}, id_field="invoice_id")


def test_csv_quotes_what_needs_quoting():
    out = io.StringIO()
    assert write_csv(out, ["Code", "Name"], [["4000", "Sales, domestic"]]) == 1
    assert out.getvalue() == 'Code,Name\n4000,"Sales, domestic"\n'
