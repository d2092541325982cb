"""Actuals allocated to a planning dimension, end to end over HTTP: list flows load the
Location Groups and Locations lists from Zoho's ``/locations``, then a fact flow sends
invoices less credit notes by account x location x month, equal to the emulator's own
profit and loss by location (its posting rules, sharing nothing with the connector)."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from ml_connector.flows.spec import parse_flows
from ml_connector.state.store import StateStore
from ml_connector_sandbox.zoho.pnl import actuals_by, by_location

from ..cells import CENT, ORG
from ..conftest import MODEL
from .conftest import Flows

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
ACCOUNT = {"lookup": {"field": "line.account_id", "entity": "chartofaccounts",
                      "key": "account_id", "value": "account_code"}}
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
    {"id": "invoice_actuals_by_location", "entity": "invoices", "credits": "creditnotes",
     "lines": "postings", "accounts": {"shipping": "Shipping Charge",
                                       "adjustment": "Other Charges"},
     "grain": "aggregate", "target": {"import": "Invoice Actuals by Account, Location and "
                                                "Month"},
     "columns": {"Account": ACCOUNT,
                 "Location": {"dimension": "location", "default": "Unassigned"},
                 "Period": {"period": "date"}, "Amount": {"amount": "line.amount"}}},
]}


def test_invoice_actuals_by_location_equal_the_books(sandbox, zoho_client, anaplan_client,
                                                     tmp_path):
    flows = Flows(parse_flows(FLOWS), StateStore.sqlite(tmp_path / "state.db"), tmp_path,
                  sandbox, zoho_client, anaplan_client, itertools.count(1))
    for list_flow in ("accounts", "location_groups", "locations"):
        assert flows.run(list_flow, JAN, FEB).counts.get("failed", 0) == 0
    anaplan = sandbox.sandbox.anaplan
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
    sent = {(c["dimensions"]["Accounts"], c["dimensions"]["Locations"], c["dimensions"]["Time"]):
            Decimal(repr(c["values"]["Amount"])).quantize(CENT)
            for c in anaplan.module_cells(MODEL, "Invoice Actuals by Location")}
    assert len({loc for _, loc, _ in books}) >= 3, "several locations, Unassigned among them"
    assert sent == {k: v for k, v in books.items() if v}
    assert set(members) >= {loc for _, loc, _ in books}, "Unassigned included: seeded"
