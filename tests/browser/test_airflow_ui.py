"""A new user in the Airflow UI, in a real browser (Playwright driving Debian's Chromium):
both connections added through their forms, a flow triggered, its run green, the task log's
progress lines, the import's "Anaplan model" link."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from ..airflow.flow_env import ORG, flow_env
from ..airflow.test_backfill import runs
from ..airflow_env import airflow, free_port, standalone, standalone_settings
from ..conftest import MODEL, WORKSPACE

pytestmark = [pytest.mark.airflow, pytest.mark.browser]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: apt-get install chromium (.ci/run does)"
    with sync_playwright() as play:
        launched = play.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def choose(page, placeholder: str, option: str) -> None:
    """Pick ``option`` in one of the UI's searchable selects."""
    page.get_by_text(placeholder).click(force=True)
    page.keyboard.type(option)
    # The options load from the API: on a busy machine they come after the typing.
    page.get_by_role("option", name=option, exact=True).first.wait_for()
    page.keyboard.press("Enter")


def add_connection(page, api: str, conn_id: str, conn_type: str, fields: dict[str, str],
                   extra: dict[str, str]) -> None:
    page.goto(f"{api}/connections")
    page.get_by_role("button", name="Add Connection").click()
    page.locator("input[name=connection_id]").fill(conn_id)
    choose(page, "Select Connection Type", conn_type)
    for name, value in fields.items():
        page.locator(f"input[name={name}]").fill(value)
    page.get_by_role("button", name="Extra Fields", exact=True).click()
    for name, value in extra.items():
        page.locator(f"input[name=element_{name}]").fill(value)
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Connection has been successfully created.").wait_for()


def test_a_new_user_adds_connections_and_runs_a_flow_from_the_ui(sandbox, browser,
                                                                   tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    settings = standalone_settings(free_port())
    env = flow_env(sandbox, home, core__dags_are_paused_at_creation="True",
                   core__simple_auth_manager_all_admins="True", **settings)
    for key in ("AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT", "AIRFLOW_CONN_ANAPLAN_DEFAULT"):
        env.pop(key)  # the user adds them in the UI
    zoho = sandbox.sandbox.config.zoho
    with standalone(env, home / "standalone.log") as api:
        deadline = time.monotonic() + 180
        while "zoho_accounts" not in airflow(env, "dags", "list").stdout:
            assert time.monotonic() < deadline, "the dag-processor never parsed the flows"
            time.sleep(3)
        context = browser.new_context(viewport={"width": 1400, "height": 1400})
        # The model's page in Anaplan's web UI cannot be reached from here: stand in for it.
        context.route("https://*.anaplan.com/**", lambda route: route.fulfill(
            status=200, content_type="text/html", body="<title>Anaplan model</title>"))
        page = context.new_page()
        page.set_default_timeout(60_000)
        add_connection(page, api, "zoho_books_default", "Zoho Books",
                       {"host": sandbox.base_url, "login": zoho.client_id,
                        "password": zoho.client_secret},
                       {"refresh_token": next(t.token for t in zoho.refresh_tokens
                                              if t.region == "us"), "organization_id": ORG})
        add_connection(page, api, "anaplan_default", "Anaplan",
                       {"host": sandbox.base_url, "login": "integration@zillum.example",
                        "password": "sandbox-password"},
                       {"workspace_id": WORKSPACE, "model_id": MODEL})
        assert zoho.client_secret not in page.inner_text("body")

        page.goto(f"{api}/dags/zoho_accounts")
        page.get_by_role("button", name="Trigger Dag").click()
        page.locator("[role=dialog][data-state=open]").get_by_role(
            "button", name="Trigger").click()  # "Unpause zoho_accounts on trigger" is ticked
        page.wait_for_url("**/dags/zoho_accounts/runs/manual__*")
        run_url = page.url
        run_id = run_url.rsplit("/runs/", 1)[1]
        deadline = time.monotonic() + 300
        while True:
            state = next((r["state"] for r in runs(env, "zoho_accounts")
                          if r["run_id"] == run_id.replace("%2B", "+")), None)
            if state in ("success", "failed"):
                break
            assert time.monotonic() < deadline, f"the run is still {state}"
            time.sleep(3)
        assert state == "success"
        page.goto(run_url)
        page.get_by_text("Success").first.wait_for()

        page.goto(f"{run_url}/tasks/extract")
        page.get_by_text("Read 32 chartofaccounts in 1 requests").wait_for()
        assert "Extracting chartofaccounts from organization 10234695" in \
            page.inner_text("body")

        page.goto(f"{run_url}/tasks/import")
        page.get_by_text("Details", exact=True).click()
        link = page.get_by_role("link", name="Anaplan model")
        href = link.get_attribute("href") or ""
        assert href.startswith("https://") and f"selectedModelId={MODEL}" in href
        with context.expect_page() as opened:
            link.click()
        assert opened.value.url == href.replace("&amp;", "&")

    listed = {i["code"] for i in sandbox.sandbox.anaplan.list_items(MODEL, "Accounts")}
    chart = {a["account_code"] for a in sandbox.sandbox.zoho.documents(ORG, "chartofaccounts")
             if a.get("account_code")}
    assert listed == chart
