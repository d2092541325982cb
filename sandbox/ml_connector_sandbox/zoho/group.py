"""The consolidated profit and loss of a group of organizations: the reference answer.

Each entity's local figures are ``pnl.account_pnl`` of its organization's documents (every
P&L account, in its base currency). The group amount of a cell (entity, account, month) is
its local amount times the group organization's rate for the entity's base currency (1
when it is the group currency), rounded half-up to the cent once per cell. The rates come
from the group organization's exchange-rate series as ``GET /settings/currencies/{id}/
exchangerates`` serves it: the month-end rate is the one in effect on the month's last day;
the average is the mean, over every calendar day of the month, of the rate in effect that
day (a weekend day takes Friday's), rounded half-up to 6 decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Literal, NamedTuple

from ml_connector_sandbox.zoho.pnl import PNL_KINDS, account_pnl

if TYPE_CHECKING:
    from ml_connector_sandbox.zoho.emulator import ZohoEmulator

RateType = Literal["average", "month_end"]
CENT, MICRO = Decimal("0.01"), Decimal("0.000001")


class MonthRates(NamedTuple):
    month_end: Decimal
    average: Decimal


class GroupCell(NamedTuple):
    """One consolidated cell: the local amount (the entity's base currency), the group
    amount, the entity's base currency and the rate that translated it."""

    local: Decimal
    group: Decimal
    currency: str
    rate: Decimal


def _month_days(month: str) -> list[date]:
    first = date.fromisoformat(f"{month}-01")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return [first + timedelta(days=n) for n in range((following - first).days)]


def _served_rates(zoho: ZohoEmulator, org_id: str, currency_id: str) -> list[tuple[str, str]]:
    """Every ``(effective_date, rate)`` the exchange-rate endpoint serves, page by page."""
    org = zoho.orgs[org_id]
    rows, page = [], 1
    while True:
        body = zoho.exchange_rates_body(org, currency_id, {"page": str(page), "per_page": "200"})
        rows += [(str(r["effective_date"]), repr(r["rate"])) for r in body["exchange_rates"]]
        if not body["page_context"]["has_more_page"]:
            return sorted(rows)
        page += 1


def group_rates(zoho: ZohoEmulator, group_org: str, months: Iterable[str]
                ) -> dict[tuple[str, str], MonthRates]:
    """``(currency, "yyyy-mm") -> (month_end, average)`` for every foreign currency of the
    group organization; a month before the first rate has no entry."""
    body = zoho.currencies_body(zoho.orgs[group_org])
    out: dict[tuple[str, str], MonthRates] = {}
    for currency in body["currencies"]:
        if currency["is_base_currency"]:
            continue
        served = _served_rates(zoho, group_org, str(currency["currency_id"]))
        for month in months:
            in_effect: list[Decimal] = []
            for day in _month_days(month):
                known = [rate for effective, rate in served if effective <= day.isoformat()]
                if known:
                    in_effect.append(Decimal(known[-1]))
            if len(in_effect) < len(_month_days(month)):
                continue
            mean = Fraction(sum(in_effect, Decimal(0))) / len(in_effect)
            average = (Decimal(mean.numerator) / Decimal(mean.denominator)).quantize(
                MICRO, rounding=ROUND_HALF_UP)
            out[(str(currency["currency_code"]), month)] = MonthRates(in_effect[-1], average)
    return out


def consolidated(zoho: ZohoEmulator, entities: Mapping[str, str], group_org: str,
                 months: Iterable[str], rate: RateType = "average"
                 ) -> dict[tuple[str, str, str], GroupCell]:
    """``(entity code, account code, "yyyy-mm") -> GroupCell`` of every P&L account with
    postings, for ``entities`` (entity code -> organization id) over ``months``. A missing
    rate for an entity's currency and month raises ``KeyError`` naming both."""
    months = sorted(months)
    group_currency = zoho.orgs[group_org].spec.currency_code
    rates = group_rates(zoho, group_org, months)
    start = date.fromisoformat(f"{months[0]}-01")
    end = _month_days(months[-1])[-1] + timedelta(days=1)
    out: dict[tuple[str, str, str], GroupCell] = {}
    for entity, org_id in entities.items():
        currency = zoho.orgs[org_id].spec.currency_code
        documents = {kind: list(zoho.documents(org_id, kind, start.isoformat(),
                                               end.isoformat())) for kind in PNL_KINDS}
        chart = list(zoho.documents(org_id, "chartofaccounts"))
        for (account, month), total in sorted(account_pnl(documents, chart).items()):
            if month not in months:
                continue
            if currency == group_currency:
                factor = Decimal(1)
            elif (currency, month) in rates:
                factor = getattr(rates[(currency, month)], rate)
            else:
                raise KeyError(f"no {rate} rate for {currency} in {month} in organization "
                               f"{group_org}")
            local = Decimal(total).scaleb(-2)
            out[(entity, account, month)] = GroupCell(
                local, (local * factor).quantize(CENT, rounding=ROUND_HALF_UP), currency,
                factor)
    return out
