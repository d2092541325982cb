"""Which accounts a ledger flow reads, the sign of their amounts, and the spans it asks for."""

from __future__ import annotations

from datetime import date

import pytest

from ml_connector.errors import ConfigError
from ml_connector.flows.ledger import ledger_accounts, spans
from ml_connector.flows.spec import Ledger
from ml_connector.zoho import ExtractWindow

CHART = [
    {"account_id": "1", "account_code": "4000", "account_name": "Sales",
     "account_type": "income"},
    {"account_id": "2", "account_code": "6000", "account_name": "Advertising",
     "account_type": "expense"},
    {"account_id": "3", "account_code": "1010", "account_name": "Checking",
     "account_type": "bank"},
    {"account_id": "4", "account_code": "2000", "account_name": "Payables",
     "account_type": "accounts_payable"},
]


def test_accounts_by_type_by_default_with_the_sign_of_their_balance():
    chosen = ledger_accounts(Ledger(), CHART)
    assert [(a.code, a.sign) for a in chosen] == [("4000", -1), ("6000", 1)]
    listed = ledger_accounts(Ledger(accounts=["Checking", "2000", "1010"]), CHART)
    assert [(a.code, a.sign) for a in listed] == [("1010", 1), ("2000", -1)]


def test_an_unknown_account_or_an_empty_type_selection_is_named():
    with pytest.raises(ConfigError, match=r"flow pl: ledger.accounts: no account with code or "
                       r"name '4999'.*known: 1010 Checking, 2000 Payables"):
        ledger_accounts(Ledger(accounts=["4999"]), CHART, "pl")
    with pytest.raises(ConfigError, match=r"no account of these types"):
        ledger_accounts(Ledger(account_types=["equity"]), CHART)


def test_contiguous_windows_are_read_as_one_span():
    def month(m: int) -> ExtractWindow:
        return ExtractWindow(start=date(2026, m, 1), end=date(2026, m + 1, 1))

    assert spans([month(3), month(1), month(2), month(5)]) == [
        (date(2026, 1, 1), date(2026, 4, 1)), (date(2026, 5, 1), date(2026, 6, 1))]
    with pytest.raises(ConfigError, match="needs date windows"):
        spans([ExtractWindow()])
