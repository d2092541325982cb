"""What the tests of deletes through Airflow share: an invoice deleted as a user would
delete it in Zoho, and the proof that it left Anaplan. Oracles: the emulator's own P&L after
the delete, its module cells and its Anaplan tasks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx

from ml_connector_sandbox.zoho.pnl import actuals

from ..cells import ORG, account_cells, line_amounts
from ..conftest import MODEL
from .flow_env import audit_of

#: The flows that remove the invoice: the daily aggregate and the record-grain flow.
FLOWS = ("invoice_actuals_daily", "invoice_lines")


def delete_invoice(sandbox, invoice: dict) -> float:
    """Delete ``invoice`` through the sandbox's admin API (Zoho's "Deleted" webhook fires
    where one is set); returns the sandbox time of the delete."""
    at = sandbox.sandbox.clock.now()
    httpx.delete(f"{sandbox.base_url}/_sandbox/zoho/orgs/{ORG}/invoices/"
                 f"{invoice['invoice_id']}").raise_for_status()
    return at


def nonzero(cells: dict) -> dict:
    return {k: v for k, v in cells.items() if v}


def expected_cells(sandbox) -> dict[tuple[str, str], Decimal]:
    """The invoice actuals the books hold now, January to March."""
    return nonzero(actuals(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"],
                           date(2026, 1, 1), date(2026, 4, 1)))


def assert_removed(sandbox, home: Path, invoice: dict, deleted_at: float, by: str,
                   before: dict) -> None:
    """``invoice`` is gone from the daily aggregate cells (which equal the books' P&L; only
    its month's changed since ``before``), its lines are 0 in Invoice Line Details, and each
    flow's audit has a ``deleted`` row found ``by`` (``its webhook``, ``an id sweep``) naming
    the Anaplan task, started after the delete, that removed it."""
    cells = account_cells(sandbox)
    assert nonzero(cells) == expected_cells(sandbox)
    month = date.fromisoformat(invoice["date"]).strftime("%b %y")
    assert {p for (a, p), v in cells.items() if before.get((a, p)) != v} == {month}
    lines = line_amounts(sandbox)
    assert [lines[line["line_item_id"]] for line in invoice["line_items"]] == \
        [0] * len(invoice["line_items"])
    tasks = {t["taskId"]: t for t in sandbox.sandbox.anaplan.tasks(MODEL)}
    for flow in FLOWS:
        row = audit_of(home).query(flow=flow, record_id=invoice["invoice_id"])[0]
        assert row["status"] == "deleted", (flow, row)
        assert "deleted in Zoho; found " in row["error"] and f"by {by}" in row["error"]
        task = tasks[row["task_id"]]
        assert task["taskState"] == "COMPLETE" and task["startedAt"] > deleted_at, (flow, task)
