"""The general ledger the emulator derives from its documents by double entry, served as
``GET /chartofaccounts/transactions`` (shared/api/zoho-books.md, "The general ledger").

Each posted document (not draft or void; purchase orders post nothing) becomes legs that
balance. Expenses debit their account with the amount net of tax and Tax Payable with the
tax, and credit the paid-through account; a journal's lines are its legs; a customer
payment debits its deposit account and credits Accounts Receivable, a vendor payment debits
Accounts Payable and credits its paid-through account. Other documents:
the profit-and-loss postings of ``pnl.document_postings`` (lines net of included tax and
entity-discount shares, shipping, the adjustment), its ``tax_total`` to Tax Payable, and
the receivable (invoices, credit notes) or payable (bills, vendor credits) side for the
rest. Invoices and vendor credits credit their P&L accounts, credit notes and bills debit
them. Every P&L and tax leg is converted to the base currency at the document's exchange
rate and rounded half-up on its own; the receivable or payable leg takes the base amount
that balances the document, so debits equal credits per document and in total. A leg whose
amount is negative (a negative adjustment) sits on the other side. An edited or voided
document changes its legs, since they are derived from the document as it is now.

Rows carry what independent clients observe: base-currency ``debit_amount`` and
``credit_amount`` with ``""`` on the unused side, ``fcy_*`` in the document's currency,
``transaction_id`` shared by a document's legs, ``transaction_type``, ``customer_id``.
Which date parameters the real server honours is unknown (a copy of Zoho's OpenAPI file,
repository fordez/zoho-books-mcp-server-openapi, chart-of-accounts.yml, lists the dotted
``date.start``/``date.end``; other clients send ``from_date``/``to_date``): the emulator
honours only those in ``ZohoSandboxConfig.ledger_date_params`` and ignores the others, so a
client must filter ``transaction_date`` itself as well. The type filter is
``transaction_type`` (values as in that file); ``filter_by=TransactionType.<x>`` is accepted
too, as shared/api/zoho-books.md lists it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ml_connector_sandbox.zoho import errors
from ml_connector_sandbox.zoho.kinds import KINDS, norm
from ml_connector_sandbox.zoho.pnl import NO_POSTINGS, cents, document_postings
from ml_connector_sandbox.zoho.seed import in_base, money
from ml_connector_sandbox.zoho.store import paging, parse_query
from ml_connector_sandbox.zoho.times import parse_date

if TYPE_CHECKING:
    from ml_connector_sandbox.zoho.store import Organization

#: Modules that post, with their transaction type and the side of their P&L legs.
POSTING = {"invoices": ("invoice", "credit"), "creditnotes": ("credit_notes", "debit"),
           "bills": ("bills", "debit"), "vendorcredits": ("vendor_credits", "credit"),
           "expenses": ("expense", "debit"), "journals": ("journal", ""),
           "customerpayments": ("customer_payment", "debit"),
           "vendorpayments": ("vendor_payment", "debit")}
#: The balancing account of each module (by name in the chart of accounts).
BALANCE_ACCOUNT = {"invoices": "Accounts Receivable", "creditnotes": "Accounts Receivable",
                   "bills": "Accounts Payable", "vendorcredits": "Accounts Payable"}
TAX_ACCOUNT = "Tax Payable"
#: ``filter_by=TransactionType.<x>`` and ``transaction_type=<x>`` values, normalized.
TYPE_FILTERS = {norm(t): {t} for t, _ in POSTING.values()} | {
    "bill": {"bills"}, "creditnote": {"credit_notes"}, "vendorcredit": {"vendor_credits"},
    "expenses": {"expense"}, "journals": {"journal"},
    "customerpayment": {"customer_payment"}, "vendorpayment": {"vendor_payment"},
    "all": {t for t, _ in POSTING.values()}}
OTHER = {"debit": "credit", "credit": "debit"}


@dataclass(frozen=True)
class Leg:
    """One posting of a document: account, side, base and document-currency cents."""

    account_id: str
    side: str  # "debit" | "credit"
    base: int
    fcy: int

    def normal(self) -> Leg:
        """The same posting with a non-negative amount (a negative one changes side)."""
        if self.base >= 0 and self.fcy >= 0:
            return self
        return Leg(self.account_id, OTHER[self.side], -self.base, -self.fcy)


def document_legs(kind: str, doc: Mapping[str, Any], account_of: Mapping[str, str]
                  ) -> list[Leg]:
    """The balanced legs of one document (``account_of``: account name -> id)."""
    if kind not in POSTING or doc.get("status") in NO_POSTINGS:
        return []
    _, side = POSTING[kind]
    rate = float(doc.get("exchange_rate") or 1)
    if kind == "journals":
        legs = [Leg(str(line["account_id"]), str(line["debit_or_credit"]),
                    in_base(cents(line["amount"]), rate), cents(line["amount"]))
                for line in doc.get("line_items") or []]
        return [leg.normal() for leg in legs if leg.base or leg.fcy]
    if kind in ("customerpayments", "vendorpayments"):
        amount = cents(doc["amount"])
        base = in_base(amount, rate)
        debit, credit = ((str(doc["account_id"]), account_of[BALANCE_ACCOUNT["invoices"]])
                         if kind == "customerpayments" else
                         (account_of[BALANCE_ACCOUNT["bills"]],
                          str(doc["paid_through_account_id"])))
        return [Leg(debit, "debit", base, amount), Leg(credit, "credit", base, amount)]
    if kind == "expenses":
        parts = [(str(doc["account_id"]), cents(doc["sub_total"]))]
        balance = str(doc["paid_through_account_id"])
        tax = cents(doc.get("tax_amount") or 0)
    else:
        parts = [(account_of.get(account, account), amount)
                 for account, amount in document_postings(kind, doc)]
        balance = account_of[BALANCE_ACCOUNT[kind]]
        tax = cents(doc.get("tax_total") or 0)
    if tax:
        parts.append((account_of[TAX_ACCOUNT], tax))
    legs = [Leg(account, side, in_base(amount, rate), amount) for account, amount in parts]
    legs.append(Leg(balance, OTHER[side], sum(leg.base for leg in legs),
                    sum(leg.fcy for leg in legs)))
    return [leg.normal() for leg in legs if leg.base or leg.fcy]


def ledger_row(kind: str, doc: Mapping[str, Any], n: int, leg: Leg) -> dict[str, Any]:
    """A ``transactions`` row as the API lists it."""
    k = KINDS[kind]
    party = k.party or ("vendor" if kind == "expenses" else "customer")
    debit, credit = (leg.base, None) if leg.side == "debit" else (None, leg.base)
    fdebit, fcredit = (leg.fcy, None) if leg.side == "debit" else (None, leg.fcy)
    return {
        "categorized_transaction_id": f"{doc[k.id_field]}{n:03d}",
        "transaction_id": str(doc[k.id_field]),
        "transaction_type": POSTING[kind][0],
        "transaction_date": doc[str(k.date_field)],
        "account_id": leg.account_id,
        "customer_id": str(doc.get(f"{party}_id", "")),
        "payee": doc.get(f"{party}_name", ""),
        "description": "",
        "entry_number": doc.get(k.number_field or "", ""),
        "reference_number": doc.get("reference_number", ""),
        "currency_code": doc.get("currency_code", ""),
        "debit_or_credit": leg.side,
        "debit_amount": "" if debit is None else money(debit),
        "credit_amount": "" if credit is None else money(credit),
        "fcy_debit_amount": "" if fdebit is None else money(fdebit),
        "fcy_credit_amount": "" if fcredit is None else money(fcredit),
    }


class Ledger:
    """The postings of one organization's documents, read from its stores as they are."""

    def __init__(self, org: Organization, date_params: tuple[str, str]) -> None:
        self.org = org
        self.date_params = date_params
        self._memo: dict[tuple, dict[str, list[dict[str, Any]]]] = {}

    def _account_rows(self, account_id: str, start: str, end: str,
                      types: set[str] | None) -> list[dict[str, Any]]:
        """An account's legs in date order, memoized until a document or account changes
        (so paging through them derives the ledger once)."""
        versions = tuple(self.org.store(k).version for k in (*POSTING, "chartofaccounts"))
        key = (start, end, frozenset(types) if types is not None else None, versions)
        if key not in self._memo:
            self._memo.clear()
            by_account: dict[str, list[dict[str, Any]]] = {}
            for row in self.postings(start, end, types):
                by_account.setdefault(row["account_id"], []).append(row)
            for rows in by_account.values():
                rows.sort(key=lambda r: (r["transaction_date"], r["categorized_transaction_id"]))
            self._memo[key] = by_account
        return self._memo[key].get(account_id, [])

    def account_names(self) -> dict[str, str]:
        store = self.org.store("chartofaccounts")
        rows = (store.get(i) for i in store.live())
        return {str(r["account_name"]): str(r["account_id"]) for r in rows}

    def postings(self, start: str = "", end: str = "", types: set[str] | None = None
                 ) -> Iterator[dict[str, Any]]:
        """Every leg of documents dated ``start``..``end`` (inclusive; empty: unbounded)."""
        account_of = self.account_names()
        for kind, (type_name, _) in POSTING.items():
            if types is not None and type_name not in types:
                continue
            store = self.org.store(kind)
            params = {"date_start": start, "date_end": end}
            for i in store.select(parse_query(store.kind, params, store.tz)):
                doc = store.get(i)
                for n, leg in enumerate(document_legs(kind, doc, account_of)):
                    yield ledger_row(kind, doc, n, leg)

    def list_body(self, params: Mapping[str, str]) -> dict:
        """The JSON body of ``GET /chartofaccounts/transactions``."""
        account_id = params.get("account_id", "")
        if not account_id:
            raise errors.invalid_value("account_id")
        if account_id not in self.account_names().values():
            raise errors.not_found("Account")
        start_name, end_name = self.date_params
        bounds = []
        for name in (start_name, end_name):
            value = params.get(name, "")
            if value:
                try:
                    parse_date(value)
                except ValueError:
                    raise errors.invalid_value(name) from None
            bounds.append(value)
        wanted = params.get("filter_by", "") or params.get("transaction_type", "")
        applied = params.get("filter_by") or "TransactionType.All"
        key = norm(wanted.removeprefix("TransactionType."))
        if wanted and key not in TYPE_FILTERS:
            raise errors.invalid_value("filter_by" if params.get("filter_by")
                                       else "transaction_type")
        types = TYPE_FILTERS[key] if wanted else None
        rows = self._account_rows(account_id, bounds[0], bounds[1], types)
        page, per_page = paging(params)
        start = (page - 1) * per_page
        return {
            "code": 0, "message": "success",
            "transactions": rows[start:start + per_page],
            "page_context": {"page": page, "per_page": per_page,
                             "has_more_page": start + per_page < len(rows),
                             "report_name": "Account Transactions", "applied_filter": applied,
                             "sort_column": "transaction_date", "sort_order": "A"},
        }


