"""ZohoBooksHook built from a real Airflow connection (environment variable)."""

from __future__ import annotations

import json

import pytest

from ml_connector.errors import AuthError, ConfigError
from ml_connector.hooks.zoho_books import ZohoBooksHook

from ..airflow_env import sandbox_connections


def test_test_connection_lists_organizations(connection_env):
    ok, message = ZohoBooksHook().test_connection()
    assert ok, message
    assert "Zillum Inc (10234695)" in message and "(us)" in message
    # The token went to the default state store in AIRFLOW_HOME, encrypted.
    assert ZohoBooksHook().client.tokens.cache.get(ZohoBooksHook().client.tokens.cache_key)


def test_test_connection_reports_bad_secret_without_leaking_it(connection_env, monkeypatch):
    conn = json.loads(
        sandbox_connections(connection_env.base_url, connection_env.sandbox.config)[
            "AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT"]
    )
    conn["password"] = "wrong-secret-value"
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_BAD", json.dumps(conn))
    ok, message = ZohoBooksHook("zoho_bad").test_connection()
    assert not ok
    assert "invalid_client_secret" in message
    assert "the Airflow connection 'zoho_bad': fix its Client secret" in message
    assert "wrong-secret-value" not in message


@pytest.mark.parametrize(("field", "value", "fix"), [
    ("refresh_token", "1000.revoked-token-value", "fix its Refresh token, or its Region"),
    ("region", "eu", "fix its Refresh token, or its Region"),
])
def test_a_refused_refresh_token_names_the_connection_and_its_fields(
        connection_env, monkeypatch, field, value, fix):
    """A task's token refusal says which connection and which field to fix; a token of
    another data center is never answered with a scope."""
    conn = json.loads(
        sandbox_connections(connection_env.base_url, connection_env.sandbox.config)[
            "AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT"]
    )
    extra = conn["extra"]
    conn["extra"] = {**(json.loads(extra) if isinstance(extra, str) else extra), field: value}
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_REVOKED", json.dumps(conn))
    with pytest.raises(AuthError) as info:
        ZohoBooksHook("zoho_revoked").client.organizations()
    message = str(info.value)
    assert "invalid_code" in message and f"the Airflow connection 'zoho_revoked': {fix}" \
        in message
    assert "scope" not in message.lower() and "1000.revoked-token-value" not in message


def test_connection_without_region_names_the_field(connection_env, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_NOREGION", json.dumps(
        {"conn_type": "zoho_books", "login": "id", "password": "secret",
         "extra": {"refresh_token": "token-value"}}))
    with pytest.raises(ConfigError, match="'zoho_noregion': field region is empty"):
        _ = ZohoBooksHook("zoho_noregion").client


def test_an_extra_that_is_not_json_names_the_connection_and_field(connection_env, monkeypatch):
    """Airflow would read it as an empty extra ("refresh_token is empty"): it is named."""
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_TEXT", json.dumps(
        {"conn_type": "zoho_books", "login": "id", "password": "secret-value",
         "extra": "refresh_token=token-value, region=us"}))
    with pytest.raises(ConfigError, match="'zoho_text': field extra is not JSON") as info:
        _ = ZohoBooksHook("zoho_text").client
    assert "token-value" not in str(info.value) and "secret-value" not in str(info.value)
