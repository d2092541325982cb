"""The planning-dimension flows of ``dags/flows.yaml`` as shipped, over HTTP: the list flows
load every dimension list of the demo model from Zoho, the monthly invoice and bill flows by
department equal the emulator's own profit and loss by tag and are read back equal by their
verify step, the daily flow moves a line whose department changed in Zoho the same day, and
an option renamed in Zoho renames its member on the next run of the department list flow."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from ml_connector.errors import ListNotLoaded
from ml_connector.flows.spec import load_flows
from ml_connector.state.verifications import VerificationLog

from ..cells import ORG
from ..conftest import MODEL
from .conftest import DEPARTMENT, ROOT, Flows, books, cells

JAN, FEB, APR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 4, 1)
#: The list flows in the order their parents need, and the Anaplan list each loads.
LISTS = {"accounts": "Accounts", "customers": "Customers", "regions": "Regions",
         "departments": "Departments", "location_groups": "Location Groups",
         "locations": "Locations", "projects": "Projects", "items": "Items"}
#: Each flow by department: its documents and the module it writes.
BY_DEPARTMENT = {"invoice_actuals_by_department": (["invoices", "creditnotes"],
                                                   "Invoice Actuals by Department"),
                 "bill_actuals_by_department": (["bills", "vendorcredits"],
                                                "Bill Actuals by Department")}


def test_list_flows_load_every_dimension_list(flows, sandbox, anaplan_client):
    flows.load(*LISTS, start=JAN, end=FEB)
    client = anaplan_client()
    lists = {info.name: info.id for info in client.lists()}
    zoho = sandbox.sandbox.zoho
    projects = zoho.dimensions(ORG).projects_body({}, lambda _: (1, 10_000))["projects"]
    expected = {
        "Projects": {p["project_id"]: p["project_name"] for p in projects},
        "Items": {i["item_id"]: i["name"] for i in zoho.documents(ORG, "items")},
        "Locations": {loc["location_id"]: loc["location_name"]
                      for loc in zoho.dimensions(ORG).locations_body()["locations"]},
    }
    for name, members in expected.items():
        held = {m.code: m.name for m in client.list_items(lists[name], include_all=True)}
        assert members and {c: held.get(c) for c in members} == members, name
    customers = {c["contact_id"]: c["contact_name"] for c in zoho.documents(ORG, "contacts")}
    members = {m.code: m for m in client.list_items(lists["Projects"], include_all=True)}
    for project in projects:  # each under its customer (a parent is named in Anaplan)
        assert members[project["project_id"]].parent == customers[project["customer_id"]]
    # An option Zoho marks inactive stays a member, and each run says so.
    tag = next(t for t in zoho.dimensions(ORG).tags if t.name == "Department")
    inactive = {o.option_id for o in tag.options if o.parent_id and not o.is_active}
    held = {m.code for m in client.list_items(lists["Departments"], include_all=True)}
    assert inactive and inactive <= held
    assert flows.run("departments", JAN, FEB).text["inactive"] == len(inactive)


def test_a_tag_list_flow_reads_only_its_tag(flows, sandbox):
    """``where: {tag_name: Department}``: the tag list, then that tag's options alone
    (the organization's other tags are not read)."""
    zoho = sandbox.sandbox.zoho
    tags = {t.tag_id: t.name for t in zoho.dimensions(ORG).tags}
    assert len(tags) >= 2, "another tag, not read"
    zoho.reset_stats()
    flows.load("regions")
    paths = zoho.stats()["organizations"][ORG]["by_path"]
    assert paths == {"/books/v3/reportingtags": 1,
                     "/books/v3/reportingtags/{id}/options/all": 1}, paths


def test_a_child_list_waits_for_its_parent_list(sandbox, zoho_client, anaplan_client,
                                                tmp_path):
    """Departments name their Region (``Parent: {..., list: Regions}``): before regions
    has loaded, departments stops before reading Zoho and names the flow to run; after it,
    every parent is checked a member before the upload and the departments load."""
    flows = Flows.of(load_flows(ROOT / "dags" / "flows.yaml"), sandbox, zoho_client,
                     anaplan_client, tmp_path, list_rules=True)
    with pytest.raises(ListNotLoaded, match="airflow dags test zoho_regions"):
        flows.run("departments", JAN, FEB)
    flows.load("regions", "departments")


def test_actuals_by_department_equal_the_books_and_read_back(flows, sandbox):
    flows.load(*LISTS, start=JAN, end=FEB)
    for flow, (kinds, module) in BY_DEPARTMENT.items():
        summary = flows.run(flow, JAN, FEB)
        assert summary.counts.get("failed", 0) == 0 and summary.counts["imported"] > 0, flow
        checks = VerificationLog(flows.store).query(flow=flow, limit=10)
        assert [(c["window_start"][:7], c["status"], c["differences"]) for c in checks] == [
            ("2026-01", "verified", 0)], flow
        expected = books(sandbox, kinds, DEPARTMENT, JAN, FEB)
        assert len({d for _, d, _ in expected}) >= 5
        assert cells(sandbox, module) == expected, flow


def test_daily_flow_moves_a_line_whose_department_changed(flows, sandbox):
    """A January invoice's tagged line is moved to another department in Zoho: the next
    daily run rebuilds January, and both departments' cells equal the books again."""
    flows.load(*LISTS, start=JAN, end=FEB)
    daily, (kinds, module) = "invoice_actuals_by_department_daily", BY_DEPARTMENT[
        "invoice_actuals_by_department"]
    assert flows.run(daily, APR, date(2026, 4, 2)).counts.get("failed", 0) == 0
    assert cells(sandbox, module) == books(sandbox, kinds, DEPARTMENT, JAN, APR)
    zoho = sandbox.sandbox.zoho
    tag = next(t for t in zoho.dimensions(ORG).tags if t.name == "Department")
    invoice, line, entry = next(
        (i, n, e) for i in zoho.documents(ORG, "invoices", "2026-01", "2026-02")
        if i["status"] not in ("draft", "void")
        for n, line in enumerate(i["line_items"]) for e in line.get("tags", [])
        if e["tag_name"] == "Department")
    other = next(o for o in tag.options if o.parent_id and o.is_active
                 and o.option_id != entry["tag_option_id"])
    lines = [dict(x) for x in invoice["line_items"]]
    lines[line]["tags"] = [
        {**e, "tag_option_id": other.option_id, "tag_option_name": other.name}
        if e["tag_name"] == "Department" else e for e in lines[line]["tags"]]
    zoho.edit_record(ORG, "invoices", invoice["invoice_id"], {"line_items": lines})
    before = cells(sandbox, module)
    assert flows.run(daily, date(2026, 4, 2), date(2026, 4, 3)).counts.get("failed", 0) == 0
    expected = books(sandbox, kinds, DEPARTMENT, JAN, APR)
    assert cells(sandbox, module) == expected
    moved = {k[1] for k in set(expected) | set(before) if expected.get(k) != before.get(k)}
    assert {entry["tag_option_id"], other.option_id} <= moved


def test_a_renamed_option_renames_its_member_and_adds_none(flows, sandbox):
    """A Department option renamed through the Zoho sandbox's admin route between two runs
    of ``departments``: the member with its id as code takes the name the Zoho emulator now
    holds, and Departments keeps one member per code and as many members as before."""
    flows.load("regions", "departments")
    zoho, anaplan = sandbox.sandbox.zoho, sandbox.sandbox.anaplan
    tag = next(t for t in zoho.dimensions(ORG).tags if t.name == "Department")
    option = next(o for o in tag.options if o.parent_id and o.is_active)
    old = option.name
    before = anaplan.list_items(MODEL, "Departments")
    assert [m["name"] for m in before if m["code"] == option.option_id] == [old]
    edited = httpx.post(f"{sandbox.base_url}/_sandbox/zoho/orgs/{ORG}/reportingtags/"
                        f"{tag.tag_id}/options/{option.option_id}/edit",
                        json={"changes": {"option_name": f"{old} Renamed"}})
    assert edited.status_code == 200, edited.text
    renamed = next(o.name for o in zoho.dimensions(ORG).tag(tag.tag_id).options
                   if o.option_id == option.option_id)
    assert renamed != old
    flows.load("departments")
    after = anaplan.list_items(MODEL, "Departments")
    assert [m["name"] for m in after if m["code"] == option.option_id] == [renamed]
    assert len(after) == len(before) and old not in {m["name"] for m in after}
