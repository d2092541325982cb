"""``ml-connector doctor`` against the sandbox: each known trap is found, with its fix."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import yaml

from ml_connector.doctor import run_checks
from ml_connector.flows.spec import list_flows, load_flows
from ml_connector.hooks.anaplan import AnaplanHook
from ml_connector.hooks.zoho_books import ZohoBooksHook
from ml_connector.state.lists import ListLoads
from ml_connector.state.reads import ReadLog
from ml_connector.state.store import StateStore
from ml_connector.zoho.extract import ExtractManifest
from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.zoho.config import READ_SCOPES

from ..airflow_env import sandbox_connections
from ..cells import ORG
from ..conftest import MODEL, ROOMY

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "dags" / "flows.yaml"
POOLS = {"zoho_books": 1, "anaplan": 2}


def findings(flows: Path, url: str, pools: dict[str, int]) -> list:
    return list(run_checks(
        flows, state_url=url, pools=lambda: pools,
        zoho=lambda conn_id, organization=None: ZohoBooksHook(
            conn_id, organization=organization).client,
        anaplan=lambda conn_id, ws, model: AnaplanHook(conn_id, ws, model).client))


def failures(found) -> list[str]:
    return [f.detail for f in found if f.status == "fail"]


def connect(running, monkeypatch, tmp_path, **options) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    for key, value in sandbox_connections(running.base_url, running.sandbox.config,
                                          requests_per_minute=100_000, **options).items():
        monkeypatch.setenv(key, value)


def test_a_ready_deployment_passes_and_each_trap_is_named(sandbox, monkeypatch, tmp_path):
    connect(sandbox, monkeypatch, tmp_path)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    found = findings(FLOWS, url, {})
    failed = failures(found)
    # No pools: runs would sit in "queued"; the fix is the exact command.
    assert [d for d in failed if "pool" in d] == [
        "pool 'zoho_books' does not exist: runs of the flows would wait in 'queued' for ever",
        "pool 'anaplan' does not exist: runs of the flows would wait in 'queued' for ever"]
    assert any("airflow pools import pools.json" in f.fix for f in found if f.check == "pools")
    # The chart of accounts is not in Anaplan yet: run the accounts flow first (a warning:
    # a deployment being set up loads its lists; until then the flows stop naming the fix).
    lists = [f for f in found if f.check == "lists" and f.status != "ok"]
    assert lists and lists[0].detail.startswith("flow accounts has not loaded its list")
    assert {f.status for f in lists} == {"warn"}
    # A command that works right after init, before any scheduler has parsed the DAG.
    assert lists[0].fix.startswith("run zoho_accounts first: airflow dags test zoho_accounts ")
    # Everything else holds: every module readable, every import takes its flow's columns.
    assert len(failed) == 2
    ok = {f.detail.split(":")[0] for f in found if f.check == "anaplan" and f.status == "ok"}
    assert {"invoice_actuals", "bill_actuals", "pl_actuals", "accounts"} <= ok
    assert any(f.detail.startswith("invoices: readable") for f in found)
    store = StateStore(url)
    for loaders in list_flows(load_flows(FLOWS).flows).values():
        for loader in loaders:
            ListLoads(store).record(loader, 1.0)
    # The budget: a day of the scheduled flows at what their runs cost, against today's room.
    reads = ReadLog(store)
    for run, requests in (("r1", 30), ("r2", 50)):
        reads.record("zoho_invoice_actuals_daily", run, "extract", ExtractManifest(
            entity="invoices", organization_id=ORG, window={}, requests=requests))
    found = findings(FLOWS, url, POOLS)
    assert failures(found) == []
    budget = next(f for f in found if f.check == "budget")
    assert budget.status == "ok" and "a day of the 1 scheduled flow(s) that have run takes " \
        "about 40 request(s)" in budget.detail
    assert "left today beyond the reserve" in budget.detail
    assert "not run yet, not counted: " in budget.detail and "invoice_actuals_daily" not in \
        budget.detail.split("not counted: ")[1]


def test_a_missing_scope_and_a_column_mismatch_are_found(sandbox_factory, monkeypatch,
                                                          tmp_path):
    config = SandboxConfig.model_validate(ROOMY)
    config.zoho.refresh_tokens[0].scopes = [s for s in READ_SCOPES
                                            if s != "ZohoBooks.bills.READ"]
    running = sandbox_factory(config)
    connect(running, monkeypatch, tmp_path)
    spec = yaml.safe_load(FLOWS.read_text())
    flow = next(f for f in spec["flows"] if f["id"] == "invoice_actuals")
    flow["columns"] = {("Month" if k == "Period" else k): v for k, v in flow["columns"].items()}
    flows = tmp_path / "flows.yaml"
    flows.write_text(yaml.safe_dump(spec))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    failed = failures(findings(flows, url, POOLS))
    assert any(d.startswith("bills: ") and "ZohoBooks.bills.READ" in d for d in failed)
    assert any(d.startswith("invoice_actuals: file header does not match") and
               "missing columns ['Period']; unexpected columns ['Month']" in d for d in failed)


def test_a_token_of_another_data_center_is_the_connections_fault_not_a_scope(
        sandbox, monkeypatch, tmp_path):
    """A US refresh token on a connection set to the EU data center: doctor says once that
    the accounts server refused it and how to fix the connection; it suggests no scope."""
    connect(sandbox, monkeypatch, tmp_path, zoho_extra={"region": "eu"})
    found = findings(FLOWS, f"sqlite:///{tmp_path / 'state.db'}", POOLS)
    zoho = [f for f in found if f.check == "zoho" and f.status == "fail"]
    assert len(zoho) == 1, [f.detail for f in zoho]
    assert "another data center" in zoho[0].detail
    assert "region" in zoho[0].fix and "ZohoBooks." not in zoho[0].fix
    assert not [f for f in found if "authorize a refresh token with" in f.fix]


def test_a_wrong_anaplan_password_is_tried_once_and_names_the_field(sandbox, monkeypatch,
                                                                    tmp_path):
    """Many identity providers lock an account after a few failed logins: doctor tries a
    refused password once for all the flows, and says which connection and field to fix."""
    connect(sandbox, monkeypatch, tmp_path)
    conn = json.loads(os.environ["AIRFLOW_CONN_ANAPLAN_DEFAULT"])
    monkeypatch.setenv("AIRFLOW_CONN_ANAPLAN_DEFAULT",
                       json.dumps({**conn, "password": "not-the-password"}))
    sandbox.sandbox.anaplan.reset_stats()
    found = findings(FLOWS, f"sqlite:///{tmp_path / 'state.db'}", POOLS)
    logins = {path: statuses for path, statuses in
              sandbox.sandbox.anaplan.stats()["by_path"].items() if "authenticate" in path}
    assert sum(sum(s.values()) for s in logins.values()) == 1, logins
    anaplan = [f for f in found if f.check == "anaplan" and f.status == "fail"]
    assert len(anaplan) == 1
    assert "anaplan_default" in anaplan[0].detail
    assert "Login and Password" in anaplan[0].fix and "anaplan_default" in anaplan[0].fix
    assert "not-the-password" not in anaplan[0].detail + anaplan[0].fix


def test_list_columns_their_lists_and_the_members_the_flows_name(sandbox, monkeypatch,
                                                                 tmp_path):
    """Each ``list:`` list exists and holds the members a flow names itself (default,
    charges, map targets); its list flow (``loads:``) has loaded it. Oracle: the sandbox
    model's Departments list, which holds only Unassigned until the list flow runs."""
    from .test_member_check import FACT, member_flows

    connect(sandbox, monkeypatch, tmp_path)
    spec = member_flows()
    fact = next(f for f in spec["flows"] if f["id"] == FACT)
    bills = {**fact, "id": "bills_by_department", "entity": "bills", "credits": None,
             "accounts": {}, "lines": "items",
             "target": {"import": "Bill Actuals by Account, Department and Month",
                        "mapping_parameters": {"Version": "Actual"}},
             "columns": {**fact["columns"],
                         "Account": {**fact["columns"]["Account"], "list": "Nowhere"},
                         "Department": {"tag": "Department", "default": "No department",
                                        "map": {"o1": "D-GONE", "o2": "Unassigned"},
                                        "unmapped": "Unassigned", "list": "Departments"},
                         "Amount": {"amount": "line.item_total"}}}
    spec["flows"].append({k: v for k, v in bills.items() if v not in (None, {})})
    flows = tmp_path / "flows.yaml"
    flows.write_text(yaml.safe_dump(spec, sort_keys=False))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    anaplan = sandbox.sandbox.anaplan
    assert {i["code"] for i in anaplan.list_items(MODEL, "Departments")} == {"Unassigned"}
    accounts = len(anaplan.list_items(MODEL, "Accounts"))
    found = findings(flows, url, POOLS)
    assert not [f.detail for f in found if f.check == "anaplan" and f.status == "fail"]
    members = {f.detail: f for f in found if f.check == "members"}
    present = [d for d, f in members.items() if f.status == "ok"]
    checked = "; the documents' values are checked before each upload"
    assert present == [
        f"{FACT}: list Accounts ({accounts} member(s)): all members present{checked}"]
    # Zoho's departments are not members until their list flow runs: said, with the fix.
    leaves = department_leaves(sandbox)
    [waiting] = [f for d, f in members.items() if f.status == "warn"
                 and d.startswith(f"{FACT}: list Departments: ")]
    assert set(re.findall(r"'(\d+)' \(option", waiting.detail)) == set(leaves)
    assert "load them into Departments with list flow departments (airflow dags test " \
        "zoho_departments)" in waiting.fix
    failed = {d: f.fix for d, f in members.items() if f.status == "fail"}
    gone = ("bills_by_department: list Departments: not members: 'D-GONE' (column "
            "'Department' map), 'No department' (column 'Department' default)")
    assert gone in failed and failed[gone] == (
        "correct them in flows.yaml (the column names them itself), or if they are Zoho's, "
        "load them into Departments with list flow departments (airflow dags test "
        "zoho_departments)")
    assert any(d.startswith("bills_by_department: no list 'Nowhere' in model") for d in failed)
    lists = [f for f in found if f.check == "lists"]
    assert any(f.status == "warn" and f.detail.startswith(
        "flow departments has not loaded its list into Anaplan yet; bills_by_department, "
        f"{FACT} send members of the Anaplan list Departments") for f in lists)


def department_leaves(sandbox) -> dict[str, str]:
    """The Department tag's options no other option is the parent of (id -> name): the
    values its lines carry, from the Zoho emulator's own store."""
    tag = next(t for t in sandbox.sandbox.zoho.dimensions(ORG).tags if t.name == "Department")
    parents = {o.parent_id for o in tag.options}
    return {o.option_id: o.name for o in tag.options if o.option_id not in parents}


def test_a_tag_column_and_its_list_flow_all_members_or_the_missing_ones(
        sandbox, zoho_client, anaplan_client, monkeypatch, tmp_path):
    """A new user's flows.yaml: a tag column naming its list, and the list flow that loads
    it. Once the list is loaded doctor says every one of Zoho's options is a member; an
    option added in Zoho since is named (id and name) with the list flow that loads it,
    and is a member again after that flow runs. Oracle: the Zoho emulator's options."""
    from .conftest import Flows
    from .test_member_check import FACT, member_flows

    connect(sandbox, monkeypatch, tmp_path)
    spec = member_flows()
    spec["flows"] = [f for f in spec["flows"]
                     if f["id"] in ("accounts", "regions", "departments", FACT)]
    flows_file = tmp_path / "flows.yaml"
    flows_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    (tmp_path / "runs").mkdir()
    flows = Flows.of(spec, sandbox, zoho_client, anaplan_client, tmp_path / "runs")
    flows.load("accounts", "regions", "departments")

    def departments() -> list:
        return [f for f in findings(flows_file, url, POOLS) if f.check == "members"
                and f.detail.startswith(f"{FACT}: list Departments")]

    leaves = department_leaves(sandbox)
    [ok] = departments()
    assert ok.status == "ok" and ok.detail.startswith(f"{FACT}: list Departments (")
    assert "all members present ('Unassigned' named in flows.yaml; Zoho's " \
        f"{len(leaves)} value(s) of column 'Department')" in ok.detail

    tag = next(t for t in sandbox.sandbox.zoho.dimensions(ORG).tags if t.name == "Department")
    region = next(o.option_id for o in tag.options if not o.parent_id)
    added = sandbox.sandbox.zoho.dimensions(ORG).add_option(
        tag.tag_id, {"option_name": "Legal", "parent_option_id": region})
    [warned] = departments()
    assert warned.status == "warn"
    assert warned.detail == (
        f"{FACT}: list Departments: 1 of Zoho's value(s) of column 'Department' are not "
        "members yet (a run stops before its upload when a document carries one): "
        f"'{added['option_id']}' (option 'Legal' of tag Department)")
    assert warned.fix.startswith("if Zoho holds them, load them into Departments with list "
                                 "flow departments (airflow dags test zoho_departments)")

    flows.load("departments")
    [again] = departments()
    assert again.status == "ok" and f"Zoho's {len(leaves) + 1} value(s)" in again.detail


def test_each_organization_of_a_group_flow_is_checked(sandbox, monkeypatch, tmp_path):
    """The shipped group flow reads four organizations through three logins: doctor
    checks each (a token, the organization, each module's scope; the group company's
    exchange rates), and a revoked login is named with its connection while the others
    pass."""
    connect(sandbox, monkeypatch, tmp_path)
    zoho = sandbox.sandbox.zoho
    zoho.revoke_refresh_token(next(t.token for t in zoho.config.refresh_tokens
                                   if t.region == "in"))
    found = findings(FLOWS, f"sqlite:///{tmp_path / 'state.db'}", POOLS)
    said = {(f.check, f.status, f.detail) for f in found}
    assert ("zoho", "ok", "token obtained; organization 10234695") in said
    assert ("zoho 10234696", "ok", "token obtained; organization 10234696") in said
    assert ("zoho zoho_books_eu 20088123", "ok",
            "token obtained; organization 20088123") in said
    assert ("zoho", "ok", "settings/currencies: readable (ZohoBooks.settings.READ)") in said
    assert ("zoho zoho_books_eu 20088123", "ok",
            "journals: readable (ZohoBooks.accountants.READ)") in said
    india = [f for f in found if f.check == "zoho zoho_books_in"]
    assert [f.status for f in india] == ["fail"] and "refused" in india[0].detail
    assert "zoho_books_in" in india[0].fix
    assert not [f for f in found if f.status == "fail" and f.check != "zoho zoho_books_in"]
