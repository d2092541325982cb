"""The flows.yaml keys of currency translation: a column's ``translate:`` and the ``fx:``
rate source of a flow (or of the file's defaults)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: The two rate types: the rate in effect on the month's last day, or the month's daily mean.
RateKind = Literal["month_end", "average"]
SourceKind = Literal["zoho", "anaplan", "csv"]
KINDS: tuple[RateKind, ...] = ("month_end", "average")
CODE = re.compile(r"^[A-Z]{3}$")
#: The header of a ``source: csv`` rate file.
CSV_HEADER = ("currency", "month", "month_end", "average")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def currency_code(value: Any) -> str:
    """``value`` as an ISO 4217 code; anything else is an error saying what is expected."""
    if not isinstance(value, str) or not CODE.match(value):
        raise ValueError("expected an ISO 4217 currency code, three capital letters (e.g. "
                         "USD, GBP)")
    return value


class Translate(_Strict):
    """An ``amount`` column translated to the group currency ``to`` with the ``rate`` (type)
    of its organization's base currency for the cell's month."""

    to: str = Field(description="the group currency (ISO 4217 code, e.g. USD)")
    rate: RateKind = Field(description="month_end: the rate in effect on the month's last "
                           "day; average: the mean of the month's daily rates")

    @model_validator(mode="before")
    @classmethod
    def _stated(cls, data: Any) -> Any:
        if isinstance(data, dict) and "rate" not in data:
            raise ValueError("rate: state the rate type of the column: month_end (the rate "
                             "in effect on the month's last day) or average (the mean of the "
                             "month's daily rates)")
        return data

    @field_validator("to", mode="before")
    @classmethod
    def _code(cls, value: Any) -> str:
        return currency_code(value)


class FxColumns(_Strict):
    """``source: anaplan``: the export's columns holding each value."""

    currency: str = Field(default="Currency", description="the currency's ISO code")
    period: str = Field(default="Period", description="the month, as Anaplan labels it "
                        "(Jan 26)")
    month_end: str = Field(default="Month End", description="the month-end rate")
    average: str = Field(default="Average", description="the month's average rate")


#: The keys each source reads (``source`` itself aside), and what each one is.
SOURCE_KEYS: dict[str, dict[str, str]] = {
    "zoho": {"organization": "", "lookback_days": ""},
    "anaplan": {"export": "the export (116... or its name) of the FX module", "columns": ""},
    "csv": {"file": "a CSV file beside flows.yaml with the header "
            + ",".join(CSV_HEADER)},
}


class FxSource(_Strict):
    """Where a flow's exchange rates come from: its group organization's Zoho Books rates,
    an Anaplan export of an FX module, or a CSV file beside flows.yaml. A rate is in
    group-currency units per 1 unit of the foreign currency."""

    source: SourceKind = Field(description="zoho, anaplan or csv")
    organization: str | None = Field(
        default=None, description="zoho, a flow of several organizations: the entity of the "
        "one whose base currency is the group currency; its /settings/currencies rates are "
        "read (default: a flow's only organization)")
    lookback_days: int = Field(
        default=31, ge=0, le=3660, description="zoho: rates are read from this many days "
        "before the first month, so that the rate in effect at its start is known")
    export: str | None = Field(
        default=None, description="anaplan: the FX module's export (116... or its name)")
    columns: FxColumns = Field(
        default_factory=FxColumns, description="anaplan: the export's columns")
    file: str | None = Field(
        default=None, description="csv: the file beside flows.yaml (header "
        "currency,month,month_end,average; month yyyy-mm)")

    @model_validator(mode="after")
    def _keys_of_source(self) -> FxSource:
        for key, what in SOURCE_KEYS[self.source].items():
            if what and not getattr(self, key):
                raise ValueError(f"{key}: needed with source: {self.source}: {what}")
        for owner, keys in SOURCE_KEYS.items():
            for key in keys:
                if owner != self.source and key in self.model_fields_set:
                    raise ValueError(f"{key}: only with source: {owner} (this fx reads "
                                     f"source: {self.source}); remove it")
        return self

    def describe(self) -> str:
        """Where the rates come from, in words (error messages, the audit)."""
        if self.source == "zoho":
            return f"the Zoho Books exchange rates of organization {self.organization}"
        if self.source == "anaplan":
            return f"Anaplan export {self.export!r}"
        return f"{self.file} (beside flows.yaml)"
