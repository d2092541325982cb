"""A member crosswalk kept in Anaplan, over HTTP: the planning model's Departments are one
member per region, each holding in its "Zoho Option" property the Zoho reporting-tag
options it takes (several, separated by ';'); a flow whose department column maps through
the list's export sends invoice actuals per account x planning member x month equal to the
emulator's P&L by tag with that crosswalk applied here, independently. The export is read
once per run."""

from __future__ import annotations

import copy
import csv
import io
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

from ..cells import CENT, ORG
from ..conftest import MODEL
from .conftest import DEPARTMENT, Flows, books, cells
from .test_dimension_flows import FLOWS

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
CROSSWALK = {"export": "Departments Crosswalk.csv", "zoho": "Zoho Option", "anaplan": "Code",
             "separator": ";"}


def spec() -> dict:
    flows = copy.deepcopy(FLOWS)
    by_department = next(f for f in flows["flows"] if f["id"] == "invoice_actuals_by_department")
    by_department["columns"]["Department"]["map"] = CROSSWALK
    return flows


def planning_members(sandbox) -> dict[str, str]:
    """Each Zoho option of the Department tag -> the planning member of its top option
    (region); the members are created in Anaplan with their options in "Zoho Option"."""
    tag = next(t for t in sandbox.sandbox.zoho.dimensions(ORG).tags if t.name == "Department")
    parent = {o.option_id: o.parent_id for o in tag.options}

    def top(option: str) -> str:
        while parent.get(option):
            option = parent[option]
        return option

    crosswalk = {o.option_id: f"PLAN-{top(o.option_id)}" for o in tag.options}
    departments = sandbox.sandbox.anaplan.model(MODEL).lists["Departments"]
    for member in sorted(set(crosswalk.values())):
        options = sorted(o for o, m in crosswalk.items() if m == member)
        departments.upsert(member, f"Planning {member}", {"Zoho Option": ";".join(options)})
    return crosswalk


def test_departments_map_through_an_anaplan_list_export(sandbox, zoho_client, anaplan_client,
                                                        tmp_path):
    flows = Flows.of(spec(), sandbox, zoho_client, anaplan_client, tmp_path)
    flows.load("accounts", start=JAN, end=FEB)
    crosswalk = planning_members(sandbox)
    assert max(Counter(crosswalk.values()).values()) >= 2, "many options to one member"
    anaplan = sandbox.sandbox.anaplan
    anaplan.reset_stats()
    summary = flows.run("invoice_actuals_by_department", JAN, FEB)
    assert summary.counts.get("failed", 0) == 0 and summary.counts["imported"] > 0
    by_path = anaplan.stats()["by_path"]
    export_tasks = sum(sum(statuses.values()) for path, statuses in by_path.items()
                       if path.startswith("POST") and "/exports/" in path)
    assert export_tasks == 1, by_path  # the crosswalk, read once for the run
    expected: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for (account, option, month), amount in books(sandbox, ["invoices", "creditnotes"],
                                                  DEPARTMENT, JAN, FEB).items():
        expected[(account, crosswalk.get(option, option), month)] += amount
    sent = cells(sandbox, "Invoice Actuals by Department")
    members = {d for _, d, _ in sent}
    assert members <= {*crosswalk.values(), "Unassigned"} and len(members) >= 3
    assert sent == {k: v.quantize(CENT) for k, v in expected.items() if v}


def test_a_list_export_gives_each_member_with_its_code_parent_and_properties(sandbox,
                                                                             anaplan_client):
    departments = sandbox.sandbox.anaplan.model(MODEL).lists["Departments"]
    departments.upsert("PLAN-1", "Planning One", {"Zoho Option": "11;12", "Active": "true"})
    client = anaplan_client()
    export = client.find_export("Departments Crosswalk.csv")
    metadata = client.export_metadata(export.id)
    header = ["Departments", "Code", "Parent", "Active", "Zoho Option"]
    assert metadata.header_names == header and metadata.row_count == 2
    rows = list(csv.reader(io.StringIO(client.run_export(
        export.id, sleep=sandbox.sandbox.clock.advance).decode())))
    assert rows == [header, ["Unassigned", "Unassigned", "", "", ""],
                    ["Planning One", "PLAN-1", "", "true", "11;12"]]
