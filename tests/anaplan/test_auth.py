"""Anaplan authentication against the sandbox: Basic, certificates (v2, v1), OAuth rotation."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from ml_connector.anaplan.auth import BasicMethod, CertificateMethod, OAuthMethod
from ml_connector.anaplan.client import AsyncAnaplanClient
from ml_connector.anaplan.config import AnaplanConfig
from ml_connector.errors import AuthError
from ml_connector.state.store import StateStore
from ml_connector.state.tokens import SqlTokenCache, fernet_from

from ..certs import make_certificate
from ..conftest import FAST_RETRY, MODEL, USER, WORKSPACE


def issued(running) -> dict:
    return running.sandbox.anaplan.stats()["tokens_issued"]


def test_basic_token_is_refreshed_before_expiry(anaplan_client, sandbox):
    client = anaplan_client(clock=sandbox.sandbox.clock.now)
    assert client.imports()
    sandbox.sandbox.clock.advance(29 * 60)
    client.imports()
    assert client.book.issued == 1, "token reused while more than 5 minutes remain"
    sandbox.sandbox.clock.advance(2 * 60)  # 31 minutes: under 5 minutes left
    client.imports()
    assert client.book.issued == 2
    assert issued(sandbox).get("refresh", 0) == 1
    statuses = sandbox.sandbox.anaplan.stats()["by_status"]
    assert "401" not in {str(k) for k in statuses}


def test_expired_token_is_replaced_after_a_401(anaplan_client, sandbox):
    client = anaplan_client()  # real clock: does not know the sandbox moved on
    client.imports()
    sandbox.sandbox.clock.advance(36 * 60)
    assert client.imports()
    assert client.book.issued == 2
    assert sandbox.sandbox.anaplan.stats()["by_status"].get("401") == 1


def test_bad_password_is_a_clear_error_without_the_password(anaplan_client):
    client = anaplan_client(BasicMethod(USER, "wrong-password-123"))
    with pytest.raises(AuthError, match="FAILURE_BAD_CREDENTIAL") as info:
        client.imports()
    assert "wrong-password-123" not in str(info.value)


@pytest.mark.parametrize("payload_format", ["v2", "v1"])
def test_certificate_login_is_verified_by_the_sandbox(anaplan_client, sandbox, payload_format):
    cert, key, _ = make_certificate(passphrase="pw")
    sandbox.sandbox.anaplan.trust_certificate(cert, USER)
    client = anaplan_client(CertificateMethod(cert, key, "pw", payload_format))
    assert {i.name for i in client.imports()} >= {"Accounts from Zoho"}


def test_untrusted_certificate_is_refused(anaplan_client):
    cert, key, _ = make_certificate(common_name="stranger@example.com")
    with pytest.raises(AuthError):
        anaplan_client(CertificateMethod(cert, key)).imports()


def test_oauth_refresh_tokens_rotate_and_are_persisted_before_use(anaplan_client, sandbox):
    oauth = sandbox.sandbox.config.anaplan.oauth_clients[0]
    saved: list[str] = []
    current = {"token": oauth.refresh_tokens[0]}

    def store(value: str) -> None:
        saved.append(value)
        current["token"] = value

    method = OAuthMethod(oauth.client_id, lambda: current["token"], store)
    client = anaplan_client(method, clock=sandbox.sandbox.clock.now)
    client.imports()
    sandbox.sandbox.clock.advance(31 * 60)
    client.imports()
    assert len(saved) == 2 and saved[0] != saved[1] != oauth.refresh_tokens[0]
    # The first refresh token was single-use: presenting it again is refused.
    reused = httpx.post(f"{sandbox.base_url}/anaplan/auth/oauth/token", data={
        "grant_type": "refresh_token", "client_id": oauth.client_id,
        "refresh_token": oauth.refresh_tokens[0]})
    assert reused.status_code in (400, 401)


def test_a_refresh_token_rotated_by_another_process_is_reloaded(anaplan_client, sandbox):
    """Two clients share one store; the second still holds the token the first used up."""
    oauth = sandbox.sandbox.config.anaplan.oauth_clients[0]
    store = {"token": oauth.refresh_tokens[0]}
    first = anaplan_client(OAuthMethod(oauth.client_id, lambda: store["token"],
                                       lambda v: store.__setitem__("token", v)))
    stale = {"token": oauth.refresh_tokens[0]}
    reads = []

    def load_second() -> str:
        reads.append(1)
        # First read: a stale copy (as if read just before the other process rotated it).
        return stale["token"] if len(reads) == 1 else store["token"]

    second = anaplan_client(OAuthMethod(oauth.client_id, load_second,
                                        lambda v: store.__setitem__("token", v)))
    first.imports()
    assert second.imports(), "the refused stale token was replaced by the stored one"
    assert len(reads) == 2


def _shared_oauth(oauth, store: StateStore) -> OAuthMethod:
    """OAuth as a worker process sets it up: its own cache object over the shared store."""
    cache = SqlTokenCache(store, fernet_from(oauth.client_id, "connection secret"))
    key = "anaplan-oauth:anaplan_default"
    return OAuthMethod(oauth.client_id, lambda: cache.get_secret(key) or oauth.refresh_tokens[0],
                       lambda value: cache.put_secret(key, value), lock=lambda: cache.lock(key))


def test_concurrent_workers_exchange_rotating_tokens_one_at_a_time(anaplan_client, sandbox,
                                                                   tmp_path):
    """Four workers needing a token at once: each exchange runs under the store's lock and
    reads the refresh token its predecessor stored, so Anaplan never sees a used one."""
    oauth = sandbox.sandbox.config.anaplan.oauth_clients[0]
    store = StateStore.sqlite(tmp_path / "state.db")
    clients = [anaplan_client(_shared_oauth(oauth, store)) for _ in range(4)]
    start = threading.Barrier(len(clients))
    errors: list[BaseException] = []

    def work(client) -> None:
        start.wait()
        try:
            client.imports()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    grants = sandbox.sandbox.anaplan.stats()["by_path"]["POST /auth/oauth/token"]
    assert grants == {"200": 4}, "no worker presented a refresh token already used"
    assert issued(sandbox).get("oauth_refresh") == 4


def test_the_trigger_side_client_exchanges_off_the_event_loop(sandbox, tmp_path):
    """The async client's token exchange (lock, token store) never blocks the event loop:
    a heartbeat task keeps ticking while the store's lock is held elsewhere."""
    oauth = sandbox.sandbox.config.anaplan.oauth_clients[0]
    store = StateStore.sqlite(tmp_path / "state.db")
    method = _shared_oauth(oauth, store)
    config = AnaplanConfig(WORKSPACE, MODEL, endpoint_base=sandbox.base_url, retry=FAST_RETRY)
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with method.lock():
            held.set()
            release.wait(10)

    async def scenario() -> tuple[int, str]:
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(heartbeat())
        client = AsyncAnaplanClient(method, config)
        try:
            fetch = asyncio.create_task(client.auth.token())
            await asyncio.sleep(0.3)  # the exchange waits for the lock meanwhile
            before = ticks
            release.set()
            token = await fetch
        finally:
            beat.cancel()
            await client.aclose()
        return before, token

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    before, token = asyncio.run(scenario())
    thread.join()
    assert token, "the exchange went through once the lock was free"
    assert before >= 5, "the event loop kept running while the exchange waited for the lock"
