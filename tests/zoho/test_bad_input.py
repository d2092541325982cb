"""Bad input: each a clear error naming the field or value at fault."""

from __future__ import annotations

import pytest

from ml_connector.errors import ApiError, ConfigError
from ml_connector.zoho import ZohoConfig, get_entity
from ml_connector.zoho.extract import ExtractWindow
from ml_connector.zoho.settings import settings_from_fields


def test_unknown_entity_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown Zoho Books entity 'invoice'.*invoices, bills"):
        get_entity("invoice")
    assert get_entity("purchase_orders").name == "purchaseorders"


def test_bad_config_values_are_named():
    with pytest.raises(ConfigError, match="unknown Zoho region 'europe'"):
        ZohoConfig(region="europe")
    with pytest.raises(ConfigError, match="organization_id must be digits, got 'acme'"):
        ZohoConfig(region="us", organization_id="acme")
    with pytest.raises(ConfigError, match="max_concurrency must be between 1 and 5 on a free"):
        ZohoConfig(region="us", plan="free", max_concurrency=10)
    with pytest.raises(ConfigError, match="start 2026-02-01 must be before end 2026-01-01"):
        from datetime import date

        ExtractWindow(start=date(2026, 2, 1), end=date(2026, 1, 1))


def test_connection_fields_are_checked_by_name():
    good = {"refresh_token": "r", "region": "eu"}
    creds, config = settings_from_fields(login="id", password="s", host=None, extra=good)
    assert config.region == "eu" and creds.client_id == "id"
    with pytest.raises(ConfigError, match="'zb': field refresh_token is empty"):
        settings_from_fields(login="id", password="s", host=None, extra={"region": "eu"},
                             name="zb")
    with pytest.raises(ConfigError, match="unknown extra field.*regoin"):
        settings_from_fields(login="id", password="s", host=None,
                             extra={**good, "regoin": "eu"})
    with pytest.raises(ConfigError, match="requests_per_minute must be a whole number"):
        settings_from_fields(login="id", password="s", host=None,
                             extra={**good, "requests_per_minute": "fast"})


def test_several_organizations_require_a_choice(zoho_client):
    client = zoho_client("us", organization_id=None)
    with pytest.raises(ConfigError, match="2 organizations; set organization_id.*10234695"):
        _ = client.organization_id


def test_single_organization_is_discovered(zoho_client):
    assert zoho_client("in").organization_id == "30045678"


def test_invalid_organization_id_names_the_fix(zoho_client):
    client = zoho_client("us", organization_id="99999999")
    with pytest.raises(ApiError, match="6041.*organization_id belongs to this Zoho account"):
        client.get("/invoices")


def test_entity_without_date_filters_refuses_a_date_window(zoho_client):
    from datetime import date

    from ml_connector.zoho.extract import iter_window

    with pytest.raises(ConfigError, match="'contacts' cannot be filtered by date"):
        list(iter_window(zoho_client(), "contacts",
                         ExtractWindow(start=date(2026, 1, 1), end=date(2026, 2, 1))))
