"""The Anaplan emulator's planning dimensions over real HTTP: lists with parent lists
(Regions > Departments, Location Groups > Locations, Customers > Projects), the list-items
endpoint with parents, actuals by department whose import rejects an unknown member, and
the configurable handling of a list import's text."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator

import pytest

from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.server import RunningSandbox, start_sandbox

from .test_anaplan_emulator import MODEL, TIMING, Anaplan, M, counts, table

LISTS = {"Regions": "101000000006", "Departments": "101000000007",
         "Location Groups": "101000000008", "Locations": "101000000009",
         "Customers": "101000000002", "Projects": "101000000010", "Accounts": "101000000001"}
IMPORTS = {"Regions": ("112000000010", "113000000009"),
           "Departments": ("112000000011", "113000000010"),
           "Location Groups": ("112000000012", "113000000011"),
           "Locations": ("112000000013", "113000000012"),
           "Projects": ("112000000014", "113000000013"),
           "Customers": ("112000000002", "113000000002"),
           "Accounts": ("112000000001", "113000000001"),
           "Invoice Actuals by Department": ("112000000016", "113000000015"),
           "Bill Actuals by Location": ("112000000019", "113000000018")}
#: The mapping parameter of the actuals-by-department imports: they write the Actual version.
ACTUAL = [{"entityType": "Version", "entityName": "Actual"}]
REGIONS = table(["Option ID", "Name"], ["100", "Americas"], ["200", "EMEA"])
DEPARTMENTS = table(["Option ID", "Name", "Parent", "Active"],
                    ["101", "Sales", "100", "true"], ["102", "Events", "EMEA", "false"],
                    ["103", "Legal", "300", "true"], ["104", "Floating", "", "true"])


@pytest.fixture
def start() -> Iterator[Callable[..., Anaplan]]:
    """Start sandboxes with these Anaplan settings (and deterministic timing), logged in."""
    running: list[RunningSandbox] = []

    def make(**anaplan) -> Anaplan:
        server = start_sandbox(SandboxConfig.model_validate({"anaplan": {"timing": TIMING,
                                                                         **anaplan}}))
        running.append(server)
        client = Anaplan(server)
        client.login()
        return client

    yield make
    for server in running:
        server.stop()


def load(ap: Anaplan, target: str, data: bytes) -> dict:
    action, file_id = IMPORTS[target]
    return ap.run(action, file_id, data)["result"]


def items(ap: Anaplan, target: str, **params) -> dict[str, dict]:
    response = ap.get(f"{M}/lists/{LISTS[target]}/items", params=params)
    assert response.status_code == 200, response.text
    return {i["name"]: i for i in response.json()["listItems"]}


def dump(ap: Anaplan, action: str) -> list[dict]:
    task_id = ap.get(f"{M}/imports/{action}/tasks").json()["tasks"][-1]["taskId"]
    text = ap.get(f"{M}/imports/{action}/tasks/{task_id}/dump").text
    return list(csv.DictReader(io.StringIO(text)))


def test_a_hierarchy_loads_parents_first_and_lists_them_with_their_members(start):
    ap = start()
    assert counts(load(ap, "Regions", REGIONS))["successRowCount"] == 2
    result = load(ap, "Departments", DEPARTMENTS)
    assert (counts(result)["successRowCount"], counts(result)["failedCount"]) == (3, 1)
    [rejected] = dump(ap, IMPORTS["Departments"][0])
    assert (rejected["Name"], rejected["_Error_1_"]) == (
        "Legal", "Parent not located in Regions list: '300'")
    full = items(ap, "Departments", includeAll="true")
    regions = items(ap, "Regions", includeAll="true")
    assert set(full) == {"Unassigned", "Sales", "Events", "Floating"}
    assert (full["Sales"]["parent"], full["Sales"]["parentId"]) == (
        "Americas", regions["Americas"]["id"])
    assert full["Events"]["parent"] == "EMEA", "a parent found by its name"
    assert full["Events"]["properties"] == {"Active": "false"}
    assert "parent" not in full["Floating"] and "parent" not in full["Unassigned"]
    brief = items(ap, "Departments")
    assert set(brief["Sales"]) == {"id", "name", "code"}
    # A renamed option keeps its code: the member is renamed, not duplicated; moved too.
    load(ap, "Departments", table(["Option ID", "Name", "Parent", "Active"],
                                  ["101", "Field Sales", "200", "true"]))
    after = items(ap, "Departments", includeAll="true")
    assert set(after) == {"Unassigned", "Field Sales", "Events", "Floating"}
    assert after["Field Sales"]["id"] == full["Sales"]["id"]
    assert after["Field Sales"]["parent"] == "EMEA"
    admin = ap.emu.list_items(MODEL, "Departments")
    assert {i["code"]: i["parent"] for i in admin} == {
        "Unassigned": "", "101": "200", "102": "200", "104": ""}


def test_locations_and_projects_hang_under_their_parent_lists(start):
    ap = start()
    load(ap, "Location Groups", table(["Location ID", "Name"], ["L1", "North America"]))
    result = load(ap, "Locations", table(
        ["Location ID", "Name", "Parent", "Type", "Status"],
        ["L2", "San Francisco", "L1", "general", "active"],
        ["L3", "Oakland Warehouse", "L1", "line_item_only", "active"]))
    assert counts(result)["failedCount"] == 0
    located = items(ap, "Locations", includeAll="true")
    assert located["Oakland Warehouse"]["parent"] == "North America"
    assert located["Oakland Warehouse"]["properties"] == {"Type": "line_item_only",
                                                          "Status": "active"}
    load(ap, "Customers", table(["Contact ID", "Name", "Currency"], ["C1", "Blue Labs", "USD"]))
    result = load(ap, "Projects", table(["Project ID", "Name", "Customer", "Status"],
                                        ["P1", "ERP Rollout", "C1", "active"],
                                        ["P2", "Orphan", "C9", "active"]))
    assert counts(result)["failedCount"] == 1
    assert items(ap, "Projects", includeAll="true")["ERP Rollout"]["parent"] == "Blue Labs"


def test_an_actuals_import_rejects_an_unknown_department(start):
    ap = start()
    load(ap, "Accounts", table(["Code", "Name", "Type"], ["4000", "Sales", "income"]))
    load(ap, "Regions", REGIONS)
    load(ap, "Departments", DEPARTMENTS)
    action, file_id = IMPORTS["Invoice Actuals by Department"]
    meta = ap.get(f"{M}/imports/{action}").json()["importMetadata"]["source"]
    assert meta["headerNames"] == ["Account", "Department", "Period", "Amount"]
    rows = table(["Account", "Department", "Period", "Amount"],
                 ["4000", "101", "Jan 26", "100.5"], ["4000", "Unassigned", "Jan 26", "7"],
                 ["4000", "999", "Jan 26", "3"], ["4000", "Legal", "Feb 26", "4"])
    result = ap.run(action, file_id, rows, ACTUAL)["result"]
    assert (counts(result)["successRowCount"], counts(result)["failedCount"]) == (2, 2)
    assert result["failureDumpAvailable"] is True
    errors = {row["Department"]: row["_Error_1_"] for row in dump(ap, action)}
    assert errors == {"999": "Item not located in Departments list: '999'",
                      "Legal": "Item not located in Departments list: 'Legal'"}
    held = ap.cells("Invoice Actuals by Department")
    assert {k: v for k, v in held.items() if k[2] == "Actual"} == {
        ("4000", "101", "Actual", "Jan 26"): {"Amount": 100.5},
        ("4000", "Unassigned", "Actual", "Jan 26"): {"Amount": 7.0}}
    # The model's Budget, entered by department name, is held for the departments and
    # accounts that are members now (Sales and Events, account 4000), never for the others.
    assert {k for k in held if k[2] == "Budget"} == {
        ("4000", code, "Budget", month) for code in ("101", "102")
        for month in ("Jan 26", "Feb 26", "Mar 26")}
    assert held[("4000", "101", "Budget", "Jan 26")] == {"Amount": 600000.0}
    location = IMPORTS["Bill Actuals by Location"]
    result = ap.run(*location, table(["Account", "Location", "Period", "Amount"],
                                     ["4000", "L9", "Jan 26", "1"]), ACTUAL)["result"]
    assert counts(result)["failedCount"] == 1, "no location is loaded yet"


def test_list_text_is_kept_exactly_when_configured(start):
    kept = start(list_text={"trim_names": False, "blank_name": "keep"},
                 list_items={"parent_code_field": "parentCode", "parent_name_field": None,
                             "codes_without_include_all": False})
    load(kept, "Regions", table(["Option ID", "Name"], ["100", " Americas "], ["200", ""]))
    full = {i["code"]: i for i in kept.get(
        f"{M}/lists/{LISTS['Regions']}/items", params={"includeAll": "true"}).json()["listItems"]}
    assert (full["100"]["name"], full["200"]["name"]) == (" Americas ", "")
    brief = kept.get(f"{M}/lists/{LISTS['Regions']}/items").json()["listItems"]
    assert all(set(i) == {"id", "name"} for i in brief)
    load(kept, "Departments", table(["Option ID", "Name", "Parent", "Active"],
                                    ["101", "Sales", "100", "true"]))
    sales = items(kept, "Departments", includeAll="true")["Sales"]
    assert (sales["parentCode"], "parent" in sales) == ("100", False)
    assert sales["parentId"] == full["100"]["id"]

    rejecting = start(list_text={"blank_name": "reject"})
    result = load(rejecting, "Regions", table(["Option ID", "Name"], ["100", "  "],
                                              ["200", "EMEA"]))
    assert (counts(result)["successRowCount"], counts(result)["failedCount"]) == (1, 1)
    defaults = start()
    load(defaults, "Regions", table(["Option ID", "Name"], ["100", " Americas "], ["200", ""]))
    named = items(defaults, "Regions")
    assert set(named) == {"Americas", "200"}, "trimmed, and the code for a blank name"
