"""The Month-end page's HTML: the month picker, a row per flow with links to its Airflow run
and Anaplan model, each alignment's report and chart; every value escaped."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from ml_connector.flows.spec import Flow, load_valid_flows
from ml_connector.monthend.page import AirflowRun, render
from ml_connector.monthend.view import month_view
from ml_connector.state.store import StateStore

from ..monthend_data import JANUARY, Run, fill_january, record_run

ROOT = Path(__file__).resolve().parents[2]
FLOWS = load_valid_flows(ROOT / "dags" / "flows.yaml")[0].flows
MODEL = "https://us1a.app.anaplan.com/home?selectedModelId=75A40874E6B64FA3AE0743278996850F"


class Page(HTMLParser):
    """The elements of a page, with their attributes and text (tags must balance enough
    for the text to land in the right element)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self.open: list[int] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))
        if tag not in ("br", "meta", "input"):
            self.open.append(len(self.elements) - 1)

    def handle_endtag(self, tag):
        while self.open:
            if self.elements[self.open.pop()][0] == tag:
                break

    def handle_data(self, data):
        for n in self.open:
            self.elements[n][2].append(data)

    def find(self, tag: str, **attrs: str) -> list[tuple[dict[str, str], str]]:
        return [(a, "".join(t)) for g, a, t in self.elements
                if g == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


@pytest.fixture
def store(tmp_path) -> StateStore:
    store = StateStore.sqlite(tmp_path / "state.db")
    fill_january(store)
    return store


def test_a_row_per_flow_links_to_runs_and_the_model_and_the_alignment(store):
    view = month_view(store, FLOWS, "2026-01")
    first = JANUARY[0]
    html = render(view, base="/airflow", airflow={
        ("zoho_invoice_actuals", first.run_id): AirflowRun(state="success", model_page=MODEL),
        ("zoho_accounts", JANUARY[2].run_id): AirflowRun(model_page="javascript:alert(1)")})
    page = Page(html)
    rows = {a["data-flow"]: text for a, text in page.find("tr")
            if a.get("class", "").startswith("flow")}
    notes = {a["data-flow"]: text for a, text in page.find("tr", **{"class": "notes"})}
    assert list(rows) == [f.id for f in FLOWS if f.mode != "full"] + [
        f.id for f in FLOWS if f.mode == "full"]  # the actuals, then the lists
    ran = {r.flow for r in JANUARY}
    assert all(("no run" in text) == (flow not in ran) for flow, text in rows.items())
    assert "failed" in rows["invoice_actuals_by_department"]
    assert "5 x failed: line 4: Department 'Ops' is not in Departments" in \
        notes["invoice_actuals_by_department"]
    assert "1 x failed: line 9: Account '4999' is not in Accounts" in \
        notes["invoice_actuals_by_department"]
    assert "differs (2 of 90 cells)" in rows["invoice_actuals_by_department"]
    hrefs = {a["href"]: a.get("target") for a, _ in page.find("a")}
    assert hrefs["/airflow/dags/zoho_invoice_actuals/runs/"
                 "scheduled__2026-02-01T00%3A00%3A00%2B00%3A00"] == "_top"
    assert hrefs[MODEL] == "_blank"
    assert not any(h.startswith("javascript:") for h in hrefs)
    assert "(success)" in rows["invoice_actuals"]
    [(section, text)] = page.find("section", data_flow="invoice_actuals_by_department")
    assert section["data-version"] == "Budget"
    assert "4 row(s): 2 unplanned, 1 unactual, 1 aligned; 2 row(s) breach" in text
    assert "'Ops' has no mapping, routed to Unassigned (2 line(s))" in text
    assert len(page.find("svg")) == 1 and len(page.find("rect", **{"class": "bar actual"})) == 3
    options = [a["value"] for a, _ in page.find("option")]
    assert options == ["2026-02", "2026-01"]
    assert page.find("option", value="2026-01", selected="")
    assert page.find("form", method="get") and page.find("select", name="month")


def test_everything_from_the_store_is_escaped(store):
    flow = FLOWS[0].model_copy(update={"id": "evil", "description": '<img src=x onerror="1">'})
    record_run(store, Run("evil", "manual__<script>alert(1)</script>", "2026-01", imported=1,
                          failed={"<b>bold</b> & \"quoted\"": 2}))
    html = render(month_view(store, [flow], "2026-01"))
    assert "<script>" not in html and "<b>" not in html and "<img" not in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;" in html
    assert "runs/manual__%3Cscript%3Ealert%281%29%3C%2Fscript%3E" in html


def test_no_flow_may_be_seen(store):
    html = render(month_view(store, list[Flow](), "2026-01"))
    assert "ask an Airflow admin for read access" in html and "<table" not in html
