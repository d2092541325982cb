"""The Month-end page in a real api-server: the plugin found through the package's entry
point, no data without a token Airflow signed, every flow's row for a logged-in user, only
the flows whose DAG a user may read, the run's state and Anaplan model from Airflow's own
metadata (a real run of the accounts flow)."""

from __future__ import annotations

import json

import httpx
import jwt
import pytest
import yaml

from ml_connector.state.store import StateStore

from ..airflow_env import airflow
from ..monthend_data import JANUARY, fill_january
from .flow_env import audit_of, flow_env
from .month_auth import CLERK_DAGS
from .monthend_env import PLUGIN, ROOT, api_server, plugin_env, token

pytestmark = pytest.mark.airflow


def test_the_month_end_page_in_the_api_server(sandbox, tmp_path_factory):
    base = tmp_path_factory.mktemp("monthend")
    home = base / "home"
    env = plugin_env(flow_env(sandbox, home), base)
    listed = json.loads(airflow(env, "plugins", "-o", "json").stdout)
    [plugin] = [p for p in listed if p["name"] == PLUGIN]
    assert "ml_connector.monthend.plugin" in json.dumps(plugin)
    assert not list((base / "plugins").iterdir())  # nothing copied to a plugins folder

    airflow(env, "dags", "test", "zoho_accounts", "2026-04-01")  # a real run, its XCom
    [accounts_run] = audit_of(home).query(flow="accounts", limit=1)
    fill_january(StateStore.sqlite(home / "ml_connector" / "state.db"))
    month = accounts_run["window_start"][:7]
    page = "/ml-connector/"
    with api_server(env, base / "api-server.log") as url:
        http = httpx.Client(base_url=url, timeout=60)
        for path in (page, "/ml-connector/api/month?month=2026-01"):
            anonymous = http.get(path)
            assert anonymous.status_code == 401
            assert "invoice_actuals" not in anonymous.text
        analyst = token(url, env, "analyst")
        claims = jwt.decode(analyst, options={"verify_signature": False})
        forged = jwt.encode(claims, "not this Airflow's secret " * 4, algorithm="HS512")
        for headers, cookies in (({"Authorization": f"Bearer {forged}"}, {}),
                                 ({}, {"_token": forged}),
                                 ({"Authorization": "Bearer not.a.jwt"}, {})):
            refused = httpx.get(f"{url}{page}?month=2026-01", headers=headers,
                                cookies=cookies)
            assert refused.status_code in (401, 403)
            assert "invoice_actuals" not in refused.text

        # The UI's own credential: its _token cookie (what the page's iframe sends).
        shown = httpx.get(f"{url}{page}?month=2026-01", cookies={"_token": analyst})
        assert shown.status_code == 200, shown.text
        flows = [f["id"] for f in yaml.safe_load(
            (ROOT / "dags" / "flows.yaml").read_text())["flows"]]
        for flow in flows:
            assert f'data-flow="{flow}"' in shown.text
        for run in JANUARY:
            assert run.run_id.replace("+", "%2B").replace(":", "%3A") in shown.text
        assert 'class="mlc-chart"' in shown.text

        # The accounts flow's real run: its state and model page from Airflow's metadata.
        bearer = {"Authorization": f"Bearer {analyst}"}
        own = httpx.get(f"{url}{page}", params={"month": month}, headers=bearer).text
        assert "(success)" in own
        assert "selectedModelId=" in own and 'target="_blank"' in own
        wrong = httpx.get(f"{url}/ml-connector/api/month?month=2026-13", headers=bearer)
        assert wrong.status_code == 400
        assert "'2026-13' is not a month: write it yyyy-mm" in wrong.json()["detail"]

        clerk = {"Authorization": f"Bearer {token(url, env, 'clerk')}"}
        data = httpx.get(f"{url}/ml-connector/api/month?month=2026-01", headers=clerk)
        assert data.status_code == 200
        body = data.json()
        assert {f"zoho_{f['flow']}" for f in body["flows"]} == CLERK_DAGS
        assert body["alignments"] == []  # the department flow's DAG is not the clerk's
        clerk_page = httpx.get(f"{url}{page}?month=2026-01", headers=clerk).text
        assert "invoice_actuals_by_department" not in clerk_page

        views = http.get("/api/v2/plugins", headers=bearer).raise_for_status().json()
        [ours] = [p for p in views["plugins"] if p["name"] == PLUGIN]
        assert [(v["name"], v["href"]) for v in ours["external_views"]] == [
            ("Month-end", "/ml-connector/")]
