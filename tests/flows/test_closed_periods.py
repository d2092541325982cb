"""Closed periods against the sandbox over HTTP: a Zoho transaction lock (read once, kept
for the day) or ``closed_before`` closes months; a period run of a closed month is refused
before any read unless reopened; an incremental run spends no request on a closed month and
reports a change dated into it instead of applying it; ``ml-connector runs`` marks it."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from ml_connector.flows.closed import PeriodClosed
from ml_connector.flows.local import run_flow
from ml_connector.flows.spec import load_flows
from ml_connector.state.report import run_months, table
from ml_connector_sandbox.zoho.locks import LockSpec
from ml_connector_sandbox.zoho.pnl import NO_POSTINGS

from ..cells import ORG, account_cells
from .conftest import ROOT, Flows
from .test_flow_runs import line_amounts

JAN, FEB, MAR, APR = (date(2026, m, 1) for m in (1, 2, 3, 4))
POS = "/books/v3/purchaseorders"
INVOICES = "/books/v3/invoices"


def requests(sandbox, path: str) -> int:
    return sandbox.sandbox.zoho.stats()["organizations"][ORG]["by_path"].get(path, 0)


def lock(sandbox, *locks: LockSpec) -> str:
    """Set the organization's locks, as a user would in Zoho; the first one's id."""
    return sandbox.sandbox.zoho.set_transaction_locks(ORG, list(locks))[0][
        "transaction_lock_id"]


def months_of(sandbox, start: date, end: date) -> int:
    return sum(1 for _ in sandbox.sandbox.zoho.documents(ORG, "purchaseorders",
                                                         start.isoformat(), end.isoformat()))


def test_incremental_runs_leave_closed_months_and_report_changes_into_them(
        sandbox, flows, tmp_path):
    # No overlap before the watermark: each run rebuilds exactly the months changed since;
    # no id sweep (its listings of the open months are counted in tests/flows/test_deletes).
    spec = flows.spec.model_copy(update={"flows": [
        f.model_copy(update={"overlap_minutes": 0, "sweep": None})
        if f.id == "po_commitments_daily" else f for f in flows.spec.flows]})
    (tmp_path / "own").mkdir()
    flows = Flows.of(spec, sandbox, flows.zoho_client, flows.anaplan_client, tmp_path / "own")
    flows.run("accounts", date(2026, 3, 31), APR)
    lock_id = lock(sandbox, LockSpec(module="purchase", date=date(2026, 1, 31)))
    counts = {m: months_of(sandbox, m, n) for m, n in ((JAN, FEB), (FEB, MAR), (MAR, APR))}

    # First run (no watermark): every month changed, January is closed: not a request for
    # it (the changes' listing, then February's and March's listings and details only).
    summary = flows.run("po_commitments_daily", APR, date(2026, 4, 2))
    pages = math.ceil(sum(counts.values()) / 200)
    assert requests(sandbox, POS) == pages + sum(math.ceil(counts[m] / 200) for m in (FEB, MAR))
    assert requests(sandbox, POS + "/{id}") == counts[FEB] + counts[MAR]
    assert {w[0][:7] for w in summary.windows} == {"2026-02", "2026-03"}
    assert summary.closed == [f"January 2026 is closed through 2026-01-31 by Zoho "
                              f"transaction lock {lock_id} (purchase): not read (a backfill "
                              "with reopen: true loads it)"]
    assert {period for _, period in account_cells(sandbox, "Purchase Order Commitments")} \
        == {"Feb 26", "Mar 26"}
    assert requests(sandbox, "/books/v3/transactionlocks") == 1

    # A January purchase order changes (Zoho does not lock purchase orders; a lifted lock
    # lets any document change): reported loudly, not applied; February's change is.
    zoho = sandbox.sandbox.zoho
    jan = next(zoho.documents(ORG, "purchaseorders", "2026-01-10", "2026-02-01"))
    feb = next(zoho.documents(ORG, "purchaseorders", "2026-02-10", "2026-03-01"))
    for po in (jan, feb):
        zoho.edit_record(ORG, "purchaseorders", po["purchaseorder_id"],
                         {"reference_number": "changed"})
    before = requests(sandbox, POS)
    summary = flows.run("po_commitments_daily", date(2026, 4, 2), date(2026, 4, 3))
    assert [w[0][:7] for w in summary.windows] == ["2026-02"]
    assert requests(sandbox, POS) - before == 1 + math.ceil(counts[FEB] / 200)
    [note] = summary.closed
    assert "January 2026" in note and jan["purchaseorder_id"] in note
    assert lock_id in note and "reopen: true" in note
    assert "Jan 26" not in {p for _, p in account_cells(sandbox, "Purchase Order Commitments")}
    assert requests(sandbox, "/books/v3/transactionlocks") == 1, "kept for the day"

    # Only a closed month changed: the run reads no month and sends nothing.
    sandbox.sandbox.clock.advance(5)
    zoho.edit_record(ORG, "purchaseorders", jan["purchaseorder_id"], {"reference_number": "2"})
    before = requests(sandbox, POS)
    walked = flows.walk("po_commitments_daily", date(2026, 4, 3), date(2026, 4, 4))
    assert "closed month" in walked.skipped["scope"] and "extract" in walked.skipped
    assert requests(sandbox, POS) - before == 1  # the changes' listing


def test_a_period_run_of_a_closed_month_is_refused_unless_reopened(sandbox, flows, tmp_path):
    spec = load_flows(ROOT / "dags" / "flows.yaml")
    every_run = spec.defaults.transaction_locks.model_copy(update={"cache_hours": 0})
    own = Flows.of(spec.model_copy(update={"defaults": spec.defaults.model_copy(
        update={"transaction_locks": every_run})}), sandbox, flows.zoho_client,
        flows.anaplan_client, tmp_path)
    own.run("accounts", date(2026, 1, 31), FEB)
    # The ledger flow reads sales, purchase and accountant documents: a month is closed only
    # when all three are locked through it (the strictest lock counts).
    lock(sandbox, LockSpec(module="sales", date=date(2026, 2, 28)),
         LockSpec(module="purchase", date=date(2026, 1, 31)))
    assert own.flow_run("pl_actuals", JAN, FEB).closure() is None, "journals are open"
    lock_id = lock(sandbox, LockSpec(module="all", date=date(2026, 1, 31)))
    sandbox.sandbox.zoho.reset_stats()
    with pytest.raises(PeriodClosed) as refused:
        own.run("pl_actuals", JAN, FEB)
    message = str(refused.value)
    assert "January 2026" in message and "2026-01-31" in message and lock_id in message
    assert '"reopen": true' in message and "--reopen" in message
    by_path = sandbox.sandbox.zoho.stats()["organizations"][ORG]["by_path"]
    assert set(by_path) == {"/books/v3/transactionlocks"}, "nothing of the month was read"

    # February is open (the lock ends in January): it runs. Reopened, January runs too.
    assert own.run("pl_actuals", FEB, MAR).cells
    run = own.flow_run("pl_actuals", JAN, FEB)
    run.reopen = True
    assert run_flow(run, own.spec.defaults, sleep=sandbox.sandbox.clock.advance).cells
    assert "Jan 26" in {p for _, p in account_cells(sandbox, "GL Actuals")}
    # ml-connector runs marks the closed month.
    marked = table(run_months(own.store, "pl_actuals"), closure=run.closure())
    assert any("January 2026" in line and "closed" in line for line in marked)
    assert not any("February 2026" in line and "closed" in line for line in marked)


def test_closed_before_closes_months_without_a_zoho_lock(sandbox, flows, tmp_path):
    spec = load_flows(ROOT / "dags" / "flows.yaml")
    flows_data = spec.model_copy(update={"defaults": spec.defaults.model_copy(update={
        "closed_before": date(2026, 2, 1)})})
    own = Flows.of(flows_data, sandbox, flows.zoho_client, flows.anaplan_client, tmp_path)
    with pytest.raises(PeriodClosed, match=r"closed_before: 2026-02-01 \(defaults"):
        own.run("po_commitments", JAN, FEB)
    assert requests(sandbox, POS) == 0


def test_a_record_grain_run_fetches_no_detail_dated_into_a_closed_month(
        sandbox, flows, tmp_path, caplog):
    """invoice_lines: a January invoice changed while January is locked is left out at its
    list row (no detail request), named in a loud warning; February's change arrives."""
    spec = load_flows(ROOT / "dags" / "flows.yaml")
    every_run = spec.defaults.transaction_locks.model_copy(update={"cache_hours": 0})
    spec = spec.model_copy(update={
        "defaults": spec.defaults.model_copy(update={"transaction_locks": every_run}),
        "flows": [f.model_copy(update={"overlap_minutes": 0}) if f.id == "invoice_lines"
                  else f for f in spec.flows]})
    (tmp_path / "own").mkdir()
    own = Flows.of(spec, sandbox, flows.zoho_client, flows.anaplan_client, tmp_path / "own")
    own.load("accounts", "customers", start=date(2026, 3, 31), end=APR)
    hour = timedelta(hours=1)
    own.run("invoice_lines", APR, APR + hour)
    zoho = sandbox.sandbox.zoho

    def posting(start: str, end: str) -> dict:
        return next(i for i in zoho.documents(ORG, "invoices", start, end)
                    if i["status"] not in NO_POSTINGS)

    jan, feb = posting("2026-01-10", "2026-02-01"), posting("2026-02-10", "2026-03-01")
    held = line_amounts(sandbox)
    for invoice in (jan, feb):  # edited while the lock was lifted
        first, *rest = invoice["line_items"]
        zoho.edit_record(ORG, "invoices", invoice["invoice_id"], {"line_items": [
            {**first, "item_total": round(first["item_total"] + 100, 2)}, *rest]})
    lock_id = lock(sandbox, LockSpec(module="sales", date=date(2026, 1, 31)))
    sandbox.sandbox.zoho.reset_stats()

    summary = own.run("invoice_lines", APR + hour, APR + 2 * hour)
    by_path = zoho.stats()["organizations"][ORG]["by_path"]
    assert by_path.get(INVOICES + "/{id}") == 1, "February's detail only"
    assert by_path.get(INVOICES) == 1, "one listing of the changes, no second one"
    now = line_amounts(sandbox)
    jan_first, feb_first = jan["line_items"][0], feb["line_items"][0]
    assert now[feb_first["line_item_id"]] == pytest.approx(feb_first["item_total"] + 100)
    assert now[jan_first["line_item_id"]] == held[jan_first["line_item_id"]], "not applied"
    assert {r["record_id"] for r in own.audit.query(flow="invoice_lines",
                                                    run_id=summary.run_id)} \
        == {feb["invoice_id"]}
    [note] = summary.closed
    assert note.startswith("CLOSED MONTH CHANGED: January 2026 is closed through "
                           f"2026-01-31 by Zoho transaction lock {lock_id} (sales)")
    assert jan["invoice_id"] in note and feb["invoice_id"] not in note
    assert "reopen: true" in note
    assert any(r.levelname == "WARNING" and "CLOSED MONTH CHANGED" in r.getMessage()
               and jan["invoice_id"] in r.getMessage() for r in caplog.records)

    # Reopened, a run applies a change dated into January.
    sandbox.sandbox.clock.advance(5)
    sandbox.sandbox.zoho.set_transaction_locks(ORG, [])  # lifted again
    zoho.edit_record(ORG, "invoices", jan["invoice_id"], {"reference_number": "late"})
    lock(sandbox, LockSpec(module="sales", date=date(2026, 1, 31)))
    run = own.flow_run("invoice_lines", APR + 2 * hour, APR + 3 * hour)
    run.reopen = True
    reopened = run_flow(run, own.spec.defaults, sleep=sandbox.sandbox.clock.advance)
    assert reopened.closed == []
    assert line_amounts(sandbox)[jan_first["line_item_id"]] == pytest.approx(
        jan_first["item_total"] + 100)
