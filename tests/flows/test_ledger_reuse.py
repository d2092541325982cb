"""A ledger flow takes an account's month another ledger flow just read
(``ledger_reuse_minutes``) only while a listing of changed documents (an incremental run's
own, journals by day; a period run's of every posting module) shows nothing changed since
that read; over HTTP against the sandbox, the cells checked against the P&L
the sandbox computes from its own documents (``ledger_actuals``, no connector code)."""

from __future__ import annotations

from datetime import date

from ml_connector.state.deletes import DeleteLog
from ml_connector_sandbox.zoho.pnl import NO_POSTINGS, ledger_actuals

from ..cells import ORG
from .test_ledger_flows import gl_cells, ledger_requests, nonzero

JAN, MAR, APR = date(2026, 1, 1), date(2026, 3, 1), date(2026, 4, 1)


def march(zoho, kind: str, n: int) -> list[dict]:
    """``n`` March documents of ``kind`` that post to the ledger."""
    found = [d for d in zoho.documents(ORG, kind, MAR.isoformat(), APR.isoformat())
             if d["status"] not in NO_POSTINGS]
    return found[:n]


def settled_after_edit(sandbox, kind: str, doc: dict, changes: dict) -> None:
    """Edit ``doc`` in Zoho, then let Zoho's clock pass its modification second."""
    sandbox.sandbox.zoho.edit_record(ORG, kind, doc[f"{kind[:-1]}_id"], changes)
    sandbox.sandbox.clock.advance(5)


def a_march_bill_moved(sandbox, flows, day: str) -> None:
    """The accounts list loaded, the daily flow's first run (its watermark), then a March
    bill moved to ``day`` of March in Zoho: the daily flow's next run rebuilds March."""
    flows.run("accounts", date(2026, 3, 31), APR)
    flows.run("pl_actuals_daily", APR, date(2026, 4, 2))
    [bill] = march(sandbox.sandbox.zoho, "bills", 1)
    settled_after_edit(sandbox, "bills", bill, {"date": day})


def books(zoho) -> dict:
    return nonzero(ledger_actuals(zoho, ORG, JAN, APR))


def test_a_month_read_by_the_monthly_flow_is_taken_while_nothing_changed_since(sandbox,
                                                                               flows):
    zoho = sandbox.sandbox.zoho
    a_march_bill_moved(sandbox, flows, "2026-03-20")

    before = ledger_requests(zoho)
    flows.run("pl_actuals", MAR, APR)  # reads March after the edit, keeps it
    monthly = ledger_requests(zoho) - before
    assert monthly > 10
    sandbox.sandbox.clock.advance(5)

    before = ledger_requests(zoho)
    daily = flows.run("pl_actuals_daily", date(2026, 4, 2), date(2026, 4, 3))
    assert [w[0][:7] for w in daily.windows] == ["2026-03"], "the bill's month is rebuilt"
    assert ledger_requests(zoho) - before == 0, "March came from the monthly flow's read"
    assert nonzero(gl_cells(sandbox)) == books(zoho)


def test_a_document_changed_after_that_read_makes_the_flow_read_the_month_again(sandbox,
                                                                                flows):
    zoho = sandbox.sandbox.zoho
    flows.run("accounts", date(2026, 3, 31), APR)
    flows.run("pl_actuals_daily", APR, date(2026, 4, 2))
    flows.run("pl_actuals", MAR, APR)
    sandbox.sandbox.clock.advance(5)
    # After the monthly read: an invoice's first line moves to another income account.
    [invoice] = march(zoho, "invoices", 1)
    chart = {a["account_name"]: a for a in zoho.documents(ORG, "chartofaccounts")}
    line = invoice["line_items"][0]
    target = next(a for name, a in chart.items() if name in ("Consulting Income",
                                                              "Other Income")
                  and a["account_id"] != line["account_id"])
    moved = {**line, "account_id": target["account_id"], "account_name": target["account_name"]}
    settled_after_edit(sandbox, "invoices", invoice,
                       {"line_items": [moved, *invoice["line_items"][1:]]})
    expected = books(zoho)

    before = ledger_requests(zoho)
    daily = flows.run("pl_actuals_daily", date(2026, 4, 2), date(2026, 4, 3))
    assert "2026-03" in [w[0][:7] for w in daily.windows]
    assert ledger_requests(zoho) - before > 10, "March is read again, not taken"
    assert nonzero(gl_cells(sandbox)) == expected


def test_a_delete_recorded_after_that_read_makes_the_flow_read_the_month_again(sandbox,
                                                                               flows):
    zoho = sandbox.sandbox.zoho
    a_march_bill_moved(sandbox, flows, "2026-03-21")
    [invoice] = march(zoho, "invoices", 1)
    flows.run("pl_actuals", MAR, APR)
    sandbox.sandbox.clock.advance(5)
    # The invoice is deleted after the monthly read; its Deleted webhook is recorded.
    zoho.delete_record(ORG, "invoices", invoice["invoice_id"])
    DeleteLog(flows.store).found(ORG, "invoices", [invoice["invoice_id"]], "webhook")
    expected = books(zoho)

    before = ledger_requests(zoho)
    flows.run("pl_actuals_daily", date(2026, 4, 2), date(2026, 4, 3))
    assert ledger_requests(zoho) - before > 10, "March is read again, not taken"
    assert nonzero(gl_cells(sandbox)) == expected


def test_ledger_reuse_minutes_0_reads_every_month(sandbox, flows):
    zoho = sandbox.sandbox.zoho
    flows.spec.defaults.ledger_reuse_minutes = 0
    a_march_bill_moved(sandbox, flows, "2026-03-22")
    flows.run("pl_actuals", MAR, APR)
    sandbox.sandbox.clock.advance(5)

    before = ledger_requests(zoho)
    flows.run("pl_actuals_daily", date(2026, 4, 2), date(2026, 4, 3))
    assert ledger_requests(zoho) - before > 10
    assert nonzero(gl_cells(sandbox)) == books(zoho)


def listed(zoho, modules: tuple[str, ...]) -> int:
    paths = zoho.stats()["organizations"][ORG]["by_path"]
    return sum(paths.get(f"/books/v3/{m}", 0) for m in modules)


POSTING = ("invoices", "creditnotes", "bills", "vendorcredits", "expenses", "journals")


def test_the_monthly_flow_takes_the_month_the_daily_one_read_after_listing_changes(
        sandbox, flows):
    """Whichever runs first reads: the period run takes a month the daily flow just read,
    once its own listing of the posting modules shows nothing changed since."""
    zoho = sandbox.sandbox.zoho
    a_march_bill_moved(sandbox, flows, "2026-03-19")
    daily = flows.run("pl_actuals_daily", date(2026, 4, 2), date(2026, 4, 3))
    assert [w[0][:7] for w in daily.windows] == ["2026-03"], "March read alone, and kept"
    sandbox.sandbox.clock.advance(5)

    before, lists = ledger_requests(zoho), listed(zoho, POSTING)
    flows.run("pl_actuals", MAR, APR)
    assert ledger_requests(zoho) - before == 0, "March came from the daily flow's read"
    assert 6 <= listed(zoho, POSTING) - lists <= 10, "a listing of each posting module"
    assert nonzero(gl_cells(sandbox)) == books(zoho)


def test_a_journal_entered_after_that_read_makes_the_monthly_flow_read_the_month(
        sandbox, flows):
    """Journals are listed by the day of their change (Zoho's filter on /journals matches
    one day): one entered after the kept read is seen, and the month is read again."""
    from .test_ledger_flows import add_journal

    zoho = sandbox.sandbox.zoho
    a_march_bill_moved(sandbox, flows, "2026-03-23")
    flows.run("pl_actuals_daily", date(2026, 4, 2), date(2026, 4, 3))
    sandbox.sandbox.clock.advance(5)
    add_journal(zoho, "2026-03-12", "Advertising and Marketing", "Business Checking", 432.10)
    sandbox.sandbox.clock.advance(5)
    expected = books(zoho)

    before = ledger_requests(zoho)
    flows.run("pl_actuals", MAR, APR)
    assert ledger_requests(zoho) - before > 10, "March is read again, not taken"
    assert nonzero(gl_cells(sandbox)) == expected


def test_a_journal_entered_after_the_monthly_read_makes_the_daily_flow_read_the_month(
        sandbox, flows):
    """The daily flow's own listing takes journals by date: one entered since the monthly
    read, dated into an earlier month, is found by the day of its change, and the month is
    read again, not taken."""
    from .test_ledger_flows import add_journal

    zoho = sandbox.sandbox.zoho
    a_march_bill_moved(sandbox, flows, "2026-03-24")
    flows.run("pl_actuals", MAR, APR)
    sandbox.sandbox.clock.advance(5)
    add_journal(zoho, "2026-03-13", "Advertising and Marketing", "Business Checking", 234.50)
    sandbox.sandbox.clock.advance(5)
    expected = books(zoho)

    before = ledger_requests(zoho)
    daily = flows.run("pl_actuals_daily", date(2026, 4, 2), date(2026, 4, 3))
    assert [w[0][:7] for w in daily.windows] == ["2026-03"]
    assert ledger_requests(zoho) - before > 10, "March is read again, not taken"
    assert nonzero(gl_cells(sandbox)) == expected
