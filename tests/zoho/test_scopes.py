"""Zoho's 401s carry code 57 for an expired token and for a missing scope alike: the client
refreshes once on any 401 and then names the scope the call needed."""

from __future__ import annotations

import logging
import re

import pytest

from ml_connector.errors import ApiError, AuthError
from ml_connector.transport.retry import RetryPolicy
from ml_connector.zoho.entities import ENTITIES
from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.zoho.config import READ_SCOPES

from ..conftest import ROOMY
from .test_auth import count_401, minted

PATIENT = RetryPolicy(attempts=40, initial_delay=0.05, max_delay=0.4, jitter=0.1, deadline=120)
#: What the README asked users for before /chartofaccounts was known to need accountants.
WITHOUT_ACCOUNTANTS = [s for s in READ_SCOPES if "accountants" not in s]


def scoped_sandbox(sandbox_factory, scopes: list[str], **limits):
    zoho = {**ROOMY["zoho"], "refresh_tokens": [
        {"token": "1000.sandbox-refresh-us", "region": "us", "scopes": scopes}]}
    zoho["limits"] = {**zoho["limits"], **limits}
    return sandbox_factory(SandboxConfig.model_validate({**ROOMY, "zoho": zoho}))


def test_a_missing_scope_is_named_after_one_refresh(sandbox_factory, zoho_client):
    running = scoped_sandbox(sandbox_factory, WITHOUT_ACCOUNTANTS)
    client = zoho_client(running=running)
    assert sum(1 for _ in client.iter_records("invoices")) == 3000
    with pytest.raises(AuthError, match=re.escape(
            "Zoho refused /chartofaccounts with a fresh access token: the refresh token lacks "
            "ZohoBooks.accountants.READ")) as info:
        list(client.iter_records("chartofaccounts"))
    assert info.value.code == 57 and info.value.status == 401
    assert count_401(running) == 2, "one refusal, one refresh, one more refusal: then stop"
    assert minted(running) == 2


def test_every_shipped_entity_names_a_scope_the_sandbox_enforces(sandbox_factory, zoho_client):
    """The client's scope table and the emulator's agree: with exactly an entity's scope a
    list succeeds; without it the error names that scope."""
    served = ("invoices", "bills", "purchaseorders", "creditnotes", "contacts",
              "chartofaccounts", "items")
    for name in served:
        entity = ENTITIES[name]
        running = scoped_sandbox(sandbox_factory, [entity.oauth_scope])
        assert next(zoho_client(running=running).iter_pages(name, per_page=1)) is not None
        other = next(s for s in READ_SCOPES if s != entity.oauth_scope)
        refused = scoped_sandbox(sandbox_factory, [other])
        with pytest.raises(AuthError, match=re.escape(f"lacks {entity.oauth_scope}")):
            next(zoho_client(running=refused).iter_pages(name, per_page=1))


def test_an_expired_token_answered_with_code_57_is_refreshed(zoho_client, sandbox):
    client = zoho_client()  # real clock: it cannot know the sandbox's hour has passed
    client.get("/invoices", {"per_page": 1})
    sandbox.sandbox.clock.advance(3601)
    assert client.get("/invoices", {"per_page": 1})["code"] == 0
    assert (minted(sandbox), count_401(sandbox)) == (2, 1)


def test_a_token_evicted_by_the_sixteenth_is_refreshed(sandbox_factory, zoho_client):
    running = scoped_sandbox(sandbox_factory, list(READ_SCOPES), tokens_per_window=100)
    client = zoho_client(running=running)
    client.get("/invoices", {"per_page": 1})
    for _ in range(15):  # other systems mint with the same refresh token
        zoho_client(running=running).tokens.token()
    assert client.get("/invoices", {"per_page": 1})["code"] == 0
    assert count_401(running) == 1


def test_a_per_minute_429_backs_off_briefly_not_until_the_daily_reset(
        sandbox_factory, zoho_client, caplog):
    running = sandbox_factory(SandboxConfig.model_validate(
        {"zoho": {"limits": {"per_minute": 5, "minute_window": 1.0, "per_day": 100_000}}}))
    # No client budget: relies on 429 handling. The window is 1 s here, so backoff is capped
    # at 0.4 s (the default policy's cap, 60 s, is Zoho's whole minute).
    client = zoho_client(running=running, retry=PATIENT)
    with caplog.at_level(logging.WARNING, logger="ml_connector.transport.retry"):
        ids = [r["invoice_id"] for page in client.iter_pages("invoices", per_page=100)
               for r in page]
    assert len(ids) == len(set(ids)) == 3000
    waits = [float(m) for m in re.findall(r"retrying in ([\d.]+)s", caplog.text)]
    assert waits, "the sandbox must have pushed back"
    # X-Rate-Limit-Reset on those 429s counts hours down to the daily reset; never waited.
    assert max(waits) <= PATIENT.max_delay + PATIENT.jitter
    codes = {r["code"] for r in running.sandbox.zoho.stats()["rate_limited"]}
    assert codes == {44}


def test_the_daily_cap_is_not_retried(sandbox_factory, zoho_client):
    running = sandbox_factory(SandboxConfig.model_validate(
        {"zoho": {"limits": {"per_minute": 1000, "per_day": 2}}}))
    client = zoho_client(running=running)
    client.get("/invoices", {"per_page": 1})
    client.get("/invoices", {"per_page": 1})
    with pytest.raises(ApiError, match="code 45") as info:
        client.get("/invoices", {"per_page": 1})
    assert not info.value.retryable and info.value.retry_after is None
