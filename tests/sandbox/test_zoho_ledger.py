"""The emulator's general ledger over HTTP, read with the connector's client: double entry
that balances per document and in total, a profit and loss from postings equal to the one
from the documents, the row shape clients observe, scopes, filters, edits and voids."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from ml_connector.errors import ApiError
from ml_connector.zoho.ledger import iter_postings
from ml_connector_sandbox.zoho.config import default_refresh_tokens
from ml_connector_sandbox.zoho.pnl import PNL_KINDS, account_pnl, profit_and_loss

from ..cells import ORG

JAN, FEB, APR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 4, 1)
INCOME = ("income", "other_income")
EXPENSE = ("expense", "cost_of_goods_sold", "other_expense")


@pytest.fixture
def chart(zoho_client) -> list[dict]:
    return list(zoho_client().iter_records("chartofaccounts"))


def ledger(zoho_client, chart, start=JAN, end=APR, **options) -> list:
    client = zoho_client()
    return [p for account in chart
            for p in iter_postings(client, account["account_id"], start, end, **options)]


def test_every_document_balances_and_so_does_the_whole_ledger(zoho_client, chart):
    postings = ledger(zoho_client, chart)
    assert len(postings) > 1000
    by_document: dict[str, Decimal] = defaultdict(Decimal)
    by_document_fcy: dict[str, Decimal] = defaultdict(Decimal)
    for p in postings:
        by_document[p.transaction_id] += p.debit - p.credit
        by_document_fcy[p.transaction_id] += p.fcy_debit - p.fcy_credit
    assert set(by_document.values()) == {Decimal(0)}, "debits equal credits per document"
    assert set(by_document_fcy.values()) == {Decimal(0)}
    assert sum(p.debit for p in postings) == sum(p.credit for p in postings) > 0
    assert {p.transaction_type for p in postings} == {"invoice", "credit_notes", "bills",
                                                      "vendor_credits", "expense", "journal",
                                                      "customer_payment", "vendor_payment"}


def test_profit_and_loss_from_postings_equals_the_one_from_documents(sandbox, zoho_client,
                                                                     chart):
    """Income is credit - debit, expense debit - credit, per account and month; the
    reference is the emulator's P&L from the documents' JSON (``pnl``)."""
    types = {a["account_id"]: a["account_type"] for a in chart}
    code = {a["account_id"]: a["account_code"] for a in chart}
    from_postings: dict[tuple[str, str], int] = defaultdict(int)
    for p in ledger(zoho_client, [a for a in chart if a["account_type"] in INCOME + EXPENSE]):
        sign = -1 if types[p.account_id] in INCOME else 1
        from_postings[(code[p.account_id], p.date[:7])] += int(sign * p.net_debit * 100)
    zoho = sandbox.sandbox.zoho
    documents = {kind: list(zoho.documents(ORG, kind, JAN.isoformat(), APR.isoformat()))
                 for kind in PNL_KINDS}
    accounts = list(zoho.documents(ORG, "chartofaccounts"))
    expected = account_pnl(documents, accounts)
    assert len(expected) > 30 and any(v < 0 for v in expected.values())
    # Journals reach accounts no document line does (interest income, depreciation).
    journal_only = account_pnl({"journals": documents["journals"]}, accounts)
    assert {code for code, _ in journal_only} >= {"4900", "6900"}
    # The document modules alone give the document flows' reference answer.
    documents_only = {k: documents[k] for k in ("invoices", "creditnotes", "bills",
                                                "vendorcredits")}
    assert account_pnl(documents_only, accounts) == profit_and_loss(documents_only, accounts)
    assert {k: v for k, v in from_postings.items() if v} == {k: v for k, v in expected.items()
                                                            if v}


def test_rows_have_the_observed_shape(sandbox, zoho_client, chart):
    receivable = next(a for a in chart if a["account_type"] == "accounts_receivable")
    body = zoho_client().get("/chartofaccounts/transactions", {
        "account_id": receivable["account_id"], "date.start": "2026-01-01",
        "date.end": "2026-01-31", "per_page": 200}, scope="accountants")
    rows = body["transactions"]
    assert len(rows) == 200 and body["page_context"]["has_more_page"] is True
    row = rows[0]
    assert {"categorized_transaction_id", "transaction_id", "transaction_type",
            "transaction_date", "account_id", "customer_id", "debit_or_credit",
            "debit_amount", "credit_amount", "fcy_debit_amount", "fcy_credit_amount",
            "currency_code"} <= set(row)
    for r in rows:
        used = "debit_amount" if r["debit_or_credit"] == "debit" else "credit_amount"
        unused = "credit_amount" if used == "debit_amount" else "debit_amount"
        assert isinstance(r[used], float) and r[unused] == "", "the unused side is \"\""
        assert "2026-01-01" <= r["transaction_date"] <= "2026-01-31"
    invoice = sandbox.sandbox.zoho.record(ORG, "invoices", next(
        r["transaction_id"] for r in rows if r["transaction_type"] == "invoice"))
    leg = next(r for r in rows if r["transaction_id"] == invoice["invoice_id"])
    assert leg["debit_or_credit"] == "debit" and leg["customer_id"] == invoice["customer_id"]
    assert leg["fcy_debit_amount"] == invoice["total"], "receivable takes the document total"


def test_a_date_range_the_server_ignores_is_filtered_again(sandbox_factory, zoho_client):
    """Which date parameters Zoho honours is unknown: against a server that honours
    others, the client still keeps only the postings dated in its range."""
    from ml_connector_sandbox.core import SandboxConfig
    from ml_connector_sandbox.zoho import ZohoSandboxConfig

    from ..conftest import ROOMY

    other = sandbox_factory(SandboxConfig.model_validate(
        {**ROOMY, "zoho": {**ROOMY["zoho"], "ledger_date_params": ["from_date", "to_date"]}}))
    client = zoho_client(running=other)
    account = next(a for a in client.iter_records("chartofaccounts")
                   if a["account_type"] == "accounts_receivable")["account_id"]
    raw = client.get("/chartofaccounts/transactions",
                     {"account_id": account, "date.start": "2026-02-01",
                      "date.end": "2026-02-28", "per_page": 200}, scope="accountants")
    assert any(not r["transaction_date"].startswith("2026-02") for r in raw["transactions"])
    postings = list(iter_postings(client, account, FEB, date(2026, 3, 1)))
    assert postings and {p.date[:7] for p in postings} == {"2026-02"}
    assert ZohoSandboxConfig().ledger_date_params == ("date.start", "date.end")


def test_transaction_types_filter(zoho_client, chart):
    sales = next(a for a in chart if a["account_name"] == "Sales")
    client = zoho_client()
    everything = list(iter_postings(client, sales["account_id"], JAN, FEB))
    invoices = list(iter_postings(client, sales["account_id"], JAN, FEB,
                                  transaction_types={"invoice"}))
    assert {p.transaction_type for p in everything} == {"invoice", "credit_notes"}
    assert invoices == [p for p in everything if p.transaction_type == "invoice"]
    with pytest.raises(ApiError, match="code 2.*filter_by"):
        client.get("/chartofaccounts/transactions",
                   {"account_id": sales["account_id"], "filter_by": "TransactionType.Gift"},
                   scope="accountants")
    with pytest.raises(ApiError, match="code 2.*account_id"):
        client.get("/chartofaccounts/transactions", {}, scope="accountants")


def test_the_ledger_needs_the_accountants_scope(sandbox_factory):
    from ml_connector.zoho import ZohoBooksClient, ZohoConfig, ZohoCredentials
    from ml_connector_sandbox.core import SandboxConfig
    from ml_connector_sandbox.zoho import RefreshTokenSpec

    from ..conftest import FAST_RETRY, ROOMY

    tokens = [*default_refresh_tokens(),
              RefreshTokenSpec(token="1000.no-accountants", region="us",
                               scopes=["ZohoBooks.invoices.READ"])]
    running = sandbox_factory(SandboxConfig.model_validate(
        {**ROOMY, "zoho": {**ROOMY["zoho"], "refresh_tokens": [
            t.model_dump() for t in tokens]}}))
    config = running.sandbox.config.zoho
    client = ZohoBooksClient(
        ZohoCredentials(config.client_id, config.client_secret, "1000.no-accountants"),
        ZohoConfig(region="us", organization_id=ORG, endpoint_base=running.base_url,
                   retry=FAST_RETRY))
    with client, pytest.raises(ApiError, match="lacks ZohoBooks.accountants.READ"):
        list(iter_postings(client, "1", JAN, FEB))


def test_an_edited_or_voided_document_changes_its_postings(sandbox, zoho_client, chart):
    zoho = sandbox.sandbox.zoho
    invoice = next(d for d in zoho.documents(ORG, "invoices", "2026-01-01", "2026-02-01")
                   if d["status"] not in ("draft", "void") and not d["is_inclusive_tax"]
                   and d["discount_type"] != "entity_level")
    receivable = next(a for a in chart if a["account_type"] == "accounts_receivable")

    def legs() -> list:
        return [p for p in ledger(zoho_client, chart, JAN, FEB)
                if p.transaction_id == invoice["invoice_id"]]

    before = legs()
    assert before and sum(p.debit - p.credit for p in before) == 0
    lines = [{**invoice["line_items"][0], "item_total": invoice["line_items"][0]["item_total"]
              + 100}, *invoice["line_items"][1:]]
    zoho.edit_record(ORG, "invoices", invoice["invoice_id"],
                     {"line_items": lines, "total": round(invoice["total"] + 100, 2)})
    after = legs()
    grew = next(p for p in after if p.account_id == receivable["account_id"])
    assert grew.fcy_debit == Decimal(repr(invoice["total"])) + 100
    zoho.edit_record(ORG, "invoices", invoice["invoice_id"], {"status": "void"})
    assert legs() == [], "a void document posts nothing"


def test_journals_and_expenses_are_served_as_zoho_lists_them(sandbox, zoho_client):
    """Journals are dated by ``journal_date`` and their ``last_modified_time`` filter
    matches that day only (observed, shared/api/zoho-books.md); expenses are dated and
    filtered like the other documents."""
    client = zoho_client()
    journals = client.get("/journals", {"date_start": "2026-02-01", "date_end": "2026-02-28"},
                          scope="accountants")["journals"]
    assert journals and all(j["journal_date"].startswith("2026-02") for j in journals)
    one = client.get(f"/journals/{journals[0]['journal_id']}", scope="accountants")["journal"]
    sides: dict[str, Decimal] = defaultdict(Decimal)
    for line in one["line_items"]:
        sides[line["debit_or_credit"]] += Decimal(repr(line["amount"]))
    assert sides["debit"] == sides["credit"] == Decimal(repr(one["total"]))
    stamp = one["last_modified_time"]
    same_day = client.get("/journals", {"last_modified_time": stamp, "per_page": 200},
                          scope="accountants")["journals"]
    assert one["journal_id"] in [j["journal_id"] for j in same_day], "equal stamps match"
    assert {j["last_modified_time"][:10] for j in same_day} == {stamp[:10]}
    expenses = client.get("/expenses", {"date_start": "2026-03-01", "date_end": "2026-03-31"},
                          scope="expenses")["expenses"]
    assert expenses and all(e["date"].startswith("2026-03") for e in expenses)
    detail = client.get(f"/expenses/{expenses[0]['expense_id']}", scope="expenses")["expense"]
    assert Decimal(repr(detail["sub_total"])) + Decimal(repr(detail["tax_amount"])) == \
        Decimal(repr(detail["total"]))


def test_payments_move_receivables_and_payables_to_the_bank(sandbox, zoho_client, chart):
    """A customer payment debits its deposit account and credits Accounts Receivable; a
    vendor payment debits Accounts Payable; neither touches a P&L account."""
    client = zoho_client()
    names = {a["account_id"]: a["account_name"] for a in chart}
    payments = client.get("/customerpayments", {"date_start": "2026-02-01",
                                                 "date_end": "2026-02-28"},
                          scope="customerpayments")["customerpayments"]
    payment = client.get(f"/customerpayments/{payments[0]['payment_id']}",
                         scope="customerpayments")["payment"]
    invoice = zoho_client().get(f"/invoices/{payment['invoices'][0]['invoice_id']}",
                                scope="invoices")["invoice"]
    assert payment["customer_id"] == invoice["customer_id"]
    assert payment["currency_code"] == invoice["currency_code"]
    legs = [p for p in ledger(zoho_client, chart, FEB, date(2026, 3, 1),
                              transaction_types={"customer_payment", "vendor_payment"})]
    mine = sorted((names[p.account_id], p.fcy_debit - p.fcy_credit) for p in legs
                  if p.transaction_id == payment["payment_id"])
    amount = Decimal(repr(payment["amount"]))
    assert mine == sorted([(payment["account_name"], amount), ("Accounts Receivable", -amount)])
    types = {a["account_id"]: a["account_type"] for a in chart}
    assert {types[p.account_id] for p in legs} <= {"bank", "cash", "accounts_receivable",
                                                    "accounts_payable"}
    assert {p.transaction_type for p in legs} == {"customer_payment", "vendor_payment"}
