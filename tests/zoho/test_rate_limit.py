"""The client's request budget: under the organization's limit without provoking a 429."""

from __future__ import annotations

from ml_connector_sandbox.core import SandboxConfig


def limited_sandbox(sandbox_factory, **limits):
    return sandbox_factory(SandboxConfig.model_validate(
        {"zoho": {"limits": {"per_day": 1_000_000, **limits}}}))


def rate_limited(running) -> int:
    return len(running.sandbox.zoho.stats()["rate_limited"])


def test_budget_stays_under_the_limit_without_a_single_429(sandbox_factory, zoho_client):
    # 20 requests per 2-second window: the same arithmetic as 100/minute, 30x faster.
    running = limited_sandbox(sandbox_factory, per_minute=20, minute_window=2.0)
    client = zoho_client(running=running, requests_per_minute=18, rate_window=2.0)
    pages = sum(1 for _ in client.iter_pages("invoices", per_page=50))  # 3000 / 50 = 60 pages
    assert pages == 60
    assert rate_limited(running) == 0
    org = running.sandbox.zoho.stats()["organizations"]["10234695"]
    assert org["total"] == 60


def test_without_a_budget_429s_happen_and_nothing_is_lost(sandbox_factory, zoho_client):
    from .test_scopes import PATIENT

    running = limited_sandbox(sandbox_factory, per_minute=20, minute_window=1.0)
    # No effective budget: relies on backing off after 429s.
    client = zoho_client(running=running, retry=PATIENT)
    ids = [r["invoice_id"] for page in client.iter_pages("invoices", per_page=25) for r in page]
    assert rate_limited(running) > 0, "the sandbox must have pushed back"
    assert len(ids) == len(set(ids)) == 3000


def test_daily_cap_fails_at_once_with_the_reason(sandbox_factory, zoho_client):
    import pytest

    from ml_connector.errors import ApiError

    running = sandbox_factory(SandboxConfig.model_validate(
        {"zoho": {"limits": {"per_minute": 1000, "per_day": 3}}}))
    client = zoho_client(running=running)
    for _ in range(3):
        client.get("/invoices", {"per_page": 1})
    with pytest.raises(ApiError, match="code 45.*daily API call cap") as info:
        client.get("/invoices", {"per_page": 1})
    assert not info.value.retryable
    assert rate_limited(running) == 1, "no retries against a daily cap"
