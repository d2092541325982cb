"""Plan against actual, over HTTP: the shipped invoice flow by department ends with its
``align`` step, which reads the module's Actual and Budget versions through the export and
reports, per account and department, what the emulator's own cells say (the oracle): the
planted department without a sales budget (Operations), the department budgeted after it
closed (Events), the untagged lines routed to Unassigned. Thresholds fail the step on the
rows past them and only there; ``ml-connector align`` prints and keeps the same report."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

import pytest
import yaml

from ml_connector.errors import RunFailed
from ml_connector.flows.align import Alignment
from ml_connector.flows.local import walk
from ml_connector.flows.plan import flow_plan
from ml_connector.flows.plan_actual import Aligned
from ml_connector.flows.spec import dag_id, parse_flows
from ml_connector.state.alignments import AlignmentLog
from ml_connector.state.anaplan_requests import AnaplanRequests

from ..cells import CENT, ORG
from ..conftest import MODEL
from .conftest import ROOT, Flows

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
FLOW = "invoice_actuals_by_department"
MODULE = "Invoice Actuals by Department"
LISTS = ("accounts", "regions", "departments")
Key = tuple[str, str]


def shipped() -> dict:
    """``dags/flows.yaml`` as shipped."""
    return yaml.safe_load((ROOT / "dags" / "flows.yaml").read_text())


def emulator_cells(sandbox, month: str) -> dict[str, dict[Key, Decimal]]:
    """Version -> (account, department code) -> amount of the module's cells in ``month``
    ("Jan 26"), as the Anaplan emulator holds them."""
    found: dict[str, dict[Key, Decimal]] = {}
    for cell in sandbox.sandbox.anaplan.module_cells(MODEL, MODULE):
        dims = cell["dimensions"]
        if dims["Time"] == month:
            found.setdefault(dims["Versions"], {})[(dims["Accounts"], dims["Departments"])] = \
                Decimal(repr(cell["values"]["Amount"])).quantize(CENT)
    return found


def expected_rows(held: Mapping[str, Mapping[Key, Decimal]]) -> dict[Key, tuple[str, Decimal,
                                                                             Decimal]]:
    """Key -> (kind, actual, plan) from the emulator's Actual and Budget cells."""
    actual, plan = held.get("Actual", {}), held.get("Budget", {})
    out = {}
    for key in set(actual) | set(plan):
        a, p = actual.get(key, Decimal(0)), plan.get(key, Decimal(0))
        if a or p:
            out[key] = ("unplanned" if not p else "unactual" if not a else "aligned", a, p)
    return out


def found_rows(report: Alignment) -> dict[Key, tuple[str, Decimal, Decimal]]:
    return {(r.key[0], r.key[1]): (r.kind, r.actual, r.plan) for r in report.rows}


def department(sandbox, name: str) -> str:
    tag = next(t for t in sandbox.sandbox.zoho.dimensions(ORG).tags if t.name == "Department")
    return next(o.option_id for o in tag.options if o.name == name)


def stored(flows: Flows, month: str) -> Alignment:
    [found] = AlignmentLog(flows.store).query(flow=FLOW, month=month)
    return found.alignment


@pytest.fixture
def aligning(sandbox, zoho_client, anaplan_client, tmp_path):
    def make() -> Flows:
        flows = Flows.of(parse_flows(shipped()), sandbox, zoho_client, anaplan_client,
                         tmp_path)
        flows.load(*LISTS, start=JAN, end=FEB)
        return flows
    return make


def test_a_month_is_reported_against_the_budget_as_the_model_holds_it(aligning, sandbox):
    flows = aligning()
    run = flows.flow_run(FLOW, JAN, FEB)
    plan = flow_plan(run.flow, flows.spec.defaults)
    done = walk(run, plan, through="reconcile")
    assert not done.failed, done.failed
    sandbox.sandbox.anaplan.reset_stats()
    step = plan.step("align")
    aligned = plan.call(run, step, plan.load(step, {"built": done.outputs["build"],
                                                    "summary": done.outputs["reconcile"]}))
    assert isinstance(aligned, Aligned) and aligned.ok
    # Every Anaplan request of the step is counted: sign-in, export, lists, members.
    assert aligned.requests == sandbox.sandbox.anaplan.stats()["total"] > 0

    report = stored(flows, "2026-01")
    held = emulator_cells(sandbox, "Jan 26")
    assert held["Budget"] and held["Actual"]
    assert found_rows(report) == expected_rows(held)
    operations, events = department(sandbox, "Operations"), department(sandbox, "Events")
    # Operations sells without a sales budget: every one of its rows is unplanned.
    mine = [r for r in report.rows if r.key[1] == operations]
    assert mine and {r.kind for r in mine} == {"unplanned"}
    assert report.label("Department", operations) == "Operations"
    # The untagged lines went to the default member, and the report says so.
    routed = [r for r in report.routed if r.column == "Department"]
    assert routed and routed[0].value is None and routed[0].member == "Unassigned"
    assert routed[0].lines > 0
    assert {r.kind for r in report.rows if r.key[1] == "Unassigned"} == {"unplanned"}
    # Actual - plan, and its percent of the plan, on an aligned row.
    row = next(r for r in report.rows if r.key == ["4000", events])
    a, p = held["Actual"][("4000", events)], held["Budget"][("4000", events)]
    assert (row.kind, row.difference) == ("aligned", a - p)
    assert row.percent == ((a - p) / p * 100).quantize(CENT)
    # The CSV beside the run's files holds the same rows.
    [month] = aligned.months
    with open(str(month.csv), encoding="utf-8", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert {(r["Account"], r["Department"]): (r["kind"], Decimal(r["actual"]),
                                              Decimal(r["plan"])) for r in lines} == \
        expected_rows(held)
    assert next(r for r in lines if r["Department"] == operations)["Department name"] == \
        "Operations"


def test_a_department_budgeted_without_actuals_is_named(aligning, sandbox):
    """Events closed after January; February's budget for it has no actuals."""
    flows = aligning()
    sandbox.sandbox.anaplan.reset_stats()
    summary = flows.run(FLOW, FEB, MAR)
    # Every Anaplan request of the run is counted for the step that made it.
    spent = AnaplanRequests(flows.store).by_task(dag_id(FLOW), summary.run_id)
    assert sum(spent.values()) == sandbox.sandbox.anaplan.stats()["total"]
    assert spent["align"] == AlignmentLog(flows.store).query(flow=FLOW)[0].anaplan_requests
    report = stored(flows, "2026-02")
    held = emulator_cells(sandbox, "Feb 26")
    assert found_rows(report) == expected_rows(held)
    events = department(sandbox, "Events")
    unactual = [r for r in report.of_kind("unactual") if r.key[1] == events]
    assert {r.key[0] for r in unactual} == {"4000", "4010", "4020", "4100"}
    assert all(r.actual == 0 and r.percent == Decimal("-100.00") for r in unactual)
    assert "unactual" in "\n".join(report.lines())


def test_thresholds_fail_the_step_on_the_rows_past_them_only(aligning, sandbox):
    """Thresholds just under the largest unplanned amount and the largest variance: those
    rows, and no other, fail the step; the data is in, verified, and the report kept."""
    probe = aligning()
    probe.run(FLOW, JAN, FEB)
    rows = expected_rows(emulator_cells(sandbox, "Jan 26"))
    unplanned = max(abs(a) for kind, a, _ in rows.values() if kind == "unplanned")
    percents = {k: abs((a - p) / p * 100).quantize(CENT)
                for k, (kind, a, p) in rows.items() if p}
    worst = max(percents.values())
    expected = {k for k, (kind, a, _) in rows.items()
                if kind == "unplanned" and abs(a) > unplanned - CENT} | \
        {k for k, pct in percents.items() if pct > worst - CENT}

    flows, spec = probe, next(f.align for f in probe.spec.flows if f.id == FLOW)
    assert spec is not None
    spec.unplanned_above, spec.variance_above_percent = unplanned - CENT, worst - CENT
    walked = flows.walk(FLOW, JAN, FEB)
    assert set(walked.failed) == {"align"}, walked.failed
    assert isinstance(walked.failed["align"], RunFailed)
    assert "breach the align thresholds" in str(walked.failed["align"])
    assert walked.outputs["verify"].ok
    report = stored(flows, "2026-01")
    assert not report.ok
    assert {(r.key[0], r.key[1]) for r in report.breaches} == expected
    # Thresholds above every row: the same month aligns.
    spec.unplanned_above, spec.variance_above_percent = unplanned, worst
    assert not flows.walk(FLOW, JAN, FEB).failed
    assert stored(flows, "2026-01").ok


def test_the_align_command_prints_and_keeps_the_report(aligning, sandbox, connection_env,
                                                       capsys, tmp_path):
    from ml_connector.cli import main

    flows = aligning()
    flows.run(FLOW, JAN, FEB)
    path = tmp_path / "flows.yaml"
    path.write_text(yaml.safe_dump(shipped()))
    db = f"sqlite:///{flows.work / 'state.db'}"
    code = main(["align", "--month", "2026-01", "--flow", FLOW, "--flows", str(path),
                 "--db", db, "--csv", str(tmp_path / "reports")])
    out = capsys.readouterr().out
    assert code == 0, out
    held = emulator_cells(sandbox, "Jan 26")
    report = AlignmentLog(flows.store).query(flow=FLOW, month="2026-01")[0]
    assert report.run_id == "cli" and found_rows(report.alignment) == expected_rows(held)
    assert report.alignment.routed, "the run's routed values are kept"
    total_actual = sum(held["Actual"].values())
    assert f"{total_actual:,.2f}" in out
    assert f"{report.anaplan_requests} Anaplan request(s)" in out
    assert (tmp_path / "reports" / FLOW / "align_2026-01_Budget.csv").exists()
    # A flow without align: is refused by name.
    assert main(["align", "--month", "2026-01", "--flow", "invoice_actuals", "--flows",
                 str(path), "--db", db]) == 2
    assert "flow invoice_actuals has no align:" in capsys.readouterr().err
