"""Tokens: proactive refresh, refresh on 401, one token shared by parallel tasks, revocation."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from ml_connector.errors import AuthError
from ml_connector.state import SqlTokenCache, StateStore, fernet_from

from ..conftest import FAST_RETRY, zoho_credentials


def minted(running, region="us") -> int:
    token = zoho_credentials(running, region).refresh_token
    return running.sandbox.zoho.stats()["tokens_minted"].get(token, 0)


def count_401(running) -> int:
    return sum(
        n for org in running.sandbox.zoho.stats()["organizations"].values()
        for status, n in org["by_status"].items() if int(status) == 401
    )


def test_refreshes_at_55_minutes_before_the_token_expires(zoho_client, sandbox):
    clock = sandbox.sandbox.clock
    client = zoho_client(clock=clock.now)
    client.get("/invoices", {"per_page": 1})
    assert minted(sandbox) == 1
    clock.advance(54 * 60)
    client.get("/invoices", {"per_page": 1})
    assert minted(sandbox) == 1, "token reused while younger than 55 minutes"
    clock.advance(2 * 60)  # 56 minutes: still valid at Zoho, but due for refresh
    client.get("/invoices", {"per_page": 1})
    assert minted(sandbox) == 2
    assert count_401(sandbox) == 0, "proactive refresh must avoid any 401"


def test_refreshes_once_when_the_server_refuses_the_token(zoho_client, sandbox):
    client = zoho_client()  # real clock: the client does not know the sandbox jumped ahead
    client.get("/invoices", {"per_page": 1})
    sandbox.sandbox.clock.advance(61 * 60)
    body = client.get("/invoices", {"per_page": 1})
    assert body["code"] == 0
    assert minted(sandbox) == 2
    assert count_401(sandbox) == 1


def test_revoked_refresh_token_fails_clearly(zoho_client, sandbox):
    creds = zoho_credentials(sandbox)
    sandbox.sandbox.zoho.revoke_refresh_token(creds.refresh_token)
    client = zoho_client()
    expected = r"refused the credentials: invalid_code \(the refresh token is revoked"
    with pytest.raises(AuthError, match=expected) as info:
        client.organizations()
    assert creds.refresh_token not in str(info.value)
    assert creds.client_secret not in str(info.value)


def test_token_throttle_is_reported_with_its_cause(zoho_client, sandbox):
    for _ in range(10):
        zoho_client().tokens.token()  # each client has its own in-memory cache: 10 mints
    with pytest.raises(AuthError, match="too many requests.*10 access tokens per refresh token"):
        zoho_client().tokens.token()


def _extract_in_process(args: tuple[str, str, str, str, str]) -> int:
    base_url, db_path, client_id, secret, refresh = args
    from ml_connector.zoho import ExtractWindow, ZohoBooksClient, ZohoConfig, ZohoCredentials
    from ml_connector.zoho.extract import iter_window

    creds = ZohoCredentials(client_id, secret, refresh)
    cache = SqlTokenCache(StateStore.sqlite(db_path), fernet_from(client_id, secret, refresh))
    config = ZohoConfig(
        region="us", organization_id="10234695", endpoint_base=base_url,
        requests_per_minute=100_000, retry=FAST_RETRY,
    )
    from datetime import date

    window = ExtractWindow(start=date(2026, 1, 1), end=date(2026, 1, 8))
    with ZohoBooksClient(creds, config, token_cache=cache) as client:
        return sum(1 for _ in iter_window(client, "invoices", window))


def test_ten_parallel_extractions_mint_one_token(sandbox, tmp_path: Path):
    creds = zoho_credentials(sandbox)
    args = (sandbox.base_url, str(tmp_path / "state.db"), creds.client_id,
            creds.client_secret, creds.refresh_token)
    with multiprocessing.get_context("spawn").Pool(10) as pool:
        counts = pool.map(_extract_in_process, [args] * 10)
    assert len(set(counts)) == 1 and counts[0] > 0
    assert minted(sandbox) == 1
    # The cached token is encrypted at rest: the raw database holds no token text.
    store = StateStore.sqlite(tmp_path / "state.db")
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("select ciphertext from mlc_token_cache").fetchall()
    assert len(rows) == 1
    blob = rows[0][0]
    fernet = fernet_from(creds.client_id, creds.client_secret, creds.refresh_token)
    plain = json.loads(fernet.decrypt(blob.encode()))
    assert plain["access_token"] and plain["access_token"] not in blob
    assert "access_token" not in blob
