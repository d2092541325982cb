"""Profit and loss per account and month from Books API documents: the reference answer.

Computed from the documents' JSON as the API returns them, by the posting rules of
``seed.py``'s docstring, in integer cents and exact fractions; it shares no code with the
connector's flows, so tests and the demo can hold the connector's cells against it.

Each posting (a line net of included tax and of its entity-discount share, the shipping
charge, the adjustment) is converted to the base currency at the document's exchange rate
and rounded half-up to the cent on its own; postings of credit notes and vendor credits
count negatively; draft and void documents post nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ml_connector_sandbox.zoho.kinds import KINDS
from ml_connector_sandbox.zoho.seed import allocate, half_up, in_base

if TYPE_CHECKING:
    from ml_connector_sandbox.zoho.emulator import ZohoEmulator

#: Accounts (by name) of the parts of a document that are not lines, per module.
SHIPPING_ACCOUNT = "Shipping Charge"
ADJUSTMENT_ACCOUNT = {"invoices": "Other Charges", "creditnotes": "Other Charges",
                      "bills": "Other Expenses", "vendorcredits": "Other Expenses"}
NO_POSTINGS = frozenset({"draft", "void"})


def cents(value: Any) -> int:
    """A JSON amount (two decimals) in integer cents."""
    exact = Fraction(str(value)) * 100
    if exact.denominator != 1:
        raise ValueError(f"not a whole number of cents: {value!r}")
    return int(exact)


def document_postings(kind: str, doc: Mapping[str, Any]) -> list[tuple[str, int]]:
    """``(account_id or account name, cents in the document currency)`` per posting."""
    lines = doc.get("line_items") or []
    nets = []
    for line in lines:
        item = cents(line["item_total"])
        if doc.get("is_inclusive_tax"):
            point = cents(line.get("tax_percentage") or 0)  # hundredths of a percent
            item -= half_up(item * point, 10000 + point)
        nets.append(item)
    discount = cents(doc.get("discount_amount") or 0) \
        if doc.get("discount_type") == "entity_level" else 0
    shares = allocate(discount, nets) if discount and nets else [0] * len(nets)
    out = [(str(line["account_id"]), net - share)
           for line, net, share in zip(lines, nets, shares, strict=True)]
    shipping = cents(doc.get("shipping_charge") or 0)
    if shipping:
        out.append((SHIPPING_ACCOUNT, shipping))
    adjustment = cents(doc.get("adjustment") or 0)
    if adjustment:
        out.append((ADJUSTMENT_ACCOUNT[kind], adjustment))
    return out


def profit_and_loss(documents: Mapping[str, Iterable[Mapping[str, Any]]],
                    accounts: Iterable[Mapping[str, Any]],
                    excluded: Iterable[str] = NO_POSTINGS) -> dict[tuple[str, str], int]:
    """Base-currency cents per ``(account_code, "yyyy-mm")`` from detail documents by
    module (e.g. ``{"invoices": [...], "creditnotes": [...]}``) and the chart of accounts;
    documents in an ``excluded`` status are left out."""
    excluded = frozenset(excluded)
    code_of: dict[str, str] = {}
    for row in accounts:
        code_of[str(row["account_id"])] = str(row["account_code"])
        code_of[str(row["account_name"])] = str(row["account_code"])
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for kind, docs in documents.items():
        sign = -1 if KINDS[kind].credits else 1
        for doc in docs:
            if doc.get("status") in excluded:
                continue
            month = str(doc["date"])[:7]
            for account, amount in document_postings(kind, doc):
                totals[(code_of[account], month)] += sign * in_base(
                    amount, float(doc.get("exchange_rate") or 1))
    return dict(totals)


def actuals(zoho: ZohoEmulator, organization_id: str, kinds: Iterable[str], start: date,
            end: date, excluded: Iterable[str] = NO_POSTINGS) -> dict[tuple[str, str], Decimal]:
    """The emulator's profit and loss of ``kinds`` dated in ``[start, end)`` as Anaplan cells:
    ``(account code, "Jan 26") -> amount``, read from the documents as the API serves them."""
    documents = {kind: zoho.documents(organization_id, kind, start.isoformat(), end.isoformat())
                 for kind in kinds}
    chart = zoho.documents(organization_id, "chartofaccounts")
    return {(code, date.fromisoformat(f"{month}-01").strftime("%b %y")):
            Decimal(total).scaleb(-2) for (code, month), total in
            profit_and_loss(documents, chart, excluded).items()}
