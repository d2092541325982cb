"""Exchange rates per currency and month, as read from one source, and the translation of
an amount with them. ``Rates`` is plain JSON (it travels between Airflow tasks)."""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from ml_connector.errors import ConfigError, MissingRate
from ml_connector.flows.build import to_base
from ml_connector.fx.models import RateKind, SourceKind

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
KIND_TEXT = {"month_end": "month-end", "average": "average"}
#: Where to enter a missing rate, per source.
FIX = {
    "zoho": "enter the {currency} rate in effect on the first day of {month} in Zoho Books "
            "(Settings > Currencies > {currency}), or raise fx.lookback_days so that the "
            "rate in effect then is read",
    "anaplan": "enter the {kind} rate of {currency} for {label} in the FX module "
               "the export reads",
    "csv": "add the line {currency},{month},<month_end>,<average> to the file (or fill its "
           "{kind} cell)",
}


def month_key(value: str | date) -> str:
    """The ``yyyy-mm`` month of a date or of a ``yyyy-mm(-dd)`` text."""
    text = value.isoformat() if isinstance(value, date) else str(value)
    try:
        if len(text) == 10:
            date.fromisoformat(text)
        elif not MONTH.match(text):
            raise ValueError(text)
    except ValueError:
        raise ConfigError(f"not a month (yyyy-mm) or date (yyyy-mm-dd): {value!r}") from None
    return text[:7]


def month_days(month: str) -> tuple[date, date]:
    """The first and the last day of a ``yyyy-mm`` month."""
    key = month_key(month)
    year, number = int(key[:4]), int(key[5:])
    return date(year, number, 1), date(year, number, monthrange(year, number)[1])


def month_of_label(label: str) -> str | None:
    """The ``yyyy-mm`` month of an Anaplan month label (``Jan 26``); None for other text
    (a quarter or a year)."""
    try:
        return datetime.strptime(label.strip(), "%b %y").strftime("%Y-%m")
    except ValueError:
        return None


def rate_text(value: Decimal) -> str:
    """A rate as plain decimal text, without trailing zeros (``1.2700`` -> ``1.27``)."""
    return format(value.normalize(), "f")


class MonthRates(BaseModel):
    """A currency's two rates for one month, as decimal text (None: not known)."""

    model_config = ConfigDict(extra="forbid")

    month_end: str | None = None
    average: str | None = None


class Rates(BaseModel):
    """Rates read from one source: ``rates[currency][yyyy-mm]``, in ``group`` units per 1
    unit of the currency. ``origin`` says where they were read, in words."""

    model_config = ConfigDict(extra="forbid")

    group: str
    source: SourceKind
    origin: str
    rates: dict[str, dict[str, MonthRates]] = Field(default_factory=dict)

    def rate(self, currency: str, month: str, kind: RateKind) -> Decimal:
        """The ``kind`` rate of ``currency`` for ``month`` (1 for the group currency);
        ``MissingRate`` when the source has none."""
        month = month_key(month)
        if currency == self.group:
            return Decimal(1)
        found = self.rates.get(currency, {}).get(month)
        text = getattr(found, kind) if found is not None else None
        if text is None:
            raise self.missing(currency, month, kind)
        return Decimal(text)

    def translate(self, amount: Decimal, currency: str, month: str,
                  kind: RateKind) -> tuple[Decimal, Decimal]:
        """(``amount`` in the group currency, half-up to the cent; the rate used)."""
        rate = self.rate(currency, month, kind)
        return to_base(amount, rate), rate

    def missing(self, currency: str, month: str, kind: RateKind) -> MissingRate:
        fix = FIX[self.source].format(currency=currency, month=month,
                                      kind=KIND_TEXT[kind],
                                      label=month_days(month)[0].strftime("%b %y"))
        return MissingRate(
            f"no {KIND_TEXT[kind]} rate of {currency} to {self.group} for {month} in "
            f"{self.origin}: {fix}; nothing is translated with a guessed rate",
            currency=currency, month=month, kind=kind, source=self.origin)
