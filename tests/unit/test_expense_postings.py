"""Expenses as postings: an expense has no line items, so with ``lines: postings`` it is one
posting line built from its header (its account, its amount net of tax), and the columns of
the document flows (``line.account_id``, ``line.amount``, location and project) apply; the
mistakes a flow can make with it are named when the file loads."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from ml_connector.errors import ConfigError
from ml_connector.flows.mapping import build_file, lookup_tables
from ml_connector.flows.reads import reads_details
from ml_connector.flows.spec import parse_flows

CHART = [{"account_id": "a1", "account_code": "6100"}, {"account_id": "a2",
                                                        "account_code": "6200"}]
ACCOUNT = {"lookup": {"field": "line.account_id", "entity": "chartofaccounts",
                      "key": "account_id", "value": "account_code"}}


def expense(number: str, account: str, amount: float, **header) -> dict:
    return {"expense_id": number, "status": "unbilled", "date": "2026-01-15",
            "account_id": account, "amount": amount, "tax_amount": 0,
            "is_inclusive_tax": False, **header}


EXPENSES = [
    # 115.00 including 15.00 tax: 100.00 to the account.
    expense("1", "a1", 115.00, tax_amount=15.00, is_inclusive_tax=True, location_id="L1",
            project_id="P1"),
    # 50.00 before 4.13 tax: 50.00 to the account.
    expense("2", "a1", 50.00, tax_amount=4.13, location_id="L2", project_id=""),
    # In EUR at 1.1: 20.00 EUR -> 22.00.
    expense("3", "a2", 20.00, exchange_rate=1.1, location_id="L1"),
    expense("4", "a2", 999.00, status="void"),
]


def flow(columns: dict, **keys) -> dict:
    return {"flows": [{"id": "e", "entity": "expenses", "lines": "postings",
                       "grain": "aggregate", "target": {"import": "X"},
                       "columns": {"Account": ACCOUNT, **columns,
                                   "Amount": {"amount": "line.amount"}}, **keys}]}


def build(columns: dict, records=EXPENSES) -> dict[tuple[str, ...], Decimal]:
    f = parse_flows(flow(columns)).flows[0]
    out = io.StringIO()
    build_file(f, records, lookup_tables(f, {"chartofaccounts": CHART}), out, io.StringIO(),
               io.StringIO())
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    return {tuple(r[:-1]): Decimal(r[-1]) for r in rows[1:]}


def test_an_expense_posts_its_amount_net_of_tax_to_its_account():
    cells = build({"Location": {"dimension": "location", "default": "Unassigned"},
                   "Period": {"period": "date"}})
    assert cells == {("6100", "L1", "Jan 26"): Decimal("100.00"),
                     ("6100", "L2", "Jan 26"): Decimal("50.00"),
                     ("6200", "L1", "Jan 26"): Decimal("22.00")}


def test_an_expense_header_project_and_untagged_expenses():
    assert build({"Project": {"dimension": "project", "default": "None"}}) == {
        ("6100", "P1"): Decimal("100.00"), ("6100", "None"): Decimal("50.00"),
        ("6200", "None"): Decimal("22.00")}
    assert build({"Department": {"tag": "Department", "default": "Unassigned"}}) == {
        ("6100", "Unassigned"): Decimal("150.00"), ("6200", "Unassigned"): Decimal("22.00")}, \
        "Zoho's expenses carry no tags: every one takes the default"


def test_a_bad_expense_is_named_and_nothing_is_built():
    with pytest.raises(ConfigError, match=r"expense_id 9 amount: expected a finite number"):
        build({}, [expense("9", "a1", None)])
    with pytest.raises(ConfigError, match=r"expense_id 8 is itemized .*\(source: ledger\)"):
        build({}, [expense("8", "a1", 10.0, is_itemized_expense=True)])
    with pytest.raises(ConfigError, match=r"expense_id 7: no location \(location_id\) on the "
                       r"line or its document"):
        build({"Location": {"dimension": "location"}}, [expense("7", "a1", 10.0)])


@pytest.mark.parametrize(("data", "said"), [
    ({"flows": [{"id": "e", "entity": "expenses", "grain": "aggregate",
                 "target": {"import": "X"}, "columns": {"Amount": {"amount": "line.amount"}}}]},
     "'expenses' has no line items: set lines: postings"),
    (flow({}, accounts={"shipping": "Freight"}), "accounts: expenses have no shipping"),
    (flow({"Total": {"amount": "line.item_total"}}),
     "unknown expenses line item field 'item_total'; known: account_id, account_name, "
     "amount, description"),
    (flow({"Vendor": {"field": "vendor_nme"}}), "unknown expenses field 'vendor_nme'"),
])
def test_expense_flow_mistakes_are_named_when_the_file_loads(data, said):
    with pytest.raises(ConfigError, match=said):
        parse_flows(data)


def test_expenses_read_details_only_for_what_their_list_rows_lack():
    """Zoho's expense list rows have the location and the totals, not the account id, the
    project, the amounts net of tax or the exchange rate."""
    listed = {"flows": [{"id": "e", "entity": "expenses", "grain": "aggregate",
                         "target": {"import": "X"}, "columns": {
                             "Location": {"dimension": "location", "default": "U"},
                             "Period": {"period": "date"},
                             "Amount": {"amount": "bcy_total_without_tax",
                                        "currency": "document"}}}]}
    assert not reads_details(parse_flows(listed).flows[0])
    for column in ({"dimension": "project", "default": "U"}, {"field": "account_id"}):
        columns = {**listed["flows"][0]["columns"], "X": column}
        data = {"flows": [{**listed["flows"][0], "columns": columns}]}
        assert reads_details(parse_flows(data).flows[0]), column
    in_base = {"flows": [{**listed["flows"][0], "columns": {
        "Amount": {"amount": "total_without_tax"}}}]}
    assert reads_details(parse_flows(in_base).flows[0]), "exchange_rate is in details only"
    assert reads_details(parse_flows(flow({})).flows[0])
