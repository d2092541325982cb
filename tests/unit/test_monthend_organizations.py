"""The Month-end page for a flow of several organizations (the shipped group_pl_actuals):
the flow's last run over the organizations it read, then a row per organization with its
own newest run of the month, and the organization the last run left out named with why.
The state store is written through its own log classes, as the flows write it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_connector.flows.spec import load_valid_flows
from ml_connector.monthend.page import render
from ml_connector.monthend.view import month_view
from ml_connector.state.store import StateStore

from ..monthend_data import Run, fill_january, left_out, record_run
from .test_monthend_page import Page

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_valid_flows(ROOT / "dags" / "flows.yaml")[0]
FLOW = next(f for f in SPEC.flows if f.id == "group_pl_actuals")
ENTITIES = ["US", "LABS", "UK", "IN"]  # as flows.yaml names them
MONTH = "2026-01"
FIRST, RETRY = "scheduled__2026-02-01T00:00:00+00:00", "manual__2026-02-02T08:00:00+00:00"
QUOTA = ("in.extract: Zoho Books organization 30045678 has used its daily quota of 1000 "
         "requests (code 45)")
DIFFERS = "Accounts 4010 / Jan 26 Group Amount: sent 10.00, Anaplan holds 12.00"
#: The partial run: three organizations read (LABS one cell off), India left out.
READ = {
    "US": Run(FLOW.id, FIRST, MONTH, imported=40, skipped={"skipped: status void": 2},
              requests=31, verification=(38, 0, None), organization="US",
              anaplan={"import": 4, "wait": 3, "verify": 2}),
    "LABS": Run(FLOW.id, FIRST, MONTH, imported=10, requests=6, verification=(9, 1, DIFFERS),
                organization="LABS", anaplan={}),
    "UK": Run(FLOW.id, FIRST, MONTH, imported=12, failed={"line 3: Account '9999' is not in "
                                                          "Accounts": 1},
              requests=7, verification=(11, 0, None), organization="UK", anaplan={}),
}


@pytest.fixture
def store(tmp_path) -> StateStore:
    """January of the single-organization flows, and the group flow's partial run."""
    store = StateStore.sqlite(tmp_path / "state.db")
    fill_january(store)
    for run in READ.values():
        record_run(store, run, "journals")
    left_out(store, FLOW.id, FIRST, "IN", QUOTA)
    return store


def group_row(store: StateStore):
    [row] = [f for f in month_view(store, SPEC.flows, MONTH, SPEC.defaults).flows
             if f.flow == FLOW.id]
    return row


def test_the_partial_run_over_the_organizations_it_read_and_the_one_it_left_out(store):
    row = group_row(store)
    run = row.run
    assert run is not None and run.run_id == FIRST
    records = sum(r.records for r in READ.values())
    assert (run.records, run.imported, run.skipped, run.failed) == (
        records, 62, 2, 1)
    assert run.requests == sum(r.requests for r in READ.values())  # the run's, all groups
    assert run.anaplan_requests == 9
    assert run.left_out == ["IN"] and run.outcome == "failed"
    check = run.verification
    assert check is not None
    assert (check.cells, check.differences, check.status) == (58, 1, "differs")
    assert check.detail == f"LABS: {DIFFERS}"
    # A row per organization, in flows.yaml's order.
    assert [e.entity for e in row.entities] == ENTITIES
    shown = {e.entity: e for e in row.entities}
    for entity, expected in READ.items():
        mine = shown[entity]
        assert mine.run is not None and mine.run.run_id == FIRST and mine.left_out is None
        assert (mine.run.records, mine.run.imported, mine.run.skipped, mine.run.failed) == (
            expected.records, expected.imported, sum(expected.skipped.values()),
            sum(expected.failed.values()))
        assert mine.run.requests == expected.requests  # its own group's reads only
        assert mine.run.verification is not None
        assert (mine.run.verification.cells, mine.run.verification.differences,
                mine.run.verification.detail) == expected.verification
    assert [shown[e].outcome for e in ENTITIES] == ["imported", "differs", "failed",
                                                     "left out"]
    india = shown["IN"]
    assert india.run is None and india.failed and india.left_out == QUOTA


def test_the_retry_of_the_one_left_out_and_the_others_kept_from_the_run_before(store):
    record_run(store, Run(FLOW.id, RETRY, MONTH, imported=8, requests=5,
                          verification=(6, 0, None), organization="IN"), "journals")
    for entity in ("US", "LABS", "UK"):
        left_out(store, FLOW.id, RETRY, entity, f"{entity.lower()}.closed: organization "
                 f"{entity} is not read in this run (it reads IN)", state="skipped")
    row = group_row(store)
    assert row.run is not None and row.run.run_id == RETRY
    assert (row.run.records, row.run.left_out, row.run.outcome, row.run.runs) == (
        8, [], "imported", 2)
    shown = {e.entity: e for e in row.entities}
    assert shown["IN"].run is not None and shown["IN"].run.run_id == RETRY
    assert shown["IN"].left_out is None and shown["IN"].outcome == "imported"
    us = shown["US"]
    assert us.run is not None and us.run.run_id == FIRST and us.run.records == 42
    assert not us.failed and us.left_out is not None and "not read in this run" in us.left_out
    assert us.outcome == "imported"
    # On the page: India's row is the flow's run; the others link to the run before.
    page = Page(render(month_view(store, [FLOW], MONTH, SPEC.defaults), base="/airflow"))
    rows = {a["data-entity"]: text for a, text in page.find("tr")
            if a.get("class", "").startswith("entity")}
    assert list(rows) == ENTITIES
    links = {a["href"] for a, _ in page.find("a")}
    assert "/airflow/dags/zoho_group_pl_actuals/runs/scheduled__2026-02-01T00%3A00%3A00%2B00" \
           "%3A00" in links
    assert FIRST in rows["US"] and RETRY not in rows["IN"]
    notes = {a["data-entity"]: text for a, text in page.find("tr", **{"class": "notes"})
             if "data-entity" in a}
    assert "not read by the last run: us.closed: organization US is not read" in notes["US"]
    assert "IN" not in notes


def test_an_organization_left_out_keeps_the_month_an_older_run_recorded(store, tmp_path):
    older = tmp_path / "older.db"
    store = StateStore.sqlite(older)
    record_run(store, Run(FLOW.id, "scheduled__2026-01-31T00:00:00+00:00", MONTH,
                          imported=70, requests=12, organization="IN"), "journals")
    for run in READ.values():
        record_run(store, run, "journals")
    left_out(store, FLOW.id, FIRST, "IN", QUOTA)
    india = {e.entity: e for e in group_row(store).entities}["IN"]
    assert india.run is not None and india.run.records == 70
    assert india.failed and india.left_out == QUOTA and india.outcome == "left out"


def test_the_page_marks_the_organization_left_out_and_why(store):
    page = Page(render(month_view(store, SPEC.flows, MONTH, SPEC.defaults), base="/airflow"))
    rows = {a["data-entity"]: (a, text) for a, text in page.find("tr")
            if a.get("class", "").startswith("entity")}
    assert list(rows) == ENTITIES
    assert all(a["data-flow"] == FLOW.id for a, _ in rows.values())
    _, india = rows["IN"]
    assert "left out" in india and "no run" in india
    notes = {a["data-entity"]: text for a, text in page.find("tr", **{"class": "notes"})
             if "data-entity" in a}
    assert notes["IN"] == f"left out of the last run: {QUOTA}"
    assert "1 x failed: line 3: Account '9999' is not in Accounts" in notes["UK"]
    _, us = rows["US"]
    assert "42" in us and "31" in us and "verified (0 of 38 cells)" in us
    assert FIRST not in us  # the flow's own last run: not repeated
    assert page.find("li", **{"class": "failed"})
    # The flow's row: failed, its figures over the three organizations read.
    [(_, flow)] = [(a, t) for a, t in page.find("tr") if a.get("class", "").startswith("flow")
                   and a.get("data-flow") == FLOW.id]
    assert "failed" in flow and "differs (1 of 58 cells)" in flow
    assert "LABS: Accounts 4010" in flow


def test_single_organization_flows_have_no_organization_rows(store):
    view = month_view(store, SPEC.flows, MONTH, SPEC.defaults)
    assert all(f.entities == [] for f in view.flows if f.flow != FLOW.id)
    html = render(view)
    assert html.count('class="entity') == len(ENTITIES) * 2  # its row and its cell


def test_the_organizations_of_the_files_defaults(store):
    """A flow naming no organizations of its own reads those of the file's defaults: each
    has a row, one without any run says so."""
    spec = SPEC.model_copy(update={"defaults": SPEC.defaults.model_copy(
        update={"organizations": FLOW.organizations})})
    flow = FLOW.model_copy(update={"organizations": None})
    [row] = month_view(store, [flow], MONTH, spec.defaults).flows
    assert [e.entity for e in row.entities] == ENTITIES
    # Without the defaults, the organizations the store names.
    [row] = month_view(store, [flow], MONTH).flows
    assert sorted(e.entity for e in row.entities) == sorted(ENTITIES)
    html = render(month_view(store, [flow], "2025-12", spec.defaults))
    page = Page(html)
    rows = [t for a, t in page.find("tr") if a.get("class", "").startswith("entity")]
    assert len(rows) == 4 and all("no run" in t for t in rows)


def test_an_organization_read_after_a_failed_try_is_not_left_out(store):
    """A task group cleared and run again in the same run: its earlier failure is kept in
    the store, but the organization's cells are in."""
    left_out(store, FLOW.id, FIRST, "US", "us.extract: the first try timed out")
    shown = {e.entity: e for e in group_row(store).entities}
    assert shown["US"].left_out is None and not shown["US"].failed
    assert group_row(store).run.left_out == ["IN"]  # type: ignore[union-attr]
