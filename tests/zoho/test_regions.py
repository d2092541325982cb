"""Region routing: eight data centers, the allowlist, and tokens that stay in their region."""

from __future__ import annotations

import httpx
import pytest

from ml_connector.errors import AuthError, ConfigError
from ml_connector.zoho.regions import (
    DATACENTERS,
    REGIONS,
    region_by_api_domain,
    resolve_region,
    sandbox_datacenters,
)


def test_real_table_has_eight_regions_with_books_base():
    assert set(REGIONS) == {"us", "eu", "in", "au", "jp", "ca", "cn", "sa"}
    assert DATACENTERS["in"].books_base == "https://www.zohoapis.in/books/v3"
    assert DATACENTERS["ca"].accounts_url == "https://accounts.zohocloud.ca"


@pytest.mark.parametrize(
    ("kwargs", "region"),
    [
        ({"region": "EU"}, "eu"),
        ({"location": "au"}, "au"),
        ({"api_domain": "https://www.zohoapis.jp"}, "jp"),
        ({"api_domain": "https://WWW.zohoapis.com.cn/"}, "cn"),
        ({"accounts_server": "https://accounts.zoho.sa"}, "sa"),
        ({"location": "in", "api_domain": "https://www.zohoapis.in"}, "in"),
    ],
)
def test_resolve_region_from_any_source(kwargs, region):
    assert resolve_region(**kwargs).region == region


def test_unknown_region_is_named():
    with pytest.raises(ConfigError, match="unknown Zoho region 'mars'.*us, eu, in"):
        resolve_region(region="mars")


@pytest.mark.parametrize(
    "domain",
    ["https://evil.example.com", "http://www.zohoapis.com", "https://www.zohoapis.com.evil.io",
     "https://169.254.169.254"],
)
def test_api_domain_outside_allowlist_is_refused(domain):
    with pytest.raises(ConfigError, match="not a known Zoho data center"):
        region_by_api_domain(domain)


def test_conflicting_sources_are_refused():
    with pytest.raises(ConfigError, match="region 'us' but api_domain says 'eu'"):
        resolve_region(region="us", api_domain="https://www.zohoapis.eu")


def test_missing_region_is_explained():
    with pytest.raises(ConfigError, match="region is not set"):
        resolve_region()


@pytest.mark.parametrize("region", REGIONS)
def test_each_region_reaches_its_own_data_center(zoho_client, sandbox, region):
    client = zoho_client(region)
    orgs = client.organizations()
    assert orgs, f"no organizations in {region}"
    expected = {
        o.organization_id for o in sandbox.sandbox.config.zoho.organizations if o.region == region
    }
    assert {o["organization_id"] for o in orgs} == expected
    # The token's api_domain is the region's own, and data calls work there.
    assert client.tokens.cache.get(client.tokens.cache_key).api_domain == (
        sandbox_datacenters(sandbox.base_url)[region].api_domain
    )
    if len(expected) == 1:
        body = client.get("/chartofaccounts", {"filter_by": "AccountType.All"})
        assert body["code"] == 0 and body["chartofaccounts"]


def test_token_from_one_region_is_refused_by_another(zoho_client, sandbox):
    eu = zoho_client("eu")
    token = eu.tokens.token()
    us_books = sandbox_datacenters(sandbox.base_url)["us"].books_base
    auth = {"Authorization": f"Zoho-oauthtoken {token}"}
    response = httpx.get(f"{us_books}/organizations", headers=auth)
    assert response.status_code == 401
    assert response.json()["code"] != 0
    eu_books = sandbox_datacenters(sandbox.base_url)["eu"].books_base
    ok = httpx.get(f"{eu_books}/organizations", headers=auth)
    assert ok.status_code == 200


def test_refresh_token_of_another_region_is_a_clear_error(zoho_client, sandbox):
    from ml_connector.zoho import ZohoBooksClient, ZohoConfig

    from ..conftest import FAST_RETRY, zoho_credentials

    us_creds = zoho_credentials(sandbox, "us")
    client = ZohoBooksClient(
        us_creds, ZohoConfig(region="eu", endpoint_base=sandbox.base_url, retry=FAST_RETRY)
    )
    expected = "'eu' accounts server refused the credentials: invalid_code"
    with pytest.raises(AuthError, match=expected):
        client.organizations()
    client.close()


def test_org_of_another_region_is_unknown(zoho_client):
    client = zoho_client("us", organization_id="20071234")  # lives in eu
    with pytest.raises(Exception, match="6041") as info:
        client.get("/invoices")
    assert "organization_id" in str(info.value)
