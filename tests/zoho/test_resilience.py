"""Faults: 429 storms, 5xx bursts, dropped and slow connections, malformed bodies, caps."""

from __future__ import annotations

from datetime import date

import pytest

from ml_connector.errors import ApiError, ProtocolError
from ml_connector.zoho import ExtractWindow
from ml_connector.zoho.extract import iter_window
from ml_connector_sandbox.faults import Fault

WINDOW = ExtractWindow(start=date(2026, 1, 1), end=date(2026, 2, 1))


def ids(client) -> list[str]:
    return [r["invoice_id"] for r in iter_window(client, "invoices", WINDOW)]


@pytest.fixture
def baseline(zoho_client) -> list[str]:
    return ids(zoho_client())


@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="rate_limit", api="zoho", count=6, path="/invoices"),
        Fault(kind="server_error", api="zoho", count=4, path="/invoices"),
        Fault(kind="server_error", api="zoho", count=3, path="/invoices", status=503),
        Fault(kind="drop", api="zoho", count=3, path="/invoices"),
        Fault(kind="slow", api="zoho", count=2, path="/invoices", delay=0.5),
    ],
    ids=["429-storm", "500-burst", "503-burst", "dropped-connections", "slow"],
)
def test_faults_recover_with_nothing_lost_or_duplicated(zoho_client, sandbox, baseline, fault):
    sandbox.sandbox.faults.arm(fault)
    got = ids(zoho_client())
    assert got == baseline
    assert not sandbox.sandbox.faults.armed(), "every injected fault was actually hit"


def test_timeouts_are_retried(zoho_client, sandbox, baseline):
    sandbox.sandbox.faults.arm(Fault(kind="slow", api="zoho", count=2, path="/invoices", delay=2))
    got = ids(zoho_client(timeout=0.5))
    assert got == baseline


def test_malformed_json_is_a_clear_error(zoho_client, sandbox):
    client = zoho_client()
    client.organizations()
    sandbox.sandbox.faults.arm(Fault(kind="malformed", api="zoho", count=1, path="/invoices"))
    with pytest.raises(ProtocolError, match="expected a JSON body but got 'text/html'") as info:
        client.get("/invoices")
    assert info.value.path.endswith("/books/v3/invoices")


def test_a_storm_longer_than_the_retry_budget_fails_clearly(zoho_client, sandbox):
    from ml_connector.transport.retry import RetryPolicy

    sandbox.sandbox.faults.arm(Fault(kind="rate_limit", api="zoho", count=50, path="/invoices"))
    client = zoho_client(retry=RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.01,
                                           jitter=0))
    with pytest.raises(ApiError, match=r"HTTP 429, code 44") as info:
        client.get("/invoices")
    assert info.value.retryable


@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_redirect_with_a_json_body_is_an_error_not_an_empty_answer(zoho_client, sandbox,
                                                                    status):
    """A proxy or wrong host answering 3xx with a success-shaped body: never read as data,
    never followed (the credentials would go with it)."""
    client = zoho_client(organization_id=None)
    sandbox.sandbox.faults.arm(Fault(kind="redirect", api="zoho", status=status,
                                     path="/organizations"))
    with pytest.raises(ApiError, match=f"HTTP {status}.*redirect to elsewhere.example, which "
                                       "is not followed") as info:
        client.organizations()
    assert not info.value.retryable
    assert "next=api" not in str(info.value)


def test_an_anaplan_redirect_is_an_error(anaplan_client, sandbox):
    sandbox.sandbox.faults.arm(Fault(kind="redirect", api="anaplan", path="/imports"))
    with pytest.raises(ApiError, match="HTTP 302.*redirect to elsewhere.example"):
        anaplan_client().imports()
