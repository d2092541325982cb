"""Actuals as the accountant means them: the build of the shipped actuals flows, fed with
real sandbox documents over HTTP, against a profit and loss computed from the same JSON by
the sandbox's own posting rules (``sandbox.zoho.pnl``, no code shared with the flows)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ml_connector.errors import ConfigError
from ml_connector.flows.mapping import build_file, lookup_tables
from ml_connector.flows.postings import posting_accounts
from ml_connector.flows.spec import load_flows, parse_flows
from ml_connector.zoho.extract import ExtractWindow, extract_to
from ml_connector_sandbox.zoho.pnl import profit_and_loss

#: A chart of accounts for documents written by hand.
CHART = [{"account_id": "a1", "account_code": "4010", "account_name": "Product Sales"},
         {"account_id": "a2", "account_code": "4020", "account_name": "Service Revenue"},
         {"account_id": "s", "account_code": "4600", "account_name": "Shipping Charge"},
         {"account_id": "o", "account_code": "4700", "account_name": "Other Charges"}]
FLOWS = load_flows(Path(__file__).resolve().parents[2] / "dags" / "flows.yaml")
JANUARY = ExtractWindow(start=date(2026, 1, 1), end=date(2026, 2, 1))


def flow(flow_id: str):
    return next(f for f in FLOWS.flows if f.id == flow_id)


def staged(client, entities, window=JANUARY) -> list[dict]:
    sink = io.StringIO()
    extract_to(client, entities, window, sink, line_items=True)
    return [json.loads(line) for line in sink.getvalue().splitlines()]


def build(f, records, chart) -> dict[tuple[str, str], Decimal]:
    out, members, skipped = io.StringIO(), io.StringIO(), io.StringIO()
    build_file(f, records, lookup_tables(f, {"chartofaccounts": chart}), out, members,
               skipped, accounts=posting_accounts(f, lambda: chart))
    rows = list(csv.reader(io.StringIO(out.getvalue())))[1:]
    return {(a, p): Decimal(v) for a, p, v in rows}


def oracle(documents: dict, chart, excluded=("draft", "void")) -> dict:
    totals = profit_and_loss(documents, chart, excluded)
    return {(code, date.fromisoformat(month + "-01").strftime("%b %y")):
            Decimal(cents) / 100 for (code, month), cents in totals.items()}


@pytest.mark.parametrize(("flow_id", "entity", "credit"), [
    ("invoice_actuals", "invoices", "creditnotes"),
    ("bill_actuals", "bills", "vendorcredits"),
])
def test_actuals_flows_send_the_profit_and_loss(zoho_client, flow_id, entity, credit):
    client = zoho_client()
    chart = list(client.iter_records("chartofaccounts"))
    records = staged(client, [entity, credit])
    docs = [r for r in records if f"{entity[:-1]}_id" in r]
    credits = [r for r in records if r not in docs]
    # The month really has what makes actuals differ from summed line totals.
    assert credits and any(d["is_inclusive_tax"] for d in docs)
    assert any(d["discount_type"] == "entity_level" for d in docs)
    assert any(d["adjustment"] for d in docs)
    if entity == "invoices":
        assert any(d["shipping_charge"] for d in docs)
        assert any(d["exchange_rate"] != 1 for d in docs)

    expected = oracle({entity: docs, credit: credits}, chart)
    assert build(flow(flow_id), records, chart) == expected
    # Naive line totals would be wrong: the difference is what this flow fixes.
    naive = oracle({entity: [{**d, "is_inclusive_tax": False, "discount_type": "item_level",
                              "shipping_charge": 0, "adjustment": 0} for d in docs]}, chart)
    assert naive != expected


def test_po_commitments_net_of_tax_and_discount(zoho_client):
    client = zoho_client()
    chart = list(client.iter_records("chartofaccounts"))
    records = staged(client, "purchaseorders")
    f = flow("po_commitments")
    assert build(f, records, chart) == oracle({"purchaseorders": records}, chart,
                                              f.exclude_status)


def test_discounted_inclusive_invoice_with_credit_note_to_the_cent(zoho_client):
    """One invoice with an entity-level discount and a credit note against it, by hand."""
    invoice = {
        "invoice_id": "i1", "status": "sent", "date": "2026-01-10", "exchange_rate": 1.1,
        "discount_type": "entity_level", "discount_amount": 10.01, "is_inclusive_tax": False,
        "shipping_charge": 7.5, "adjustment": -0.03,
        "line_items": [{"account_id": "a1", "item_total": 100.0, "tax_percentage": 8.25},
                       {"account_id": "a2", "item_total": 0.1, "tax_percentage": 0}],
    }
    credit = {
        "creditnote_id": "c1", "status": "open", "date": "2026-01-20", "exchange_rate": 1,
        "is_inclusive_tax": True, "discount_type": "item_level", "discount_amount": 0,
        "shipping_charge": 0, "adjustment": 0,
        "line_items": [{"account_id": "a1", "item_total": 10.83, "tax_percentage": 8.25}],
    }
    chart = CHART
    # Discount shares: 10.01 * 100 / 100.1 = 10.0000 -> 10.00 on line 1, 0.01 on line 2.
    # Line 1: (100.00 - 10.00) * 1.1 = 99.00; credit note 10.83 incl. 8.25 % tax: tax
    # 10.83 * 8.25 / 108.25 = 0.8254 -> 0.83, net 10.00; 99.00 - 10.00 = 89.00.
    # Line 2: (0.10 - 0.01) * 1.1 = 0.099 -> 0.10. Shipping 7.5 * 1.1 = 8.25.
    # Adjustment -0.03 * 1.1 = -0.033 -> -0.03.
    expected = {("4010", "Jan 26"): Decimal("89.00"), ("4020", "Jan 26"): Decimal("0.10"),
                ("4600", "Jan 26"): Decimal("8.25"), ("4700", "Jan 26"): Decimal("-0.03")}
    assert build(flow("invoice_actuals"), [invoice, credit], chart) == expected
    assert oracle({"invoices": [invoice], "creditnotes": [credit]}, chart) == expected


def test_postings_need_an_account_for_shipping():
    spec = parse_flows({"flows": [{
        "id": "f", "entity": "invoices", "grain": "aggregate", "lines": "postings",
        "target": {"import": "X"},
        "columns": {"Account": {"field": "line.account_id"}, "Period": {"period": "date"},
                    "Amount": {"amount": "line.amount"}}}]})
    invoice = {"invoice_id": "i9", "status": "sent", "date": "2026-01-10", "exchange_rate": 1,
               "shipping_charge": 5, "line_items": [{"account_id": "a1", "item_total": 1}]}
    with pytest.raises(ConfigError, match=r"invoice_id i9 has a shipping_charge of 5 .*"
                                          r"set accounts\.shipping"):
        build(spec.flows[0], [invoice], [])


@pytest.mark.parametrize(("change", "message"), [
    ({"credits": "vendorcredits"}, "'vendorcredits' does not credit 'invoices'; use "
                                   "'creditnotes'"),
    ({"columns": {"Period": {"period": "date"}, "Amount": {"amount": "line.amount"}}},
     "unknown invoices line item field 'amount'"),
    ({"accounts": {"shipping": "Shipping Charge"}}, "accounts: only used with lines: postings"),
])
def test_actuals_settings_are_checked(change, message):
    data = {"id": "f", "entity": "invoices", "grain": "aggregate", "target": {"import": "X"},
            "columns": {"Period": {"period": "date"}, "Amount": {"amount": "line.item_total"}},
            **change}
    with pytest.raises(ConfigError, match=message):
        parse_flows({"flows": [data]})


def test_unknown_posting_account_names_the_setting():
    with pytest.raises(ConfigError, match=r"flow invoice_actuals: accounts\.shipping: no "
                                          r"account with code or name 'Shipping Charge'"):
        posting_accounts(flow("invoice_actuals"), lambda: [{"account_id": "1",
                                                           "account_name": "Sales"}])


def test_a_discounted_invoice_and_its_credit_note_reconcile_to_the_cent(sandbox, zoho_client):
    """A real sandbox invoice with an entity-level discount and a credit note applied to it,
    both read over HTTP: the cells the flow builds equal the sandbox's ledger to the cent."""
    client = zoho_client()
    zoho = sandbox.sandbox.zoho
    pair = None
    for credit in zoho.documents("10234695", "creditnotes"):
        for applied in credit["invoices_credited"]:
            invoice = zoho.record("10234695", "invoices", applied["invoice_id"])
            if (invoice["discount_type"] == "entity_level" and credit["status"] != "void"
                    and invoice["date"][:7] == credit["date"][:7]):
                pair = invoice["invoice_id"], credit["creditnote_id"]
                break
        if pair:
            break
    assert pair, "the sandbox has a discounted invoice with a credit note in its month"
    records = [client.get(f"/invoices/{pair[0]}")["invoice"],
               client.get(f"/creditnotes/{pair[1]}")["creditnote"]]
    chart = list(client.iter_records("chartofaccounts"))
    cells = build(flow("invoice_actuals"), records, chart)
    assert cells == oracle({"invoices": records[:1], "creditnotes": records[1:]}, chart)
    # The invoice's income net of its discount less the credit note's, in base currency:
    # what the cells add up to, from the documents' own totals.
    invoice, credit = records
    net = Decimal(str(invoice["bcy_total"])) - Decimal(str(invoice["bcy_tax_total"]))
    net -= Decimal(str(credit["bcy_total"])) - Decimal(str(credit["bcy_tax_total"]))
    assert abs(sum(cells.values()) - net) <= Decimal("0.05")  # per-posting rounding only


def test_a_credit_note_naming_its_invoice_still_counts_as_a_credit():
    invoice = {"invoice_id": "i1", "status": "sent", "date": "2026-01-10", "exchange_rate": 1,
               "line_items": [{"account_id": "a1", "item_total": 50}]}
    credit = {"creditnote_id": "c1", "invoice_id": "i1", "status": "open",
              "date": "2026-01-11", "exchange_rate": 1,
              "line_items": [{"account_id": "a1", "item_total": 20}]}
    assert build(flow("invoice_actuals"), [invoice, credit], CHART) == {
        ("4010", "Jan 26"): Decimal("30.00")}
