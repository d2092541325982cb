"""Flows from dags/flows.yaml end to end in real Airflow: dimension and aggregated flows,
an idempotent rerun, and a partial failure traced per record in the audit trail."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from ml_connector.sandbox.airflow_env import airflow
from ml_connector.sandbox.zoho.pnl import actuals
from ml_connector.zoho import ExtractWindow
from ml_connector.zoho.extract import iter_window

from ..conftest import MODEL
from .flow_env import ORG, account_cells, audit_of, flow_env

pytestmark = pytest.mark.airflow


def test_flows_end_to_end(sandbox, zoho_client, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    env = flow_env(sandbox, home)
    audit = audit_of(home)
    client = zoho_client()

    # Dimension flow: the chart of accounts becomes the Accounts list.
    airflow(env, "dags", "test", "zoho_accounts", "2026-02-01")
    chart = list(client.iter_records("chartofaccounts"))
    listed = {i["code"] for i in sandbox.sandbox.anaplan.list_items(MODEL, "Accounts")}
    assert listed == {a["account_code"] for a in chart if a.get("account_code")}

    # Aggregated flow for February: cells equal the sandbox's own profit and loss (invoices
    # net of credit notes), computed from its documents without the connector's code.
    airflow(env, "dags", "test", "zoho_invoice_actuals", "2026-03-01")
    feb = ExtractWindow(start=date(2026, 2, 1), end=date(2026, 3, 1))
    invoices = list(iter_window(client, "invoices", feb))
    credits = list(iter_window(client, "creditnotes", feb))
    expected = actuals(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"],
                       date(2026, 2, 1), date(2026, 3, 1))
    assert account_cells(sandbox) == expected
    actual = [i for i in invoices if i["status"] not in ("void", "draft")]
    rows = audit.query(flow="invoice_actuals", limit=100_000)
    assert {r["status"] for r in rows} == {"imported", "skipped"}
    assert sorted(r["record_id"] for r in rows if r["status"] == "imported") == sorted(
        [i["invoice_id"] for i in actual] + [c["creditnote_id"] for c in credits
                                             if c["status"] not in ("void", "draft")])
    credit_ids = {c["creditnote_id"] for c in credits}
    assert {r["record_id"] for r in rows if r["entity"] == "creditnotes"} == credit_ids
    documents = len(invoices) + len(credits)
    assert len(rows) == documents

    # Idempotent rerun: same cells, same audit rows (no duplicates).
    airflow(env, "dags", "test", "zoho_invoice_actuals", "2026-03-01")
    assert account_cells(sandbox) == expected
    assert len(audit.query(flow="invoice_actuals", limit=100_000)) == documents

    # Partial failure: an account Anaplan's list does not know yet.
    new = sandbox.sandbox.zoho.add_record(ORG, "chartofaccounts", {
        "account_code": "4999", "account_name": "New income", "account_type": "income"})
    victim = actual[0]
    detail = sandbox.sandbox.zoho.record(ORG, "invoices", victim["invoice_id"])
    lines = [{**detail["line_items"][0], "account_id": new["account_id"]},
             *detail["line_items"][1:]]
    sandbox.sandbox.zoho.edit_record(ORG, "invoices", victim["invoice_id"],
                                     {"line_items": lines})
    with pytest.raises(RuntimeError, match="record\\(s\\) failed in Anaplan task"):
        airflow(env, "dags", "test", "zoho_invoice_actuals", "2026-03-01")
    failed = audit.query(flow="invoice_actuals", status="failed", limit=100_000)
    assert [r["record_id"] for r in failed] == [victim["invoice_id"]]
    assert "4999" in failed[0]["error"] and failed[0]["task_id"]
    assert len(audit.query(flow="invoice_actuals", limit=100_000)) == documents

    shown = subprocess.run(
        [str(Path(sys.executable).parent / "ml-connector"), "audit", "--flow",
         "invoice_actuals", "--status", "failed", "--db",
         f"sqlite:///{home / 'ml_connector' / 'state.db'}"],
        capture_output=True, text=True, check=True)
    assert victim["invoice_id"] in shown.stdout and "4999" in shown.stdout
