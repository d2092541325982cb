"""The Month-end page's content: every flow of the shipped flows.yaml, its last run of the
month as the state store holds it, and the month's alignments."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ml_connector.flows.spec import load_valid_flows
from ml_connector.monthend.view import default_month, month_view
from ml_connector.state.store import StateStore

from ..monthend_data import JANUARY, fill_january

ROOT = Path(__file__).resolve().parents[2]
FLOWS = load_valid_flows(ROOT / "dags" / "flows.yaml")[0].flows
D = Decimal


@pytest.fixture
def store(tmp_path) -> StateStore:
    store = StateStore.sqlite(tmp_path / "state.db")
    fill_january(store)
    return store


def test_every_flow_in_file_order_with_its_last_run_of_the_month(store):
    view = month_view(store, FLOWS, "2026-01")
    assert [f.flow for f in view.flows] == [f.id for f in FLOWS]
    assert {f.flow for f in view.lists} == {f.id for f in FLOWS if f.mode == "full"}
    shown = {f.flow: f.run for f in view.flows}
    for run in JANUARY:
        last = shown[run.flow]
        assert last is not None and last.run_id == run.run_id
        assert (last.records, last.imported, last.skipped, last.failed, last.requests,
                last.anaplan_requests) == (
            run.records, run.imported, sum(run.skipped.values()), sum(run.failed.values()),
            run.requests, sum(run.anaplan.values()))
        assert dict(last.reasons) == {**run.skipped, **{
            f"failed: {r}": n for r, n in run.failed.items()}}
        assert last.tasks == [run.task_id]
        assert last.verification is not None or run.verification is None
        if run.verification is not None and last.verification is not None:
            assert (last.verification.cells, last.verification.differences,
                    last.verification.detail) == run.verification
    assert shown["invoice_actuals_by_department"].runs == 2  # type: ignore[union-attr]
    assert [shown[r.flow].outcome for r in JANUARY] == [  # type: ignore[union-attr]
        "imported", "failed", "imported"]
    ran = {r.flow for r in JANUARY}
    assert all(run is None for flow, run in shown.items() if flow not in ran)


def test_the_months_alignments_and_the_months_with_data(store):
    view = month_view(store, FLOWS, "2026-01")
    assert view.months == ["2026-02", "2026-01"]
    [report] = view.alignments
    assert (report.flow, report.version, report.dag_id) == (
        "invoice_actuals_by_department", "Budget", "zoho_invoice_actuals_by_department")
    assert report.counts == {"unplanned": 2, "unactual": 1, "aligned": 1}
    # +20% and -100% (planned, no actuals) against the 10% allowed
    assert [(r.key, r.breach) for r in report.breaches] == [
        (["4100", "R&D"], "variance_above_percent"), (["4000", "Sales"], "variance_above_percent")]
    assert {t.member: (t.actual, t.plan) for t in report.member_totals} == {
        "Sales": (D("1275.10"), D("1000.00")), "Ops": (D("-50.00"), D(0)),
        "R&D": (D(0), D("300.00"))}
    assert (report.actual, report.plan) == (D("1225.10"), D("1300.00"))
    assert [r.value for r in report.routed] == ["Ops"]
    assert not report.ok
    assert month_view(store, FLOWS, "2026-02").alignments == []


def test_only_the_flows_given_and_a_month_without_runs(store):
    mine = [f for f in FLOWS if f.id == "invoice_actuals"]
    view = month_view(store, mine, "2026-01")
    assert [f.flow for f in view.flows] == ["invoice_actuals"] and view.alignments == []
    assert month_view(store, mine).month == "2026-02"  # the newest month with data
    empty = month_view(store, FLOWS, "2025-07")
    assert all(f.run is None for f in empty.flows) and empty.alignments == []
    with pytest.raises(ValueError, match=r"'2026-13' is not a month: write it yyyy-mm"):
        month_view(store, FLOWS, "2026-13")
    from datetime import date

    assert default_month([], date(2026, 1, 15)) == "2025-12"
