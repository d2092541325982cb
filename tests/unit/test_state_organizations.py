"""Per-organization state (revision 0011), on SQLite and PostgreSQL: a store holding one
organization's data upgrades without loss (every row gets the organization ''), and two
organizations of one flow keep their watermarks, cells, audit rows, verifications and
sent lines apart."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import create_engine, text

from ml_connector.state import migrate
from ml_connector.state.audit import AuditLog
from ml_connector.state.cells import CellLog
from ml_connector.state.deletes import DeleteLog, SentLines, SentRows, sent_ids
from ml_connector.state.report import run_months, table
from ml_connector.state.store import HEAD, StateStore
from ml_connector.state.verifications import VerificationLog
from ml_connector.window import Window

JAN = Window("2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00")
FEB = Window("2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00")

#: Rows as revision 0010's code wrote them (column lists of that revision, no organization).
OLD_ROWS: dict[str, list[dict[str, Any]]] = {
    "mlc_watermarks": [
        {"flow": "invoice_actuals_daily", "value": "2026-01-31T10:00:00-0800",
         "updated_at": 1.5},
        {"flow": "invoice_actuals_daily:sweep", "value": "2026-01-31", "updated_at": 2.5}],
    "mlc_cells": [
        {"flow": "invoice_actuals", "window_start": JAN.start, "cell_key": '["4000", "Jan 26"]',
         "recorded_at": 3.5, "amounts": '["120.50"]'},
        {"flow": "invoice_actuals", "window_start": JAN.start, "cell_key": '["4100", "Jan 26"]',
         "recorded_at": 3.5, "amounts": None}],
    "mlc_audit": [
        {"flow": "invoice_actuals", "entity": "invoices", "record_id": "9001", "run_id": "r1",
         "window_start": JAN.start, "window_end": JAN.end, "import_id": "112",
         "task_id": "T1", "status": "imported", "error": None, "recorded_at": 4.5},
        {"flow": "invoice_actuals", "entity": "invoices", "record_id": "9002", "run_id": "r1",
         "window_start": JAN.start, "window_end": JAN.end, "import_id": "112",
         "task_id": "T1", "status": "skipped", "error": "skipped: status void",
         "recorded_at": 4.5},
        {"flow": "invoice_actuals", "entity": "invoices", "record_id": "9003", "run_id": "r1",
         "window_start": JAN.start, "window_end": JAN.end, "import_id": "112",
         "task_id": "T1", "status": "deleted", "error": None, "recorded_at": 4.5}],
    "mlc_verifications": [
        {"flow": "invoice_actuals", "run_id": "r1", "window_start": JAN.start,
         "export_id": "116", "cells": 2, "differences": 0, "status": "verified",
         "detail": None, "checked_at": 5.5}],
    "mlc_sent_lines": [
        {"flow": "invoice_lines", "record_id": "9001", "entity": "invoices",
         "month": "2026-01", "line_keys": '[["4000", "Jan 26", "120.50"]]', "sent_at": 6.5}],
}
ORDER = {"mlc_watermarks": "flow", "mlc_cells": "cell_key", "mlc_audit": "id",
         "mlc_verifications": "id", "mlc_sent_lines": "record_id"}


def rows_of(engine, table: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in
                conn.execute(text(f"SELECT * FROM {table} ORDER BY {ORDER[table]}"))]


def test_a_single_organization_store_upgrades_without_loss(fresh_url):
    old = create_engine(fresh_url)
    with old.begin() as conn:
        command.upgrade(migrate._config(conn), "0010")
    with old.begin() as conn:
        for name, rows in OLD_ROWS.items():
            columns = list(rows[0])
            conn.execute(text(f"INSERT INTO {name} ({', '.join(columns)}) VALUES "
                              f"({', '.join(':' + c for c in columns)})"), rows)
    before = {name: rows_of(old, name) for name in OLD_ROWS}
    old.dispose()

    store = StateStore(fresh_url)
    assert migrate.current(store.engine) == HEAD
    for name, rows in before.items():
        assert rows_of(store.engine, name) == [{**r, "organization": ""} for r in rows], name

    # read as before, through the calls that name no organization
    assert store.get_watermark("invoice_actuals_daily") == "2026-01-31T10:00:00-0800"
    assert store.get_watermark("invoice_actuals_daily:sweep") == "2026-01-31"
    assert store.watermarks("invoice_actuals_daily") == {"": "2026-01-31T10:00:00-0800"}
    cells = CellLog(store)
    assert cells.cells("invoice_actuals", [JAN.start]) == {("4000", "Jan 26"),
                                                           ("4100", "Jan 26")}
    assert cells.amounts("invoice_actuals", "2026-01") == {("4000", "Jan 26"): ["120.50"],
                                                           ("4100", "Jan 26"): None}
    audit = AuditLog(store)
    assert audit.windows_of("invoice_actuals", ["9001", "9003"]) == {JAN.start}
    assert sent_ids(store, "invoice_actuals", "invoices", "2026-01") == {"9001", "9002"}
    assert sent_ids(store, "invoice_lines", "invoices", "2026-01", by_lines=True) == {"9001"}
    assert SentLines(store).of("invoice_lines", ["9001"])["9001"].rows == [
        ["4000", "Jan 26", "120.50"]]
    [month] = run_months(store, "invoice_actuals")
    assert (month.counts["imported"], month.counts["skipped"], month.counts["deleted"],
            month.verified) == (1, 1, 1, "verified")
    assert all(r["organization"] == "" for r in VerificationLog(store).query())

    # the keys now take an organization: a second one under the same flow is a new row
    store.set_watermark("invoice_actuals_daily", "2026-01-30T08:00:00+0000", "uk")
    assert store.get_watermark("invoice_actuals_daily") == "2026-01-31T10:00:00-0800"
    # a rerun of the month replaces the upgraded rows, keeps the deleted one, adds ids
    audit.replace_run("invoice_actuals", "r2", [JAN], [
        {"entity": "invoices", "record_id": "9001", "status": "imported"}])
    assert sorted((r["record_id"], r["run_id"], r["status"]) for r in
                  audit.query(flow="invoice_actuals")) == [
        ("9001", "r2", "imported"), ("9003", "r1", "deleted")]

    # and back: 0010 keeps the '' rows as they were, without the column
    with store.engine.begin() as conn:
        command.downgrade(migrate._config(conn), "0010")
    assert rows_of(store.engine, "mlc_watermarks") == before["mlc_watermarks"]
    assert rows_of(store.engine, "mlc_cells") == before["mlc_cells"]


def test_two_organizations_of_one_flow_keep_their_own_state(fresh_url):
    store = StateStore(fresh_url)
    flow = "group_actuals"

    store.set_watermark(flow, "2026-01-31T10:00:00-0800", "us")
    store.set_watermark(flow, "2026-01-29T09:00:00+0000", "uk")
    store.set_watermark(flow, "2026-02-01T10:00:00-0800", "us")
    assert store.get_watermark(flow, "us") == "2026-02-01T10:00:00-0800"
    assert store.get_watermark(flow, "uk") == "2026-01-29T09:00:00+0000"
    assert store.get_watermark(flow) is None, "'' is neither"
    assert store.watermarks(flow) == {"uk": "2026-01-29T09:00:00+0000",
                                      "us": "2026-02-01T10:00:00-0800"}

    cells = CellLog(store)
    cells.replace(flow, [JAN.start], {JAN.start: [("US", "4000", "Jan 26")]},
                  {("US", "4000", "Jan 26"): ["100.00"]}, organization="us")
    cells.replace(flow, [JAN.start], {JAN.start: [("UK", "4000", "Jan 26"),
                                                  ("US", "4000", "Jan 26")]},
                  {("UK", "4000", "Jan 26"): ["80.00"], ("US", "4000", "Jan 26"): ["1.25"]},
                  organization="uk")
    # a rebuild of us's January leaves uk's cells
    cells.replace(flow, [JAN.start], {JAN.start: [("US", "4100", "Jan 26")]},
                  {("US", "4100", "Jan 26"): ["7"]}, organization="us")
    assert cells.cells(flow, [JAN.start], "us") == {("US", "4100", "Jan 26")}
    assert cells.cells(flow, [JAN.start], "uk") == {("UK", "4000", "Jan 26"),
                                                    ("US", "4000", "Jan 26")}
    assert cells.cells(flow, [JAN.start]) == set()
    assert cells.amounts(flow, "2026-01", "uk") == {("UK", "4000", "Jan 26"): ["80.00"],
                                                    ("US", "4000", "Jan 26"): ["1.25"]}
    cells.replace(flow, [JAN.start], {JAN.start: [("US", "4000", "Jan 26")]},
                  {("US", "4000", "Jan 26"): ["100.00"]}, organization="us")
    assert cells.amounts(flow, "2026-01") == {  # every organization: a shared cell summed
        ("UK", "4000", "Jan 26"): ["80.00"], ("US", "4000", "Jan 26"): ["101.25"]}

    audit = AuditLog(store)
    row = {"entity": "invoices", "import_id": "112", "task_id": "T1", "status": "imported"}
    audit.replace_run(flow, "run1", [JAN, FEB], [
        {**row, "record_id": "1"}, {**row, "record_id": "2", "window_start": FEB.start,
                                     "window_end": FEB.end}], organization="us")
    audit.replace_run(flow, "run1", [JAN], [
        {**row, "record_id": "1"}, {**row, "record_id": "3", "status": "failed",
                                     "error": "rate missing"}], organization="uk")
    # us runs January again: its January rows go, uk's and us's February stay
    assert audit.replace_run(flow, "run2", [JAN], [{**row, "record_id": "4"}],
                             organization="us") == {"imported": 1, "failed": 0, "skipped": 0}
    held = sorted((r["organization"], r["run_id"], r["record_id"])
                  for r in audit.query(flow=flow))
    assert held == [("uk", "run1", "1"), ("uk", "run1", "3"), ("us", "run1", "2"),
                    ("us", "run2", "4")]
    assert [r["record_id"] for r in audit.query(flow=flow, organization="uk",
                                                status="failed")] == ["3"]
    assert audit.query(flow=flow, organization="") == []
    assert audit.windows_of(flow, ["1"], "uk") == {JAN.start}
    assert audit.windows_of(flow, ["1"], "us") == set()
    assert audit.windows_of(flow, ["1", "2"]) == {JAN.start, FEB.start}
    assert sent_ids(store, flow, "invoices", "2026-01", organization="uk") == {"1", "3"}
    assert sent_ids(store, flow, "invoices", "2026-01", organization="us") == {"4"}
    audit.record_planned(flow, "plan1", [JAN], "invoices", "us: 1 cell", organization="us")
    audit.record_planned(flow, "plan1", [JAN], "invoices", "uk: 2 cells", organization="uk")
    audit.record_planned(flow, "plan1", [JAN], "invoices", "uk: 3 cells", organization="uk")
    assert sorted((r["organization"], r["error"]) for r in
                  audit.query(flow=flow, status="planned")) == [
        ("uk", "uk: 3 cells"), ("us", "us: 1 cell")]

    checks = VerificationLog(store)
    checks.record(flow, "run1", "116", {JAN.start: (2, 0, None)}, organization="us")
    checks.record(flow, "run1", "116", {JAN.start: (1, 1, "UK/4000 differs")},
                  organization="uk")
    assert [(r["organization"], r["status"]) for r in
            checks.query(flow=flow, organization="uk")] == [("uk", "differs")]
    assert {r["organization"] for r in checks.query(flow=flow)} == {"us", "uk"}

    lines = SentLines(store)
    lines.remember("group_lines", [SentRows("1", "invoices", "2026-01", [["a", "1"]])],
                   organization="us")
    lines.remember("group_lines", [SentRows("1", "invoices", "2026-01", [["b", "2"]])],
                   organization="uk")
    lines.forget("group_lines", ["1"], organization="us")
    assert lines.of("group_lines", ["1"], organization="us") == {}
    assert lines.of("group_lines", ["1"], organization="uk")["1"].rows == [["b", "2"]]
    assert sent_ids(store, "group_lines", "invoices", "2026-01", by_lines=True,
                    organization="uk") == {"1"}
    deletes = DeleteLog(store)
    deletes.found("60000000002", "invoices", ["1", "3"], "webhook")
    assert [d.record_id for d in deletes.pending(flow, "60000000002", ["invoices"],
                                                 organization="uk")] == ["1", "3"]
    assert deletes.pending(flow, "60000000002", ["invoices"], organization="us") == []
    assert [d.record_id for d in deletes.pending("group_lines", "60000000002", ["invoices"],
                                                 by_lines=True, organization="uk")] == ["1"]


def test_the_runs_report_shows_each_organization(fresh_url):
    store = StateStore(fresh_url)
    audit, flow = AuditLog(store), "group_actuals"
    row = {"entity": "invoices", "import_id": "112", "task_id": "T1", "status": "imported"}
    audit.replace_run(flow, "run1", [JAN], [{**row, "record_id": "1"},
                                            {**row, "record_id": "2"}], organization="us")
    audit.replace_run(flow, "run1", [JAN], [{**row, "record_id": "3", "status": "failed",
                                             "error": "rate missing"}], organization="uk-ltd")
    VerificationLog(store).record(flow, "run1", "116", {JAN.start: (2, 0, None)},
                                  organization="us")
    rows = run_months(store, flow)
    assert [(r.organization, r.records, r.counts["failed"], r.verified) for r in rows] == [
        ("uk-ltd", 1, 1, None), ("us", 2, 0, "verified")]
    header, uk, reason, us = table(rows)
    assert header.split()[:4] == ["flow", "month", "Org", "records"]
    assert uk.split()[3:6] == ["uk-ltd", "1", "0"] and us.split()[3:6] == ["us", "2", "2"]
    assert reason.strip() == "1 x failed: rate missing"
    assert "verified" in us.split() and "verified" not in uk.split()

    audit.replace_run("single", "run1", [JAN], [{**row, "record_id": "1"}])
    header, line = table(run_months(store, "single"))
    assert header == (f"{'flow':<22} {'month':<14} {'records':>8} {'imported':>9} "
                      f"{'skipped':>8} {'failed':>7} {'deleted':>8} {'requests':>9} "
                      f"{'Anaplan':>8}  {'verified':<9} Anaplan task  run"), "no Org column"
    assert line.split()[:5] == ["single", "January", "2026", "1", "1"]
