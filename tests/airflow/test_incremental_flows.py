"""Incremental flows through real Airflow: a record-grain module flow fed through an Anaplan
process, and an aggregate flow whose next run carries a late edit of an old invoice into the
right cell (rebuilding only the month it touches)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ml_connector.sandbox.airflow_env import airflow
from ml_connector.sandbox.zoho.pnl import NO_POSTINGS, actuals
from ml_connector.zoho import ExtractWindow
from ml_connector.zoho.extract import iter_window
from ml_connector.zoho.timefmt import parse_zoho_time

from ..conftest import MODEL
from .flow_env import ORG, account_cells, audit_of, flow_env

pytestmark = pytest.mark.airflow


def module(sandbox, name: str) -> list[dict]:
    return sandbox.sandbox.anaplan.module_cells(MODEL, name)


def line_amounts(sandbox) -> dict[str, float]:
    return {c["dimensions"]["Invoice Lines"]: c["values"]["Amount"]
            for c in module(sandbox, "Invoice Line Details")}


def details_fetched(sandbox) -> int:
    org = sandbox.sandbox.zoho.stats()["organizations"][ORG]
    return org["by_path"].get("/books/v3/invoices/{id}", 0)


def test_incremental_record_and_aggregate_flows(sandbox, zoho_client, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    env = flow_env(sandbox, home)
    audit = audit_of(home)
    client = zoho_client()
    airflow(env, "dags", "test", "zoho_accounts", "2026-04-01")
    airflow(env, "dags", "test", "zoho_customers", "2026-04-01")
    everything = ExtractWindow(start=date(2026, 1, 1), end=date(2026, 4, 1))
    invoices = list(iter_window(client, "invoices", everything, line_items=True))
    credits = list(iter_window(client, "creditnotes", everything))

    def oracle() -> dict:
        """Invoices net of credit notes, from the sandbox's documents and posting rules."""
        return actuals(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"],
                       date(2026, 1, 1), date(2026, 4, 1))

    # Record grain through the process "Load Invoice Lines": one module row per line.
    fetched = details_fetched(sandbox)
    airflow(env, "dags", "test", "zoho_invoice_lines", "2026-04-01T01:00:00+00:00")
    assert details_fetched(sandbox) - fetched == len(invoices), "each detail fetched once"
    # Void and draft invoices' lines are sent with amount 0 (excluded: zero).
    assert line_amounts(sandbox) == {
        line["line_item_id"]: pytest.approx(0 if i["status"] in NO_POSTINGS else
                                            line["item_total"])
        for i in invoices for line in i["line_items"]}

    # First run of the incremental aggregate flow: no watermark, so every month is rebuilt,
    # from the invoice details the record-grain flow cached: no invoice is fetched again.
    fetched = details_fetched(sandbox)
    airflow(env, "dags", "test", "zoho_invoice_actuals_daily", "2026-04-02")
    assert details_fetched(sandbox) == fetched
    assert account_cells(sandbox) == oracle()
    first_rows = audit.query(flow="invoice_actuals_daily", limit=100_000)
    assert len(first_rows) == len(invoices) + len(credits)
    assert {r["window_start"][:7] for r in first_rows} == {"2026-01", "2026-02", "2026-03"}

    # A late edit to a January invoice (as if corrected after the January close).
    old = next(i for i in invoices if i["date"] < "2026-02" and i["status"] not in NO_POSTINGS)
    first_line = {**old["line_items"][0],
                  "item_total": round(old["line_items"][0]["item_total"] + 1234.56, 2)}
    sandbox.sandbox.zoho.edit_record(ORG, "invoices", old["invoice_id"],
                                     {"line_items": [first_line, *old["line_items"][1:]]})
    voided = next(i for i in invoices if i["date"] < "2026-02" and i["status"] not in NO_POSTINGS
                  and i["invoice_id"] != old["invoice_id"])
    sandbox.sandbox.zoho.edit_record(ORG, "invoices", voided["invoice_id"], {"status": "void"})
    before = account_cells(sandbox)
    fetched = details_fetched(sandbox)
    airflow(env, "dags", "test", "zoho_invoice_actuals_daily", "2026-04-03")
    assert details_fetched(sandbox) - fetched == 2, "only the edited and the voided invoice"
    expected = oracle()
    assert account_cells(sandbox) == expected
    changed = {k for k in expected if expected[k] != before.get(k)}
    code = sandbox.sandbox.zoho.record(ORG, "chartofaccounts", first_line["account_id"])
    assert (code["account_code"], "Jan 26") in changed
    assert {period for _, period in changed} == {"Jan 26"}
    # Rebuilt: January, and the months of documents re-read in the 10-minute overlap before
    # the watermark. Their audit rows belong to the second run, the other months' do not.
    documents = invoices + credits
    newest = max(parse_zoho_time(i["last_modified_time"]) for i in documents)
    overlap = {i["date"][:7] for i in documents
               if parse_zoho_time(i["last_modified_time"]) > newest - timedelta(minutes=10)}
    rebuilt = {"2026-01"} | overlap
    assert rebuilt != {"2026-01", "2026-02", "2026-03"}, "some month must stay untouched"
    rows = audit.query(flow="invoice_actuals_daily", limit=100_000)
    assert len(rows) == len(documents)
    runs = {r["window_start"][:7]: r["run_id"] for r in rows}
    first_runs = {r["window_start"][:7]: r["run_id"] for r in first_rows}
    assert {m for m in runs if runs[m] != first_runs[m]} == rebuilt

    # The record-grain flow's next run carries the edited line too.
    fetched = details_fetched(sandbox)
    airflow(env, "dags", "test", "zoho_invoice_lines", "2026-04-03T01:00:00+00:00")
    assert details_fetched(sandbox) == fetched, "the daily flow cached both new versions"
    after = line_amounts(sandbox)
    assert after[first_line["line_item_id"]] == pytest.approx(first_line["item_total"])
    assert all(after[line["line_item_id"]] == 0 for line in voided["line_items"])
    # One-way: no run sent Zoho anything but GETs.
    assert sandbox.sandbox.zoho.stats()["writes"] == 0
