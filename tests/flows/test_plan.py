"""``ml-connector plan``: after one invoice is edited in the sandbox (its admin hook, over
HTTP), the plan prints exactly the cells the emulator's own profit and loss says changed,
with their old and new amounts, sends nothing, and a real run right after changes exactly
those cells in Anaplan; against the state store (a flow without a verify export) and
against what Anaplan holds (read back through the flow's export)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import httpx
import pytest

from ml_connector.cli import main
from ml_connector.state.report import run_months
from ml_connector_sandbox.zoho.pnl import NO_POSTINGS, actuals, ledger_actuals

from ..cells import ORG, account_cells
from ..conftest import MODEL
from .conftest import FEB, JAN, ROOT
from .test_ledger_flows import gl_cells

MAR, APR = date(2026, 3, 1), date(2026, 4, 1)
ZERO = Decimal(0)


def changed(before: dict, after: dict) -> dict:
    """key -> (old, new) of the cells that differ (an absent cell is zero)."""
    return {k: (before.get(k, ZERO), after.get(k, ZERO)) for k in set(before) | set(after)
            if before.get(k, ZERO) != after.get(k, ZERO)}


def kind_of(old: Decimal, new: Decimal) -> str:
    return "added" if not old else "zeroed" if not new else "changed"


def planned(out: str) -> dict[tuple[str, ...], tuple[str, Decimal, Decimal]]:
    """The plan's cell lines: key -> (kind, old, new)."""
    found = {}
    for line in out.splitlines():
        kind, _, rest = line.strip().partition(" ")
        if kind not in ("added", "changed", "zeroed"):
            continue
        key, _, amounts = rest.strip().rpartition(": ")
        old, _, new = amounts.rpartition(" -> ")
        found[tuple(key.split(" / "))] = (kind, Decimal(old.replace(",", "") or "0"),
                                          Decimal(new.replace(",", "")))
    return found


def edit(sandbox, invoice_id: str, changes: dict) -> None:
    """Edit an invoice through the emulator's admin hook, as a person would in Zoho."""
    httpx.post(f"{sandbox.base_url}/_sandbox/zoho/orgs/{ORG}/invoices/{invoice_id}/edit",
               json={"changes": changes}, timeout=30).raise_for_status()


@pytest.fixture
def plan(flows, connection_env, capsys, monkeypatch):
    """``ml-connector plan`` on the flows' state store (``month`` None: an incremental
    flow's next run): (exit code, output, Zoho and Anaplan requests the sandbox served
    meanwhile)."""
    monkeypatch.setenv("AIRFLOW_CONN_ML_CONNECTOR_STATE", json.dumps(
        {"conn_type": "sqlite", "host": str(flows.work / "state.db")}))
    sandbox = connection_env.sandbox

    def served() -> tuple[int, int]:
        zoho = sandbox.zoho.stats()["organizations"].get(ORG, {}).get("total", 0)
        return zoho, sandbox.anaplan.stats()["total"]

    def run(flow: str, month: str | None) -> tuple[int, str, tuple[int, int]]:
        capsys.readouterr()
        before = served()
        code = main(["plan", flow, *(["--month", month] if month else []), "--db",
                     f"sqlite:///{flows.work / 'state.db'}", "--flows",
                     str(ROOT / "dags/flows.yaml")])
        after = served()
        return code, capsys.readouterr().out, (after[0] - before[0], after[1] - before[1])

    return run


def test_plan_against_the_state_store_names_the_cells_a_run_then_changes(
        sandbox, flows, plan):
    zoho = sandbox.sandbox.zoho
    flows.run("accounts", date(2026, 1, 31), FEB)
    flows.run("invoice_actuals", JAN, FEB)
    chart = {a["account_code"]: a["account_id"] for a in zoho.documents(ORG, "chartofaccounts")}
    oracle = actuals(zoho, ORG, ["invoices", "creditnotes"], JAN, FEB)
    assert account_cells(sandbox) == oracle and ("4900", "Jan 26") not in oracle
    invoice = next(i for i in zoho.documents(ORG, "invoices", "2026-01-01", "2026-02-01")
                   if i["status"] not in NO_POSTINGS and len(i["line_items"]) >= 2
                   and i["currency_code"] == "USD" and not i.get("is_inclusive_tax"))
    first, second, *rest = invoice["line_items"]
    tasks = len(sandbox.sandbox.anaplan.tasks(MODEL))

    # One edit: the first line's amount (a changed cell) and the second line moved to an
    # account without January sales (an added cell).
    edit(sandbox, invoice["invoice_id"], {"line_items": [
        {**first, "item_total": round(first["item_total"] + 1000, 2)},
        {**second, "account_id": chart["4900"]}, *rest]})
    now = actuals(zoho, ORG, ["invoices", "creditnotes"], JAN, FEB)
    expected = changed(oracle, now)
    assert {kind_of(*v) for v in expected.values()} == {"added", "changed"}
    code, out, (zoho_served, anaplan_served) = plan("invoice_actuals", "2026-01")
    assert code == 0
    assert planned(out) == {k: (kind_of(*v), *v) for k, v in expected.items()}
    unchanged = len(set(oracle) | set(now)) - len(expected)
    assert (f"{len(expected)} cell(s) would change (1 added, {len(expected) - 1} changed, 0 "
            f"zeroed), {unchanged} unchanged, against the state store; nothing sent") in out
    assert f"requests: Zoho {zoho_served:,}, Anaplan {anaplan_served:,}" in out
    table = [x for x in out.splitlines() if x.split()[:1] in (["added"], ["changed"])]
    assert table and all(sum(row in x for x in out.splitlines()) == 1 for row in table), \
        "the table printed, not logged to the same output as well"
    assert zoho_served < 20, "the month's lists and the edited invoice; details cached"
    # Nothing reached Anaplan, no task started; the audit has the plan beside the run.
    assert account_cells(sandbox) == oracle
    assert len(sandbox.sandbox.anaplan.tasks(MODEL)) == tasks
    [row] = flows.audit.query(flow="invoice_actuals", status="planned")
    assert row["error"].startswith("dry run of Jan 26: ") and row["window_start"][:7] == "2026-01"
    months = run_months(flows.store, "invoice_actuals", "2026-01")
    assert [m.planned is not None for m in months] == [True, False]
    assert months[0].records == 0 and months[1].counts["imported"] > 0

    # The real run right after changes exactly those cells, to the amounts planned.
    held = account_cells(sandbox)
    summary = flows.run("invoice_actuals", JAN, FEB)
    assert changed(held, account_cells(sandbox)) == expected
    rows = flows.audit.query(flow="invoice_actuals", limit=100_000)
    assert {r["run_id"] for r in rows if r["status"] != "planned"} == {summary.run_id}
    assert len([r for r in rows if r["status"] == "planned"]) == 1, "the plan is kept"

    # The line moved back: the added cell is now fed by no record and would be zeroed.
    edit(sandbox, invoice["invoice_id"], {"line_items": invoice["line_items"]})
    code, out, _ = plan("invoice_actuals", "2026-01")
    back = changed(now, actuals(zoho, ORG, ["invoices", "creditnotes"], JAN, FEB))
    assert planned(out) == {k: (kind_of(*v), *v) for k, v in back.items()}
    assert planned(out)[("4900", "Jan 26")][0] == "zeroed"
    held = account_cells(sandbox)
    flows.run("invoice_actuals", JAN, FEB)
    assert changed(held, account_cells(sandbox)) == back


def test_plan_against_what_anaplan_holds_through_the_verify_export(sandbox, flows, plan):
    """pl_actuals reads Anaplan back through its export: the plan holds the file against
    it, and an invoice edited after the run shows as the ledger's own oracle says."""
    zoho = sandbox.sandbox.zoho
    flows.run("accounts", date(2026, 1, 31), FEB)
    flows.run("pl_actuals", FEB, MAR)
    before = {k: v for k, v in gl_cells(sandbox).items() if k[1] == "Feb 26"}
    assert before == {k: v for k, v in ledger_actuals(zoho, ORG, FEB, MAR).items() if v}
    invoice = next(i for i in zoho.documents(ORG, "invoices", "2026-02-01", "2026-03-01")
                   if i["status"] not in NO_POSTINGS and i["currency_code"] == "USD"
                   and not i.get("is_inclusive_tax"))
    first, *rest = invoice["line_items"]
    edit(sandbox, invoice["invoice_id"], {"line_items": [
        {**first, "item_total": round(first["item_total"] + 250, 2)}, *rest]})
    after = {k: v for k, v in ledger_actuals(zoho, ORG, FEB, MAR).items() if v}
    expected = changed(before, after)
    assert expected
    code, out, (_, anaplan_served) = plan("pl_actuals", "2026-02")
    assert code == 0 and "against Anaplan export" in out
    assert planned(out) == {k: (kind_of(*v), *v) for k, v in expected.items()}
    assert anaplan_served > 0 and f"Anaplan {anaplan_served:,}" in out
    assert {k: v for k, v in gl_cells(sandbox).items() if k[1] == "Feb 26"} == before
    flows.run("pl_actuals", FEB, MAR)
    assert changed(before, {k: v for k, v in gl_cells(sandbox).items()
                            if k[1] == "Feb 26"}) == expected


def postings_invoice(zoho, start: str, end: str, but: str = "") -> dict:
    """An invoice dated in ``[start, end)`` that posts, in USD, tax not included."""
    return next(i for i in zoho.documents(ORG, "invoices", start, end)
                if i["status"] not in NO_POSTINGS and i["currency_code"] == "USD"
                and not i.get("is_inclusive_tax") and i["invoice_id"] != but)


def raise_first_line(sandbox, invoice: dict, by: float) -> None:
    first, *rest = invoice["line_items"]
    edit(sandbox, invoice["invoice_id"], {"line_items": [
        {**first, "item_total": round(first["item_total"] + by, 2)}, *rest]})


def test_plan_of_an_incremental_flow_names_the_changes_since_the_watermark(
        sandbox, flows, plan):
    """Without --month: the next run's changes since the watermark, the watermark left
    where it was; the real run right after changes exactly the cells planned."""
    zoho, daily = sandbox.sandbox.zoho, "invoice_actuals_daily"
    flows.run("accounts", date(2026, 3, 31), APR)
    flows.run(daily, APR, date(2026, 4, 2))
    oracle = actuals(zoho, ORG, ["invoices", "creditnotes"], JAN, APR)
    assert account_cells(sandbox) == oracle
    watermark = flows.store.get_watermark(daily)
    assert watermark is not None
    tasks = len(sandbox.sandbox.anaplan.tasks(MODEL))

    raise_first_line(sandbox, postings_invoice(zoho, "2026-02-01", "2026-03-01"), 500)
    now = actuals(zoho, ORG, ["invoices", "creditnotes"], JAN, APR)
    expected = changed(oracle, now)
    assert expected and {p for _, p in expected} == {"Feb 26"}
    code, out, (zoho_served, anaplan_served) = plan(daily, None)
    assert code == 0
    assert planned(out) == {k: (kind_of(*v), *v) for k, v in expected.items()}
    assert "against the state store; nothing sent" in out
    assert f"requests: Zoho {zoho_served:,}, Anaplan {anaplan_served:,}" in out
    # Nothing reached Anaplan, no watermark moved; the plan is in the audit.
    assert account_cells(sandbox) == oracle
    assert len(sandbox.sandbox.anaplan.tasks(MODEL)) == tasks
    assert flows.store.get_watermark(daily) == watermark
    rows = flows.audit.query(flow=daily, status="planned")
    assert "2026-02" in {r["window_start"][:7] for r in rows}, "one planned row a month"
    assert {r["error"] for r in rows} == {line for line in out.splitlines()
                                          if line.startswith("dry run of ")}

    held = account_cells(sandbox)
    summary = flows.run(daily, date(2026, 4, 2), date(2026, 4, 3))
    assert changed(held, account_cells(sandbox)) == expected
    assert summary.watermark is not None and summary.watermark > watermark


def test_plan_of_an_incremental_flow_for_a_month_rebuilds_that_month_whole(
        sandbox, flows, plan):
    """With --month: that month rebuilt whole, whatever changed elsewhere; a change in
    another month is left to the next run, which the plan does not move past."""
    zoho, daily = sandbox.sandbox.zoho, "invoice_actuals_daily"
    flows.run("accounts", date(2026, 3, 31), APR)
    flows.run(daily, APR, date(2026, 4, 2))
    oracle = actuals(zoho, ORG, ["invoices", "creditnotes"], JAN, APR)
    watermark = flows.store.get_watermark(daily)
    raise_first_line(sandbox, postings_invoice(zoho, "2026-01-01", "2026-02-01"), 700)
    raise_first_line(sandbox, postings_invoice(zoho, "2026-03-01", "2026-04-01"), 300)
    now = actuals(zoho, ORG, ["invoices", "creditnotes"], JAN, APR)
    expected = changed(oracle, now)
    assert {p for _, p in expected} == {"Jan 26", "Mar 26"}
    january = {k: v for k, v in expected.items() if k[1] == "Jan 26"}
    jan_cells = len({k for k in set(oracle) | set(now) if k[1] == "Jan 26"})

    code, out, (zoho_served, _) = plan(daily, "2026-01")
    assert code == 0
    assert planned(out) == {k: (kind_of(*v), *v) for k, v in january.items()}
    assert (f"dry run of Jan 26: {len(january)} cell(s) would change (0 added, "
            f"{len(january)} changed, 0 zeroed), {jan_cells - len(january)} unchanged") in out
    assert f"requests: Zoho {zoho_served:,}," in out
    assert account_cells(sandbox) == oracle
    assert flows.store.get_watermark(daily) == watermark

    # Without --month, the next run: both months' changes.
    code, out, _ = plan(daily, None)
    assert planned(out) == {k: (kind_of(*v), *v) for k, v in expected.items()}
    # A real run of January alone changes exactly January's planned cells, and leaves the
    # watermark where it was: March's change is the next run's.
    held = account_cells(sandbox)
    flows.run(daily, date(2026, 4, 2), date(2026, 4, 3), months=[JAN])
    assert changed(held, account_cells(sandbox)) == january
    assert flows.store.get_watermark(daily) == watermark
    held = account_cells(sandbox)
    flows.run(daily, date(2026, 4, 3), date(2026, 4, 4))
    assert changed(held, account_cells(sandbox)) == {
        k: v for k, v in expected.items() if k[1] == "Mar 26"}
