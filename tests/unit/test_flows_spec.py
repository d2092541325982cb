"""flows.yaml validation: every problem named by its key path and value."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ml_connector.errors import ConfigError
from ml_connector.flows.spec import load_flows, parse_flows

ROOT = Path(__file__).resolve().parents[2]


def flow(**overrides):
    base = {"id": "inv", "entity": "invoices", "target": {"import": "X"},
            "columns": {"Account": {"field": "customer_name"}, "Amount": {"amount": "total"}}}
    return {"flows": [{**base, **overrides}]}


def error_of(data) -> str:
    with pytest.raises(ConfigError) as info:
        parse_flows(data)
    return str(info.value)


def test_the_shipped_flows_file_is_valid():
    spec = load_flows(ROOT / "dags" / "flows.yaml")
    ids = [f.id for f in spec.flows]
    assert {"accounts", "invoice_actuals", "bill_actuals"} <= set(ids)
    actuals = next(f for f in spec.flows if f.id == "invoice_actuals")
    assert actuals.uses_lines and actuals.lookup_entities == {"chartofaccounts"}


def test_unknown_field_is_named_with_its_flow_and_column():
    message = error_of(flow(columns={"Amount": {"amount": "totl"}}))
    assert "flows[0] (inv)" in message
    assert "column 'Amount': unknown invoices field 'totl'" in message


def test_unknown_line_item_field_and_lookup_field():
    assert "unknown invoices line item field 'acount_id'" in error_of(
        flow(columns={"A": {"field": "line.acount_id"}}))
    assert "unknown chartofaccounts lookup value 'code'" in error_of(flow(columns={"A": {
        "lookup": {"field": "line.account_id", "entity": "chartofaccounts",
                   "key": "account_id", "value": "code"}}}))


def test_bad_values_are_shown():
    message = error_of(flow(schedule="fortnightly"))
    assert "flows[0] (inv).schedule" in message and "'fortnightly'" in message
    assert "unknown Zoho Books entity 'invoice'" in error_of(flow(entity="invoice"))
    assert "exactly one of field, const" in error_of(
        flow(columns={"A": {"field": "date", "const": "x"}}))
    assert "flows[0] (inv).colums" in error_of({"flows": [{**flow()["flows"][0],
                                                           "colums": {}}]})
    assert "needs at least one amount column" in error_of(
        flow(grain="aggregate", columns={"A": {"field": "date"}}))
    assert "is used twice" in error_of({"flows": flow()["flows"] * 2})
    assert "needs a column 'period: date'" in error_of(
        flow(grain="aggregate", mode="incremental"))
    assert "so it runs monthly (got schedule 'daily')" in error_of(
        flow(grain="aggregate", schedule="daily"))
    assert "needs a column 'period: date'" in error_of(flow(
        grain="aggregate", mode="incremental",
        columns={"P": {"period": "due_date"}, "Amount": {"amount": "total"}}))


def test_incremental_aggregate_rebuilds_the_months_of_its_period_column():
    spec = parse_flows(flow(grain="aggregate", mode="incremental",
                            columns={"P": {"period": "date"}, "Amount": {"amount": "total"}}))
    assert spec.flows[0].rebuilds_months and spec.flows[0].period_field == "date"
    assert not parse_flows(flow(grain="aggregate")).flows[0].rebuilds_months


def test_yaml_syntax_errors_are_reported(tmp_path):
    bad = tmp_path / "flows.yaml"
    bad.write_text("flows: [\n")
    with pytest.raises(ConfigError, match="flows.yaml is not valid YAML"):
        load_flows(bad)
    bad.write_text(yaml.safe_dump(flow(mode="period", entity="contacts",
                                       columns={"A": {"field": "contact_name"}})))
    with pytest.raises(ConfigError, match="mode 'period' needs dated documents"):
        load_flows(bad)


def ledger_flow(**overrides):
    base = {"id": "pl", "source": "ledger", "target": {"import": "X"}, "grain": "aggregate",
            "columns": {"Account": {"field": "account_code"},
                        "Period": {"period": "transaction_date"},
                        "Amount": {"amount": "amount"}}}
    return {"flows": [{**base, **overrides}]}


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"entity": "invoices"}, "a ledger flow reads postings, not 'invoices': leave out entity"),
    ({"credits": "creditnotes"}, "credits: not used by a ledger flow"),
    ({"lines": "postings"}, "lines: not used by a ledger flow"),
    ({"mode": "full"}, "mode 'full' would read every posting ever made"),
    ({"columns": {"Amount": {"amount": "amount", "currency": "document"}}},
     "column 'Amount': ledger amounts are in the base currency"),
    ({"columns": {"Amount": {"amount": "totl"}}}, "unknown ledger field 'totl'"),
    ({"columns": {"Amount": {"amount": "line.item_total"}}},
     "unknown ledger line item field 'item_total'"),
    ({"mode": "incremental", "schedule": "daily", "columns": {
        "Account": {"field": "account_code"}, "Amount": {"amount": "amount"}}},
     "an incremental ledger flow rebuilds every month its changed documents fall in"),
    ({"ledger": {"account_types": ["income", "revenue"]}}, "ledger.account_types[1]"),
    ({"ledger": {"transaction_types": ["invoices"]}}, "ledger.transaction_types[0]"),
])
def test_ledger_flow_mistakes_are_named(overrides, expected):
    assert expected in error_of(ledger_flow(**overrides))


def test_ledger_flow_defaults_and_the_modules_its_changes_come_from():
    spec = parse_flows(ledger_flow())
    pl = spec.flows[0]
    assert pl.entity == "ledger" and pl.ledger is not None
    assert pl.ledger.account_types == ["income", "other_income", "cost_of_goods_sold",
                                       "expense", "other_expense"]
    assert pl.lookup_entities == {"chartofaccounts"}
    assert pl.change_entities == ["invoices", "creditnotes", "bills", "vendorcredits",
                                  "expenses", "journals"]
    banks = parse_flows(ledger_flow(ledger={"account_types": ["bank"]})).flows[0]
    assert "customerpayments" in banks.change_entities, "payments post to bank accounts"
    sales = parse_flows(ledger_flow(ledger={"transaction_types": ["invoice", "journal"]}))
    assert sales.flows[0].change_entities == ["invoices", "journals"]
    assert "ledger: only used with source: ledger" in error_of(flow(ledger={}))


def list_flow(**overrides):
    base = {"id": "departments", "entity": "tagoptions", "mode": "full",
            "target": {"import": "Departments from Zoho"}, "loads": "Departments",
            "columns": {"Option ID": {"field": "option_id"}, "Name": {"field": "option_name"},
                        "Parent": {"field": "parent_option_id"}}}
    return {"flows": [{**base, **overrides}]}


def test_a_list_flow_names_its_list_and_its_code_and_name_columns():
    departments = parse_flows(list_flow()).flows[0]
    assert departments.loads == "Departments" and departments.text == "report"
    assert departments.list_columns == ("Option ID", "Name"), "the first two columns"
    named = parse_flows(list_flow(code="Name", name="Parent", text="fail")).flows[0]
    assert named.list_columns == ("Name", "Parent") and named.text == "fail"
    assert parse_flows(list_flow(code="Name")).flows[0].list_columns == ("Name", "Option ID")
    single = parse_flows(list_flow(columns={"Option ID": {"field": "option_id"}})).flows[0]
    assert single.list_columns == ("Option ID", None)
    assert parse_flows(list_flow(loads=None)).flows[0].loads is None


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"mode": "period"}, "loads: names the list a list flow writes: it needs mode 'full'"),
    ({"name": "Label"}, "name: 'Label' is not a column of the flow; columns: Option ID, "
                        "Name, Parent"),
    ({"code": "Name", "name": "Name"}, "code and name: both name column 'Name'"),
    ({"loads": None, "text": "fail"}, "text: only with loads"),
    ({"loads": None, "code": "Option ID"}, "code: only with loads"),
    ({"text": "warn"}, "flows[0] (departments).text"),
])
def test_list_flow_key_mistakes_are_named(overrides, expected):
    assert expected in error_of(list_flow(**overrides))
