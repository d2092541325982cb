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
#: Profit-and-loss account types and the sign that turns a net debit into their amount
#: (income credit - debit, expense debit - credit).
PNL_SIGN = {"income": -1, "other_income": -1, "cost_of_goods_sold": 1, "expense": 1,
            "other_expense": 1}
#: Modules whose documents credit the accounts of their lines (the others debit them).
CREDITING = frozenset({"invoices", "vendorcredits"})


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


def net_debits(kind: str, doc: Mapping[str, Any]) -> list[tuple[str, int]]:
    """``(account_id or name, net debit in document-currency cents)`` of a document's
    profit-and-loss postings (tax and the receivable, payable or paid-through side are left
    out): journal lines as entered, an expense's amount net of tax, and the postings of
    ``document_postings`` on the side of their module."""
    if kind == "journals":
        return [(str(line["account_id"]),
                 cents(line["amount"]) * (1 if line["debit_or_credit"] == "debit" else -1))
                for line in doc.get("line_items") or []]
    if kind == "expenses":
        return [(str(doc["account_id"]), cents(doc["sub_total"]))]
    sign = -1 if kind in CREDITING else 1
    return [(account, sign * amount) for account, amount in document_postings(kind, doc)]


def account_pnl(documents: Mapping[str, Iterable[Mapping[str, Any]]],
                accounts: Iterable[Mapping[str, Any]],
                excluded: Iterable[str] = NO_POSTINGS) -> dict[tuple[str, str], int]:
    """Base-currency cents per ``(account_code, "yyyy-mm")`` of every P&L account (income
    and other income as credit - debit, cost of goods sold, expense and other expense as
    debit - credit) from documents of any posting module, journals and expenses included."""
    excluded = frozenset(excluded)
    info: dict[str, tuple[str, str]] = {}
    for row in accounts:
        entry = (str(row["account_code"]), str(row["account_type"]))
        info[str(row["account_id"])] = info[str(row["account_name"])] = entry
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for kind, docs in documents.items():
        date_field = KINDS[kind].date_field or "date"
        for doc in docs:
            if doc.get("status") in excluded:
                continue
            month = str(doc[date_field])[:7]
            rate = float(doc.get("exchange_rate") or 1)
            for account, debit in net_debits(kind, doc):
                code, account_type = info[account]
                if account_type in PNL_SIGN:
                    totals[(code, month)] += PNL_SIGN[account_type] * in_base(debit, rate)
    return dict(totals)


#: The modules whose documents post to profit-and-loss accounts.
PNL_KINDS = ("invoices", "creditnotes", "bills", "vendorcredits", "expenses", "journals")


def ledger_actuals(zoho: ZohoEmulator, organization_id: str, start: date, end: date,
                   kinds: Iterable[str] = PNL_KINDS) -> dict[tuple[str, str], Decimal]:
    """The emulator's profit and loss per P&L account and month in ``[start, end)`` as
    Anaplan cells (``(account code, "Jan 26") -> amount``), from its documents."""
    documents = {kind: zoho.documents(organization_id, kind, start.isoformat(), end.isoformat())
                 for kind in kinds}
    chart = zoho.documents(organization_id, "chartofaccounts")
    return {(code, date.fromisoformat(f"{month}-01").strftime("%b %y")):
            Decimal(total).scaleb(-2) for (code, month), total in
            account_pnl(documents, chart).items()}
