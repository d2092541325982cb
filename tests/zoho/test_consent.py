"""The authorization-code grant's checks: a foreign answer or accounts server is refused
before the client secret goes anywhere; the grant against the sandbox gives a refresh
token for the data center the redirect names."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ml_connector.errors import ConfigError
from ml_connector.flows.spec import load_flows
from ml_connector.zoho.consent import consent, exchange, flow_scopes
from ml_connector.zoho.regions import sandbox_datacenters

ROOT = Path(__file__).resolve().parents[2]
REDIRECT = "http://localhost:8976/"


def test_the_scopes_are_those_of_the_modules_the_flows_read():
    scopes = flow_scopes(load_flows(ROOT / "dags" / "flows.yaml").flows)
    assert scopes == sorted(f"ZohoBooks.{m}.READ" for m in (
        "accountants", "bills", "contacts", "creditnotes", "debitnotes", "expenses",
        "invoices", "projects", "purchaseorders", "settings"))


def test_answers_that_are_not_ours_are_refused_before_any_request(sandbox):
    table = sandbox_datacenters(sandbox.base_url)
    asked = consent("1000.SANDBOXCLIENT", ["ZohoBooks.invoices.READ"], REDIRECT, table=table)
    query = parse_qs(urlsplit(asked.url).query)
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    sandbox.sandbox.zoho.reset_stats()
    cases = {
        f"{REDIRECT}?state={asked.state}": "no code= parameter",
        f"{REDIRECT}?code=c&state=other": "another consent request",
        f"{REDIRECT}?error=access_denied&state={asked.state}": "refused the consent",
        f"{REDIRECT}?code=c&state={asked.state}&location=us&accounts-server="
        "https://accounts.evil.example": "not a known Zoho data center",
    }
    for returned, message in cases.items():
        with pytest.raises(ConfigError, match=message):
            exchange(asked, returned, "1000.SANDBOXCLIENT", "sandbox-client-secret",
                     table=table)
    assert sandbox.sandbox.zoho.stats()["accounts"]["total"] == 0


def test_the_code_is_exchanged_where_the_redirect_says(sandbox):
    table = sandbox_datacenters(sandbox.base_url)
    cfg = sandbox.sandbox.config.zoho
    asked = consent(cfg.client_id, ["ZohoBooks.invoices.READ", "ZohoBooks.settings.READ"],
                    REDIRECT, region="eu", table=table)
    returned = httpx.get(asked.url, follow_redirects=False).headers["location"]
    assert "location=eu" in returned
    granted = exchange(asked, returned, cfg.client_id, cfg.client_secret, table=table)
    assert granted.datacenter.region == "eu" and granted.refresh_token.startswith("1000.")
    assert granted.refresh_token not in repr(granted)
    with pytest.raises(Exception, match="expired .* or was used already"):
        exchange(asked, returned, cfg.client_id, cfg.client_secret, table=table)
