"""The flow DAGs' wiring in real Airflow (`airflow dags test`, deferred waits included):
each task hands the next a typed manifest through XCom, an incremental aggregate run
scopes, extracts, builds, imports, waits and reconciles into cells equal to the oracle, and
rejected records, or a failed wait, fail the run with the audit written. (The flows'
behaviour is tested in this process, in tests/flows.)"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ml_connector.anaplan.handoff import Handoff
from ml_connector.anaplan.tasks import TaskStatus
from ml_connector.flows.deletes import SweepResult
from ml_connector.flows.preview import Preview
from ml_connector.flows.run import BuildManifest, RunSummary, Scope
from ml_connector.state.anaplan_requests import AnaplanRequests
from ml_connector.zoho.extract import ExtractManifest
from ml_connector_sandbox.faults import Fault
from ml_connector_sandbox.zoho.pnl import NO_POSTINGS, actuals

from ..airflow_env import airflow
from ..conftest import MODEL, WORKSPACE
from .flow_env import ORG, account_cells, audit_of, flow_env

pytestmark = pytest.mark.airflow

#: What each task of an incremental aggregate flow hands on, by task id.
MANIFESTS = {"changes": ExtractManifest, "extract_chartofaccounts": ExtractManifest,
             "sweep": SweepResult, "scope": Scope, "extract": ExtractManifest,
             "build": BuildManifest, "dry_run": Preview, "import": Handoff, "wait": TaskStatus,
             "reconcile": RunSummary}


def returned(home: Path, dag_id: str, key: str = "return_value") -> dict[str, object]:
    """Each task's XCom ``key`` (its return value) of the DAG's runs, as stored by Airflow."""
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute("SELECT task_id, value FROM xcom WHERE dag_id = ? AND key = ?",
                          (dag_id, key)).fetchall()
    return {task_id: json.loads(value) for task_id, value in rows}


def test_flow_dags_hand_typed_manifests_and_fail_runs_after_the_audit(
        sandbox, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    env = flow_env(sandbox, home)
    # Before its Accounts list was ever loaded, the fact flow refuses to start: the first
    # task fails at once, naming the flow to run first, and no Zoho request is spent.
    spent = sandbox.sandbox.zoho.stats()["organizations"].get(ORG, {}).get("total", 0)
    refused = airflow(env, "dags", "test", "zoho_invoice_actuals_daily", "2026-04-01",
                      check=False)
    assert refused.returncode != 0
    assert ("flow accounts has not loaded its list into Anaplan yet; invoice_actuals_daily "
            "looks up chartofaccounts and its members would be rejected: run zoho_accounts "
            "first") in refused.stdout + refused.stderr
    assert sandbox.sandbox.zoho.stats()["organizations"].get(ORG, {}).get("total", 0) == spent
    with sqlite3.connect(home / "airflow.db") as db:
        first = db.execute("SELECT task_id, try_number, state FROM task_instance WHERE "
                           "dag_id = ? AND state = 'failed'",
                           ("zoho_invoice_actuals_daily",)).fetchall()
    assert {(try_, state) for _, try_, state in first} == {(1, "failed")}
    # Where waits poll from a worker (Airflow's default), the wait hands reconcile the
    # finished task as the deferred wait does.
    polling = {**env, "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "False"}
    airflow(polling, "dags", "test", "zoho_accounts", "2026-04-01")
    assert TaskStatus.model_validate(returned(home, "zoho_accounts")["wait"]).ok
    airflow(env, "dags", "test", "zoho_invoice_actuals_daily", "2026-04-02")

    xcoms = returned(home, "zoho_invoice_actuals_daily")
    # The task's extra link opens the model in Anaplan's web UI, not an API resource.
    page = returned(home, "zoho_invoice_actuals_daily", "model_page")["import"]
    assert page.startswith("https://") and "/2/0/" not in page
    assert f"selectedWorkspaceId={WORKSPACE}" in page and f"selectedModelId={MODEL}" in page
    assert set(xcoms) == set(MANIFESTS)
    typed = {task: MANIFESTS[task].model_validate(value) for task, value in xcoms.items()}
    assert [m.strftime("%Y-%m") for m in typed["scope"].months()] == [
        "2026-01", "2026-02", "2026-03"]
    assert typed["import"].task_id == typed["wait"].task_id == typed["reconcile"].task_id
    assert typed["wait"].state == "COMPLETE"
    summary = typed["reconcile"]
    assert summary.watermark == typed["changes"].max_last_modified_time
    assert sum(summary.counts.values()) == typed["extract"].count
    expected = actuals(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"],
                       date(2026, 1, 1), date(2026, 4, 1))
    assert account_cells(sandbox) == expected

    # An account Anaplan's list does not know: the run fails without retrying (the failure
    # would repeat), after writing the audit, and the watermark stays.
    new = sandbox.sandbox.zoho.add_record(ORG, "chartofaccounts", {
        "account_code": "4999", "account_name": "New income", "account_type": "income"})
    victim = next(i for i in sandbox.sandbox.zoho.documents(
        ORG, "invoices", "2026-03-01", "2026-04-01") if i["status"] not in NO_POSTINGS)
    sandbox.sandbox.zoho.edit_record(ORG, "invoices", victim["invoice_id"], {"line_items": [
        {**victim["line_items"][0], "account_id": new["account_id"]},
        *victim["line_items"][1:]]})
    with pytest.raises(RuntimeError, match="record\\(s\\) failed in Anaplan task"):
        airflow(env, "dags", "test", "zoho_invoice_actuals_daily", "2026-04-03")
    failed = audit_of(home).query(flow="invoice_actuals_daily", status="failed")
    assert [r["record_id"] for r in failed] == [victim["invoice_id"]]
    assert audit_of(home).store.get_watermark("invoice_actuals_daily") == summary.watermark
    with sqlite3.connect(home / "airflow.db") as db:
        tries = db.execute("SELECT ti.try_number, ti.state FROM task_instance ti JOIN dag_run r "
                           "ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id WHERE ti.dag_id = ? "
                           "AND ti.task_id = 'reconcile' ORDER BY r.logical_date DESC",
                           ("zoho_invoice_actuals_daily",)).fetchall()
    assert tries[0] == (1, "failed")

    # A wait that fails (Anaplan answers its poll with a 404; the import's own status read
    # before it passes) fails the run, though Anaplan completed the import: reconcile
    # still ran, audited it, then failed.
    sandbox.sandbox.faults.arm(Fault(kind="slow", delay=0, api="anaplan", path="/tasks/"))
    sandbox.sandbox.faults.arm(Fault(kind="server_error", api="anaplan", status=404,
                                     path="/tasks/"))
    waited = airflow(polling, "dags", "test", "zoho_accounts", "2026-04-04", check=False)
    assert sandbox.sandbox.faults.armed() == [], "the wait met the fault"
    with sqlite3.connect(home / "airflow.db") as db:
        run_id, run_state = db.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = 'zoho_accounts' "
            "ORDER BY logical_date DESC").fetchone()
        states = dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = "
                                 "'zoho_accounts' AND run_id = ?", (run_id,)).fetchall())
    assert (states["wait"], states["reconcile"], run_state) == ("failed", "failed", "failed")
    assert waited.returncode != 0
    assert "the wait for Anaplan task" in waited.stdout + waited.stderr
    audited = audit_of(home).query(flow="accounts", run_id=run_id, limit=100_000)
    assert audited and {r["status"] for r in audited} == {"imported"}


def test_a_ledger_flow_loads_a_quarter_in_one_run_and_verifies_it(sandbox, tmp_path_factory):
    """``zoho_pl_actuals`` triggered with ``months``: the ledger task reads the quarter, the
    import fills GL Actuals as the books say, and verify reads it back through the export."""
    from ml_connector.flows.verify import Verification
    from ml_connector_sandbox.zoho.pnl import ledger_actuals

    from ..cells import CENT

    home = tmp_path_factory.mktemp("home")
    env = flow_env(sandbox, home)
    airflow(env, "dags", "test", "zoho_accounts", "2026-04-01")
    sandbox.sandbox.anaplan.reset_stats()
    airflow(env, "dags", "test", "zoho_pl_actuals", "2026-03-01",
            "--conf", json.dumps({"months": "2026-01..2026-03"}))
    # Every Anaplan request of the run is counted for its task: the upload's, the
    # triggerer's polls of the deferred wait, the read-back's, reconcile's.
    [run_id] = {r["run_id"] for r in audit_of(home).query(flow="pl_actuals")}
    spent = AnaplanRequests(audit_of(home).store).by_task("zoho_pl_actuals", run_id)
    assert {"import", "wait", "verify", "reconcile"} <= {t for t, n in spent.items() if n}
    assert sum(spent.values()) == sandbox.sandbox.anaplan.stats()["total"]
    xcoms = returned(home, "zoho_pl_actuals")
    assert set(xcoms) == {"closed", "extract_chartofaccounts", "extract", "build", "dry_run",
                          "import", "wait", "verify", "reconcile"}
    extract = ExtractManifest.model_validate(xcoms["extract"])
    assert extract.entity == "ledger" and extract.windows is not None
    assert len(extract.windows) == 3
    verified = Verification.model_validate(xcoms["verify"])
    assert verified.ok and verified.books_checked
    assert list(verified.months) == ["Jan 26", "Feb 26", "Mar 26"]
    summary = RunSummary.model_validate(xcoms["reconcile"])
    assert [w[0][:7] for w in summary.windows] == ["2026-01", "2026-02", "2026-03"]
    cells = {(c["dimensions"]["Accounts"], c["dimensions"]["Time"]):
             Decimal(repr(c["values"]["Amount"])).quantize(CENT)
             for c in sandbox.sandbox.anaplan.module_cells(MODEL, "GL Actuals")}
    expected = ledger_actuals(sandbox.sandbox.zoho, ORG, date(2026, 1, 1), date(2026, 4, 1))
    assert {k: v for k, v in cells.items() if v} == {k: v for k, v in expected.items() if v}
    assert sum(verified.months.values()) == len(cells)


def test_the_daily_ledger_flow_takes_the_month_the_monthly_one_just_read(sandbox,
                                                                        tmp_path_factory):
    """``zoho_pl_actuals_daily`` after ``zoho_pl_actuals`` of the month its change falls in:
    its ledger task (given the changes as well as the scope) takes every account's month
    from the monthly run's read, no ledger request, and the cells still equal the books."""
    from ml_connector_sandbox.zoho.pnl import ledger_actuals

    from ..cells import CENT

    zoho = sandbox.sandbox.zoho
    home = tmp_path_factory.mktemp("home")
    env = flow_env(sandbox, home)

    def ledger_requests() -> int:
        return zoho.stats()["organizations"][ORG]["by_path"].get(
            "/books/v3/chartofaccounts/transactions", 0)

    airflow(env, "dags", "test", "zoho_accounts", "2026-04-01")
    airflow(env, "dags", "test", "zoho_pl_actuals_daily", "2026-04-02")  # its watermark
    bill = next(d for d in zoho.documents(ORG, "bills", "2026-03-01", "2026-04-01")
                if d["status"] not in NO_POSTINGS)
    zoho.edit_record(ORG, "bills", bill["bill_id"], {"date": "2026-03-18"})
    sandbox.sandbox.clock.advance(5)
    airflow(env, "dags", "test", "zoho_pl_actuals", "2026-04-01",
            "--conf", json.dumps({"months": "2026-03"}))
    sandbox.sandbox.clock.advance(5)
    before = ledger_requests()
    done = airflow(env, "dags", "test", "zoho_pl_actuals_daily", "2026-04-03")
    assert ledger_requests() == before
    assert re.search(r"Ledger 2026-03-01\.\.2026-04-01: [\d,]+ posting\(s\) of (\d+) "
                     r"account\(s\), \1 of them as another ledger flow read them",
                     done.stdout + done.stderr)
    cells = {(c["dimensions"]["Accounts"], c["dimensions"]["Time"]):
             Decimal(repr(c["values"]["Amount"])).quantize(CENT)
             for c in sandbox.sandbox.anaplan.module_cells(MODEL, "GL Actuals")
             if c["dimensions"]["Time"] == "Mar 26"}
    expected = ledger_actuals(zoho, ORG, date(2026, 3, 1), date(2026, 4, 1))
    assert {k: v for k, v in cells.items() if v} == {k: v for k, v in expected.items() if v}


def test_a_period_flow_loads_the_month_it_is_given(sandbox, tmp_path_factory):
    """``{"month": "2026-02"}`` loads February whatever the run's date (a run's data interval
    is the month before it: 2026-04-01 would load March); the extract's log names the
    month in words."""
    home = tmp_path_factory.mktemp("home")
    env = flow_env(sandbox, home)
    airflow(env, "dags", "test", "zoho_accounts", "2026-04-01")
    done = airflow(env, "dags", "test", "zoho_invoice_actuals", "2026-04-01", "-c",
                   json.dumps({"month": "2026-02"}))
    output = done.stdout + done.stderr
    assert "Extracting invoices+creditnotes from organization 10234695 for February 2026" \
        in output
    # Each module counted by its name: credit notes are not counted as invoices.
    assert re.search(r"Read \d+ invoices and \d+ creditnotes in [\d,]+ requests", output)
    february = actuals(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"],
                       date(2026, 2, 1), date(2026, 3, 1))
    assert february and account_cells(sandbox) == february
    windows = {(r["window_start"][:10], r["window_end"][:10])
               for r in audit_of(home).query(flow="invoice_actuals", limit=100_000)}
    assert windows == {("2026-02-01", "2026-03-01")}


def test_a_dry_run_logs_the_cells_it_would_send_and_sends_nothing(
        sandbox, anaplan_client, tmp_path_factory):
    """``{"dry_run": true, "month": "2026-01"}``: the run reads and builds January, its
    dry_run task logs every cell the import would set (all new: nothing was sent before)
    and is skipped, so the import, the wait and reconcile are too; nothing is uploaded, no
    Anaplan task starts, the audit holds one planned row."""
    home = tmp_path_factory.mktemp("home")
    env = flow_env(sandbox, home)
    airflow(env, "dags", "test", "zoho_accounts", "2026-04-01")
    done = airflow(env, "dags", "test", "zoho_invoice_actuals", "2026-04-01", "-c",
                   json.dumps({"dry_run": True, "month": "2026-01"}))
    output = done.stdout + done.stderr
    january = actuals(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"],
                      date(2026, 1, 1), date(2026, 2, 1))
    for (account, month), amount in january.items():
        assert f"  added    {account} / {month}: {amount:,.2f}" in output
    assert (f"{len(january)} cell(s) would change ({len(january)} added, 0 changed, 0 "
            "zeroed), 0 unchanged, against the state store; nothing sent") in output
    with sqlite3.connect(home / "airflow.db") as db:
        run_state = db.execute("SELECT state FROM dag_run WHERE dag_id = "
                               "'zoho_invoice_actuals'").fetchone()[0]
        states = dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = "
                                 "'zoho_invoice_actuals'").fetchall())
    assert run_state == "success" and states["build"] == "success"
    assert {states[t] for t in ("dry_run", "import", "wait", "reconcile")} == {"skipped"}
    found = next(i for i in anaplan_client().imports()
                 if i.name == "Invoice Actuals by Account and Month")
    anaplan = sandbox.sandbox.anaplan
    assert all(t["actionId"] != found.id for t in anaplan.tasks(MODEL))
    assert anaplan.file_bytes(MODEL, found.import_data_source_id) is None, "nothing uploaded"
    assert account_cells(sandbox) == {}
    rows = audit_of(home).query(flow="invoice_actuals", limit=100_000)
    assert [(r["status"], r["window_start"][:7]) for r in rows] == [("planned", "2026-01")]
