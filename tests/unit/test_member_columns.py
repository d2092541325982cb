"""``list:`` columns and ``loads:`` list flows: what the spec accepts, the list flows a fact
flow waits for, the plan's member check, and what the build keeps for its error (the
documents of each value, bounded)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ml_connector.errors import ConfigError
from ml_connector.flows import members
from ml_connector.flows.files import Carried, decode_lines
from ml_connector.flows.mapping import build_file, lookup_tables
from ml_connector.flows.members import (
    Members,
    file_values,
    missing_error,
    not_members,
)
from ml_connector.flows.plan import flow_plan
from ml_connector.flows.run import first_loads
from ml_connector.flows.spec import list_loads, parse_flows

from .test_dimension_columns import ACCOUNT, CHART, DOCUMENTS, SUPPORT, TAGGED, invoice

LIST_FLOW = {"id": "departments", "entity": "tagoptions", "mode": "full",
             "loads": "Departments", "target": {"import": "Departments from Zoho"},
             "columns": {"Option ID": {"field": "option_id"}}}


def fact(grain: str = "aggregate", **department) -> dict:
    return {"id": "by_department", "entity": "invoices", "grain": grain,
            "target": {"import": "X"},
            "columns": {"Account": {**ACCOUNT, "list": "Accounts"},
                        "Department": {"tag": "Department", "default": "Unassigned",
                                       "list": "Departments", **department},
                        "Amount": {"amount": "line.item_total"}}}


def test_list_names_a_member_columns_list_and_loads_a_list_flows():
    spec = parse_flows({"flows": [LIST_FLOW, fact()]})
    flow = spec.flows[1]
    assert flow.member_lists == {"Accounts": ["Account"], "Departments": ["Department"]}
    assert list_loads(spec.flows) == {"Departments": ["departments"]}
    for column in ({"amount": "total", "list": "Accounts"},
                   {"period": "date", "list": "Time"}):
        with pytest.raises(ConfigError, match="list: names the list of a member column"):
            parse_flows({"flows": [{**fact(), "columns": {"X": column}}]})
    with pytest.raises(ConfigError, match=r"flows\[0\] \(f\): loads: names the list a list "
                       "flow writes: it needs mode 'full'"):
        parse_flows({"flows": [{**fact(), "id": "f", "loads": "Departments"}]})


def test_the_members_a_column_gives_itself():
    column = parse_flows({"flows": [fact(charges="Freight", map={"o1": "D-SALES"},
                                         unmapped="Other")]}).flows[0].columns["Department"]
    assert column.own_members() == {"D-SALES": "map", "Other": "unmapped",
                                    "Freight": "charges", "Unassigned": "default"}


def test_a_flow_waits_for_the_list_flows_of_its_lookups_and_of_its_lists():
    spec = parse_flows({"flows": [LIST_FLOW, fact()]})
    found = first_loads(spec.flows[1], {"chartofaccounts": ["accounts"]},
                        list_loads(spec.flows))
    assert set(found) == {"accounts", "departments"}
    assert found["departments"].startswith(
        "flow departments has not loaded its list into Anaplan yet; by_department sends "
        "members of the Anaplan list Departments")
    assert "airflow dags test zoho_departments" in found["departments"]
    assert first_loads(spec.flows[0], {}, list_loads(spec.flows)) == {}


def test_the_member_check_runs_between_build_and_import_only_for_list_columns():
    spec = parse_flows({"flows": [LIST_FLOW, fact()]})
    steps = flow_plan(spec.flows[1], spec.defaults)
    names = [s.name for s in steps]
    assert names.index("build") < names.index("check_members") < names.index("import")
    check = steps.step("check_members")
    assert check.upstream() == ["build"] and check.pool == "anaplan"
    assert "check_members" in steps.step("import").upstream()
    assert "check_members" not in [s.name for s in flow_plan(spec.flows[0], spec.defaults)]


def built(records, grain: str = "aggregate", **department) -> tuple:
    """The import file, its ``list:`` columns' values and the documents kept for them."""
    flow = parse_flows({"flows": [fact(grain, **department)]}).flows[0]
    out, values = io.StringIO(), io.StringIO()
    build_file(flow, records, lookup_tables(flow, {"chartofaccounts": CHART}), out,
               io.StringIO(), io.StringIO(), values_out=values)
    return flow, out.getvalue(), decode_lines(values.getvalue(), Carried)


@pytest.mark.parametrize("grain", ["aggregate", "record"])
def test_the_build_keeps_the_documents_of_each_value(grain, tmp_path):
    flow, text, kept = built(DOCUMENTS, grain)
    documents = {(c.column, c.value): (c.documents, c.count) for c in kept}
    assert documents == {("Account", "4000"): (["invoice_id 1", "invoice_id 2",
                                                "invoice_id 3"], 3),
                         ("Department", "o1"): (["invoice_id 1"], 1),
                         ("Department", "o2"): (["invoice_id 3"], 1),
                         ("Department", "Unassigned"): (["invoice_id 2", "invoice_id 3"], 2)}
    path = Path(tmp_path / "f.csv")
    path.write_text(text)
    assert file_values(flow, path) == {"Account": {"4000"},
                                       "Department": {"o1", "o2", "Unassigned"}}


def test_the_documents_kept_are_bounded(monkeypatch):
    """Five documents a value, then a count; past MAX_VALUES values a column, none."""
    monkeypatch.setattr(members, "MAX_VALUES", 2)
    many = [invoice(str(n), [{"item_total": 1, "tags": TAGGED}]) for n in range(8)]
    other = [invoice("9", [{"item_total": 1, "tags": SUPPORT}]),
             invoice("10", [{"item_total": 1, "tags": []}])]
    _, _, kept = built(many + other)
    department = {c.value: (c.documents, c.count) for c in kept if c.column == "Department"}
    assert department == {"o1": ([f"invoice_id {n}" for n in range(5)], 8),
                          "o2": (["invoice_id 9"], 1)}, "Unassigned came third: not kept"


def test_the_error_names_each_value_its_documents_and_the_fix(tmp_path):
    flow, text, kept = built(DOCUMENTS, default="Nowhere")
    path = tmp_path / "f.csv"
    path.write_text(text)
    lists = {"Accounts": Members("101", frozenset({"4000", "Sales"}), 2),
             "Departments": Members("102", frozenset({"o1", "Sales"}), 2)}
    missing = not_members(flow, file_values(flow, path), lists)
    assert missing == {"Department": {"o2", "Nowhere"}}
    error = missing_error(flow, missing, {(c.column, c.value): c for c in kept},
                          {"Departments": ["departments"]})
    assert str(error).splitlines() == [
        "flow by_department: 2 value(s) are not members of their Anaplan list (no member "
        "has it as code or name), so the import would reject their rows; nothing was "
        "uploaded:",
        "  column 'Department' (list Departments): 'Nowhere' (invoice_id 2, invoice_id 3; "
        "the column's default); 'o2' (invoice_id 3)",
        "  fix: if Zoho holds them, load them into Departments with list flow departments "
        "(airflow dags test zoho_departments), then run this flow again; or send them to an "
        "existing member with the column's map: (and unmapped: <member> for values it does "
        "not name); a member the column gives itself: correct it in flows.yaml"]
