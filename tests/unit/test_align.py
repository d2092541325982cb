"""Plan-vs-actual alignment of a month's cells (``flows.align``): kinds, figures, thresholds,
routed values, the table and the CSV, on hand-made cells whose expected figures are written
out here."""

from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest

from ml_connector.errors import ConfigError
from ml_connector.flows.align import (
    Alignment,
    RoutedValue,
    Row,
    align,
    routed_values,
    version_cells,
)
from ml_connector.flows.spec import Column, parse_flows
from ml_connector.flows.verify import Key
from ml_connector.state.alignments import AlignmentLog
from ml_connector.state.store import StateStore

COLUMNS = ["Account", "Department"]
ACTUAL: dict[Key, D] = {
    ("4000", "SAL"): D("1200.00"),
    ("4000", "MKT"): D("500"),
    ("4000", "Other"): D("350.00"),  # routed to the unmapped member, which has no plan
    ("5000", "OPS"): D("-80.00"),  # a credit on a member planned at 0
    ("6000", "MKT"): D("-125.00"),
    ("7000", "SAL"): D("1100.005"),  # half-up: 1100.01
    ("6000", "ZERO"): D("0"),
}
PLAN: dict[Key, D] = {
    ("4000", "SAL"): D("1000.00"),
    ("4000", "MKT"): D("500.00"),
    ("5000", "OPS"): D("0.00"),
    ("5000", "SAL"): D("300.00"),  # planned, no actuals
    ("6000", "MKT"): D("-100.00"),
    ("7000", "SAL"): D("1000.00"),
    ("6000", "ZERO"): D("0.00"),
}
DEPARTMENT = Column(tag="Department", default="Unassigned", map={"Sales": "SAL"},
                    unmapped="Other")


def run(unplanned_above: D | None = None, variance_above_percent: D | None = None
        ) -> Alignment:
    return align(ACTUAL, PLAN, columns=COLUMNS, version="Budget",
                 unplanned_above=unplanned_above, variance_above_percent=variance_above_percent)


def by_key(result: Alignment) -> dict[Key, Row]:
    return {tuple(r.key): r for r in result.rows}


def test_kinds_find_the_unplanned_and_the_unactual_members() -> None:
    result = run()
    kinds = {tuple(r.key): r.kind for r in result.rows}
    assert kinds == {("4000", "Other"): "unplanned", ("5000", "OPS"): "unplanned",
                     ("5000", "SAL"): "unactual", ("4000", "SAL"): "aligned",
                     ("4000", "MKT"): "aligned", ("6000", "MKT"): "aligned",
                     ("7000", "SAL"): "aligned"}  # 0 on both sides: left out
    # listed by kind (unplanned, unactual, aligned), then key
    assert [tuple(r.key) for r in result.rows] == [
        ("4000", "Other"), ("5000", "OPS"), ("5000", "SAL"),
        ("4000", "MKT"), ("4000", "SAL"), ("6000", "MKT"), ("7000", "SAL")]


def test_figures_round_half_up_and_percent_is_none_on_a_zero_plan() -> None:
    rows = by_key(run())
    sal = rows[("7000", "SAL")]
    assert (sal.actual, sal.plan, sal.difference) == (D("1100.01"), D("1000.00"), D("100.01"))
    assert sal.percent == D("10.00")  # 100.01 / 1000 * 100 = 10.001
    credit = rows[("6000", "MKT")]
    assert (credit.difference, credit.percent) == (D("-25.00"), D("-25.00"))
    unactual = rows[("5000", "SAL")]
    assert (unactual.actual, unactual.difference, unactual.percent) == (
        D("0"), D("-300.00"), D("-100.00"))
    for key in (("4000", "Other"), ("5000", "OPS")):  # no plan cell, and a plan of 0
        assert rows[key].percent is None
    assert rows[("5000", "OPS")].actual == D("-80.00")


@pytest.mark.parametrize(("amount", "cents"), [
    ("0.005", "0.01"), ("0.0049", None), ("-0.005", "-0.01"), ("2.675", "2.68")])
def test_cents_half_up(amount: str, cents: str | None) -> None:
    actual: dict[Key, D] = {("1", "A"): D(amount)}
    result = align(actual, {}, columns=COLUMNS, version="Budget")
    assert [r.actual for r in result.rows] == ([D(cents)] if cents else [])


def test_thresholds_fail_the_rows_above_them_and_not_those_at_or_below() -> None:
    result = run(unplanned_above=D("80"), variance_above_percent=D("20"))
    breaches = {tuple(r.key): r.breach for r in result.breaches}
    # 350 > 80 fails, |-80| = 80 does not; |-25%| and |-100%| > 20% fail, 20% and 10% do not
    assert breaches == {("4000", "Other"): "unplanned_above",
                        ("6000", "MKT"): "variance_above_percent",
                        ("5000", "SAL"): "variance_above_percent"}
    assert by_key(result)[("4000", "SAL")].percent == D("20.00")  # at the threshold
    assert not result.ok


def test_thresholds_at_the_largest_figures_pass() -> None:
    assert run(unplanned_above=D("350"), variance_above_percent=D("100")).ok
    assert not run(unplanned_above=D("349.99")).ok
    assert not run(variance_above_percent=D("99.99")).ok
    off = run()
    assert off.ok and off.breaches == []


def test_routed_values_list_the_default_and_unmapped_members() -> None:
    routed = routed_values({"Department": 4}, {"Department": {"Sales EU": 3, "Ops X": 5}},
                           {"Department": DEPARTMENT})
    assert routed == [
        RoutedValue(column="Department", value=None, member="Unassigned", lines=4),
        RoutedValue(column="Department", value="Ops X", member="Other", lines=5),
        RoutedValue(column="Department", value="Sales EU", member="Other", lines=3)]
    result = align(ACTUAL, PLAN, columns=COLUMNS, version="Budget", routed=routed)
    assert result.routed == routed
    text = "\n".join(result.lines())
    assert "'Sales EU' has no mapping, routed to Other (3 line(s))" in text
    assert "4 line(s) carried no value and got the default member Unassigned" in text


def test_table_has_a_line_per_key_and_the_totals() -> None:
    result = run(unplanned_above=D("80"))
    lines = result.lines()
    actual = D("1200.00") + D("500") + D("350.00") - D("80.00") - D("125.00") + D("1100.01")
    plan = D("1000.00") + D("500.00") + D("300.00") - D("100.00") + D("1000.00")
    assert result.totals() == (actual, plan)
    total = next(line for line in lines if line.startswith("total "))
    assert total == total.rstrip()
    assert total.split() == ["total", "2,945.01", "2,700.00", "245.01", "9.07%"]
    assert f"{actual - plan:,.2f}" == "245.01" and f"{actual:,.2f}" == "2,945.01"
    assert "Budget" in lines[1] and lines[1].startswith("Account / Department")
    body = lines[2:2 + len(result.rows)]
    assert body[0].split()[:3] == ["4000", "/", "Other"]
    assert "fails unplanned_above" in body[0]
    for name in ("actual", "percent"):  # fixed width: figures end under their heading
        end = lines[1].index(name) + len(name)
        assert all(line[end - 1].isdigit() or line[end - 1] in "%-" for line in [*body, total])
        assert all(line[end:end + 1] in ("", " ") for line in [*body, total])
    assert lines[-1].startswith("1 row(s) fail: 4000 / Other (unplanned above 80)")


def test_member_totals_sum_over_accounts() -> None:
    totals = {t.member: (t.actual, t.plan) for t in run().member_totals()}
    assert totals == {
        "SAL": (D("1200.00") + D("1100.01"), D("1000.00") + D("300.00") + D("1000.00")),
        "MKT": (D("500") - D("125.00"), D("500.00") - D("100.00")),
        "Other": (D("350.00"), D("0")),
        "OPS": (D("-80.00"), D("0")),
    }
    accounts = {t.member for t in run().member_totals("Account")}
    assert accounts == {"4000", "5000", "6000", "7000"}


def test_csv_round_trips_through_the_csv_module() -> None:
    result = run(variance_above_percent=D("20"))
    read = list(csv.DictReader(io.StringIO(result.csv_text())))
    assert list(read[0]) == [*COLUMNS, "version", "actual", "plan", "difference", "percent",
                             "kind", "breach"]
    assert len(read) == 7
    rows = {(r["Account"], r["Department"]): r for r in read}
    sal = rows[("7000", "SAL")]
    assert (D(sal["actual"]), D(sal["plan"]), D(sal["difference"]), D(sal["percent"])) == (
        D("1100.01"), D("1000.00"), D("100.01"), D("10.00"))
    assert rows[("4000", "Other")]["percent"] == "" and rows[("4000", "Other")]["kind"] == (
        "unplanned")
    assert rows[("6000", "MKT")]["breach"] == "variance_above_percent"
    assert rows[("4000", "SAL")]["breach"] == ""
    assert {r["version"] for r in read} == {"Budget"}
    stream = io.StringIO()
    result.write_csv(stream)
    assert stream.getvalue() == result.csv_text()


def test_nothing_to_align() -> None:
    result = align({}, {("1", "A"): D("0")}, columns=COLUMNS, version="Forecast",
                   unplanned_above=D("0"), variance_above_percent=D("0"))
    assert result.ok and result.rows == [] and result.totals() == (D(0), D(0))
    assert result.lines() == ["nothing to align: no actual or Forecast cells"]
    assert list(csv.reader(io.StringIO(result.csv_text()))) == [
        [*COLUMNS, "version", "actual", "plan", "difference", "percent", "kind", "breach"]]
    assert result.member_totals() == []


def test_a_key_of_other_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="does not match the columns"):
        align({("4000",): D("1")}, {}, columns=COLUMNS, version="Budget")


def test_names_show_in_the_table_and_the_csv_codes_stay() -> None:
    found = align(ACTUAL, PLAN, columns=COLUMNS, version="Budget",
                  names={"Department": {"SAL": "Sales", "MKT": "Marketing"}})
    assert found.label("Department", "SAL") == "Sales"
    assert found.label("Department", "OPS") == "OPS"  # no name known: the code
    assert any(line.startswith("4000 / Sales ") for line in found.lines())
    rows = list(csv.DictReader(io.StringIO(found.csv_text())))
    sales = next(r for r in rows if r["Account"] == "4000" and r["Department"] == "SAL")
    assert sales["Department name"] == "Sales" and "Account name" not in sales
    assert {m.member: m.name for m in found.member_totals()}["MKT"] == "Marketing"


def test_export_cells_by_version_and_month() -> None:
    data = (b"Accounts,Departments,Versions,Time,Amount\n"
            b"4000,SAL,Actual,Jan 26,10.5\n4000,SAL,Budget,Jan 26,\"1,000\"\n"
            b"4000,SAL,Forecast,Jan 26,7\n4000,SAL,Actual,Feb 26,99\n")
    columns = {"Account": "Accounts", "Department": "Departments", "Period": "Time",
               "Amount": "Amount"}
    found = version_cells(data, export="x.csv", columns=columns, keys=COLUMNS,
                          period="Period", amount="Amount", version="Versions",
                          versions=["Actual", "Budget"], months=["Jan 26"])
    assert found == {"Actual": {"Jan 26": {("4000", "SAL"): D("10.50")}},
                     "Budget": {"Jan 26": {("4000", "SAL"): D("1000.00")}}}
    with pytest.raises(ConfigError, match="export x.csv has no column Version; its columns"):
        version_cells(data, export="x.csv", columns=columns, keys=COLUMNS, period="Period",
                      amount="Amount", version="Version", versions=["Actual"], months=[])


def test_an_align_needs_an_export_one_amount_and_a_plan_other_than_actual() -> None:
    base = {"id": "f", "entity": "invoices", "grain": "aggregate", "mode": "period",
            "target": {"import": "x"},
            "columns": {"Account": {"field": "customer_id"}, "Period": {"period": "date"},
                        "Amount": {"amount": "total"}}}
    verify = {"export": "e.csv", "columns": {"Account": "A", "Period": "T", "Amount": "V"}}
    flow = parse_flows({"flows": [{**base, "verify": verify, "align": {}}]}).flows[0]
    assert flow.align is not None and flow.align.export == "e.csv"
    assert flow.align.plans == ["Budget"]
    for given, said in [({}, "give export and columns, or set verify"),
                        ({"export": "e.csv", "columns": {"Account": "A"}},
                         "no export column for Amount, Period"),
                        ({**verify, "plans": ["Budget", "Actual"]},
                         "is the actual version")]:
        with pytest.raises(ConfigError, match=said):
            parse_flows({"flows": [{**base, "align": given}]})


def test_alignments_keep_the_latest_per_flow_month_and_version(tmp_path) -> None:
    store = StateStore.sqlite(tmp_path / "state.db")
    log = AlignmentLog(store)
    first = run()
    log.record("f", "2026-01", first, run_id="r1", export_id="116000000005",
               anaplan_requests=5)
    log.record("f", "2026-01", run(unplanned_above=D(1)), run_id="r2",
               export_id="116000000005", anaplan_requests=6)
    log.record("f", "2026-02", first, run_id="r3", export_id="116000000005",
               anaplan_requests=5)
    [kept] = log.query(flow="f", month="2026-01")
    assert (kept.run_id, kept.anaplan_requests, kept.alignment.ok) == ("r2", 6, False)
    assert kept.alignment.rows == run(unplanned_above=D(1)).rows
    assert [s.month for s in log.query(flow="f")] == ["2026-01", "2026-02"]
