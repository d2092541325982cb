"""The general ledger: an account's postings (``GET /chartofaccounts/transactions``).

A month of an account's postings costs ⌈postings/200⌉ requests, against one detail request
per document on the line-item path. Amounts are in the base currency (``debit_amount``,
``credit_amount``) and the document's (``fcy_*``); the unused side is ``""``, read as zero.
Which date parameters the server honours is not documented: a copy of Zoho's OpenAPI file
for the module (repository fordez/zoho-books-mcp-server-openapi, chart-of-accounts.yml)
lists ``date.start``/``date.end``, other clients send ``from_date``/``to_date``. The range is
sent the first way and ``transaction_date`` is filtered again here. The same file lists
``transaction_type`` (``invoice``, ``bills``, ``credit_notes``, ``journal``, ``expense``, …)
as the type filter; the type is checked again here as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ml_connector.decimals import decimal_of
from ml_connector.zoho.client import ZohoBooksClient
from ml_connector.zoho.entities import Entity

#: The ledger as a list endpoint: same scope as the chart of accounts (Zoho's Chart of
#: Accounts page: ZohoBooks.accountants.READ).
TRANSACTIONS = Entity("chartofaccounts/transactions", "transaction",
                      "categorized_transaction_id", "accountants", date_filters=False,
                      modified_filter=False, sort_by_created=False, key="transactions")
ZERO = Decimal(0)


@dataclass(frozen=True)
class Posting:
    """One leg of a document on one account; amounts as decimals, base and document
    currency."""

    transaction_id: str
    transaction_type: str
    date: str
    account_id: str
    contact_id: str
    currency_code: str
    debit: Decimal
    credit: Decimal
    fcy_debit: Decimal
    fcy_credit: Decimal

    @property
    def net_debit(self) -> Decimal:
        """Debit less credit in the base currency (an expense account's sign)."""
        return self.debit - self.credit


def _amount(row: dict[str, Any], field: str) -> Decimal:
    value = row.get(field)
    if value in ("", None):
        return ZERO
    return decimal_of(value, lambda: f"ledger transaction {row.get('transaction_id')} "
                      f"{field}")


#: The fields of a ledger row a posting is made of (what a kept read holds).
ROW_FIELDS = ("transaction_id", "transaction_type", "transaction_date", "account_id",
              "customer_id", "currency_code", "debit_amount", "credit_amount",
              "fcy_debit_amount", "fcy_credit_amount")


def ledger_rows(client: ZohoBooksClient, account_id: str, start: date, end: date, *,
                transaction_types: set[str] | None = None) -> Iterator[dict[str, Any]]:
    """The rows of ``account_id``'s postings dated in ``[start, end)``, of
    ``transaction_types`` (e.g. ``{"invoice", "credit_notes"}``; None: all), page by page,
    each cut to ``ROW_FIELDS``."""
    params: dict[str, Any] = {"account_id": account_id, "date.start": start.isoformat(),
                              "date.end": (end - timedelta(days=1)).isoformat()}
    if transaction_types is not None and len(transaction_types) == 1:
        params["transaction_type"] = next(iter(transaction_types))
    first, last = start.isoformat(), end.isoformat()
    for row in client.iter_records(TRANSACTIONS, params):
        day = str(row.get("transaction_date") or "")
        kind = str(row.get("transaction_type") or "")
        if not first <= day < last or (transaction_types is not None
                                       and kind not in transaction_types):
            continue
        yield {f: row.get(f) for f in ROW_FIELDS}


def posting_of(row: dict[str, Any]) -> Posting:
    """The posting of a ledger row (``ledger_rows``)."""
    return Posting(
        transaction_id=str(row.get("transaction_id")),
        transaction_type=str(row.get("transaction_type") or ""),
        date=str(row.get("transaction_date") or ""), account_id=str(row.get("account_id")),
        contact_id=str(row.get("customer_id") or ""),
        currency_code=str(row.get("currency_code") or ""),
        debit=_amount(row, "debit_amount"), credit=_amount(row, "credit_amount"),
        fcy_debit=_amount(row, "fcy_debit_amount"), fcy_credit=_amount(row, "fcy_credit_amount"))


def iter_postings(client: ZohoBooksClient, account_id: str, start: date, end: date, *,
                  transaction_types: set[str] | None = None) -> Iterator[Posting]:
    """The postings of ``account_id`` dated in ``[start, end)``, of ``transaction_types``
    (None: all), page by page."""
    for row in ledger_rows(client, account_id, start, end, transaction_types=transaction_types):
        yield posting_of(row)
