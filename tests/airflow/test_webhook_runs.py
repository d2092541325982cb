"""Webhook -> event -> asset -> run, through the real scheduler and triggerer
(``airflow standalone``), the receiver (``ml-connector webhooks serve``) as its own process
and the Zoho emulator sending webhooks as Zoho would."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from ml_connector.state.events import EventLog
from ml_connector.state.store import StateStore
from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.zoho.pnl import NO_POSTINGS, actuals

from ..airflow_env import airflow, free_port, receiver, standalone, standalone_settings
from .deleted import assert_removed, delete_invoice, expected_cells, nonzero
from .flow_env import ORG, SMALL, account_cells, audit_of, flow_env
from .test_backfill import runs

# Four `dags test` runs and a standalone start: minutes on two cores, past the suite's
# 300 s default; each step below has its own bound.
pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]
SECRET = "Ws3cretWs3cret42"
DAG = "zoho_invoice_actuals_daily"
LINES = "zoho_invoice_lines"


def removals(home: Path) -> list[Path]:
    """The reconcile logs of runs that removed a document deleted in Zoho (a line only
    the reconcile of such a run writes)."""
    return [p for p in (home / "logs").rglob("*task_id=reconcile*/*.log")
            if "document(s) deleted in Zoho from Anaplan by task" in p.read_text()]


def zoho_requests(sandbox) -> int:
    return sandbox.sandbox.zoho.stats()["organizations"].get(ORG, {}).get("total", 0)


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)
    return found


def oracle(sandbox) -> dict:
    return actuals(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"], date(2026, 1, 1),
                   date(2026, 4, 1))


def asset_runs(env) -> list[dict]:
    return [r for r in runs(env, DAG) if r["run_id"].startswith("asset_triggered__")]


def raise_line(sandbox, invoice: dict, amount: float) -> None:
    line = invoice["line_items"][0]
    sandbox.sandbox.zoho.edit_record(ORG, "invoices", invoice["invoice_id"], {"line_items": [
        {**line, "item_total": round(line["item_total"] + amount, 2)},
        *invoice["line_items"][1:]]})


def test_an_edit_reaches_anaplan_by_webhook_through_scheduler_and_triggerer(
        sandbox_factory, tmp_path_factory):
    sandbox = sandbox_factory(SandboxConfig.model_validate(SMALL))
    home = tmp_path_factory.mktemp("home")
    port = free_port()
    env = flow_env(sandbox, home, zoho_extra={"webhook_secret": SECRET},
                   core__dags_are_paused_at_creation="True",
                   **standalone_settings(free_port()))
    httpx.put(f"{sandbox.base_url}/_sandbox/zoho/orgs/{ORG}/webhook", json={
        "organization_id": ORG, "url": f"http://127.0.0.1:{port}/zoho/{ORG}",
        "secret": SECRET, "retry_delays": [30, 60]}).raise_for_status()
    for lists in ("zoho_accounts", "zoho_customers"):
        airflow(env, "dags", "test", lists, "2026-04-01")
    for dag in (DAG, LINES):  # the first, whole reads: the watermarks
        airflow(env, "dags", "test", dag, "2026-04-01")
    assert account_cells(sandbox) == oracle(sandbox)
    invoices = [i for i in sandbox.sandbox.zoho.documents(ORG, "invoices", "2026-01-01",
                                                          "2026-04-01")
                if i["status"] not in NO_POSTINGS]
    log = home / "standalone.log"
    with standalone(env, log):
        with receiver(env, port, home / "receiver.log") as hooks:
            wait_until(lambda: DAG in airflow(env, "dags", "list").stdout, 120, "the flows parsed")
            airflow(env, "dags", "unpause", DAG)
            # Unpausing starts the cron run of the last interval: nothing changed, so it skips.
            wait_until(lambda: (r := runs(env, DAG)) and all(
                x["state"] in ("success", "failed") for x in r), 300, "the scheduled run")
            wait_until(lambda: "Watching invoices of zoho_books_default" in log.read_text(), 120,
                       "the invoices watcher in the triggerer")

            zoho = sandbox.sandbox.zoho
            zoho.reset_stats()
            # Forged and malformed requests are refused: nothing is recorded, nothing runs.
            body = b'{"invoice": {"invoice_id": "%s"}}' % invoices[0]["invoice_id"].encode()
            forged = httpx.post(f"{hooks}/zoho/{ORG}", content=body,
                                headers={"X-Zoho-Webhook-Signature": "00" * 32})
            unsigned = httpx.post(f"{hooks}/zoho/{ORG}", content=body)
            assert (forged.status_code, unsigned.status_code) == (401, 401)
            time.sleep(12)  # the watchers read the state store, never Zoho
            assert zoho_requests(sandbox) == 0 and asset_runs(env) == []

            # 1. One edit: webhook -> event -> asset -> run -> the cell.
            edited = time.monotonic()
            raise_line(sandbox, invoices[0], 1234.56)
            expected = oracle(sandbox)
            wait_until(lambda: account_cells(sandbox) == expected, 300, "the edited cell")
            latency = time.monotonic() - edited
            first = asset_runs(env)
            assert len(first) == 1 and first[0]["state"] in ("running", "success")
            wait_until(lambda: all(r["state"] != "running" for r in runs(env, DAG)), 300,
                       "the first run")
            per_event = zoho_requests(sandbox)

            # 2. 200 edits within a second become at most two runs.
            burst = time.monotonic()
            for invoice in invoices[1:201]:
                sandbox.sandbox.zoho.edit_record(ORG, "invoices", invoice["invoice_id"],
                                                 {"reference_number": "burst"})
            assert time.monotonic() - burst < 5  # the edits themselves, not a speed claim
            wait_until(lambda: len(sandbox.sandbox.zoho.webhooks.snapshot(ORG)) == 201 and all(
                d["state"] == "delivered" for d in sandbox.sandbox.zoho.webhooks.snapshot(ORG)),
                300, "the burst's deliveries")
            time.sleep(20)  # well past the watcher's interval and settle time
            wait_until(lambda: all(r["state"] != "running" for r in runs(env, DAG)), 300,
                       "the burst's runs")
            burst_runs = len(asset_runs(env)) - 1
            assert 1 <= burst_runs <= 2

            # 3. A new account and an invoice booked to it, announced together: the invoice
            # flow does not import before the accounts flow has loaded the account into the
            # Accounts list (it waits, then runs on that flow's asset), and nothing fails.
            airflow(env, "dags", "unpause", "zoho_accounts")
            wait_until(lambda: (r := runs(env, "zoho_accounts")) and all(
                x["state"] in ("success", "failed") for x in r), 300, "the accounts flow")
            wait_until(lambda: all(r["state"] != "running" for r in runs(env, DAG)), 300,
                       "the runs after the accounts flow")
            account = zoho.add_record(ORG, "chartofaccounts", {
                "account_code": "4999", "account_name": "Webhook income",
                "account_type": "income"})
            recoded = invoices[201]
            zoho.edit_record(ORG, "invoices", recoded["invoice_id"], {"line_items": [
                {**recoded["line_items"][0], "account_id": account["account_id"]},
                *recoded["line_items"][1:]]})
            expected = oracle(sandbox)
            assert any(code == "4999" for code, _ in expected)
            wait_until(lambda: account_cells(sandbox) == expected, 300, "the new account's cell")
            wait_until(lambda: all(r["state"] != "running" for r in runs(env, DAG)), 300,
                       "the invoice flow's runs")
            assert {r["state"] for r in runs(env, DAG) + runs(env, "zoho_accounts")} == {"success"}
            assert audit_of(home).query(flow="invoice_actuals_daily", status="failed") == []

            # 4. An invoice deleted in Zoho: its "Deleted" webhook -> the delete and an event
            # -> runs of the daily flow and of the record-grain flow, which remove it.
            airflow(env, "dags", "unpause", LINES)
            wait_until(lambda: (r := runs(env, LINES)) and all(
                x["state"] in ("success", "failed") for x in r), 300, "the record-grain flow")
            gone, before = invoices[202], account_cells(sandbox)
            deleted_at = delete_invoice(sandbox, gone)
            wait_until(lambda: len(removals(home)) == 2, 300, "both flows' removals")
            wait_until(lambda: all(r["state"] != "running" for r in runs(env, DAG) +
                                   runs(env, LINES)), 300, "the runs after the delete")
            assert_removed(sandbox, home, gone, deleted_at, "its webhook", before)
            assert {r["state"] for r in runs(env, DAG) + runs(env, LINES)} == {"success"}

        # 5. The receiver is down when Zoho sends: Zoho's retry lands the change.
        raise_line(sandbox, invoices[-1], 321.09)
        expected = expected_cells(sandbox)
        wait_until(lambda: any(d["attempts"] and d["state"] == "pending"
                               for d in sandbox.sandbox.zoho.webhooks.snapshot(ORG)), 60,
                   "the failed delivery")
        with receiver(env, port, home / "receiver.log"):
            sandbox.sandbox.clock.advance(31)  # Zoho's retry comes due
            wait_until(lambda: nonzero(account_cells(sandbox)) == expected, 300,
                       "the retried change")
    delivered = sandbox.sandbox.zoho.webhooks.snapshot(ORG)[-1]
    assert delivered["state"] == "delivered" and len(delivered["attempts"]) == 2
    events = EventLog(StateStore.sqlite(home / "ml_connector" / "state.db")).events(
        limit=1000)
    assert len(events) == 205  # every delivered event once
    print(f"\nedit -> Anaplan cell by webhook: {latency:.0f} s, {per_event} Zoho requests; "
          f"200 edits -> {burst_runs} run(s)")
