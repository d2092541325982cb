"""Rates from Zoho Books: the group organization's currencies and each needed currency's
exchange rates (``GET /settings/currencies``, then one listing per currency from
``lookback_days`` before the first month), through the client (paced, counted)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ml_connector.decimals import finite_decimal
from ml_connector.errors import ConfigError, ProtocolError
from ml_connector.fx.models import FxSource
from ml_connector.fx.rates import Rates, month_days, month_key
from ml_connector.fx.series import month_rates
from ml_connector.zoho.client import ZohoBooksClient
from ml_connector.zoho.entities import Entity
from ml_connector.zoho.errors import SERVICE

#: ``GET /settings/currencies`` as a list the client pages.
CURRENCIES = Entity("settings/currencies", "currency", "currency_id", "settings",
                    date_filters=False, modified_filter=False, sort_by_created=False,
                    key="currencies", watched=False)


def exchange_rates(currency_id: str) -> Entity:
    """``GET /settings/currencies/{id}/exchangerates`` as a list the client pages."""
    return Entity(f"settings/currencies/{currency_id}/exchangerates", "exchange_rate",
                  "exchange_rate_id", "settings", date_filters=False, modified_filter=False,
                  sort_by_created=False, key="exchange_rates", watched=False)


def zoho_rates(source: FxSource, client: ZohoBooksClient, group: str,
               currencies: Iterable[str], months: Iterable[str]) -> Rates:
    """The rates of ``currencies`` in ``group`` for ``months`` (yyyy-mm) from the Zoho
    Books organization of ``client``, whose base currency must be ``group``. Requests: one
    for the currencies, one listing per currency other than ``group`` (a page per 200
    rates)."""
    needed = sorted({month_key(m) for m in months})
    foreign = sorted(set(currencies) - {group})
    held = [c for page in client.iter_pages(CURRENCIES) for c in page]
    origin = (f"the Zoho Books exchange rates of organization {source.organization} "
              f"({client.organization_id})")
    base = [str(c.get("currency_code")) for c in held if c.get("is_base_currency")]
    if len(base) != 1:
        raise ProtocolError(f"/settings/currencies names {len(base)} base currencies "
                            f"({', '.join(base) or 'none'}); expected one",
                            service=SERVICE, method="GET", url="/settings/currencies")
    if base[0] != group:
        raise ConfigError(f"fx: organization {source.organization}'s base currency is "
                          f"{base[0]}, not the group currency {group} (translate.to): name "
                          f"in fx.organization the organization whose base currency is {group}")
    ids = {str(c.get("currency_code")): str(c.get("currency_id")) for c in held}
    rates = Rates(group=group, source="zoho", origin=origin)
    if not needed:
        return rates
    since = month_days(needed[0])[0] - timedelta(days=source.lookback_days)
    for code in foreign:
        if code not in ids:
            raise ConfigError(
                f"fx: Zoho organization {source.organization} holds no currency {code} "
                f"(it holds {', '.join(sorted(ids))}): add {code} with its exchange rates in "
                "Zoho Books (Settings > Currencies), or read the rates from source: anaplan "
                "or csv")
        series = _series(client, code, ids[code], since)
        rates.rates[code] = {m: month_rates(series, m) for m in needed}
    return rates


def _series(client: ZohoBooksClient, code: str, currency_id: str,
            since: date) -> dict[date, Decimal]:
    """effective date -> rate of one currency, from ``since`` on (a later row of the
    listing wins a date given twice)."""
    entity = exchange_rates(currency_id)
    series: dict[date, Decimal] = {}
    for page in client.iter_pages(entity, {"from_date": since.isoformat()}):
        for row in page:
            day, rate = _dated(row, entity.path, code)
            series[day] = rate
    return series


def _dated(row: Any, path: str, code: str) -> tuple[date, Decimal]:
    """(effective date, rate) of an exchange-rate row; anything else is a protocol error."""
    where = f"{code} rates"
    try:
        day = date.fromisoformat(str(row["effective_date"])[:10])
        rate = finite_decimal(row["rate"])
    except (KeyError, TypeError, ValueError):
        raise ProtocolError(f"{where}: a row without effective_date (yyyy-mm-dd) and rate: "
                            f"{row!r}", service=SERVICE, method="GET", url=path) from None
    if rate is None or rate <= 0:
        raise ProtocolError(f"{where}: rate {row['rate']!r} on {day} is not a positive "
                            "number", service=SERVICE, method="GET", url=path)
    return day, rate
