"""An invoice deleted in Zoho, with no webhook to say so, leaves Anaplan by the next runs
of the shipped daily and record-grain flows in real Airflow (``airflow dags test``): the
daily flow's id sweep of its open months finds it, and both flows remove it."""

from __future__ import annotations

import pytest

from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.zoho.pnl import NO_POSTINGS

from ..airflow_env import airflow
from .deleted import FLOWS, assert_removed, delete_invoice, expected_cells
from .flow_env import ORG, SMALL, account_cells, flow_env

pytestmark = pytest.mark.airflow


def test_the_sweep_finds_a_deleted_invoice_and_both_flows_remove_it(
        sandbox_factory, tmp_path_factory):
    sandbox = sandbox_factory(SandboxConfig.model_validate(SMALL))
    home = tmp_path_factory.mktemp("home")
    env = flow_env(sandbox, home)  # no webhook secret: only the sweep can see a delete
    for lists in ("zoho_accounts", "zoho_customers"):  # the members the flows look up
        airflow(env, "dags", "test", lists, "2026-04-01")
    for flow in FLOWS:  # the first, whole reads
        airflow(env, "dags", "test", f"zoho_{flow}", "2026-04-01")
    before = account_cells(sandbox)
    assert before == expected_cells(sandbox)
    # The shipped sweep covers the run's month and the one before: a March invoice.
    invoice = next(i for i in sandbox.sandbox.zoho.documents(ORG, "invoices", "2026-03-01",
                                                             "2026-04-01")
                   if i["status"] not in NO_POSTINGS)
    deleted_at = delete_invoice(sandbox, invoice)

    daily = airflow(env, "dags", "test", "zoho_invoice_actuals_daily", "2026-04-02")
    out = daily.stdout + daily.stderr
    assert "Id sweep of invoices+creditnotes over 2026-03, 2026-04" in out
    assert f"1 invoices deleted in Zoho: {invoice['invoice_id']}" in out
    # The record-grain flow has no sweep of its own: the delete the daily flow's sweep
    # recorded is the state store's, for every flow reading invoices.
    lines = airflow(env, "dags", "test", "zoho_invoice_lines", "2026-04-02")
    for done in (daily, lines):
        assert "Removed 1 document(s) deleted in Zoho from Anaplan by task " in \
            done.stdout + done.stderr
    assert_removed(sandbox, home, invoice, deleted_at, "an id sweep", before)
