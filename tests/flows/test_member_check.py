"""The member check over HTTP: a flow whose ``list:`` columns send a value that is not a
member of its Anaplan list stops before the upload, naming the value, its documents and the
list flow to run; with every member loaded the same run imports; a ``list:`` column whose
list flow never loaded refuses to run. Oracles: the sandbox's own documents, lists, tasks
and files."""

from __future__ import annotations

import copy
import dataclasses
import re

import pytest

from ml_connector.errors import ListNotLoaded, MembersMissing, RunFailed
from ml_connector.flows.local import walk
from ml_connector.flows.plan import flow_plan
from ml_connector.flows.spec import parse_flows

from ..cells import ORG
from ..conftest import MODEL
from .conftest import DEPARTMENT, Flows, books, cells
from .test_dimension_flows import FEB, FLOWS, JAN

FACT = "invoice_actuals_by_department"
IMPORT = "Invoice Actuals by Account, Department and Month"


def member_flows(region: str | None = None) -> dict:
    """The dimension flows with ``list:`` columns (Accounts, Departments) and the list flows
    that load them (``loads:``); with ``region``, the departments flow loads only that
    region's departments."""
    spec = copy.deepcopy(FLOWS)
    flows = {f["id"]: f for f in spec["flows"]}
    flows["accounts"]["loads"] = "Accounts"
    flows["departments"]["loads"] = "Departments"
    columns = flows[FACT]["columns"]
    columns["Account"] = {**columns["Account"], "list": "Accounts"}
    columns["Department"] = {**columns["Department"], "list": "Departments"}
    if region is not None:
        flows["departments"]["where"]["parent_option_id"] = region
    return spec


def departments_on_lines(sandbox) -> dict[str, set[str]]:
    """Department option id -> the documents (``invoice_id 1``) whose lines carry it, among
    January's invoices and credit notes that post (neither draft nor void)."""
    found: dict[str, set[str]] = {}
    for module, id_field in (("invoices", "invoice_id"), ("creditnotes", "creditnote_id")):
        for doc in sandbox.sandbox.zoho.documents(ORG, module, JAN.isoformat(),
                                                  FEB.isoformat()):
            if doc.get("status") in ("draft", "void"):
                continue
            for line in doc.get("line_items") or []:
                for tag in line.get("tags") or []:
                    if tag.get("tag_name") == "Department" and tag.get("tag_option_id"):
                        found.setdefault(str(tag["tag_option_id"]), set()).add(
                            f"{id_field} {doc[id_field]}")
    return found


def import_untouched(sandbox, anaplan_client) -> bool:
    """No task ever started for the fact flow's import, and nothing uploaded to its file."""
    found = next(i for i in anaplan_client().imports() if i.name == IMPORT)
    anaplan = sandbox.sandbox.anaplan
    return (all(t["actionId"] != found.id for t in anaplan.tasks(MODEL))
            and anaplan.file_bytes(MODEL, found.import_data_source_id) is None)


def test_a_value_not_in_the_list_stops_the_run_before_the_upload(sandbox, zoho_client,
                                                                  anaplan_client, tmp_path):
    """The departments flow loads one region's departments: the others' are named with
    their documents and the list flow that loads them, nothing is uploaded; once it loads
    every department, the same month imports, one read of each list, equal to the books."""
    tag = next(t for t in sandbox.sandbox.zoho.dimensions(ORG).tags if t.name == "Department")
    region = next(o.option_id for o in tag.options if not o.parent_id
                  and any(c.parent_id == o.option_id for c in tag.options))
    # Each flow refusing to run before its list flows loaded once.
    flows = Flows.of(member_flows(region), sandbox, zoho_client, anaplan_client, tmp_path,
                     list_rules=True)
    flows.load("accounts", "regions", "departments", start=JAN, end=FEB)
    loaded = {key for item in sandbox.sandbox.anaplan.list_items(MODEL, "Departments")
              for key in (item["code"], item["name"])}
    carried = departments_on_lines(sandbox)
    expected = {option for option in carried if option not in loaded}
    assert expected and set(carried) - expected, "some departments missing, some loaded"

    with pytest.raises(MembersMissing) as failed:
        flows.run(FACT, JAN, FEB)
    message = str(failed.value)
    assert import_untouched(sandbox, anaplan_client)
    line = next(x for x in message.splitlines() if x.strip().startswith("column 'Department'"))
    named = dict(re.findall(r"'([^']*)' \(([^)]*)\)", line.partition("): ")[2]))
    assert set(named) == expected, "every missing department, and only those"
    for option, documents in named.items():
        shown, _, more = documents.partition(" and ")
        listed = set(shown.split(", "))
        assert listed <= carried[option] and len(listed) <= 5
        assert len(listed) + (int(more.split()[0]) if more else 0) == len(carried[option])
    assert "column 'Account'" not in message, "every account is a member"
    assert ("load them into Departments with list flow departments "
            "(airflow dags test zoho_departments)") in message
    assert "nothing was uploaded" in message

    flows = dataclasses.replace(flows, spec=parse_flows(member_flows()))  # every region
    flows.load("departments", start=JAN, end=FEB)
    anaplan = sandbox.sandbox.anaplan
    anaplan.reset_stats()
    summary = flows.run(FACT, JAN, FEB)
    assert summary.counts.get("failed", 0) == 0 and summary.counts["imported"] > 0
    paths = anaplan.stats()["by_path"]
    reads = {path.rpartition("/")[2]: sum(statuses.values())
             for path, statuses in paths.items() if path.startswith("GET") and "/lists" in path}
    assert reads == {"lists": 1, "items": 2}, "the model's lists once, then each list's items"
    assert cells(sandbox, "Invoice Actuals by Department") == books(
        sandbox, ["invoices", "creditnotes"], DEPARTMENT, JAN, FEB)


def test_a_member_the_column_gives_itself_is_named_as_the_columns(sandbox, zoho_client,
                                                                   anaplan_client, tmp_path):
    """A ``default`` that is not a member is named as the column's, with the documents
    whose untagged lines took it."""
    spec = member_flows()
    fact = next(f for f in spec["flows"] if f["id"] == FACT)
    fact["columns"]["Department"].update(default="No department", charges="No department")
    flows = Flows.of(spec, sandbox, zoho_client, anaplan_client, tmp_path, list_rules=True)
    flows.load("accounts", "regions", "departments", start=JAN, end=FEB)
    flow = next(f for f in flows.spec.flows if f.id == FACT)
    done = walk(flows.flow_run(FACT, JAN, FEB), flow_plan(flow, flows.spec.defaults))
    # As in the DAG: the dry-run step, the import and the wait do not run; reconcile runs,
    # and fails the run.
    assert done.upstream_failed == {"dry_run", "import", "wait"}
    assert set(done.failed) == {"check_members", "reconcile"}
    assert isinstance(done.failed["reconcile"], RunFailed)
    failed = done.verdict()
    assert isinstance(failed, MembersMissing)
    message = str(failed)
    assert re.search(r"'No department' \(invoice_id \d+.*; the column's default\)", message), \
        message
    assert "a member the column gives itself: correct it in flows.yaml" in message
    assert import_untouched(sandbox, anaplan_client)


def test_a_list_column_waits_for_the_list_flow_that_loads_its_list(sandbox, zoho_client,
                                                                    anaplan_client, tmp_path):
    flows = Flows.of(member_flows(), sandbox, zoho_client, anaplan_client, tmp_path,
                     list_rules=True)
    flows.load("accounts", start=JAN, end=FEB)
    with pytest.raises(ListNotLoaded) as refused:
        flows.run(FACT, JAN, FEB)
    assert str(refused.value) == (
        "flow departments has not loaded its list into Anaplan yet; "
        "invoice_actuals_by_department sends members of the Anaplan list Departments and "
        "its members would be rejected: run zoho_departments first: airflow dags test "
        "zoho_departments (runs it now, no scheduler needed; or airflow dags trigger "
        "zoho_departments once the scheduler has parsed it)")
    assert import_untouched(sandbox, anaplan_client)
    flows.load("regions", "departments", start=JAN, end=FEB)
    assert flows.run(FACT, JAN, FEB).counts["imported"] > 0
