"""A document deleted in Zoho leaves Anaplan by the next run of each incremental flow: the
aggregate flow rebuilds its month without it, the record-grain flow sends its lines once
more as zero and forgets them; found by a webhook's delete or by the id sweep. Oracles: the
emulator's own P&L after the delete, and its module cells."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import yaml

from ml_connector.flows.deletes import SweepResult
from ml_connector.flows.spec import parse_flows
from ml_connector.state.deletes import DeleteLog, SentLines
from ml_connector.state.reads import ReadLog
from ml_connector_sandbox.zoho.pnl import NO_POSTINGS, actuals

from ..cells import ORG, account_cells, line_amounts
from .conftest import ROOT, Flows

JAN, APR = date(2026, 1, 1), date(2026, 4, 1)
FLOWS = ("invoice_actuals_daily", "invoice_lines")


def shipped(sweep: dict | None) -> dict:
    spec = yaml.safe_load((ROOT / "dags" / "flows.yaml").read_text())
    for flow in spec["flows"]:
        flow.pop("sweep", None)
        if sweep is not None and flow["id"] in FLOWS:
            flow["sweep"] = sweep
    return spec


@pytest.mark.parametrize("found_by", ["webhook", "sweep"])
def test_a_deleted_invoice_leaves_the_cells_and_its_lines_are_zeroed(
        found_by, sandbox, zoho_client, anaplan_client, tmp_path):
    sweep = {"months": 4} if found_by == "sweep" else None
    flows = Flows.of(parse_flows(shipped(sweep)), sandbox, zoho_client, anaplan_client,
                     tmp_path)
    zoho = sandbox.sandbox.zoho
    flows.load("accounts", "customers", start=date(2026, 3, 31), end=APR)
    hour = timedelta(hours=1)
    flows.run("invoice_lines", APR, APR + hour)
    flows.run("invoice_actuals_daily", APR, date(2026, 4, 2))
    target = next(i for i in zoho.documents(ORG, "invoices", "2026-01-01", "2026-02-01")
                  if i["status"] not in NO_POSTINGS)
    lines = [line["line_item_id"] for line in target["line_items"]]
    assert all(line_amounts(sandbox)[line] for line in lines)
    before = account_cells(sandbox)

    zoho.delete_record(ORG, "invoices", target["invoice_id"])
    if found_by == "webhook":  # as the receiver records a Deleted event
        DeleteLog(flows.store).found(ORG, "invoices", [target["invoice_id"]], "webhook")

    daily = flows.run("invoice_actuals_daily", date(2026, 4, 2), date(2026, 4, 3))
    expected = actuals(zoho, ORG, ["invoices", "creditnotes"], JAN, APR)
    after = account_cells(sandbox)
    assert {k: v for k, v in after.items() if v} == {k: v for k, v in expected.items() if v}
    assert after != before and {p for _, p in after if after[(_, p)] != before.get((_, p))} \
        == {"Jan 26"}
    assert daily.counts["deleted"] == 1

    record = flows.run("invoice_lines", date(2026, 4, 3), date(2026, 4, 3) + hour)
    held = line_amounts(sandbox)
    assert [held[line] for line in lines] == [0] * len(lines)
    assert record.counts["deleted"] == 1
    assert SentLines(flows.store).of("invoice_lines", [target["invoice_id"]]) == {}

    for flow, summary in (("invoice_actuals_daily", daily), ("invoice_lines", record)):
        # Newest first; the record-grain flow's audit keeps the run that sent the lines.
        rows = flows.audit.query(flow=flow, record_id=target["invoice_id"])
        assert [r["status"] for r in rows] == (
            ["deleted"] if flow == "invoice_actuals_daily" else ["deleted", "imported"])
        assert rows[0]["task_id"] == summary.task_id
        assert f"by {'an id sweep' if sweep else 'its webhook'}" in rows[0]["error"]
    if sweep:
        # The sweep listed January to April: ⌈N/200⌉ requests a month and module, and one
        # detail for the vanished id (answered "does not exist").
        def pages(kinds: tuple[str, ...]) -> int:
            found = 0
            for kind in kinds:
                for month in range(1, 5):
                    n = sum(1 for _ in zoho.documents(ORG, kind, f"2026-{month:02d}",
                                                      f"2026-{month + 1:02d}"))
                    found += max(1, -(-n // 200))
            return found

        sweeps = {flow: ReadLog(flows.store).task_requests(f"zoho_{flow}", summary.run_id)
                  for flow, summary in (("invoice_actuals_daily", daily),
                                        ("invoice_lines", record))}
        assert sweeps["invoice_actuals_daily"]["sweep"] == \
            pages(("invoices", "creditnotes")) + 1
        assert sweeps["invoice_lines"]["sweep"] == pages(("invoices",)) + 1
        # The sweep is daily: another run of the same day (as changes start between the
        # daily runs) lists nothing.
        same_day = flows.walk("invoice_actuals_daily", date(2026, 4, 2), date(2026, 4, 3))
        assert same_day.outputs["sweep"] == SweepResult(read_at=same_day.outputs[
            "sweep"].read_at)
    # Found once, removed once: the next runs send nothing for it.
    again = flows.run("invoice_actuals_daily", date(2026, 4, 3), date(2026, 4, 4))
    assert again.counts.get("deleted", 0) == 0
