"""Exchange rates read from the sandbox group's Zoho organizations over HTTP: Zillum Inc's
(USD) rates of GBP, INR and EUR equal the sandbox's own month-end and average rates
(``ml_connector_sandbox.zoho.group.group_rates``, no connector code), one request for the
currencies and one per currency; what the organization lacks is named."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from ml_connector.errors import AuthError, ConfigError, MissingRate
from ml_connector.fx import FxSource, zoho_rates
from ml_connector_sandbox.zoho.config import READ_SCOPES
from ml_connector_sandbox.zoho.group import group_rates

from .test_scopes import scoped_sandbox

INC, LABS, UK = "10234695", "10234696", "20088123"
SOURCE = FxSource(source="zoho", organization="US")
MONTHS = ["2026-01", "2026-02", "2026-03"]


def test_the_group_companys_rates_are_the_sandboxs_month_end_and_average(sandbox,
                                                                          zoho_client):
    with zoho_client() as zoho:
        rates = zoho_rates(SOURCE, zoho, "USD", ["USD", "GBP", "INR", "EUR"], MONTHS)
        requests = zoho.requests
    expected = group_rates(sandbox.sandbox.zoho, INC, MONTHS)
    assert {(c, m) for c, by_month in rates.rates.items() for m in by_month} == set(expected)
    for (currency, month), oracle in expected.items():
        assert rates.rate(currency, month, "month_end") == Decimal(oracle.month_end)
        assert rates.rate(currency, month, "average") == Decimal(oracle.average)
    assert requests == 1 + 3  # the currencies, then one listing per currency (one page)


def test_a_month_without_a_rate_in_effect_on_its_first_day_is_missing(zoho_client):
    """Read from 1 February 2026 (a Sunday: no rate is dated on a weekend), February has
    no rate in effect on its first day."""
    with zoho_client() as zoho:
        rates = zoho_rates(FxSource(source="zoho", organization="US", lookback_days=0), zoho,
                           "USD", ["GBP"], ["2026-02"])
    with pytest.raises(MissingRate, match=re.escape(
            "no average rate of GBP to USD for 2026-02 in the Zoho Books exchange rates of "
            f"organization US ({INC}): enter the GBP rate in effect on the first day of "
            "2026-02 in Zoho Books (Settings > Currencies > GBP), or raise "
            "fx.lookback_days")):
        rates.rate("GBP", "2026-02", "average")


def test_the_group_currency_alone_needs_only_the_currencies(zoho_client):
    with zoho_client() as zoho:
        rates = zoho_rates(SOURCE, zoho, "USD", ["USD"], MONTHS)
        assert zoho.requests == 1
    assert rates.rate("USD", "2026-01", "average") == 1


def test_an_organization_of_another_base_currency_is_refused(zoho_client):
    with zoho_client("eu", organization_id=UK) as zoho, pytest.raises(ConfigError) as caught:
        zoho_rates(FxSource(source="zoho", organization="UK"), zoho, "USD", ["INR"], MONTHS)
    assert str(caught.value) == (
        "fx: organization UK's base currency is GBP, not the group currency USD "
        "(translate.to): name in fx.organization the organization whose base currency is USD")


def test_a_currency_the_organization_does_not_hold_is_named(zoho_client):
    with zoho_client(organization_id=LABS) as zoho, pytest.raises(ConfigError) as caught:
        zoho_rates(FxSource(source="zoho", organization="LABS"), zoho, "USD", ["GBP"],
                   MONTHS)
    assert "fx: Zoho organization LABS holds no currency GBP (it holds USD)" in str(caught.value)


def test_the_rates_need_the_settings_scope(sandbox_factory, zoho_client):
    running = scoped_sandbox(sandbox_factory, [s for s in READ_SCOPES if "settings" not in s])
    with zoho_client(running=running) as zoho, pytest.raises(AuthError, match=re.escape(
            "lacks ZohoBooks.settings.READ")) as caught:
        zoho_rates(SOURCE, zoho, "USD", ["GBP"], MONTHS)
    assert caught.value.code == 57
