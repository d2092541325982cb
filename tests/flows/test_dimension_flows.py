"""Actuals allocated to planning dimensions, end to end over HTTP: list flows load the
dimension's lists from Zoho (locations with their parents; reporting-tag options with
theirs), then a fact flow sends invoices less credit notes by account x member x month,
equal to the emulator's own profit and loss by that dimension (its posting rules, sharing
nothing with the connector). The shipping charge and the adjustment, which are not lines,
land on the member the column's ``charges`` names, untagged lines on its ``default``."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest

from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.zoho.pnl import actuals_by, by_location, by_tag

from ..cells import ORG
from ..conftest import MODEL
from .conftest import DEPARTMENT, Flows, books, cells

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
ACCOUNT = {"lookup": {"field": "line.account_id", "entity": "chartofaccounts",
                      "key": "account_id", "value": "account_code"}}
#: What an invoice flow by a dimension reads: invoices less credit notes, as postings.
INVOICE_POSTINGS = {"entity": "invoices", "credits": "creditnotes", "lines": "postings",
                    "accounts": {"shipping": "Shipping Charge", "adjustment": "Other Charges"},
                    "grain": "aggregate"}
FLOWS = {"flows": [
    {"id": "accounts", "entity": "chartofaccounts", "mode": "full",
     "target": {"import": "Accounts from Zoho"},
     "columns": {"Code": {"field": "account_code"}, "Name": {"field": "account_name"},
                 "Type": {"field": "account_type"}}},
    {"id": "location_groups", "entity": "locations", "mode": "full",
     "where": {"parent_location_id": ""},
     "target": {"import": "Location Groups from Zoho"},
     "columns": {"Location ID": {"field": "location_id"},
                 "Name": {"field": "location_name"}}},
    {"id": "locations", "entity": "locations", "mode": "full",
     "target": {"import": "Locations from Zoho"},
     "columns": {"Location ID": {"field": "location_id"}, "Name": {"field": "location_name"},
                 "Parent": {"field": "parent_location_id"}, "Type": {"field": "type"},
                 "Status": {"field": "status"}}},
    {**INVOICE_POSTINGS, "id": "invoice_actuals_by_location",
     "target": {"import": "Invoice Actuals by Account, Location and Month",
                "mapping_parameters": {"Version": "Actual"}},
     "columns": {"Account": ACCOUNT,
                 "Location": {"dimension": "location", "default": "Unassigned"},
                 "Period": {"period": "date"}, "Amount": {"amount": "line.amount"}}},
    {"id": "regions", "entity": "tagoptions", "mode": "full",
     "where": {"tag_name": "Department", "parent_option_id": ""},
     "target": {"import": "Regions from Zoho"},
     "columns": {"Option ID": {"field": "option_id"}, "Name": {"field": "option_name"}}},
    {"id": "departments", "entity": "tagoptions", "mode": "full",
     "where": {"tag_name": "Department", "depth": "1"},
     "target": {"import": "Departments from Zoho"},
     "columns": {"Option ID": {"field": "option_id"}, "Name": {"field": "option_name"},
                 "Parent": {"field": "parent_option_id"}, "Active": {"field": "is_active"}}},
    {**INVOICE_POSTINGS, "id": "invoice_actuals_by_department",
     "target": {"import": "Invoice Actuals by Account, Department and Month",
                "mapping_parameters": {"Version": "Actual"}},
     "columns": {"Account": ACCOUNT,
                 "Department": {"tag": "Department", "default": "Unassigned",
                                "charges": "Unassigned"},
                 "Period": {"period": "date"}, "Amount": {"amount": "line.amount"}}},
]}


def test_invoice_actuals_by_location_equal_the_books(sandbox, zoho_client, anaplan_client,
                                                     tmp_path):
    flows = Flows.of(FLOWS, sandbox, zoho_client, anaplan_client, tmp_path)
    flows.load("accounts", "location_groups", "locations", start=JAN, end=FEB)
    client = anaplan_client()
    lists = {info.name: info.id for info in client.lists()}
    members = {item.code: item for item in client.list_items(lists["Locations"],
                                                             include_all=True)}
    zoho_locations = sandbox.sandbox.zoho.dimensions(ORG).locations_body()["locations"]
    named = {loc["location_id"]: loc["location_name"] for loc in zoho_locations}
    for loc in zoho_locations:  # every location, its name and its parent, as Zoho holds them
        member = members[loc["location_id"]]
        assert member.name == loc["location_name"]
        assert member.parent == named.get(loc["parent_location_id"])
    summary = flows.run("invoice_actuals_by_location", JAN, FEB)
    assert summary.counts.get("failed", 0) == 0 and summary.counts["imported"] > 0
    books = actuals_by(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"], JAN, FEB,
                       by_location(missing="Unassigned"))
    sent = cells(sandbox, "Invoice Actuals by Location", "Locations")
    assert len({loc for _, loc, _ in books}) >= 3, "several locations, Unassigned among them"
    assert sent == {k: v for k, v in books.items() if v}
    assert set(members) >= {loc for _, loc, _ in books}, "Unassigned included: seeded"


def test_invoice_actuals_by_department_equal_the_books(sandbox, zoho_client, anaplan_client,
                                                       tmp_path):
    """Reporting-tag options (``/reportingtags``): the parent options load Regions, the
    others Departments under them (the renamed option by its current name, the inactive
    one kept); then invoice actuals by department, untagged lines and charges on
    Unassigned, equal the emulator's P&L by tag."""
    flows = Flows.of(FLOWS, sandbox, zoho_client, anaplan_client, tmp_path)
    flows.load("accounts", "regions", "departments", start=JAN, end=FEB)
    client = anaplan_client()
    lists = {info.name: info.id for info in client.lists()}
    members = {item.code: item for item in client.list_items(lists["Departments"],
                                                             include_all=True)}
    tag = next(t for t in sandbox.sandbox.zoho.dimensions(ORG).tags if t.name == "Department")
    names = {o.option_id: o.name for o in tag.options}
    for option in tag.options:
        if option.parent_id:
            assert members[option.option_id].name == option.name
            assert members[option.option_id].parent == names[option.parent_id]
    assert any(not o.is_active for o in tag.options if o.parent_id), "an inactive one, kept"
    summary = flows.run("invoice_actuals_by_department", JAN, FEB)
    assert summary.counts.get("failed", 0) == 0
    books = actuals_by(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"], JAN, FEB,
                       DEPARTMENT)
    sent = cells(sandbox, "Invoice Actuals by Department")
    assert len({d for _, d, _ in books}) >= 5 and ("Unassigned" in {d for _, d, _ in books})
    assert sent == {k: v for k, v in books.items() if v}
    charged = charge_postings(sandbox)
    assert {(account, "Unassigned", month) for account, month in charged} <= set(sent)


def charge_postings(sandbox) -> dict[tuple[str, str], Decimal]:
    """January's shipping-charge and adjustment postings of invoices less credit notes per
    (account, month), by the emulator's P&L (its postings with no line); both accounts,
    Shipping Charge and Other Charges, are among them."""
    zoho = sandbox.sandbox.zoho
    found = actuals_by(zoho, ORG, ["invoices", "creditnotes"], JAN, FEB,
                       lambda kind, doc, line: "charge" if line is None else "line")
    charged = {(account, month): amount for (account, member, month), amount in found.items()
               if member == "charge" and amount}
    code = {a["account_name"]: a["account_code"] for a in zoho.documents(ORG, "chartofaccounts")}
    assert {code["Shipping Charge"], code["Other Charges"]} <= {a for a, _ in charged}
    return charged


def test_charges_land_on_their_member_and_untagged_lines_on_the_default(
        sandbox, zoho_client, anaplan_client, tmp_path):
    """``charges: Shared Costs`` beside ``default: Unassigned`` (Shared Costs a member the
    planning model holds in Departments besides Zoho's options): the shipping charges and
    adjustments are Shared Costs' cells exactly, untagged lines are on Unassigned, and the
    cells equal the emulator's P&L by tag with the same two members."""
    spec = copy.deepcopy(FLOWS)
    flow = next(f for f in spec["flows"] if f["id"] == "invoice_actuals_by_department")
    flow["columns"]["Department"] = {**flow["columns"]["Department"],
                                     "charges": "Shared Costs", "list": "Departments"}
    flows = Flows.of(spec, sandbox, zoho_client, anaplan_client, tmp_path)
    flows.load("accounts", "regions", "departments", start=JAN, end=FEB)
    sandbox.sandbox.anaplan.model(MODEL).lists["Departments"].upsert(
        "Shared Costs", "Shared Costs", {})
    summary = flows.run("invoice_actuals_by_department", JAN, FEB)
    assert summary.counts.get("failed", 0) == 0 and summary.counts["imported"] > 0
    expected = books(sandbox, ["invoices", "creditnotes"], by_tag(
        "Department", untagged="Unassigned", charges="Shared Costs"))
    sent = cells(sandbox, "Invoice Actuals by Department")
    assert sent == expected
    assert {(a, m): v for (a, d, m), v in sent.items() if d == "Shared Costs"} == \
        charge_postings(sandbox)
    assert "Unassigned" in {d for _, d, _ in sent}, "untagged lines on the default"


@pytest.mark.parametrize("shape", ["reportingtags", "settings"])
def test_tag_options_read_alike_from_either_tag_list_shape(sandbox_factory, zoho_client, shape):
    """Both observed shapes give the same options (the older one without hierarchy)."""
    from ml_connector.zoho.tags import tag_option_rows

    config = SandboxConfig.model_validate({"zoho": {"dimensions": {"tag_endpoints": shape}}})
    running = sandbox_factory(config)
    rows = list(tag_option_rows(zoho_client(running=running)))
    tags = running.sandbox.zoho.dimensions(ORG).tags
    assert {(r["tag_name"], r["option_id"], r["option_name"]) for r in rows} == {
        (t.name, o.option_id, o.name) for t in tags for o in t.options}
    parents = {r["option_id"]: r["parent_option_id"] for r in rows}
    assert any(parents.values()) == (shape == "reportingtags")
