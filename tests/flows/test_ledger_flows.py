"""The ledger flows (``source: ledger``) against the sandbox over HTTP: P&L cells per account
and month equal the profit and loss the sandbox computes from its documents (``pnl``, no
connector code), and a journal, a credit note, a voided invoice and a re-coded line each
move exactly the cells they post to."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from ml_connector.errors import RunFailed
from ml_connector.state.verifications import VerificationLog
from ml_connector_sandbox.zoho.pnl import NO_POSTINGS, PNL_SIGN, ledger_actuals, net_debits
from ml_connector_sandbox.zoho.seed import in_base

from ..cells import CENT, ORG
from ..conftest import MODEL
from .conftest import ROOT

JAN, FEB, MAR, APR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)


def gl_cells(sandbox, version: str = "Actual") -> dict[tuple[str, str], Decimal]:
    """GL Actuals' Amount cells of one version, by (account code, month)."""
    return {(c["dimensions"]["Accounts"], c["dimensions"]["Time"]):
            Decimal(repr(c["values"]["Amount"])).quantize(CENT)
            for c in sandbox.sandbox.anaplan.module_cells(MODEL, "GL Actuals")
            if c["dimensions"]["Versions"] == version}


def nonzero(cells: dict) -> dict:
    return {k: v for k, v in cells.items() if v}


def effect(zoho, kind: str, doc: dict, sign: int = 1) -> dict[tuple[str, str], Decimal]:
    """What a document adds to the P&L cells (``sign`` -1: what removing it takes away),
    by the sandbox's posting rules."""
    chart = {a["account_id"]: a for a in zoho.documents(ORG, "chartofaccounts")}
    by_name = {a["account_name"]: a for a in chart.values()}
    month = date.fromisoformat(doc.get("journal_date") or doc["date"]).strftime("%b %y")
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for account, debit in net_debits(kind, doc):
        row = chart.get(account) or by_name[account]
        if row["account_type"] in PNL_SIGN:
            cents = PNL_SIGN[row["account_type"]] * in_base(
                debit, float(doc.get("exchange_rate") or 1))
            out[(row["account_code"], month)] += sign * Decimal(cents).scaleb(-2)
    return dict(out)


def add_journal(zoho, day: str, debit: str, credit: str, amount: float) -> dict:
    """A published journal of two lines (account names), as a person would enter it."""
    chart = {a["account_name"]: a for a in zoho.documents(ORG, "chartofaccounts")}
    return zoho.add_record(ORG, "journals", {
        "journal_date": day, "status": "published", "total": amount, "line_items": [
            {"line_id": f"{side}-{day}", "account_id": chart[name]["account_id"],
             "debit_or_credit": side, "amount": amount, "customer_id": ""}
            for side, name in (("debit", debit), ("credit", credit))]})


def add(into: dict, delta: dict) -> None:
    for key, value in delta.items():
        into[key] = into.get(key, Decimal(0)) + value


def test_ledger_flow_sends_the_books_profit_and_loss(sandbox, flows):
    zoho = sandbox.sandbox.zoho
    flows.run("accounts", date(2026, 1, 31), FEB)
    summary = flows.run("pl_actuals", FEB, MAR)
    expected = ledger_actuals(zoho, ORG, FEB, MAR)
    before = gl_cells(sandbox)
    assert nonzero(before) == nonzero(expected) and len(expected) > 15
    # Journals reach accounts no document line does: interest income, depreciation.
    assert {("4900", "Feb 26"), ("6900", "Feb 26")} <= set(before)
    assert gl_cells(sandbox, "Budget") == {}, "only the Actual version is written"
    assert summary.cells == len(before)

    # A journal, a credit note, a voided invoice and a re-coded line, all in February.
    chart = {a["account_name"]: a for a in zoho.documents(ORG, "chartofaccounts")}
    journal = add_journal(zoho, "2026-02-10", "Advertising and Marketing", "Business Checking",
                          777.77)
    credit = zoho.add_record(ORG, "creditnotes", {"date": "2026-02-20", "status": "open"})
    invoices = [d for d in zoho.documents(ORG, "invoices", FEB.isoformat(), MAR.isoformat())
                if d["status"] not in NO_POSTINGS and not d["is_inclusive_tax"]
                and d["discount_type"] != "entity_level"]
    voided, recoded = invoices[0], invoices[1]
    zoho.edit_record(ORG, "invoices", voided["invoice_id"], {"status": "void"})
    consulting = chart["Consulting Income"]
    line = recoded["line_items"][0]
    assert line["account_id"] != consulting["account_id"]
    moved = {**line, "account_id": consulting["account_id"],
             "account_name": "Consulting Income"}
    zoho.edit_record(ORG, "invoices", recoded["invoice_id"],
                     {"line_items": [moved, *recoded["line_items"][1:]]})

    deltas: dict = {}
    add(deltas, effect(zoho, "journals", journal))
    add(deltas, effect(zoho, "creditnotes", credit))
    add(deltas, effect(zoho, "invoices", voided, -1))
    add(deltas, effect(zoho, "invoices", recoded, -1))
    add(deltas, effect(zoho, "invoices", {**recoded, "line_items": [
        moved, *recoded["line_items"][1:]]}))
    assert deltas[("6000", "Feb 26")] == Decimal("777.77")
    assert deltas[("4100", "Feb 26")] > 0 and any(v < 0 for v in deltas.values())

    flows.run("pl_actuals", FEB, MAR)
    after = gl_cells(sandbox)
    assert {k: after.get(k, Decimal(0)) - before.get(k, Decimal(0))
            for k in set(after) | set(before)
            if after.get(k, Decimal(0)) != before.get(k, Decimal(0))} == nonzero(deltas)
    assert nonzero(after) == nonzero(ledger_actuals(zoho, ORG, FEB, MAR))

    # The audit names each document by its transaction type, once per account it posts to.
    rows = flows.audit.query(flow="pl_actuals", limit=100_000)
    mine = [r for r in rows if r["record_id"] == journal["journal_id"]]
    assert [(r["entity"], r["status"]) for r in mine] == [("journal", "imported")]
    assert not [r for r in rows if r["record_id"] == voided["invoice_id"]], "void: no postings"
    assert {r["entity"] for r in rows} == {"invoice", "credit_notes", "bills",
                                           "vendor_credits", "expense", "journal"}
    assert zoho.stats()["writes"] == 0


def ledger_requests(zoho) -> int:
    return zoho.stats()["organizations"][ORG]["by_path"].get(
        "/books/v3/chartofaccounts/transactions", 0)


def test_incremental_ledger_flow_rebuilds_the_months_changes_touch(sandbox, flows):
    zoho = sandbox.sandbox.zoho
    flows.run("accounts", date(2026, 3, 31), APR)
    first = flows.run("pl_actuals_daily", APR, date(2026, 4, 2))
    first_spent = ledger_requests(zoho)
    assert nonzero(gl_cells(sandbox)) == nonzero(ledger_actuals(zoho, ORG, JAN, APR))
    assert {w[0][:7] for w in first.windows} == {"2026-01", "2026-02", "2026-03"}
    assert first.watermark is not None

    # A January bill moved to March: both months change, February stays as it was.
    bill = next(d for d in zoho.documents(ORG, "bills", JAN.isoformat(), FEB.isoformat())
                if d["status"] not in NO_POSTINGS)
    zoho.edit_record(ORG, "bills", bill["bill_id"], {"date": "2026-03-15"})
    second = flows.run("pl_actuals_daily", date(2026, 4, 2), date(2026, 4, 3))
    assert {w[0][:7] for w in second.windows} == {"2026-01", "2026-03"}
    assert nonzero(gl_cells(sandbox)) == nonzero(ledger_actuals(zoho, ORG, JAN, APR))
    spent = ledger_requests(zoho) - first_spent
    assert 0 < spent < first_spent, "only two of the three months are re-read"


def test_a_quarter_in_one_run_reads_each_account_once(sandbox, flows):
    """A backfill of several months as one run (``months``): each account's postings are
    read for the whole span, not month by month, and every month's cells are whole."""
    zoho = sandbox.sandbox.zoho
    flows.run("accounts", date(2026, 3, 31), APR)
    before = ledger_requests(zoho)
    for start, end in ((JAN, FEB), (FEB, MAR), (MAR, APR)):
        flows.run("pl_actuals", start, end)
    monthly = ledger_requests(zoho) - before
    by_month = gl_cells(sandbox)
    assert nonzero(by_month) == nonzero(ledger_actuals(zoho, ORG, JAN, APR))

    before = ledger_requests(zoho)
    summary = flows.run("pl_actuals", MAR, APR, months=[JAN, FEB, MAR])
    quarter = ledger_requests(zoho) - before
    assert gl_cells(sandbox) == by_month
    assert [w[0][:7] for w in summary.windows] == ["2026-01", "2026-02", "2026-03"]
    rows = flows.audit.query(flow="pl_actuals", limit=100_000)
    assert {r["run_id"] for r in rows} == {summary.run_id}, "the quarter's run replaced all"
    # The charge, from the emulator's own ledger: a page per 200 postings of an account in
    # the span read, and a page for an account with none.
    pnl = {a["account_id"] for a in zoho.documents(ORG, "chartofaccounts")
           if a["account_type"] in PNL_SIGN}
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in zoho.ledger(zoho.orgs[ORG]).postings(JAN.isoformat(), "2026-03-31"):
        if row["account_id"] in pnl:
            counts[(row["account_id"], row["transaction_date"][:7])] += 1

    def pages(n: int) -> int:
        return max(1, -(-n // 200))

    months = ("2026-01", "2026-02", "2026-03")
    assert monthly == sum(pages(counts[(a, m)]) for a in pnl for m in months)
    assert quarter == sum(pages(sum(counts[(a, m)] for m in months)) for a in pnl)
    assert quarter < monthly


def test_what_anaplan_holds_is_read_back_and_a_tampered_cell_fails_the_run(sandbox, flows):
    """The verify step exports GL Actuals after the import: a cell left over from earlier
    loads, or changed in Anaplan between the import and the export, fails the run with the
    cell named, and the verification trail keeps each month's result."""
    zoho, anaplan = sandbox.sandbox.zoho, sandbox.sandbox.anaplan
    flows.run("accounts", date(2026, 1, 31), FEB)
    first = flows.run("pl_actuals", FEB, MAR)
    trail = VerificationLog(flows.store)
    [clean] = trail.query(flow="pl_actuals")
    assert (clean["status"], clean["differences"], clean["run_id"]) == (
        "verified", 0, first.run_id)
    assert clean["cells"] == len(gl_cells(sandbox)) and clean["export_id"] == "116000000001"

    gl = anaplan.model(MODEL).module_named("GL Actuals")
    chart = list(zoho.documents(ORG, "chartofaccounts"))
    quiet = next(a["account_code"] for a in chart if a["account_type"] in PNL_SIGN
                 and (a["account_code"], "Feb 26") not in gl_cells(sandbox))
    gl.write((quiet, "Actual", "Feb 26"), {"Amount": 55.0})  # stale, from some other load
    with pytest.raises(RunFailed, match=rf"1 cell\(s\) differ.*\n  {quiet} / Feb 26 Amount: "
                       r"sent nothing, Anaplan holds 55.00, the books say 0"):
        flows.run("pl_actuals", FEB, MAR)
    assert trail.query(flow="pl_actuals")[0]["status"] == "differs"
    gl.write((quiet, "Actual", "Feb 26"), {"Amount": 0.0})

    # Changed in Anaplan while the run's export waits (after its import completed).
    sent = gl_cells(sandbox)[("6000", "Feb 26")]

    def tamper(seconds: float) -> None:
        if any(t["kind"] == "exports" and t["taskState"] != "COMPLETE"
               for t in anaplan.tasks(MODEL)):
            gl.write(("6000", "Actual", "Feb 26"), {"Amount": float(sent + 1)})
        sandbox.sandbox.clock.advance(seconds)

    with pytest.raises(RunFailed, match=rf"6000 / Feb 26 Amount: sent {sent}, Anaplan holds "
                       rf"{sent + 1}, the books say {sent}"):
        flows.run("pl_actuals", FEB, MAR, sleep=tamper)
    again = flows.run("pl_actuals", FEB, MAR)
    latest = trail.query(flow="pl_actuals")
    assert [r["status"] for r in latest] == ["verified", "differs", "differs", "verified"]
    assert latest[0]["run_id"] == again.run_id and latest[1]["detail"].startswith("6000")


def test_reconcile_command_prints_the_books_beside_anaplan_and_explains_journals(
        sandbox, flows, connection_env, capsys, monkeypatch):
    """``ml-connector reconcile`` for a person: every cell of the month, books against what
    the export reads; against invoice_actuals, the ledger's extra journal is named as the
    difference on its account, the other income cells agree."""
    import json

    from ml_connector.cli import main

    zoho = sandbox.sandbox.zoho
    # The command's clients use the flows' state store, whose detail cache the document
    # flow's run filled (its connection is paced at Zoho's 100 requests a minute).
    db = f"sqlite:///{flows.work / 'state.db'}"
    monkeypatch.setenv("AIRFLOW_CONN_ML_CONNECTOR_STATE", json.dumps(
        {"conn_type": "sqlite", "host": str(flows.work / "state.db")}))
    flows.run("accounts", date(2026, 1, 31), FEB)
    flows.run("invoice_actuals", FEB, MAR)
    flows.run("pl_actuals", FEB, MAR)
    add_journal(zoho, "2026-02-12", "Product Sales", "Service Revenue", 321.0)
    code = main(["reconcile", "--flow", "pl_actuals", "--month", "2026-02", "--against",
                 "invoice_actuals", "--db", db, "--flows", str(ROOT / "dags/flows.yaml")])
    out = capsys.readouterr().out
    assert code == 1, "the new journal is in the books, not yet in Anaplan"
    held = gl_cells(sandbox)
    now = ledger_actuals(zoho, ORG, FEB, MAR)
    product = now[("4010", "Feb 26")]
    row = next(line.split() for line in out.splitlines()
               if line.startswith("4010 / Feb 26 "))
    assert row[4:] == [f"{product:,.2f}", f"{held[('4010', 'Feb 26')]:,.2f}", "321.00"]
    assert f"{len(set(now) | set(held))} cell(s), 2 differ from the books" in out
    documents = ledger_actuals(zoho, ORG, FEB, MAR, kinds=("invoices", "creditnotes"))
    assert f"4010 / Feb 26: ledger {product:,.2f}, invoice_actuals " \
           f"{documents[('4010', 'Feb 26')]:,.2f}, difference " in out
    journals = ledger_actuals(zoho, ORG, FEB, MAR, kinds=("journals", "expenses"))
    explained = out.split("4010 / Feb 26: ledger")[1].splitlines()[0]
    assert explained.endswith(f"= journal {journals[('4010', 'Feb 26')]:,.2f}")
    assert journals[("4010", "Feb 26")] <= Decimal("-321.00"), "the new journal among them"
    assert "unexplained" not in out
