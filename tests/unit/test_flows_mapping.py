"""The mapping engine: record and aggregate grain, lookups, filters, members, skipped."""

from __future__ import annotations

import csv
import io

import pytest

from ml_connector.errors import ConfigError
from ml_connector.flows.files import Member, Skipped, decode_lines
from ml_connector.flows.mapping import build_file, lookup_tables, row_keys
from ml_connector.flows.spec import parse_flows

INVOICES = [
    {"invoice_id": "1", "status": "paid", "date": "2026-01-31", "exchange_rate": 2,
     "customer_name": "A", "line_items": [{"account_id": "a1", "item_total": 10},
                                          {"account_id": "a2", "item_total": 1.5}]},
    {"invoice_id": "2", "status": "sent", "date": "2026-01-02", "exchange_rate": 1,
     "customer_name": "B", "line_items": [{"account_id": "a1", "item_total": 5}]},
    {"invoice_id": "3", "status": "void", "date": "2026-01-02", "exchange_rate": 1,
     "customer_name": "C", "line_items": [{"account_id": "a1", "item_total": 99}]},
]
CHART = [{"account_id": "a1", "account_code": "4000"}, {"account_id": "a2",
                                                         "account_code": "4100"}]
LOOKUP = {"lookup": {"field": "line.account_id", "entity": "chartofaccounts",
                     "key": "account_id", "value": "account_code"}}


def run(grain: str, columns: dict, records=INVOICES):
    spec = parse_flows({"flows": [{"id": "f", "entity": "invoices", "grain": grain,
                                   "target": {"import": "X"}, "columns": columns}]})
    flow = spec.flows[0]
    tables = lookup_tables(flow, {"chartofaccounts": CHART})
    out, members, skipped = io.StringIO(), io.StringIO(), io.StringIO()
    result = build_file(flow, records, tables, out, members, skipped)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    return flow, result, rows, decode_lines(members.getvalue(), Member), decode_lines(
        skipped.getvalue(), Skipped)


def test_aggregate_sums_whole_cells_in_base_currency():
    flow, result, rows, members, skipped = run("aggregate", {
        "Account": LOOKUP, "Period": {"period": "date"}, "Amount": {"amount": "line.item_total"}})
    assert rows == [["Account", "Period", "Amount"], ["4000", "Jan 26", "25.00"],
                    ["4100", "Jan 26", "3.00"]]
    assert result.records == 2 and result.skipped == 1 and result.rows == 2
    assert skipped == [Skipped(record_id="3", reason="status void")]
    keys = row_keys(flow, rows[1:])
    assert keys == {"4000|Jan 26": 2, "4100|Jan 26": 3}
    assert [(m.record_id, keys[m.row]) for m in members] == [("1", 2), ("1", 3), ("2", 2)]


def test_record_grain_one_row_per_line_with_constants():
    flow, result, rows, members, _ = run("record", {
        "Invoice": {"field": "invoice_id"}, "Customer": {"field": "customer_name"},
        "Version": {"const": "Actual"}, "Amount": {"amount": "line.item_total",
                                                    "currency": "document"}})
    assert rows[1:] == [["1", "A", "Actual", "10"], ["1", "A", "Actual", "1.5"],
                        ["2", "B", "Actual", "5"]]
    assert result.rows == 3 and [m.row for m in members] == ["1", "2", "3"]
    assert row_keys(flow, rows[1:]) == {"1": 2, "2": 3, "3": 4}


def test_missing_lookup_names_the_record_and_value():
    with pytest.raises(ConfigError, match="invoice_id 1: line.account_id 'zz' has no"):
        run("aggregate", {"Account": LOOKUP, "Amount": {"amount": "line.item_total"}},
            [{**INVOICES[0], "line_items": [{"account_id": "zz", "item_total": 1}]}])


def test_record_grain_can_send_excluded_documents_as_zero():
    spec = parse_flows({"flows": [{
        "id": "f", "entity": "invoices", "excluded": "zero", "target": {"import": "X"},
        "columns": {"Line": {"field": "invoice_id"}, "Amount": {"amount": "line.item_total"}}}]})
    out, members, skipped = io.StringIO(), io.StringIO(), io.StringIO()
    result = build_file(spec.flows[0], INVOICES, {}, out, members, skipped)
    rows = list(csv.reader(io.StringIO(out.getvalue())))[1:]
    # Invoice 3 was voided: its line is sent with amount 0, so it stops counting.
    assert rows == [["1", "20.00"], ["1", "3.00"], ["2", "5.00"], ["3", "0"]]
    assert (result.records, result.zeroed, result.skipped) == (2, 1, 0)
    assert [m.record_id for m in decode_lines(members.getvalue(), Member)] == [
        "1", "1", "2", "3"]
    with pytest.raises(ConfigError, match="excluded: zero needs grain 'record'"):
        parse_flows({"flows": [{**spec.flows[0].model_dump(by_alias=True), "grain": "aggregate",
                                "columns": {"Amount": {"amount": "total"}}}]})


def test_a_stale_lookup_list_is_read_again_once_before_a_key_is_unknown():
    spec = parse_flows({"flows": [{"id": "f", "entity": "invoices", "grain": "aggregate",
                                   "target": {"import": "X"},
                                   "columns": {"Account": LOOKUP, "Amount": {
                                       "amount": "line.item_total"}}}]})
    flow = spec.flows[0]
    stale = lookup_tables(flow, {"chartofaccounts": CHART[:1]})  # a2 added since that read
    reads: list[str] = []

    def refresh(entity: str):
        reads.append(entity)
        return CHART

    out = io.StringIO()
    build_file(flow, INVOICES, stale, out, io.StringIO(), io.StringIO(), refresh=refresh)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[1:] == [["4000", "25.00"], ["4100", "3.00"]]
    assert reads == ["chartofaccounts"]

    reads.clear()
    unknown = [{**INVOICES[0], "line_items": [{"account_id": "zz", "item_total": 1}]}] * 3
    with pytest.raises(ConfigError, match="'zz' has no account_code in chartofaccounts"):
        build_file(flow, unknown, stale, io.StringIO(), io.StringIO(), io.StringIO(),
                   refresh=refresh)
    assert reads == ["chartofaccounts"], "read again once per run, not once per record"
