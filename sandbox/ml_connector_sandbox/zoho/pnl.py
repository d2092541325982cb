"""Profit and loss per account and month from Books API documents (invoices, credit notes,
bills, vendor credits, expenses): the reference answer.

Computed from the documents' JSON as the API returns them, by the posting rules of
``seed.py``'s docstring, in integer cents and exact fractions; it shares no code with the
connector's flows, so tests and the demo can hold the connector's cells against it.

Each posting (a line net of included tax and of its entity-discount share, the shipping
charge, the adjustment) is converted to the base currency at the document's exchange rate
and rounded half-up to the cent on its own; postings of credit notes and vendor credits
count negatively; draft and void documents post nothing.

``profit_and_loss_by`` and ``account_pnl_by`` split the same postings by a planning
dimension (a reporting tag's option, a location, a project, any field of a line or of its
document): a line's posting takes the line's member; the shipping charge and the adjustment
take the document's (its location) or a member given for them (a tag, which is line-level,
names none for them); a line's share of an entity-level discount is inside its posting.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ml_connector_sandbox.zoho.kinds import KINDS
from ml_connector_sandbox.zoho.seed import allocate, half_up, in_base

if TYPE_CHECKING:
    from ml_connector_sandbox.zoho.emulator import ZohoEmulator

T = TypeVar("T")

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
    return [(account, amount) for account, amount, _line in line_postings(kind, doc)]


def line_postings(kind: str, doc: Mapping[str, Any]
                  ) -> list[tuple[str, int, Mapping[str, Any] | None]]:
    """``document_postings`` with the line item each posting comes from (None for the
    shipping charge and the adjustment): a line's share of an entity-level discount is
    inside its own posting. An expense has no lines: its ``sub_total`` (net of tax) posts to
    its account, and it is its own line."""
    if kind == "expenses":
        return [(str(doc["account_id"]), cents(doc["sub_total"]), doc)]
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
    out: list[tuple[str, int, Mapping[str, Any] | None]] = [
        (str(line["account_id"]), net - share, line)
        for line, net, share in zip(lines, nets, shares, strict=True)]
    shipping = cents(doc.get("shipping_charge") or 0)
    if shipping:
        out.append((SHIPPING_ACCOUNT, shipping, None))
    adjustment = cents(doc.get("adjustment") or 0)
    if adjustment:
        out.append((ADJUSTMENT_ACCOUNT[kind], adjustment, None))
    return out


def profit_and_loss(documents: Mapping[str, Iterable[Mapping[str, Any]]],
                    accounts: Iterable[Mapping[str, Any]],
                    excluded: Iterable[str] = NO_POSTINGS) -> dict[tuple[str, str], int]:
    """Base-currency cents per ``(account_code, "yyyy-mm")`` from detail documents by
    module (e.g. ``{"invoices": [...], "creditnotes": [...]}``) and the chart of accounts;
    documents in an ``excluded`` status are left out."""
    return _unsplit(profit_and_loss_by(documents, accounts, _whole, excluded))


def actuals(zoho: ZohoEmulator, organization_id: str, kinds: Iterable[str], start: date,
            end: date, excluded: Iterable[str] = NO_POSTINGS) -> dict[tuple[str, str], Decimal]:
    """The emulator's profit and loss of ``kinds`` dated in ``[start, end)`` as Anaplan cells:
    ``(account code, "Jan 26") -> amount``, read from the documents as the API serves them."""
    return _unsplit(actuals_by(zoho, organization_id, kinds, start, end, _whole, excluded))


def net_debits(kind: str, doc: Mapping[str, Any]) -> list[tuple[str, int]]:
    """``(account_id or name, net debit in document-currency cents)`` of a document's
    profit-and-loss postings (tax and the receivable, payable or paid-through side are left
    out): journal lines as entered, an expense's amount net of tax, and the postings of
    ``document_postings`` on the side of their module."""
    return [(account, debit) for account, debit, _line in line_debits(kind, doc)]


def line_debits(kind: str, doc: Mapping[str, Any]
                ) -> list[tuple[str, int, Mapping[str, Any] | None]]:
    """``net_debits`` with the line each comes from (an expense is its own line)."""
    if kind == "journals":
        return [(str(line["account_id"]),
                 cents(line["amount"]) * (1 if line["debit_or_credit"] == "debit" else -1),
                 line) for line in doc.get("line_items") or []]
    sign = -1 if kind in CREDITING else 1
    return [(account, sign * amount, line) for account, amount, line in line_postings(kind, doc)]


def account_info(accounts: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """Each account's (code, type), by its id and by its name (postings name either)."""
    info: dict[str, tuple[str, str]] = {}
    for row in accounts:
        entry = (str(row["account_code"]), str(row["account_type"]))
        info[str(row["account_id"])] = info[str(row["account_name"])] = entry
    return info


def account_pnl(documents: Mapping[str, Iterable[Mapping[str, Any]]],
                accounts: Iterable[Mapping[str, Any]],
                excluded: Iterable[str] = NO_POSTINGS) -> dict[tuple[str, str], int]:
    """Base-currency cents per ``(account_code, "yyyy-mm")`` of every P&L account (income
    and other income as credit - debit, cost of goods sold, expense and other expense as
    debit - credit) from documents of any posting module, journals and expenses included."""
    return _unsplit(account_pnl_by(documents, accounts, _whole, excluded))


#: The modules whose documents post to profit-and-loss accounts.
PNL_KINDS = ("invoices", "creditnotes", "bills", "vendorcredits", "expenses", "journals")


def ledger_actuals(zoho: ZohoEmulator, organization_id: str, start: date, end: date,
                   kinds: Iterable[str] = PNL_KINDS) -> dict[tuple[str, str], Decimal]:
    """The emulator's profit and loss per P&L account and month in ``[start, end)`` as
    Anaplan cells (``(account code, "Jan 26") -> amount``), from its documents."""
    return _unsplit(_cells(zoho, organization_id, kinds, start, end,
                           lambda documents, chart: account_pnl_by(documents, chart, _whole)))


# -- by planning dimension -------------------------------------------------------------------
#
# The same postings, each assigned to a member of a dimension by a ``Member`` function of
# (module, document, line): ``line`` is the line item a posting comes from, None for the
# shipping charge and the adjustment, and the expense itself for an expense (its own single
# line). Summed over the members, every figure equals the account-only one above.

Member = Callable[[str, Mapping[str, Any], Mapping[str, Any] | None], str]


def _whole(kind: str, doc: Mapping[str, Any], line: Mapping[str, Any] | None) -> str:
    """One member for every posting: the account-only figures are the split ones unsplit."""
    return ""


def _unsplit(totals: Mapping[tuple[str, str, str], T]) -> dict[tuple[str, str], T]:
    """``(account, member, month) -> x`` of the single member ``_whole`` as
    ``(account, month) -> x``."""
    return {(account, month): value for (account, _member, month), value in totals.items()}


def _tag_entry(entries: Any, tag: str) -> Mapping[str, Any] | None:
    if not isinstance(entries, list):
        return None
    return next((e for e in entries if isinstance(e, Mapping)
                 and tag in (str(e.get("tag_id")), str(e.get("tag_name")))), None)


def by_tag(tag: str, *, untagged: str = "untagged", charges: str | None = None,
           key: Literal["id", "name"] = "id", document_field: str = "tags",
           level: Literal["line", "document"] = "line") -> Member:
    """Members of a reporting tag (``tag``: its id or name): a line's option (its
    ``tag_option_id``, or ``tag_option_name`` with ``key="name"``), else the document's
    (a document-level tag in the header field ``document_field``), else ``untagged``; with
    ``level="document"`` the document's alone, whatever its lines carry. The shipping charge
    and the adjustment carry no line tag: they take ``charges`` when given (the member a
    flow names for them), else the document's option, else ``untagged``."""
    field = "tag_option_id" if key == "id" else "tag_option_name"
    lines = level == "line"

    def member(kind: str, doc: Mapping[str, Any], line: Mapping[str, Any] | None) -> str:
        if line is None and charges is not None:
            return charges
        header = _tag_entry(doc.get(document_field), tag)
        own = _tag_entry(line.get("tags"), tag) if line is not None and lines else None
        entry = own or header
        if entry is not None:
            return str(entry[field])
        return untagged

    return member


def by_field(name: str, *, missing: str = "", charges: str | None = None) -> Member:
    """Members named by a field of a line, else of its document (``location_id``,
    ``project_id``, ``salesperson_id``, ``item_id``...), else ``missing``. The shipping
    charge and the adjustment take the document's value, or ``charges`` when given."""

    def member(kind: str, doc: Mapping[str, Any], line: Mapping[str, Any] | None) -> str:
        if line is None and charges is not None:
            return charges
        for source in (line, doc):
            value = source.get(name) if source is not None else None
            if value:
                return str(value)
        return missing

    return member


def by_location(missing: str = "") -> Member:
    """Locations: a line's, else its document's (shipping and adjustment: the document's)."""
    return by_field("location_id", missing=missing)


def by_project(missing: str = "", charges: str | None = None) -> Member:
    """Projects: a line's ``project_id``, else the document's (an expense's), else
    ``missing``; the shipping charge and the adjustment take ``charges`` when given."""
    return by_field("project_id", missing=missing, charges=charges)


def profit_and_loss_by(documents: Mapping[str, Iterable[Mapping[str, Any]]],
                       accounts: Iterable[Mapping[str, Any]], member: Member,
                       excluded: Iterable[str] = NO_POSTINGS
                       ) -> dict[tuple[str, str, str], int]:
    """``profit_and_loss`` split by a dimension: base-currency cents per ``(account_code,
    member, "yyyy-mm")``; the members of an account and month add up to its
    ``profit_and_loss`` figure exactly (each posting is converted on its own)."""
    excluded = frozenset(excluded)
    code_of: dict[str, str] = {}  # the chart's rows may come without their types
    for row in accounts:
        code_of[str(row["account_id"])] = str(row["account_code"])
        code_of[str(row["account_name"])] = str(row["account_code"])
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    for kind, docs in documents.items():
        sign = -1 if KINDS[kind].credits else 1
        for doc in docs:
            if doc.get("status") in excluded:
                continue
            month = str(doc["date"])[:7]
            rate = float(doc.get("exchange_rate") or 1)
            for account, amount, line in line_postings(kind, doc):
                key = (code_of[account], member(kind, doc, line), month)
                totals[key] += sign * in_base(amount, rate)
    return dict(totals)


def account_pnl_by(documents: Mapping[str, Iterable[Mapping[str, Any]]],
                   accounts: Iterable[Mapping[str, Any]], member: Member,
                   excluded: Iterable[str] = NO_POSTINGS) -> dict[tuple[str, str, str], int]:
    """``account_pnl`` (every posting module, journals and expenses included) split by a
    dimension: base-currency cents per ``(account_code, member, "yyyy-mm")``."""
    excluded = frozenset(excluded)
    info = account_info(accounts)
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    for kind, docs in documents.items():
        date_field = KINDS[kind].date_field or "date"
        for doc in docs:
            if doc.get("status") in excluded:
                continue
            month = str(doc[date_field])[:7]
            rate = float(doc.get("exchange_rate") or 1)
            for account, debit, line in line_debits(kind, doc):
                code, account_type = info[account]
                if account_type in PNL_SIGN:
                    totals[(code, member(kind, doc, line), month)] += \
                        PNL_SIGN[account_type] * in_base(debit, rate)
    return dict(totals)


def actuals_by(zoho: ZohoEmulator, organization_id: str, kinds: Iterable[str], start: date,
               end: date, member: Member, excluded: Iterable[str] = NO_POSTINGS
               ) -> dict[tuple[str, str, str], Decimal]:
    """``actuals`` split by a dimension: ``(account code, member, "Jan 26") -> amount``
    (e.g. ``member=by_tag("Department", charges="Unassigned")``)."""
    return _cells(zoho, organization_id, kinds, start, end,
                  lambda documents, chart: profit_and_loss_by(documents, chart, member,
                                                               excluded))


def _cells(zoho: ZohoEmulator, organization_id: str, kinds: Iterable[str], start: date,
           end: date, split: Callable[[dict[str, Any], Any], dict[tuple[str, str, str], int]]
           ) -> dict[tuple[str, str, str], Decimal]:
    """``split`` (cents per account, member and "yyyy-mm") of the emulator's documents of
    ``kinds`` dated in ``[start, end)`` and its chart of accounts, as Anaplan cells:
    amounts in the base currency, months as "Jan 26"."""
    documents = {kind: zoho.documents(organization_id, kind, start.isoformat(), end.isoformat())
                 for kind in kinds}
    chart = zoho.documents(organization_id, "chartofaccounts")
    return {(code, value, date.fromisoformat(f"{month}-01").strftime("%b %y")):
            Decimal(total).scaleb(-2) for (code, value, month), total in
            split(documents, chart).items()}
