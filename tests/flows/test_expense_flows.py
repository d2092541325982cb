"""Expense actuals, end to end over HTTP: an expense has no line items, so a flow with
``lines: postings`` reads it as one posting (its account, its amount net of tax) and splits
it by the location and project on its header; the cells equal the emulator's own profit and
loss of its expenses (sharing nothing with the connector). Zoho's expense list rows lack the
account id, the amounts net of tax and the project, so the flow reads each expense's detail
once: a rerun of the month is served from the detail cache."""

from __future__ import annotations

from datetime import date

from ml_connector_sandbox.zoho.pnl import by_location, by_project

from ..cells import ORG
from .conftest import Flows, books, cells
from .test_dimension_flows import ACCOUNT
from .test_dimension_flows import FLOWS as DIMENSION_FLOWS

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
DETAIL = "/books/v3/expenses/{id}"


def lists(*ids: str) -> list[dict]:
    return [f for f in DIMENSION_FLOWS["flows"] if f["id"] in ids]


FLOWS = {"flows": [
    *lists("accounts", "location_groups", "locations"),
    {"id": "customers", "entity": "contacts", "mode": "full",
     "where": {"contact_type": "customer"}, "target": {"import": "Customers from Zoho"},
     "columns": {"Contact ID": {"field": "contact_id"}, "Name": {"field": "contact_name"},
                 "Currency": {"field": "currency_code"}}},
    {"id": "projects", "entity": "projects", "mode": "full",
     "target": {"import": "Projects from Zoho"},
     "columns": {"Project ID": {"field": "project_id"}, "Name": {"field": "project_name"},
                 "Customer": {"field": "customer_id"}, "Status": {"field": "status"}}},
    {"id": "expense_actuals_by_location", "entity": "expenses", "lines": "postings",
     "grain": "aggregate",
     "target": {"import": "Expense Actuals by Account, Location and Month",
                "mapping_parameters": {"Version": "Actual"}},
     "columns": {"Account": ACCOUNT,
                 "Location": {"dimension": "location", "default": "Unassigned"},
                 "Period": {"period": "date"}, "Amount": {"amount": "line.amount"}}},
    {"id": "expense_actuals_by_project", "entity": "expenses", "lines": "postings",
     "grain": "aggregate",
     "target": {"import": "Project Actuals by Account, Project and Month",
                "mapping_parameters": {"Version": "Actual"}},
     "columns": {"Account": ACCOUNT,
                 "Project": {"dimension": "project", "default": "Unassigned"},
                 "Period": {"period": "date"}, "Amount": {"amount": "line.amount"}}},
]}


def details_fetched(sandbox) -> int:
    return sandbox.sandbox.zoho.stats()["organizations"][ORG]["by_path"].get(DETAIL, 0)


def test_expense_actuals_by_location_equal_the_books_and_details_are_read_once(
        sandbox, zoho_client, anaplan_client, tmp_path):
    flows = Flows.of(FLOWS, sandbox, zoho_client, anaplan_client, tmp_path)
    flows.load("accounts", "location_groups", "locations", start=JAN, end=FEB)
    january = list(sandbox.sandbox.zoho.documents(ORG, "expenses", "2026-01-01",
                                                  "2026-02-01"))
    assert any(e["is_inclusive_tax"] for e in january) and any(
        not e["is_inclusive_tax"] for e in january), "tax included and added"
    assert any(e["currency_code"] != "USD" for e in january), "foreign-currency expenses"
    row = zoho_client().get("/expenses", params={"date_start": "2026-01-01",
                                                 "date_end": "2026-01-31"})["expenses"][0]
    assert "sub_total" not in row and "project_id" not in row, "the detail has them"

    summary = flows.run("expense_actuals_by_location", JAN, FEB)
    assert summary.counts.get("failed", 0) == 0 and summary.counts["imported"] == len(january)
    expected = books(sandbox, ["expenses"], by_location(missing="Unassigned"), JAN, FEB)
    assert len({loc for _, loc, _ in expected}) >= 3, "several locations"
    assert cells(sandbox, "Expense Actuals by Location", "Locations") == expected
    assert details_fetched(sandbox) == len(january), "one detail request per expense"

    again = flows.run("expense_actuals_by_location", JAN, FEB)
    assert again.counts["imported"] == len(january)
    assert details_fetched(sandbox) == len(january), "the rerun reads no detail again"
    assert cells(sandbox, "Expense Actuals by Location", "Locations") == expected


def test_expense_actuals_by_project_equal_the_books(sandbox, zoho_client, anaplan_client,
                                                    tmp_path):
    """The project is on the expense's header, in its detail only (not its list row)."""
    flows = Flows.of(FLOWS, sandbox, zoho_client, anaplan_client, tmp_path)
    flows.load("accounts", "customers", "projects", start=JAN, end=FEB)
    summary = flows.run("expense_actuals_by_project", JAN, FEB)
    assert summary.counts.get("failed", 0) == 0
    expected = books(sandbox, ["expenses"], by_project(missing="Unassigned"), JAN, FEB)
    projects = {p for _, p, _ in expected}
    assert "Unassigned" in projects and len(projects) >= 2, "expenses with and without one"
    assert cells(sandbox, "Project Actuals", "Projects") == expected
