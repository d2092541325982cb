"""The multi-worker deployment of docker-compose.yml, run as processes (``tests.topology``):
PostgreSQL as Airflow's database and the state store, Redis as the broker, api-server,
scheduler, dag-processor, triggerer and two Celery workers with their own homes and
hostnames, standing in for two machines."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.faults import Fault
from ml_connector_sandbox.zoho.pnl import actuals

from ..cells import ORG, account_cells
from ..topology import SANDBOX, topology

pytestmark = [pytest.mark.airflow, pytest.mark.topology, pytest.mark.timeout(2400)]
BACKFILLS = ["zoho_invoice_actuals", "zoho_bill_actuals"]
HOURLY = "zoho_invoice_actuals_daily"
MONTHS = (date(2026, 1, 1), date(2026, 4, 1))


def test_two_workers_share_one_token_one_budget_and_survive_a_killed_worker(
        sandbox_factory, tmp_path: Path):
    running = sandbox_factory(SandboxConfig.model_validate(SANDBOX))
    zoho = running.sandbox.zoho
    # Uploads take a few seconds, so an import is caught holding its file's lock.
    running.sandbox.faults.arm(Fault(kind="slow", api="anaplan", path="/chunks/",
                                     delay=6.0, count=10_000))
    with topology(tmp_path, running.base_url, workers=2) as stack:
        stack.wait_for(lambda: "zoho_invoice_actuals" in stack.airflow("dags", "list"), 180,
                       "the flows")
        # Three Zoho readers at once (the shipped pool takes one): the per-minute budget,
        # kept in the state store, is what holds them to it together.
        stack.airflow("pools", "set", "zoho_books", "3", "Zoho Books API budget (ml-connector)")
        doctor = stack.run("airflow-init", "ml-connector", "doctor", "--flows",
                           str(stack.paths["/opt/airflow/dags"] / "flows.yaml"), check=False)
        assert "[ok  ] state store: postgresql" in doctor.stdout, doctor.stdout

        stack.airflow("dags", "unpause", "zoho_accounts")
        accounts = stack.wait_for(lambda: stack.finished("zoho_accounts", 1), 300, "accounts")
        assert {r["state"] for r in accounts} == {"success"}

        started = time.monotonic()
        for dag_id in BACKFILLS:
            stack.airflow("backfill", "create", "--dag-id", dag_id, "--from-date", "2026-01-01",
                          "--to-date", "2026-03-31", "--max-active-runs", "3")
            stack.airflow("dags", "unpause", dag_id)
        stack.airflow("dags", "unpause", HOURLY)

        # A worker is switched off while it uploads a month's file under its lock (a lock
        # names its holder: host, process, task and run), once both have done some work.
        def uploading() -> list[tuple]:
            worked = dict(stack.query("SELECT hostname, count(*) FROM task_instance WHERE "
                                      "state = 'success' GROUP BY hostname"))
            if not (worked.get("worker-1") and worked.get("worker-2")):
                return []
            return stack.query(
                "SELECT ti.hostname, ti.dag_id, ti.run_id, ti.task_id, l.owner FROM "
                "task_instance ti JOIN mlc_locks l ON l.owner LIKE '%%(' || ti.dag_id || "
                "'.import ' || ti.run_id || ')' WHERE ti.state = 'running' AND "
                "ti.task_id = 'import' AND l.lease_until > extract(epoch from now())")

        host, *victim, owner = stack.wait_for(uploading, 900, "an upload under its lock")[0]
        survivor = "worker-1" if host == "worker-2" else "worker-2"
        stack.processes[host].kill()
        killed_at = time.monotonic()

        for dag_id in BACKFILLS:
            stack.wait_for(lambda d=dag_id: stack.finished(d, 3, "backfill__"), 1500,
                           f"{dag_id}'s backfill")
        stack.wait_for(lambda: stack.finished(HOURLY, 1), 600, "the hourly flow")
        wall = time.monotonic() - started
        # (Unpausing also starts each flow's latest scheduled run: those succeed too.)
        states = {d: {r["state"] for r in stack.runs(d)} for d in [*BACKFILLS, HOURLY]}
        assert states == {d: {"success"} for d in [*BACKFILLS, HOURLY]}, states

        # Both machines did work; the killed import was tried again on the other.
        hosts = dict(stack.query("SELECT hostname, count(*) FROM task_instance WHERE "
                                 "state = 'success' GROUP BY hostname"))
        assert hosts.get("worker-1", 0) > 0 and hosts.get("worker-2", 0) > 0, hosts
        retried = stack.query("SELECT try_number, hostname, state FROM task_instance "
                              "WHERE dag_id = %s AND run_id = %s AND task_id = %s", *victim)
        assert retried and retried[0][0] >= 2 and retried[0][1] == survivor \
            and retried[0][2] == "success", retried
        # The lock of the file it was uploading went to the next import once its lease ran
        # out (the killed task renewed it no more).
        logs = [p.read_text(errors="replace") for p in (stack.root / "logs").rglob("*.log")
                if "task_id=import" in str(p)]
        assert any(f"from {owner}, which stopped renewing it" in text for text in logs), \
            f"no import took over the lock {owner} held"

        # One access token for every process on both machines; no 429; the minute's peak
        # within the budget the connection sets (90 of Zoho's 100), the requests in flight
        # within the plan's 10 (three extracts of ten threads each share them).
        stats = zoho.stats()
        assert sum(stats["tokens_minted"].values()) == 1, stats["tokens_minted"]
        assert stats["rate_limited"] == []
        peak = stats["organizations"][ORG]["max_per_minute"]
        in_flight = stats["organizations"][ORG]["max_in_flight"]
        assert peak <= 90, peak
        assert in_flight <= 10, in_flight
        assert stats["writes"] == 0

        # Every month's cells equal the books; each record is audited once per flow and
        # month (the killed try's rows were replaced, not added to).
        assert account_cells(running, "Invoice Actuals") == actuals(
            zoho, ORG, ["invoices", "creditnotes"], *MONTHS)
        assert account_cells(running, "Bill Actuals") == actuals(
            zoho, ORG, ["bills", "vendorcredits"], *MONTHS)
        assert stack.query("SELECT count(*) FROM mlc_audit")[0][0] > 0
        assert stack.query("SELECT flow, record_id, window_start, count(*) FROM mlc_audit "
                           "GROUP BY flow, record_id, window_start HAVING count(*) > 1") == []
        print(f"\ntopology: backfill wall {wall:.0f} s ({host} killed "
              f"{killed_at - started:.0f} s in); Zoho tokens minted "
              f"{sum(stats['tokens_minted'].values())}; 429s {len(stats['rate_limited'])}; "
              f"per-minute peak {peak}; most in flight {in_flight}; "
              f"successful tasks per host {hosts}")
