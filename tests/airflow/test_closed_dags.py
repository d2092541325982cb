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
from .flow_env import ORG, account_cells, flow_env

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
