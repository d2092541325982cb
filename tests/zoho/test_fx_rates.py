"""Exchange rates read from a Zoho Books organization over HTTP: its currencies, then one
listing per needed currency from ``lookback_days`` before the first month, paged.

The server here serves the confirmed shapes of ``/settings/currencies`` and
``/settings/currencies/{id}/exchangerates`` (shared/api/zoho-books.md, "Several
organizations") for what the sandbox's group does not hold: a listing of more than 200
rates (a second page) and a currency held without any rate. Everything else is read from
the sandbox (test_fx_sandbox.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi import FastAPI

from ml_connector.errors import MissingRate
from ml_connector.fx import FxSource, MonthRates, zoho_rates
from ml_connector.zoho import ZohoBooksClient, ZohoConfig, ZohoCredentials
from ml_connector_sandbox.server import serve_app

from ..conftest import FAST_RETRY

ORG = "60012345"
BOOKS = "/zoho/us/api/books/v3"


def daily_gbp() -> list[tuple[str, str]]:
    """A GBP rate every day from 2025-06-01 to 2026-08-31: 1.20 plus a cent per month
    since December 2025 (1.21 through January 2026, 1.22 through February, ...)."""
    rows, day = [], date(2025, 6, 1)
    while day <= date(2026, 8, 31):
        months = max(0, (day.year - 2025) * 12 + day.month - 12)
        rows.append((day.isoformat(), str(Decimal("1.20") + Decimal("0.01") * months)))
        day += timedelta(days=1)
    return rows


@dataclass
class StandIn:
    """What the stand-in holds and every request it answered (path, query)."""

    currencies: list[dict]
    rates: dict[str, list[tuple[str, str]]]  # currency_id -> (effective_date, rate)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/zoho/us/accounts/oauth/v2/token")
        def token() -> dict:
            return {"access_token": "stand-in-token", "expires_in": 3600,
                    "token_type": "Bearer"}

        @app.get(BOOKS + "/settings/currencies")
        def currencies(organization_id: str, page: int = 1, per_page: int = 200) -> dict:
            self.seen.append(("/settings/currencies", {"page": str(page)}))
            assert organization_id == ORG
            return self.page("currencies", self.currencies, page, per_page)

        @app.get(BOOKS + "/settings/currencies/{currency_id}/exchangerates")
        def exchangerates(currency_id: str, organization_id: str, from_date: str = "",
                          page: int = 1, per_page: int = 200) -> dict:
            self.seen.append((f"/settings/currencies/{currency_id}/exchangerates",
                              {"from_date": from_date, "page": str(page)}))
            assert organization_id == ORG
            code = next(c["currency_code"] for c in self.currencies
                        if c["currency_id"] == currency_id)
            # Newest first, so that the earliest months sit on the last page.
            rows = [{"exchange_rate_id": f"{currency_id}-{day}", "currency_code": code,
                     "effective_date": day, "rate": float(rate)}
                    for day, rate in sorted(self.rates.get(currency_id, []), reverse=True)
                    if day >= from_date]
            return self.page("exchange_rates", rows, page, per_page)

        return app

    @staticmethod
    def page(key: str, rows: list[dict], page: int, per_page: int) -> dict:
        part = rows[(page - 1) * per_page: page * per_page]
        return {"code": 0, "message": "success", key: part,
                "page_context": {"page": page, "per_page": per_page,
                                 "has_more_page": page * per_page < len(rows)}}


def currency(currency_id: str, code: str, base: bool = False) -> dict:
    return {"currency_id": currency_id, "currency_code": code, "is_base_currency": base,
            "exchange_rate": 0 if base else 1.0}


@pytest.fixture
def stand_in() -> Iterator[tuple[StandIn, str]]:
    held = StandIn(
        currencies=[currency("1", "USD", base=True), currency("2", "GBP"),
                    currency("3", "EUR"), currency("4", "CAD")],
        rates={"2": daily_gbp(),
               "3": [("2025-11-15", "1.05"), ("2025-12-05", "1.08"), ("2026-01-20", "1.1")]})
    url, server, thread = serve_app(held.app())
    yield held, url
    server.should_exit = True
    thread.join(10)


def client(url: str) -> ZohoBooksClient:
    return ZohoBooksClient(ZohoCredentials("client-id", "client-secret", "refresh-token"),
                           ZohoConfig(region="us", organization_id=ORG, endpoint_base=url,
                                      requests_per_minute=100_000, retry=FAST_RETRY))


SOURCE = FxSource(source="zoho", organization="us")


def test_rates_are_read_with_one_request_per_currency_and_page(stand_in):
    held, url = stand_in
    with client(url) as zoho:
        rates = zoho_rates(SOURCE, zoho, "USD", ["USD", "GBP", "EUR"], ["2026-02", "2026-01"])
        requests = zoho.requests
    assert rates.rates == {
        # A rate every day: 1.21 all January, 1.22 all February.
        "GBP": {"2026-01": MonthRates(month_end="1.21", average="1.21"),
                "2026-02": MonthRates(month_end="1.22", average="1.22")},
        # January: the 1st-19th at 1.08 (19 days, from 5 December), the 20th-31st at 1.10
        # (12): (20.52 + 13.20) / 31 = 33.72 / 31 = 1.087741935483...
        "EUR": {"2026-01": MonthRates(month_end="1.1", average="1.087742"),
                "2026-02": MonthRates(month_end="1.1", average="1.1")},
    }
    assert (rates.group, rates.source) == ("USD", "zoho")
    assert "organization us (60012345)" in rates.origin
    # The currencies, then each currency's rates from 31 days before January: EUR's two
    # rates since 1 December take one page, GBP's 274 two.
    assert held.seen == [
        ("/settings/currencies", {"page": "1"}),
        ("/settings/currencies/3/exchangerates", {"from_date": "2025-12-01", "page": "1"}),
        ("/settings/currencies/2/exchangerates", {"from_date": "2025-12-01", "page": "1"}),
        ("/settings/currencies/2/exchangerates", {"from_date": "2025-12-01", "page": "2"}),
    ]
    assert requests == 4  # every request went through the client, counted
    assert rates.translate(Decimal("1000.00"), "EUR", "2026-01", "average") == (
        Decimal("1087.74"), Decimal("1.087742"))


def test_a_currency_without_rates_is_missing_every_month(stand_in):
    _, url = stand_in
    with client(url) as zoho:
        rates = zoho_rates(SOURCE, zoho, "USD", ["CAD"], ["2026-01"])
    with pytest.raises(MissingRate, match="month-end rate of CAD to USD for 2026-01"):
        rates.rate("CAD", "2026-01", "month_end")
