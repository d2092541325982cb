"""AnaplanHook from real Airflow connections: test_connection, OAuth rotation persisted."""

from __future__ import annotations

import json

import pytest

from ml_connector.errors import ConfigError
from ml_connector.hooks.anaplan import AnaplanHook

from ..certs import make_certificate
from ..conftest import MODEL, USER, WORKSPACE


@pytest.fixture
def env(connection_env):
    return connection_env


def set_conn(monkeypatch, name: str, **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{name.upper()}", json.dumps({"conn_type": "anaplan",
                                                                   **fields}))


def test_test_connection_lists_the_models_imports(env):
    ok, message = AnaplanHook().test_connection()
    assert ok, message
    assert "Invoice Actuals by Account and Month (112000000006)" in message


def test_certificate_connection(env, monkeypatch):
    cert, key, _ = make_certificate(passphrase="key-passphrase")
    env.sandbox.anaplan.trust_certificate(cert, USER)
    set_conn(monkeypatch, "anaplan_cert", host=env.base_url, password="key-passphrase",
             extra={"auth_method": "certificate", "certificate": cert, "private_key": key,
                    "workspace_id": WORKSPACE, "model_id": MODEL})
    ok, message = AnaplanHook("anaplan_cert").test_connection()
    assert ok, message


def test_oauth_rotated_refresh_token_survives_a_new_hook(env, monkeypatch):
    oauth = env.sandbox.config.anaplan.oauth_clients[0]
    set_conn(monkeypatch, "anaplan_oauth", host=env.base_url, login=oauth.client_id,
             extra={"auth_method": "oauth", "refresh_token": oauth.refresh_tokens[0],
                    "workspace_id": WORKSPACE, "model_id": MODEL})
    assert AnaplanHook("anaplan_oauth").test_connection()[0]
    # The connection still holds the first (now used) refresh token; a new hook must use the
    # rotated one kept in the state store, or the sandbox would refuse it.
    ok, message = AnaplanHook("anaplan_oauth").test_connection()
    assert ok, message
    assert env.sandbox.anaplan.stats()["tokens_issued"].get("oauth_refresh") == 2


def test_connection_without_ids_names_them(env, monkeypatch):
    set_conn(monkeypatch, "anaplan_noids", host=env.base_url, login=USER, password="x")
    with pytest.raises(ConfigError, match="workspace_id and model_id are needed"):
        _ = AnaplanHook("anaplan_noids").client
    set_conn(monkeypatch, "anaplan_badmodel", host=env.base_url, login=USER, password="x",
             extra={"workspace_id": WORKSPACE, "model_id": "not-a-model"})
    with pytest.raises(ConfigError, match="'anaplan_badmodel': model id must be 32 hex"):
        _ = AnaplanHook("anaplan_badmodel").client


def test_a_refused_login_names_the_connection_and_the_field(env, monkeypatch):
    """A task's Anaplan login refused: its error names the Airflow connection and what to
    fix in it, never the password."""
    from ml_connector.errors import AuthError

    set_conn(monkeypatch, "anaplan_wrong", login=USER, password="not-the-password",
             host=env.base_url, extra={"auth_method": "basic", "workspace_id": WORKSPACE,
                                        "model_id": MODEL})
    with pytest.raises(AuthError) as refused:
        AnaplanHook("anaplan_wrong").client.imports()
    said = str(refused.value)
    assert "fix its Login and Password in the Airflow connection 'anaplan_wrong'" in said
    assert "not-the-password" not in said
