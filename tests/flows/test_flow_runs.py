"""The shipped flows run in this process against the sandbox: a dimension and an aggregated
flow, an idempotent rerun, a partial failure traced per record in the audit trail, and the
incremental flows (record grain through a process; an aggregate flow rebuilding only the
months a late edit touches). Cells are compared with the sandbox's own profit and loss."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from ml_connector.errors import RunFailed
from ml_connector.zoho import ExtractWindow
from ml_connector.zoho.extract import iter_window
from ml_connector.zoho.timefmt import parse_zoho_time
from ml_connector_sandbox.zoho.pnl import NO_POSTINGS, actuals

from ..cells import ORG, account_cells, line_amounts
from ..conftest import MODEL

FEB, MAR, APR = date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)


def details_fetched(sandbox) -> int:
    org = sandbox.sandbox.zoho.stats()["organizations"][ORG]
    return org["by_path"].get("/books/v3/invoices/{id}", 0)


def test_dimension_and_aggregated_flows(sandbox, zoho_client, flows, tmp_path):
    client = zoho_client()

    # List flow: the chart of accounts becomes the Accounts list.
    flows.run("accounts", date(2026, 1, 31), FEB)
    chart = list(client.iter_records("chartofaccounts"))
    listed = {i["code"] for i in sandbox.sandbox.anaplan.list_items(MODEL, "Accounts")}
    assert listed == {a["account_code"] for a in chart if a.get("account_code")}

    # Aggregated flow for February: cells equal the sandbox's own profit and loss (invoices
    # net of credit notes), computed from its documents without the connector's code.
    summary = flows.run("invoice_actuals", FEB, MAR)
    feb = ExtractWindow(start=FEB, end=MAR)
    invoices = list(iter_window(client, "invoices", feb))
    credits = list(iter_window(client, "creditnotes", feb))
    expected = actuals(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"], FEB, MAR)
    assert account_cells(sandbox) == expected
    assert summary.cells == len(expected) and summary.windows == [
        ("2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00")]
    actual = [i for i in invoices if i["status"] not in ("void", "draft")]
    rows = flows.audit.query(flow="invoice_actuals", limit=100_000)
    assert {r["status"] for r in rows} == {"imported", "skipped"}
    assert sorted(r["record_id"] for r in rows if r["status"] == "imported") == sorted(
        [i["invoice_id"] for i in actual] + [c["creditnote_id"] for c in credits
                                             if c["status"] not in ("void", "draft")])
    credit_ids = {c["creditnote_id"] for c in credits}
    assert {r["record_id"] for r in rows if r["entity"] == "creditnotes"} == credit_ids
    documents = len(invoices) + len(credits)
    assert len(rows) == documents

    # Idempotent rerun: same cells, same audit rows (no duplicates), all of the new run.
    again = flows.run("invoice_actuals", FEB, MAR)
    assert account_cells(sandbox) == expected
    rows = flows.audit.query(flow="invoice_actuals", limit=100_000)
    assert len(rows) == documents and {r["run_id"] for r in rows} == {again.run_id}

    # Partial failure: an account Anaplan's list does not know yet. The audit names the
    # record and the reason, and the run fails (a retry would fail the same way).
    new = sandbox.sandbox.zoho.add_record(ORG, "chartofaccounts", {
        "account_code": "4999", "account_name": "New income", "account_type": "income"})
    victim = actual[0]
    detail = sandbox.sandbox.zoho.record(ORG, "invoices", victim["invoice_id"])
    lines = [{**detail["line_items"][0], "account_id": new["account_id"]},
             *detail["line_items"][1:]]
    sandbox.sandbox.zoho.edit_record(ORG, "invoices", victim["invoice_id"],
                                     {"line_items": lines})
    with pytest.raises(RunFailed, match="record\\(s\\) failed in Anaplan task"):
        flows.run("invoice_actuals", FEB, MAR)
    failed = flows.audit.query(flow="invoice_actuals", status="failed", limit=100_000)
    assert [r["record_id"] for r in failed] == [victim["invoice_id"]]
    assert "4999" in failed[0]["error"] and failed[0]["task_id"]
    assert len(flows.audit.query(flow="invoice_actuals", limit=100_000)) == documents

    shown = subprocess.run(
        [str(Path(sys.executable).parent / "ml-connector"), "audit", "--flow",
         "invoice_actuals", "--status", "failed", "--db", f"sqlite:///{tmp_path / 'state.db'}"],
        capture_output=True, text=True, check=True)
    assert victim["invoice_id"] in shown.stdout and "4999" in shown.stdout


def test_incremental_record_and_aggregate_flows(sandbox, zoho_client, flows):
    client = zoho_client()
    flows.run("accounts", date(2026, 3, 31), APR)
    flows.run("customers", date(2026, 3, 31), APR)
    everything = ExtractWindow(start=date(2026, 1, 1), end=APR)
    invoices = list(iter_window(client, "invoices", everything, line_items=True))
    credits = list(iter_window(client, "creditnotes", everything))

    def oracle() -> dict:
        """Invoices net of credit notes, from the sandbox's documents and posting rules."""
        return actuals(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"],
                       date(2026, 1, 1), APR)

    # Record grain through the process "Load Invoice Lines": one module row per line.
    fetched = details_fetched(sandbox)
    lines = flows.run("invoice_lines", APR, APR + timedelta(hours=1))
    assert details_fetched(sandbox) - fetched == len(invoices), "each detail fetched once"
    assert lines.watermark == max(i["last_modified_time"] for i in invoices)
    assert flows.store.get_watermark("invoice_lines") == lines.watermark
    # Void and draft invoices' lines are sent with amount 0 (excluded: zero).
    assert line_amounts(sandbox) == {
        line["line_item_id"]: pytest.approx(0 if i["status"] in NO_POSTINGS else
                                            line["item_total"])
        for i in invoices for line in i["line_items"]}

    # First run of the incremental aggregate flow: no watermark, so every month is rebuilt,
    # from the invoice details the record-grain flow cached: no invoice is fetched again.
    fetched = details_fetched(sandbox)
    flows.run("invoice_actuals_daily", APR, date(2026, 4, 2))
    assert details_fetched(sandbox) == fetched
    assert account_cells(sandbox) == oracle()
    first_rows = flows.audit.query(flow="invoice_actuals_daily", limit=100_000)
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
    sandbox.sandbox.clock.advance(60)  # the run comes later than the edits' second
    before = account_cells(sandbox)
    fetched = details_fetched(sandbox)
    flows.run("invoice_actuals_daily", date(2026, 4, 2), date(2026, 4, 3))
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
    rows = flows.audit.query(flow="invoice_actuals_daily", limit=100_000)
    assert len(rows) == len(documents)
    runs = {r["window_start"][:7]: r["run_id"] for r in rows}
    first_runs = {r["window_start"][:7]: r["run_id"] for r in first_rows}
    assert {m for m in runs if runs[m] != first_runs[m]} == rebuilt

    # The record-grain flow's next run carries the edited line too.
    fetched = details_fetched(sandbox)
    flows.run("invoice_lines", date(2026, 4, 3), date(2026, 4, 3) + timedelta(hours=1))
    assert details_fetched(sandbox) == fetched, "the daily flow cached both new versions"
    after = line_amounts(sandbox)
    assert after[first_line["line_item_id"]] == pytest.approx(first_line["item_total"])
    assert all(after[line["line_item_id"]] == 0 for line in voided["line_items"])
    # One-way: no run sent Zoho anything but GETs.
    assert sandbox.sandbox.zoho.stats()["writes"] == 0


def test_watermark_moves_only_after_success_and_an_emptied_cell_goes_to_zero(
        sandbox, zoho_client, flows):
    client = zoho_client()
    window = ExtractWindow(start=date(2026, 1, 1), end=APR)

    def oracle() -> dict:
        return actuals(sandbox.sandbox.zoho, ORG, ["bills", "vendorcredits"],
                       date(2026, 1, 1), APR)

    # The Accounts list is not loaded yet: Anaplan rejects every row, the run fails, every
    # record is audited as failed, and the watermark stays unset for the next run.
    with pytest.raises(RunFailed, match="failed in Anaplan task"):
        flows.run("bill_actuals_daily", APR, date(2026, 4, 2))
    assert flows.store.get_watermark("bill_actuals_daily") is None
    rows = flows.audit.query(flow="bill_actuals_daily", limit=100_000)
    assert rows and {r["status"] for r in rows} <= {"failed", "skipped"}
    assert "failed" in {r["status"] for r in rows}

    # Once the accounts flow has run, the next run sends everything and moves the watermark
    # to the newest change it read.
    flows.run("accounts", date(2026, 3, 31), APR)
    summary = flows.run("bill_actuals_daily", date(2026, 4, 2), date(2026, 4, 3))
    bills = list(iter_window(client, "bills", window, line_items=True))
    credits = list(iter_window(client, "vendorcredits", window, line_items=True))
    newest = max((d["last_modified_time"] for d in bills + credits), key=parse_zoho_time)
    assert summary.watermark == newest == flows.store.get_watermark("bill_actuals_daily")
    assert account_cells(sandbox, "Bill Actuals") == oracle()

    # Void every document with a line on one account in one month: that cell has nothing
    # left, so the rebuilt month sends it as zero (not left at its old amount).
    code = {a["account_id"]: a.get("account_code")
            for a in client.iter_records("chartofaccounts")}
    touching: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for entity, docs, id_field in (("bills", bills, "bill_id"),
                                   ("vendorcredits", credits, "vendor_credit_id")):
        for doc in docs:
            if doc["status"] in NO_POSTINGS:
                continue
            period = date.fromisoformat(doc["date"]).strftime("%b %y")
            for line in doc["line_items"]:
                cell = (code[line["account_id"]], period)
                touching.setdefault(cell, set()).add((entity, doc[id_field]))
    other = next(a["account_code"] for a in client.iter_records("chartofaccounts")
                 if a["account_name"] == "Other Expenses")
    cell, victims = min(((c, d) for c, d in touching.items() if c[0] != other),
                        key=lambda item: len(item[1]))
    assert account_cells(sandbox, "Bill Actuals")[cell] != 0
    for entity, record_id in victims:
        sandbox.sandbox.zoho.edit_record(ORG, entity, record_id, {"status": "void"})
    flows.run("bill_actuals_daily", date(2026, 4, 3), date(2026, 4, 4))
    expected = oracle()
    assert cell not in expected
    held = account_cells(sandbox, "Bill Actuals")
    assert held[cell] == 0
    assert {k: v for k, v in held.items() if v or k in expected} == expected


def test_an_empty_month_uploads_nothing_and_starts_no_import(sandbox, flows):
    """June 2026 has no document: the run ends without a header-only file or an import."""
    anaplan = sandbox.sandbox.anaplan
    anaplan.reset_stats()
    summary = flows.run("invoice_actuals", date(2026, 6, 1), date(2026, 7, 1))
    assert summary.counts == {} and summary.task_id is None
    calls = [path for path in anaplan.stats()["by_path"] if not path.startswith("GET")]
    assert [c for c in calls if "/files/" in c or "/tasks" in c] == []


def test_runs_reports_each_run_and_month_from_the_trails(sandbox, flows, tmp_path):
    """``ml-connector runs``: per run and month the audit's counts and reasons, the Zoho
    and Anaplan requests the run made (as the emulators counted them) and the
    verification."""
    zoho, anaplan = sandbox.sandbox.zoho, sandbox.sandbox.anaplan
    flows.run("accounts", date(2026, 1, 31), FEB)
    zoho.reset_stats()
    anaplan.reset_stats()
    summary = flows.run("invoice_actuals", FEB, MAR)
    charged = zoho.stats()["organizations"][ORG]["total"]
    spent = anaplan.stats()["total"]
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ml-connector"), "runs", "--flow",
         "invoice_actuals", "--db", f"sqlite:///{tmp_path / 'state.db'}"],
        capture_output=True, text=True, check=True)
    lines = done.stdout.splitlines()
    row = next(line for line in lines if line.startswith("invoice_actuals"))
    rows = flows.audit.query(flow="invoice_actuals", limit=100_000)
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("imported", "skipped")}
    # records, imported, skipped, failed, deleted, Zoho and Anaplan requests, verified
    assert row.split()[:11] == ["invoice_actuals", "February", "2026", f"{len(rows):,}",
                                f"{counts['imported']:,}", f"{counts['skipped']:,}", "0", "0",
                                f"{charged:,}", f"{spent:,}", "-"]
    assert summary.task_id in row and summary.run_id in row
    # The reasons for skipping, counted: void and draft documents.
    reasons = [line for line in lines if line.startswith("    ")]
    assert reasons and all(" x skipped: " in r and "skipped: skipped" not in r for r in reasons)
    assert sum(int(r.split(" x ")[0]) for r in reasons) <= counts["skipped"]
