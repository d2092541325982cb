"""Dimension columns: a reporting tag's option or a line's (else its document's) location,
project, item or salesperson; defaults, charges, and the member crosswalk (``map``)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from ml_connector.errors import ConfigError
from ml_connector.flows.mapping import build_file, lookup_tables
from ml_connector.flows.postings import Account
from ml_connector.flows.spec import load_flows, parse_flows

CHART = [{"account_id": "a1", "account_code": "4000"}]
ACCOUNT = {"lookup": {"field": "line.account_id", "entity": "chartofaccounts",
                      "key": "account_id", "value": "account_code"}}
SALES = {"tag_id": "t1", "tag_name": "Department"}
TAGGED = [{**SALES, "tag_option_id": "o1", "tag_option_name": "Sales"}]
SUPPORT = [{**SALES, "tag_option_id": "o2", "tag_option_name": "Support"}]


def invoice(number: str, lines: list[dict], **header) -> dict:
    return {"invoice_id": number, "status": "sent", "date": "2026-01-15",
            "exchange_rate": 1, "line_items": [{"account_id": "a1", **line} for line in lines],
            **header}


#: A tagged document, an untagged one and a partly tagged one; the last with shipping.
DOCUMENTS = [
    invoice("1", [{"item_total": 100, "tags": TAGGED, "location_id": "L2"}],
            location_id="L1"),
    invoice("2", [{"item_total": 40, "tags": []}], location_id="L1"),
    invoice("3", [{"item_total": 10, "tags": SUPPORT}, {"item_total": 5}],
            shipping_charge=7, salesperson_id="S9"),
]


def build(columns: dict, records=DOCUMENTS, **flow):
    spec = parse_flows({"flows": [{"id": "f", "entity": "invoices", "grain": "aggregate",
                                   "lines": "postings", "accounts": {"shipping": "4000"},
                                   "target": {"import": "X"},
                                   "columns": {"Account": ACCOUNT, **columns,
                                               "Amount": {"amount": "line.amount"}},
                                   **flow}]})
    f = spec.flows[0]
    out = io.StringIO()
    result = build_file(f, records, lookup_tables(f, {"chartofaccounts": CHART}), out,
                        io.StringIO(), io.StringIO(),
                        accounts={"shipping": Account("a1", "Shipping")})
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    return result, {tuple(r[1:-1]): Decimal(r[-1]) for r in rows[1:]}


def test_a_tag_column_sums_by_option_and_gives_untagged_lines_the_default():
    result, cells = build({"Department": {"tag": "Department", "default": "Unassigned"}})
    # Shipping has no line and so no tag: the document's value (none) -> the default.
    assert cells == {("o1",): Decimal(100), ("o2",): Decimal(10),
                     ("Unassigned",): Decimal(40 + 5 + 7)}
    assert result.defaulted == {"Department": 3}
    _, by_name = build({"Department": {"tag": "t1", "value": "name", "default": "None"}})
    assert set(by_name) == {("Sales",), ("Support",), ("None",)}, "the tag by id, by name"


def test_charges_go_to_the_named_member():
    _, cells = build({"Department": {"tag": "Department", "default": "Unassigned",
                                     "charges": "Freight"}})
    assert cells[("Freight",)] == Decimal(7) and cells[("Unassigned",)] == Decimal(45)


def test_a_location_is_the_lines_else_the_documents_else_the_default():
    _, cells = build({"Location": {"dimension": "location", "default": "No location"}})
    assert cells == {("L2",): Decimal(100), ("L1",): Decimal(40),
                     ("No location",): Decimal(22)}
    _, people = build({"Salesperson": {"dimension": "salesperson", "default": "House"}})
    assert people == {("House",): Decimal(140), ("S9",): Decimal(22)}, \
        "a header dimension holds for every line and the charges of its document"


def test_a_line_with_no_value_and_no_default_stops_the_build_naming_it():
    with pytest.raises(ConfigError, match=r"invoice_id 2 line 1: no reporting tag "
                       r"'Department' on the line or its document, and column 'Department' "
                       r"has no default"):
        build({"Department": {"tag": "Department"}})


def test_a_map_translates_values_and_names_every_unmapped_one_with_its_documents():
    column = {"tag": "Department", "default": "Unassigned", "map": {"o1": "D-SALES"}}
    with pytest.raises(ConfigError) as info:
        build({"Department": column})
    message = str(info.value)
    assert "column 'Department': 'o2' (invoice_id 3)" in message
    assert "nothing was uploaded" in message and "o1" not in message
    result, cells = build({"Department": {**column, "unmapped": "Other"}})
    assert cells == {("D-SALES",): Decimal(100), ("Other",): Decimal(10),
                     ("Unassigned",): Decimal(52)}
    assert result.unmapped == {"Department": {"o2": 1}}


def test_a_map_file_beside_flows_yaml_is_read_and_checked(tmp_path):
    (tmp_path / "departments.csv").write_text("zoho,anaplan\no1,D-SALES\no2,D-SALES\n")
    flows = {"flows": [{"id": "f", "entity": "invoices", "grain": "aggregate",
                        "target": {"import": "X"}, "columns": {
                            "Department": {"tag": "Department", "default": "Unassigned",
                                           "map": "departments.csv"},
                            "Amount": {"amount": "line.item_total"}}}]}
    import yaml

    (tmp_path / "flows.yaml").write_text(yaml.safe_dump(flows))
    spec = load_flows(tmp_path / "flows.yaml")
    assert spec.flows[0].columns["Department"].map == {"o1": "D-SALES", "o2": "D-SALES"}
    (tmp_path / "departments.csv").write_text("zoho,anaplan\no1,D-SALES\no1,D-OPS\n")
    with pytest.raises(ConfigError, match=r"map departments.csv line 3: 'o1' is mapped twice"):
        load_flows(tmp_path / "flows.yaml")


@pytest.mark.parametrize(("columns", "said"), [
    ({"D": {"tag": "Department", "field": "customer_name"}}, "give exactly one of"),
    ({"D": {"field": "customer_name", "default": "X"}}, "default: only for tag and dimension"),
    ({"D": {"tag": "Department", "unmapped": "X"}}, "unmapped: only with map"),
    ({"D": {"dimension": "region"}}, "dimension"),
])
def test_dimension_keys_are_checked_when_the_file_loads(columns, said):
    with pytest.raises(ConfigError, match=said):
        parse_flows({"flows": [{"id": "f", "entity": "invoices", "target": {"import": "X"},
                                "columns": {**columns, "A": {"amount": "total"}}}]})


def test_tags_need_line_items_and_the_ledger_carries_no_dimension():
    with pytest.raises(ConfigError, match="contacts' has no line items"):
        parse_flows({"flows": [{"id": "f", "entity": "contacts", "mode": "full",
                                "target": {"import": "X"},
                                "columns": {"D": {"tag": "Department"}}}]})
    with pytest.raises(ConfigError, match="general ledger carries no reporting tag"):
        parse_flows({"flows": [{"id": "f", "source": "ledger", "grain": "aggregate",
                                "target": {"import": "X"}, "columns": {
                                    "D": {"dimension": "location"},
                                    "P": {"period": "transaction_date"},
                                    "A": {"amount": "amount"}}}]})


COST = {"tag_id": "t2", "tag_name": "Cost Center"}
#: Header ("transaction-level") tags: the first document's on ``transaction_tags``, the
#: second's on ``tags``; the third document has none.
HEADED = [
    invoice("1", [{"item_total": 100, "tags": [{**COST, "tag_option_id": "line-cc",
                                                 "tag_option_name": "Line"}]},
                  {"item_total": 20}], shipping_charge=7,
            transaction_tags=[{**COST, "tag_option_id": "cc1", "tag_option_name": "CC-1"}]),
    invoice("2", [{"item_total": 40}],
            tags=[{**COST, "tag_option_id": "cc2", "tag_option_name": "CC-2"}]),
    invoice("3", [{"item_total": 5, "tags": "not a list"}], shipping_charge=3),
]


def test_a_document_level_tag_holds_for_every_line_and_charge_of_its_document():
    column = {"tag": "Cost Center", "tag_level": "document", "tag_field": "transaction_tags",
              "default": "Unassigned"}
    _, cells = build({"Cost Center": column}, HEADED)
    assert cells == {("cc1",): Decimal(100 + 20 + 7), ("Unassigned",): Decimal(40 + 5 + 3)}, \
        "the line's own tag is not read; a header without the field counts as untagged"
    _, named = build({"Cost Center": {**column, "value": "name", "charges": "Freight"}}, HEADED)
    assert named == {("CC-1",): Decimal(120), ("Unassigned",): Decimal(45),
                     ("Freight",): Decimal(10)}, "charges still take their own member"


def test_a_line_level_tag_falls_back_to_the_document_header_then_the_default():
    _, cells = build({"Cost Center": {"tag": "t2", "default": "Unassigned"}}, HEADED)
    assert cells == {("line-cc",): Decimal(100), ("Unassigned",): Decimal(20 + 7 + 5 + 3),
                     ("cc2",): Decimal(40)}, "document 2's header tags (default field: tags)"
    _, header = build({"Cost Center": {"tag": "t2", "tag_field": "transaction_tags",
                                       "default": "Unassigned"}}, HEADED)
    assert header == {("line-cc",): Decimal(100), ("cc1",): Decimal(20 + 7),
                      ("Unassigned",): Decimal(48)}


def test_charges_hold_for_a_dimension_kept_on_headers_too():
    _, people = build({"Salesperson": {"dimension": "salesperson", "default": "House",
                                       "charges": "Freight"}})
    assert people == {("House",): Decimal(140), ("S9",): Decimal(15),
                      ("Freight",): Decimal(7)}


@pytest.mark.parametrize(("column", "said"), [
    ({"dimension": "location", "tag_level": "document"}, "tag_level: only for tag columns"),
    ({"field": "customer_name", "tag_field": "cf_tags"}, "tag_field: only for tag columns"),
    ({"tag": "Department", "tag_level": "header"}, "tag_level"),
    ({"tag": "Department", "tag_field": "line.tags"}, "tag_field"),
])
def test_tag_level_keys_are_checked_when_the_file_loads(column, said):
    with pytest.raises(ConfigError, match=said):
        parse_flows({"flows": [{"id": "f", "entity": "invoices", "target": {"import": "X"},
                                "columns": {"D": column, "A": {"amount": "total"}}}]})


def test_a_document_level_tag_reads_details_without_reading_lines():
    from ml_connector.flows.reads import reads_details

    flow = parse_flows({"flows": [{"id": "f", "entity": "invoices", "grain": "aggregate",
                                   "target": {"import": "X"}, "columns": {
                                       "D": {"tag": "Department", "tag_level": "document",
                                             "default": "Unassigned"},
                                       "A": {"amount": "sub_total"}}}]}).flows[0]
    assert not flow.uses_lines and reads_details(flow), "Zoho serves tags in details only"
