"""Configuration of the Zoho Books emulator: data centers, organizations, credentials, limits."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ml_connector_sandbox.zoho.webhooks import WebhookSpec

#: Zoho's data centers, in the order of the public table.
REGIONS: tuple[str, ...] = ("us", "eu", "in", "au", "jp", "ca", "cn", "sa")

#: The READ scopes a connector user grants (one per Books module the shipped flows read).
READ_SCOPES: tuple[str, ...] = tuple(
    f"ZohoBooks.{module}.READ" for module in (
        "invoices", "bills", "purchaseorders", "creditnotes", "debitnotes", "contacts",
        "settings", "accountants", "expenses", "customerpayments", "vendorpayments"))

#: Requests per day by plan (Zoho's published caps).
DAILY_CAP = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000,
             "elite": 10000, "ultimate": 10000}

Plan = Literal["free", "standard", "professional", "premium", "elite", "ultimate"]


class OrgSpec(BaseModel):
    """One Zoho Books organization and the size of its generated data."""

    model_config = ConfigDict(extra="forbid")

    organization_id: str = Field(pattern=r"^\d{4,19}$")
    name: str
    region: Literal["us", "eu", "in", "au", "jp", "ca", "cn", "sa"]
    currency_code: str = "USD"
    foreign_currencies: list[str] = Field(
        default_factory=list, description="other currencies some contacts trade in"
    )
    time_zone: str = "PST"
    utc_offset: str = Field(default="-0800", pattern=r"^[+-]\d{4}$")
    plan: Plan = "premium"
    invoices: int = Field(default=30, ge=0)
    bills: int = Field(default=25, ge=0)
    purchaseorders: int = Field(default=20, ge=0)
    creditnotes: int = Field(default=3, ge=0)
    vendorcredits: int = Field(default=2, ge=0)
    expenses: int = Field(default=10, ge=0)
    journals: int = Field(default=6, ge=0)
    customerpayments: int = Field(default=12, ge=0)
    vendorpayments: int = Field(default=10, ge=0)
    customers: int = Field(default=10, ge=1)
    vendors: int = Field(default=8, ge=1)
    start_date: date = date(2026, 1, 1)
    end_date: date = Field(default=date(2026, 3, 31), description="inclusive")
    response_delay: float = Field(
        default=0.0, ge=0, description="seconds every API call of this org is held open"
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> OrgSpec:
        if self.end_date < self.start_date:
            raise ValueError(f"org {self.organization_id}: end_date is before start_date")
        return self


class RefreshTokenSpec(BaseModel):
    """A refresh token the sandbox accepts from the start (as if issued earlier)."""

    model_config = ConfigDict(extra="forbid")

    token: str
    region: Literal["us", "eu", "in", "au", "jp", "ca", "cn", "sa"]
    scopes: list[str] = Field(
        default_factory=lambda: list(READ_SCOPES),
        description="what the user consented to; a call outside them gets 401 code 57")
    organizations: list[str] | None = Field(
        default=None, description="org ids its user belongs to (default: all of its region)"
    )


class LimitsSpec(BaseModel):
    """API and accounts-server limits, all measured on the sandbox clock."""

    model_config = ConfigDict(extra="forbid")

    per_minute: int = Field(default=100, ge=1)
    minute_window: float = Field(
        default=60.0, gt=0, description="length of the per_minute window in seconds (Zoho: 60)"
    )
    per_day: int | None = Field(default=None, ge=1, description="None: by the org's plan")
    concurrency: int | None = Field(default=None, ge=1, description="None: free 5, others 10")
    token_ttl: int = Field(default=3600, ge=1)
    tokens_per_window: int = Field(default=10, ge=1)
    token_window: int = Field(default=600, ge=1)
    token_block: int = Field(default=900, ge=0)
    max_live_tokens: int = Field(default=15, ge=1)
    max_refresh_tokens: int = Field(default=20, ge=1)
    code_ttl: int = Field(default=120, ge=1)

    def daily_cap(self, plan: str) -> int:
        return self.per_day if self.per_day is not None else DAILY_CAP[plan]

    def max_in_flight(self, plan: str) -> int:
        if self.concurrency is not None:
            return self.concurrency
        return 5 if plan == "free" else 10


def _small(org_id: str, name: str, region: str, currency: str, zone: str, offset: str) -> OrgSpec:
    return OrgSpec.model_validate({"organization_id": org_id, "name": name, "region": region,
                                   "currency_code": currency, "time_zone": zone,
                                   "utc_offset": offset})


def default_organizations() -> list[OrgSpec]:
    return [
        OrgSpec(organization_id="10234695", name="Zillum Inc", region="us",
                currency_code="USD", foreign_currencies=["EUR", "GBP"], time_zone="PST",
                utc_offset="-0800", invoices=3000, bills=2000, purchaseorders=500,
                creditnotes=150, vendorcredits=80, expenses=300, journals=45,
                customerpayments=2400, vendorpayments=1600, customers=60, vendors=40),
        OrgSpec(organization_id="10234696", name="Zillum Labs", region="us",
                currency_code="USD", time_zone="PST", utc_offset="-0800",
                invoices=40, bills=30, purchaseorders=20, creditnotes=4, vendorcredits=3,
                expenses=12, journals=6, customerpayments=30, vendorpayments=24, customers=10,
                vendors=8),
        OrgSpec(organization_id="20071234", name="Zillum GmbH", region="eu",
                currency_code="EUR", time_zone="CET", utc_offset="+0100",
                invoices=50, bills=40, purchaseorders=25, creditnotes=5, vendorcredits=3,
                expenses=15, journals=6, customerpayments=38, vendorpayments=30, customers=12,
                vendors=8),
        _small("30045678", "Zillum India Pvt Ltd", "in", "INR", "IST", "+0530"),
        _small("40012345", "Zillum Pty Ltd", "au", "AUD", "AEST", "+1000"),
        _small("50023456", "Zillum KK", "jp", "JPY", "JST", "+0900"),
        _small("60034567", "Zillum Canada Ltd", "ca", "CAD", "EST", "-0500"),
        _small("70045678", "Zillum China Co", "cn", "CNY", "CST", "+0800"),
        _small("80056789", "Zillum Arabia LLC", "sa", "SAR", "AST", "+0300"),
    ]


def default_refresh_tokens() -> list[RefreshTokenSpec]:
    return [RefreshTokenSpec.model_validate({"token": f"1000.sandbox-refresh-{r}", "region": r})
            for r in REGIONS]


class ZohoSandboxConfig(BaseModel):
    """Everything the Zoho emulator is built from; ``ZohoSandboxConfig()`` is the standard one."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 7
    client_id: str = "1000.SANDBOXCLIENT"
    client_secret: str = "sandbox-client-secret"
    organizations: list[OrgSpec] = Field(default_factory=default_organizations)
    refresh_tokens: list[RefreshTokenSpec] = Field(default_factory=default_refresh_tokens)
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    webhooks: list[WebhookSpec] = Field(
        default_factory=list, description="outgoing webhooks, one per organization at most")
    ledger_date_params: tuple[str, str] = Field(
        default=("date.start", "date.end"),
        description="the date-range parameters /chartofaccounts/transactions honours (unknown "
        "for the real server: clients are seen sending date.start/date.end and "
        "from_date/to_date); others are ignored, as an unknown parameter would be")

    @model_validator(mode="after")
    def _unique(self) -> ZohoSandboxConfig:
        ids = [o.organization_id for o in self.organizations]
        if len(ids) != len(set(ids)):
            raise ValueError("organization ids must be unique")
        tokens = [t.token for t in self.refresh_tokens]
        if len(tokens) != len(set(tokens)):
            raise ValueError("refresh tokens must be unique")
        return self
