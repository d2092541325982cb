"""A three-month backfill through the real scheduler and triggerer (`airflow standalone`)."""

from __future__ import annotations

import time
from datetime import date

import pytest

from ml_connector.airflow_cli import json_list
from ml_connector_sandbox.zoho.pnl import actuals

from ..airflow_env import (
    airflow,
    free_port,
    standalone,
    standalone_settings,
)
from .flow_env import ORG, account_cells, flow_env

pytestmark = pytest.mark.airflow


def runs(env, dag_id: str) -> list[dict]:
    return json_list(airflow(env, "dags", "list-runs", dag_id, "-o", "json").stdout)


def test_three_month_backfill_through_scheduler_and_triggerer(sandbox, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    settings = standalone_settings(free_port())
    env = flow_env(sandbox, home, core__dags_are_paused_at_creation="True", **settings)
    airflow(env, "dags", "test", "zoho_accounts", "2026-04-01")
    with standalone(env, home / "standalone.log"):
        deadline = time.monotonic() + 120
        while "zoho_invoice_actuals" not in airflow(env, "dags", "list").stdout:
            assert time.monotonic() < deadline, "the dag-processor never parsed the flows"
            time.sleep(3)
        started = time.monotonic()
        airflow(env, "backfill", "create", "--dag-id", "zoho_invoice_actuals",
                "--from-date", "2026-01-01", "--to-date", "2026-03-31",
                # Months run side by side: the Zoho pool takes one extract at a time and the
                # data-source lock one upload-to-start at a time.
                "--max-active-runs", "3")
        airflow(env, "dags", "unpause", "zoho_invoice_actuals")
        deadline = time.monotonic() + 600
        while True:
            backfill = [r for r in runs(env, "zoho_invoice_actuals")
                        if r["run_id"].startswith("backfill__")]
            if len(backfill) == 3 and all(r["state"] in ("success", "failed") for r in backfill):
                break
            assert time.monotonic() < deadline, f"backfill still running: {backfill}"
            time.sleep(5)
        wall = time.monotonic() - started
    print(f"three-month backfill wall time: {wall:.0f}s")
    assert sorted(r["logical_date"][:10] for r in backfill) == [
        "2026-01-01", "2026-02-01", "2026-03-01"]
    assert all(r["state"] == "success" for r in backfill), backfill
    # The months ran side by side, and still each got its own file (checked below).
    assert max(r["start_date"] for r in backfill) < min(r["end_date"] for r in backfill)
    # The waits were deferred to the triggerer, which wrote their trigger logs.
    trigger_logs = list((home / "logs").rglob("*task_id=wait*/*.trigger.*.log"))
    assert len(trigger_logs) >= 3
    expected = actuals(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"],
                       date(2026, 1, 1), date(2026, 4, 1))
    assert account_cells(sandbox) == expected
    assert {period for _, period in expected} == {"Jan 26", "Feb 26", "Mar 26"}
