"""A closed month in real Airflow (`airflow dags test`): a period run of a month a Zoho
transaction lock closes fails at its first task, naming the lock and how to reopen, before
any read of the month; with the DAG param ``reopen: true`` it runs. (The rules are tested
in this process, in tests/flows/test_closed_periods.py.)"""

from __future__ import annotations

import json
from datetime import date

import pytest

from ml_connector_sandbox.zoho.locks import LockSpec

from ..airflow_env import airflow
from .flow_env import ORG, account_cells, audit_of, flow_env

pytestmark = pytest.mark.airflow


def test_a_period_run_of_a_locked_month_fails_unless_reopened(sandbox, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    env = flow_env(sandbox, home)
    airflow(env, "dags", "test", "zoho_accounts", "2026-04-01")
    zoho = sandbox.sandbox.zoho
    [lock] = zoho.set_transaction_locks(ORG, [LockSpec(module="purchase",
                                                       date=date(2026, 1, 31))])
    january = {"month": "2026-01"}
    refused = airflow(env, "dags", "test", "zoho_po_commitments", "2026-04-01", "-c",
                      json.dumps(january), check=False)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert (f"flow po_commitments: January 2026 is closed: closed through 2026-01-31 by Zoho "
            f"transaction lock {lock['transaction_lock_id']} (purchase)") in output
    assert '"reopen": true' in output
    by_path = zoho.stats()["organizations"][ORG]["by_path"]
    assert not any(path.startswith("/books/v3/purchaseorders") for path in by_path)

    done = airflow(env, "dags", "test", "zoho_po_commitments", "2026-04-01", "-c",
                   json.dumps({**january, "reopen": True}))
    assert "Reopened 2026-01 (closed through 2026-01-31" in done.stdout + done.stderr
    assert {p for _, p in account_cells(sandbox, "Purchase Order Commitments")} == {"Jan 26"}


def test_invoice_lines_spends_no_request_on_a_locked_month(sandbox, tmp_path_factory):
    """The record-grain flow's read (the extract operator) leaves January's documents out
    at their list rows: no detail request for them, on its first run quietly, later with a
    CLOSED MONTH CHANGED warning naming the document; February's change arrives."""
    home = tmp_path_factory.mktemp("home")
    env = flow_env(sandbox, home)
    for dag in ("zoho_accounts", "zoho_customers"):
        airflow(env, "dags", "test", dag, "2026-04-01")
    zoho = sandbox.sandbox.zoho
    [lock] = zoho.set_transaction_locks(ORG, [LockSpec(module="sales", date=date(2026, 1, 31))])
    zoho.reset_stats()
    first = airflow(env, "dags", "test", "zoho_invoice_lines", "2026-04-01T00:00:00")
    everything = sum(1 for _ in zoho.documents(ORG, "invoices", "2026-01-01", "2027-01-01"))
    january = [i for i in zoho.documents(ORG, "invoices", "2026-01-01", "2026-02-01")]
    assert january and details(sandbox) == everything - len(january)
    assert "January 2026 is closed through 2026-01-31" in first.stdout + first.stderr

    # The lock lifted, a January and a February invoice edited, the lock set again.
    zoho.set_transaction_locks(ORG, [])
    jan, feb = january[0], next(zoho.documents(ORG, "invoices", "2026-02-10", "2026-03-01"))
    for invoice in (jan, feb):
        zoho.edit_record(ORG, "invoices", invoice["invoice_id"], {"reference_number": "late"})
    zoho.set_transaction_locks(ORG, [LockSpec(module="sales", date=date(2026, 1, 31))])
    zoho.reset_stats()
    second = airflow(env, "dags", "test", "zoho_invoice_lines", "2026-04-01T01:00:00")
    output = second.stdout + second.stderr
    assert details(sandbox) == 1, "February's invoice only"
    assert "CLOSED MONTH CHANGED: January 2026 is closed through 2026-01-31 by Zoho " \
        f"transaction lock {lock['transaction_lock_id']} (sales)" in output
    assert jan["invoice_id"] in output
    rows = audit_of(home).query(flow="invoice_lines", limit=100_000)
    newest = max(r["run_id"] for r in rows)
    assert feb["invoice_id"] in {r["record_id"] for r in rows if r["run_id"] == newest}
    assert jan["invoice_id"] not in {r["record_id"] for r in rows}


def details(sandbox) -> int:
    """Invoice details the sandbox served since its stats were reset."""
    return sandbox.sandbox.zoho.stats()["organizations"].get(ORG, {}).get(
        "by_path", {}).get("/books/v3/invoices/{id}", 0)
