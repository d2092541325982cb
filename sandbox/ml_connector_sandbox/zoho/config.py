"""Configuration of the Zoho Books emulator: data centers, organizations, credentials, limits."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ml_connector_sandbox.zoho.locks import LockingSpec
from ml_connector_sandbox.zoho.webhooks import WebhookSpec

#: Zoho's data centers, in the order of the public table.
REGIONS: tuple[str, ...] = ("us", "eu", "in", "au", "jp", "ca", "cn", "sa")

#: The READ scopes a connector user grants (one per Books module the shipped flows read).
READ_SCOPES: tuple[str, ...] = tuple(
    f"ZohoBooks.{module}.READ" for module in (
        "invoices", "bills", "purchaseorders", "creditnotes", "debitnotes", "contacts",
        "settings", "accountants", "expenses", "customerpayments", "vendorpayments",
        "projects"))

#: Requests per day by plan (Zoho's published caps).
DAILY_CAP = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000,
             "elite": 10000, "ultimate": 10000}

Plan = Literal["free", "standard", "professional", "premium", "elite", "ultimate"]

#: Zoho's limits for reporting tags (confirmed, older tag model): per organization, per tag.
MAX_TAGS, MAX_TAG_OPTIONS = 10, 500
#: Levels of options in one tag's hierarchy (Zoho's "advanced reporting tags": up to 5).
MAX_TAG_DEPTH = 5
#: Modules whose line items carry reporting tags (confirmed); credit notes are emulated too
#: (observed by Codat), see ``DimensionsSpec.creditnote_tags``.
TAG_KINDS: tuple[str, ...] = ("invoices", "bills", "vendorcredits", "purchaseorders",
                              "journals", "creditnotes")
#: Modules a location can be drawn for: document headers and expenses, journal lines.
LOCATION_KINDS: tuple[str, ...] = ("invoices", "bills", "creditnotes", "vendorcredits",
                                   "purchaseorders", "expenses", "journals")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TagOptionSpec(_Spec):
    """An option of a reporting tag. ``parent`` names another option of the same tag (a
    hierarchy such as Region > Department). ``renamed_from``: the name the option had when
    the generated documents used it (it was renamed afterwards). ``weight``: how often lines
    get it relative to the tag's other options (0: never, e.g. a region that only groups
    departments); ``used_until``: documents dated later never get it (deactivated then)."""

    name: str
    parent: str | None = None
    is_active: bool = True
    renamed_from: str | None = None
    weight: int = Field(default=1, ge=0)
    used_until: date | None = None


def tree_depths(parent_of: dict[str, str | None], names: list[str], owner: str,
                what: str) -> dict[str, int]:
    """Each member's depth (1 at the top) in a hierarchy given as name -> parent name,
    checked: names unique, every parent known, no member its own ancestor (``owner`` and
    ``what`` name them in the error, e.g. ``tag 'Department'``, ``option``)."""
    if len(names) != len(set(names)):
        raise ValueError(f"{owner}: {what} names must be unique")
    depths: dict[str, int] = {}
    for member in names:
        depth, seen, name = 1, {member}, parent_of[member]
        while name is not None:
            if name not in parent_of:
                raise ValueError(f"{owner}: {what} {member!r} has an unknown parent {name!r}")
            if name in seen:
                raise ValueError(f"{owner}: {what} {member!r} is its own ancestor")
            seen.add(name)
            depth += 1
            name = parent_of[name]
        depths[member] = depth
    return depths


class ReportingTagSpec(_Spec):
    """A reporting tag of an organization and how the generated documents use it.

    ``level``: ``line`` (each line item's ``tags``, Zoho's confirmed model) or ``document``
    (one entry for the whole document, in the header field ``DimensionsSpec.document_tag_field``;
    Zoho's JSON for these "transaction-level" tags is unknown). ``tagged_share``: the share of
    lines (documents, at document level) that carry the tag; the others are untagged (no
    entry for it). A mandatory tag is on every line. ``kinds``: the modules whose documents
    carry it (default: every module that has tags)."""

    name: str
    is_active: bool = True
    is_mandatory: bool = False
    level: Literal["line", "document"] = "line"
    tagged_share: float = Field(default=0.85, ge=0, le=1)
    kinds: list[str] | None = None
    options: list[TagOptionSpec] = Field(default_factory=list, max_length=MAX_TAG_OPTIONS)

    @field_validator("kinds")
    @classmethod
    def _tag_kinds(cls, kinds: list[str] | None) -> list[str] | None:
        unknown = sorted(set(kinds or ()) - set(TAG_KINDS))
        if unknown:
            raise ValueError(f"reporting tags are not on {', '.join(unknown)}; "
                             f"modules with tags: {', '.join(TAG_KINDS)}")
        return kinds

    @model_validator(mode="after")
    def _hierarchy(self) -> ReportingTagSpec:
        depths = tree_depths({o.name: o.parent for o in self.options},
                             [o.name for o in self.options], f"tag {self.name!r}", "option")
        for name, depth in depths.items():
            if depth > MAX_TAG_DEPTH:
                raise ValueError(f"tag {self.name!r}: option {name!r} is more than "
                                 f"{MAX_TAG_DEPTH} levels deep")
        return self


class LocationSpec(_Spec):
    """A location (Zoho's successor of branches). ``parent`` names another location;
    ``line_item_only`` locations are never on a document header; ``weight``: how often
    documents get it relative to the others (0: never, e.g. a location that only groups
    others)."""

    name: str
    type: Literal["general", "line_item_only"] = "general"
    parent: str | None = None
    is_primary: bool = False
    status: Literal["active", "inactive"] = "active"
    weight: int = Field(default=1, ge=0)


class ProjectSpec(_Spec):
    """A project for a customer (``customer``: the index of one of the organization's
    customers, 0-based)."""

    name: str
    customer: int = Field(default=0, ge=0)
    status: Literal["active", "inactive"] = "active"
    billing_type: Literal["fixed_cost_for_project", "based_on_project_hours",
                          "based_on_task_hours", "based_on_staff_hours"] = \
        "based_on_project_hours"


class UntaggedOptionSpec(_Spec):
    """The pseudo-option ``/reportingtags/{id}/options/all`` lists for untagged lines
    (observed as ``option_id`` ``"untagged"``)."""

    option_id: str = "untagged"
    option_name: str = "Untagged"


class DimensionsSpec(_Spec):
    """How the planning dimensions (reporting tags, locations, projects) are served, where
    shared/api/zoho-books.md calls them observed or unknown."""

    tag_endpoints: Literal["reportingtags", "settings"] = Field(
        default="reportingtags",
        description="reportingtags: GET /reportingtags and /reportingtags/{id}/options/all; "
        "settings: the older GET /settings/tags and /settings/tags/{id}; the other pair "
        "answers as an unknown URL")
    tag_scope: str = Field(
        default="settings", description="the module of the scope the tag endpoints need "
        "(ZohoBooks.<module>.READ; unknown, likely settings)")
    option_parent_field: str = Field(
        default="parent_option_id",
        description="the field of an option of /reportingtags/{id}/options/all naming its "
        "parent option (only depth is observed)")
    untagged_option: UntaggedOptionSpec | None = Field(
        default_factory=UntaggedOptionSpec,
        description="the pseudo-option /reportingtags/{id}/options/all lists last; None: none")
    option_names_on_documents: Literal["current", "original"] = Field(
        default="current",
        description="the name a document's tag carries after its option was renamed: the "
        "option's current name or the one it had when the document was made (unknown)")
    creditnote_tags: bool = Field(
        default=True, description="credit note lines carry tags (not in Zoho's schema; "
        "observed by Codat)")
    document_tag_field: str = Field(
        default="tags", description="the header field of document-level tags (unknown)")
    location_header_kinds: list[str] = Field(
        default_factory=lambda: ["invoices", "bills", "creditnotes", "vendorcredits",
                                 "purchaseorders", "expenses"],
        description="modules whose details carry the header location_id/location_name "
        "(confirmed for invoices and, from their list rows, bills and expenses)")
    location_line_kinds: list[str] = Field(
        default_factory=lambda: ["invoices", "journals"],
        description="modules whose line items carry location_id/location_name (confirmed: "
        "invoices and journals)")
    null_names: list[str] = Field(
        default_factory=list,
        description="options and locations (by their configured name) that the tag and "
        "location lists serve with a null name (whether Zoho ever does is unknown: for "
        "tests of what a client does with a missing name)")

    @field_validator("location_header_kinds", "location_line_kinds")
    @classmethod
    def _location_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = sorted(set(kinds) - set(LOCATION_KINDS))
        if unknown:
            raise ValueError(f"no locations on {', '.join(unknown)}")
        return kinds


#: Accounts a subsidiary may name differently (``OrgSpec.account_names``): the P&L accounts
#: postings reach by id; the ledger and the P&L find the others by their group name.
RENAMEABLE_ACCOUNTS = frozenset({"4000", "4010", "4020", "4100", "4900", "5000", "6000",
                                 "6100", "6200", "6300", "6400", "6500", "6600", "6700",
                                 "6800", "6850", "6900"})
#: Currencies with a level for exchange-rate series (``currencies.USD_VALUE``).
RATE_CURRENCIES = frozenset({"USD", "EUR", "GBP", "INR", "AUD", "JPY", "CAD", "CNY", "SAR",
                             "CHF"})


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
    rate_currencies: list[str] = Field(
        default_factory=list, description="further currencies the org has enabled (listed by "
        "/settings/currencies with a rate series) that no generated contact trades in")
    document_rates: Literal["monthly", "daily"] = Field(
        default="monthly", description="the exchange_rate of a foreign-currency document: "
        "monthly, one per month (the data of the older orgs); daily, the rate in effect on "
        "its date in the org's exchange-rate series")
    local_prices: bool = Field(
        default=False, description="amounts are of the same worth in every currency (a US "
        "dollar price list converted); False: the same figures in every currency (the data "
        "of the older orgs)")
    time_zone: str = "PST"
    utc_offset: str = Field(default="-0800", pattern=r"^[+-]\d{4}$")
    fiscal_year_start_month: int = Field(
        default=1, ge=1, le=12, description="the calendar month (1 = January) the fiscal "
        "year starts in; served as ZohoSandboxConfig.fiscal_month_base says")
    plan: Plan = "premium"
    per_minute: int | None = Field(
        default=None, ge=1, description="the org's own per-minute limit (None: LimitsSpec's)")
    per_day: int | None = Field(
        default=None, ge=1, description="the org's own daily quota (None: LimitsSpec's, else "
        "its plan's)")
    account_names: dict[str, str] = Field(
        default_factory=dict, description="account code -> the name this org gives it (the "
        "group's chart shares codes; a subsidiary may name an account differently)")
    tax_rates: list[float] | None = Field(
        default=None, description="tax percentages (the first 0); None: its region's")
    tax_name: str | None = Field(default=None, description="None: its region's")
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
    reporting_tags: list[ReportingTagSpec] = Field(default_factory=list, max_length=MAX_TAGS)
    locations: list[LocationSpec] = Field(default_factory=list)
    projects: list[ProjectSpec] = Field(default_factory=list)
    project_share: float = Field(
        default=0.1, ge=0, le=1,
        description="share of bill and journal lines and of expenses with a project")
    customer_project_share: float = Field(
        default=0.7, ge=0, le=1, description="share of the lines of an invoice or credit "
        "note for a customer with projects that carry one of its projects")

    @model_validator(mode="after")
    def _dates_in_order(self) -> OrgSpec:
        if self.end_date < self.start_date:
            raise ValueError(f"org {self.organization_id}: end_date is before start_date")
        return self

    @model_validator(mode="after")
    def _currencies_and_accounts(self) -> OrgSpec:
        org = self.organization_id
        unknown = sorted({*self.foreign_currencies, *self.rate_currencies,
                          self.currency_code} - RATE_CURRENCIES)
        if unknown and (self.rate_currencies or self.document_rates == "daily"):
            raise ValueError(f"org {org}: no rate level for {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(RATE_CURRENCIES))}")
        fixed = sorted(set(self.account_names) - RENAMEABLE_ACCOUNTS)
        if fixed:
            raise ValueError(f"org {org}: account_names cannot rename {', '.join(fixed)}; "
                             f"renameable codes: {', '.join(sorted(RENAMEABLE_ACCOUNTS))}")
        if self.tax_rates is not None and (not self.tax_rates or self.tax_rates[0] != 0):
            raise ValueError(f"org {org}: tax_rates must start with 0")
        return self

    @model_validator(mode="after")
    def _dimensions(self) -> OrgSpec:
        org = self.organization_id
        tags = [t.name for t in self.reporting_tags]
        if len(tags) != len(set(tags)):
            raise ValueError(f"org {org}: reporting tag names must be unique")
        tree_depths({x.name: x.parent for x in self.locations},
                    [x.name for x in self.locations], f"org {org}", "location")
        if sum(x.is_primary for x in self.locations) > 1:
            raise ValueError(f"org {org}: at most one primary location")
        if self.locations and not any(x.type == "general" and x.status == "active"
                                      and x.weight for x in self.locations):
            raise ValueError(f"org {org}: no active general location for document headers")
        for project in self.projects:
            if project.customer >= self.customers:
                raise ValueError(f"org {org}: project {project.name!r} names customer "
                                 f"{project.customer}; the org has {self.customers}")
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

    def org_per_minute(self, org: OrgSpec) -> int:
        """The org's per-minute limit: its own, else this one."""
        return org.per_minute if org.per_minute is not None else self.per_minute

    def org_per_day(self, org: OrgSpec) -> int:
        """The org's daily quota: its own, else ``per_day``, else its plan's."""
        return org.per_day if org.per_day is not None else self.daily_cap(org.plan)

    def max_in_flight(self, plan: str) -> int:
        if self.concurrency is not None:
            return self.concurrency
        return 5 if plan == "free" else 10


def _small(org_id: str, name: str, region: str, currency: str, zone: str, offset: str) -> OrgSpec:
    return OrgSpec.model_validate({"organization_id": org_id, "name": name, "region": region,
                                   "currency_code": currency, "time_zone": zone,
                                   "utc_offset": offset})


def demo_dimensions() -> dict:
    """The demo company's reporting tags, locations and projects: a Department tag whose
    options sit under regions (one renamed, one deactivated after January), a flat Channel
    tag on sales documents, locations under two regional parents (one for line items only)
    and four projects."""
    department = ReportingTagSpec(name="Department", tagged_share=0.85, options=[
        TagOptionSpec(name="Americas", weight=0),
        TagOptionSpec(name="Sales", parent="Americas", weight=30),
        TagOptionSpec(name="Marketing", parent="Americas", weight=15),
        TagOptionSpec(name="Customer Success", parent="Americas", weight=20,
                      renamed_from="Support"),
        TagOptionSpec(name="EMEA", weight=0),
        TagOptionSpec(name="Engineering", parent="EMEA", weight=20),
        TagOptionSpec(name="Operations", parent="EMEA", weight=10),
        TagOptionSpec(name="Events", parent="EMEA", weight=5, is_active=False,
                      used_until=date(2026, 1, 31)),
    ])
    channel = ReportingTagSpec(name="Channel", tagged_share=0.6,
                               kinds=["invoices", "creditnotes"], options=[
        TagOptionSpec(name="Direct", weight=5), TagOptionSpec(name="Partner", weight=3),
        TagOptionSpec(name="Online", weight=2)])
    locations = [
        LocationSpec(name="North America", weight=0),
        LocationSpec(name="San Francisco", parent="North America", is_primary=True, weight=6),
        LocationSpec(name="New York", parent="North America", weight=3),
        LocationSpec(name="Oakland Warehouse", type="line_item_only", parent="North America",
                     weight=2),
        LocationSpec(name="Europe", weight=0),
        LocationSpec(name="London", parent="Europe", weight=2),
    ]
    projects = [
        ProjectSpec(name="ERP Rollout", customer=3),
        ProjectSpec(name="Website Redesign", customer=7, billing_type="fixed_cost_for_project"),
        ProjectSpec(name="Data Migration", customer=12, billing_type="based_on_task_hours"),
        ProjectSpec(name="Support Retainer", customer=21, status="inactive",
                    billing_type="based_on_staff_hours"),
    ]
    return {"reporting_tags": [department, channel], "locations": locations,
            "projects": projects}


def default_organizations() -> list[OrgSpec]:
    return [
        OrgSpec(organization_id="10234695", name="Zillum Inc", region="us",
                currency_code="USD", foreign_currencies=["EUR", "GBP"], time_zone="PST",
                utc_offset="-0800", invoices=3000, bills=2000, purchaseorders=500,
                creditnotes=150, vendorcredits=80, expenses=300, journals=45,
                customerpayments=2400, vendorpayments=1600, customers=60, vendors=40,
                rate_currencies=["INR"], **demo_dimensions()),
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
        OrgSpec(organization_id="20088123", name="Zillum UK Ltd", region="eu",
                currency_code="GBP", foreign_currencies=["USD", "EUR"],
                document_rates="daily", local_prices=True, time_zone="GMT",
                utc_offset="+0000",
                fiscal_year_start_month=4, plan="standard", tax_rates=[0, 5.0, 20.0],
                tax_name="VAT", invoices=60, bills=40, purchaseorders=15, creditnotes=5,
                vendorcredits=4, expenses=14, journals=8, customerpayments=45,
                vendorpayments=30, customers=12, vendors=8,
                account_names={"4000": "Turnover", "6000": "Marketing",
                               "6200": "Rent and Rates", "6300": "IT and Software"}),
        OrgSpec(organization_id="30045678", name="Zillum India Pvt Ltd", region="in",
                currency_code="INR", foreign_currencies=["USD"], document_rates="daily",
                local_prices=True,
                time_zone="IST", utc_offset="+0530", fiscal_year_start_month=4,
                plan="professional", invoices=50, bills=35, purchaseorders=12,
                creditnotes=4, vendorcredits=3, expenses=12, journals=6, customerpayments=38,
                vendorpayments=26, customers=10, vendors=8,
                account_names={"6500": "Legal and Professional Charges",
                               "6800": "Bank Charges"}),
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
    fiscal_month_base: Literal[0, 1] = Field(
        default=0, description="the number fiscal_year_start_month gives January in "
        "GET /organizations (Zoho's example shows 0; whether 0 is January is unknown)")
    exchange_rate_order: Literal["newest_first", "oldest_first"] = Field(
        default="newest_first", description="the order of /settings/currencies/{id}/"
        "exchangerates (unknown for the real server)")
    webhooks: list[WebhookSpec] = Field(
        default_factory=list, description="outgoing webhooks, one per organization at most")
    ledger_date_params: tuple[str, str] = Field(
        default=("date.start", "date.end"),
        description="the date-range parameters /chartofaccounts/transactions honours (unknown "
        "for the real server: clients are seen sending date.start/date.end and "
        "from_date/to_date); others are ignored, as an unknown parameter would be")
    dimensions: DimensionsSpec = Field(
        default_factory=DimensionsSpec,
        description="how reporting tags, locations and projects are served where Zoho's "
        "behaviour is observed or unknown")
    transaction_locking: LockingSpec = Field(
        default_factory=LockingSpec,
        description="transaction locks (GET /transactionlocks) and the edits they refuse")

    @model_validator(mode="after")
    def _unique(self) -> ZohoSandboxConfig:
        ids = [o.organization_id for o in self.organizations]
        if len(ids) != len(set(ids)):
            raise ValueError("organization ids must be unique")
        tokens = [t.token for t in self.refresh_tokens]
        if len(tokens) != len(set(tokens)):
            raise ValueError("refresh tokens must be unique")
        return self
