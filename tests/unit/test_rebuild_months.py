"""Incremental aggregate runs: which months they rebuild, zero for emptied cells, and the
audit and cell logs keyed by data window."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from ml_connector.anaplan.tasks import TaskStatus
from ml_connector.errors import ConfigError
from ml_connector.flows.files import Member, SentCell, decode_lines
from ml_connector.flows.mapping import build_file, lookup_tables
from ml_connector.flows.reconcile import audit_rows
from ml_connector.flows.spec import parse_flows
from ml_connector.flows.windows import affected_months, month_of, month_window, parse_months
from ml_connector.state.audit import AuditLog
from ml_connector.state.cells import CellLog
from ml_connector.state.store import StateStore

from .test_flows_mapping import CHART, INVOICES, LOOKUP

JAN = month_window(date(2026, 1, 1))
FEB = month_window(date(2026, 2, 1))


def flow():
    return parse_flows({"flows": [{
        "id": "f", "entity": "invoices", "grain": "aggregate", "mode": "incremental",
        "schedule": "daily", "target": {"import": "X"},
        "columns": {"Account": LOOKUP, "Period": {"period": "date"},
                    "Amount": {"amount": "line.item_total"}}}]}).flows[0]


def test_month_windows_match_airflow_data_intervals():
    assert JAN == ("2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00")
    assert month_window(date(2025, 12, 1))[1] == "2026-01-01T00:00:00+00:00"
    assert month_of("2026-03-31T10:00:00+0100") == date(2026, 3, 1)
    with pytest.raises(ConfigError, match="not a date"):
        month_of("31/03/2026")


def test_changed_records_name_their_months_now_and_when_last_sent():
    asked: list[list[str]] = []

    def previous(ids: list[str]) -> set[str]:
        asked.append(list(ids))
        return {FEB[0]} if "2" in ids else set()

    months = affected_months(INVOICES, "date", "invoice_id", previous, batch=2)
    # Invoice 2 is dated January now but was last sent in February: both are rebuilt.
    assert months == [date(2026, 1, 1), date(2026, 2, 1)]
    assert asked == [["1", "2"], ["3"]]
    with pytest.raises(ConfigError, match="invoice_id 9 has no date"):
        affected_months([{"invoice_id": "9"}], "date", "invoice_id", previous)


def build(records, clear=()):
    f = flow()
    out, members, skipped, cells = (io.StringIO() for _ in range(4))
    result = build_file(f, records, lookup_tables(f, {"chartofaccounts": CHART}), out, members,
                        skipped, window_of=lambda r: month_window(month_of(r["date"])),
                        cells_out=cells, clear=clear)
    return (result, list(csv.reader(io.StringIO(out.getvalue())))[1:],
            decode_lines(members.getvalue(), Member),
            decode_lines(cells.getvalue(), SentCell))


def test_emptied_cells_are_sent_as_zero_and_not_remembered():
    # Account 4100 had a January cell; its only line now books to 4000.
    moved = [{**INVOICES[0], "line_items": [{"account_id": "a1", "item_total": 10},
                                            {"account_id": "a1", "item_total": 1.5}]},
             *INVOICES[1:]]
    result, rows, members, cells = build(moved, clear={("4000", "Jan 26"), ("4100", "Jan 26")})
    assert rows == [["4000", "Jan 26", "28.00"], ["4100", "Jan 26", "0"]]
    assert result.cleared == 1 and result.rows == 2
    assert cells == [SentCell(window_start=JAN[0], key=["4000", "Jan 26"], amounts=["28.00"])]
    assert {(m.record_id, m.window_start, m.window_end) for m in members} == {
        ("1", *JAN), ("2", *JAN)}


def test_audit_rows_carry_each_records_month(fresh_url):
    feb_invoice = {**INVOICES[1], "invoice_id": "4", "date": "2026-02-03"}
    _, rows, members, _ = build([INVOICES[0], feb_invoice])
    audit = AuditLog(StateStore(fresh_url))
    task = TaskStatus(task_id="T", state="COMPLETE", successful=True)
    keys = {"|".join(r[:2]): n for n, r in enumerate(rows, start=2)}
    written = audit_rows(entity="invoices", import_id="112000000006", task=task,
                         line_of_key=keys, rejected=[], members=members, skipped=[])
    assert audit.replace_run("f", "run1", [JAN, FEB], written) == {
        "imported": 2, "failed": 0, "skipped": 0}
    stored = {r["record_id"]: (r["window_start"], r["window_end"]) for r in audit.query(flow="f")}
    assert stored == {"1": JAN, "4": FEB}
    assert audit.windows_of("f", ["4", "99"]) == {FEB[0]}
    # Rebuilding February alone replaces February's rows and keeps January's.
    audit.replace_run("f", "run2", [FEB], [{"entity": "invoices", "record_id": "5",
                                            "status": "imported"}])
    assert sorted(r["record_id"] for r in audit.query(flow="f")) == ["1", "5"]


def test_cell_log_replaces_only_the_rebuilt_windows(fresh_url):
    log = CellLog(StateStore(fresh_url))
    log.replace("f", [JAN[0], FEB[0]], {JAN[0]: [("4000", "Jan 26"), ("4|1", "Jan 26")],
                                        FEB[0]: [("4000", "Feb 26")]})
    assert log.cells("f", [JAN[0]]) == {("4000", "Jan 26"), ("4|1", "Jan 26")}
    log.replace("f", [JAN[0]], {})
    assert log.cells("f", [JAN[0], FEB[0]]) == {("4000", "Feb 26")}
    assert log.cells("other", [FEB[0]]) == set()
    assert log.amounts("f", "2026-02") == {("4000", "Feb 26"): None}  # no amounts given


def test_cell_log_keeps_each_cells_amounts_by_month(fresh_url):
    log = CellLog(StateStore(fresh_url))
    log.replace("f", [JAN[0], FEB[0]], {JAN[0]: [("4000", "Jan 26")], FEB[0]: [("4000", "Feb 26")]},
                {("4000", "Jan 26"): ["12.50"], ("4000", "Feb 26"): ["-3.00"]})
    assert log.amounts("f", "2026-01") == {("4000", "Jan 26"): ["12.50"]}
    assert log.amounts("f", "2026-03") == {}


def test_months_are_read_as_ranges_or_lists():
    assert parse_months("2026-11..2027-02") == [date(2026, 11, 1), date(2026, 12, 1),
                                                 date(2027, 1, 1), date(2027, 2, 1)]
    assert parse_months("2026-03, 2026-01,2026-03") == [date(2026, 1, 1), date(2026, 3, 1)]
    for bad, said in (("2026-13", "'2026-13' is not a month"),
                      ("2026-05..2026-02", "ends before it starts")):
        with pytest.raises(ConfigError, match=said):
            parse_months(bad)
