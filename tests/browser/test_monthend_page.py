"""A finance analyst's month-end in the Airflow UI (Playwright driving Debian's Chromium):
log in, open "Month-end" from the navigation, pick a month, see every flow's row and the
plan-vs-actual chart. The screenshot is kept in the test's directory, and copied to
``$MLC_SCREENSHOT_DIR/month-end.png`` when that is set (docs/images for the docs)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ml_connector.flows.spec import load_valid_flows
from ml_connector.state.store import StateStore

from ..airflow.monthend_env import ROOT, api_server, passwords, plugin_env
from ..airflow_env import airflow_env, migrate
from ..monthend_data import fill_months
from .test_airflow_ui import browser  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.airflow, pytest.mark.browser]
MONTHS = ["2026-01", "2026-02", "2026-03"]


def test_an_analyst_opens_month_end_and_picks_a_month(browser, tmp_path):  # noqa: F811
    home = tmp_path / "home"
    env = plugin_env(airflow_env(home, ROOT / "dags", {}), tmp_path)
    migrate(env)
    flows = load_valid_flows(ROOT / "dags" / "flows.yaml")[0].flows
    fill_months(StateStore.sqlite(home / "ml_connector" / "state.db"), flows, MONTHS,
                records=200)
    dimensional = [f.id for f in flows if f.dimensional and f.grain == "aggregate"]
    with api_server(env, tmp_path / "api-server.log") as url:
        context = browser.new_context(viewport={"width": 1500, "height": 2000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        page.locator("input[name=username]").fill("analyst")
        page.locator("input[name=password]").fill(passwords(env)["analyst"])
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Month-end").click()
        page.wait_for_url("**/plugin/month-end")
        frame = page.frame_locator("iframe")
        frame.locator("select[name=month]").select_option("2026-02")
        frame.get_by_role("button", name="Show").click()
        frame.get_by_role("heading", name="Month-end: February 2026").wait_for()
        rows = frame.locator("tr.flow")
        assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.flow)")) == sorted(
            f.id for f in flows)
        assert frame.locator("tr.flow td.none").count() == 0  # every flow ran that month
        # A flow of several organizations: a row per organization under it.
        entities = frame.locator("tr.entity").evaluate_all(
            "rs => rs.map(r => [r.dataset.flow, r.dataset.entity])")
        assert entities == [[f.id, o.entity] for f in flows for o in f.organizations or []]
        assert entities
        charts = frame.locator("svg.mlc-chart")
        assert charts.count() == len(dimensional) > 0
        assert charts.first.locator("rect.bar.actual").count() >= 4
        assert frame.locator("section.alignment").first.get_attribute(
            "data-flow") == dimensional[0]
        shot = tmp_path / "month-end.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        if os.environ.get("MLC_SCREENSHOT_DIR"):
            target = Path(os.environ["MLC_SCREENSHOT_DIR"])
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, target / "month-end.png")
