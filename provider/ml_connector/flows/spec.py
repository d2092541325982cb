"""The flow specification (``dags/flows.yaml``), validated with errors that name the key."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from ml_connector.errors import ConfigError
from ml_connector.flows.beside import csv_beside
from ml_connector.flows.organizations import FACTS, Organization
from ml_connector.fx.models import FxSource, Translate
from ml_connector.zoho.entities import ENTITIES, Entity, get_entity
from ml_connector.zoho.fields import HEADER_POSTING, LINE_ITEM, known_fields

SCHEDULES = {"hourly": "0 * * * *", "daily": "0 0 * * *", "weekly": "0 0 * * 1",
             "monthly": "0 0 1 * *"}
#: The time between two scheduled runs (a month: its longest).
PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1),
           "weekly": timedelta(weeks=1), "monthly": timedelta(days=31)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Lookup(_Strict):
    """Translate ``field`` through another entity: its ``key`` field -> its ``value`` field."""

    field: str
    entity: str
    key: str
    value: str


#: Planning dimensions Zoho keeps on lines or document headers, by ``dimension:`` name.
DIMENSIONS = ("location", "project", "item", "salesperson")


class MapExport(_Strict):
    """A crosswalk kept in Anaplan: a pre-created export (``116…`` or its name) of a list,
    read once per run at the build; one row per member, ``zoho`` the column holding the
    Zoho value(s) it takes (a property), ``anaplan`` the member's code."""

    export: str
    zoho: str
    anaplan: str = "Code"
    separator: str | None = Field(
        default=None, description="the zoho column may hold several values separated by "
        "this (e.g. ';'): many Zoho values map to one member")


class Column(_Strict):
    """Where one import column comes from: exactly one of the sources below.

    ``field`` copies a record field (``line.<f>`` a line item's); ``const`` a fixed value;
    ``period`` a date field as an Anaplan month label (``Jan 26``); ``amount`` a number,
    converted to the organization's base currency with the record's exchange rate unless
    ``currency: document``; ``lookup`` a field translated through another entity; ``tag``
    a reporting tag's option on the line, else on its document (header field
    ``tag_field``; ``tag_level: document``: the document's only); ``dimension`` the line's
    location, project, item or salesperson, else its document's; ``organization`` the
    Entity member (``entity``), base currency, id or name of the organization read. In
    aggregated flows,
    ``amount`` columns are summed and all others are the group keys. ``list`` names the
    Anaplan list whose members the column holds: the run checks its values are members
    before uploading.
    """

    field: str | None = None
    const: str | None = None
    period: str | None = None
    amount: str | None = None
    currency: Literal["base", "document"] = "base"
    translate: Translate | None = Field(
        default=None, description="amount columns: the cell's sum translated to a group "
        "currency with the rate of its month (the flow's fx: says where rates come from)")
    lookup: Lookup | None = None
    organization: Literal[FACTS] | None = Field(  # type: ignore[valid-type]
        default=None, description="the organization's Entity member (entity), base "
        "currency, id or name")
    tag: str | None = Field(
        default=None, description="a reporting tag, by name or id: the line's option of it")
    dimension: Literal[DIMENSIONS] | None = Field(  # type: ignore[valid-type]
        default=None, description="the line's location, project, item or salesperson, "
        "else its document's")
    tag_level: Literal["line", "document"] = Field(
        default="line", description="tag columns: where the tag is read: each line's, else "
        "its document's header (line), or the document's header for every line (document)")
    tag_field: str = Field(
        default="tags", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="tag columns: the "
        "document header's field holding its tags, as lines hold theirs")
    value: Literal["id", "name"] = Field(
        default="id", description="tag and dimension columns: Zoho's id (a list member's "
        "code) or its name")
    default: str | None = Field(
        default=None, description="tag and dimension columns: the member for a line (and "
        "document) that carries no value; without it such a line stops the build")
    charges: str | None = Field(
        default=None, description="tag and dimension columns of lines: postings: the member "
        "for shipping and adjustment (default: the document's value, else default)")
    map: MapExport | dict[str, str] | str | None = Field(
        default=None, union_mode="left_to_right", description="Zoho value -> Anaplan member "
        "code, inline, a CSV file beside flows.yaml (columns: zoho, anaplan), or an Anaplan "
        "export of a list ({export, zoho, anaplan})")
    unmapped: str = Field(
        default="fail", description="with map: what a value with no mapping gets: fail "
        "(the build stops and names each value and its documents) or a member")
    list_: str | None = Field(
        default=None, alias="list", description="the Anaplan list (name or id) that formats "
        "the column: its values are checked to be members before the upload")

    @model_validator(mode="after")
    def _one_source(self) -> Column:
        given = [k for k in SOURCES if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(SOURCES)}"
                             + (f" (got {', '.join(given)})" if given else ""))
        dimensional = self.tag is not None or self.dimension is not None
        for key in ("default", "charges"):
            if getattr(self, key) is not None and not dimensional:
                raise ValueError(f"{key}: only for tag and dimension columns")
        for key, default in (("tag_level", "line"), ("tag_field", "tags")):
            if getattr(self, key) != default and self.tag is None:
                raise ValueError(f"{key}: only for tag columns")
        if self.value != "id" and not dimensional:
            raise ValueError("value: only for tag and dimension columns")
        if self.map is not None and (self.amount is not None or self.period is not None):
            raise ValueError("map: translates members, not amounts or periods")
        if self.translate is not None and (self.amount is None or self.currency != "base"):
            raise ValueError("translate: translates an amount in the organization's base "
                             "currency (an amount column without currency: document)")
        if self.unmapped != "fail" and self.map is None:
            raise ValueError("unmapped: only with map")
        if self.list_ is not None and (self.amount is not None or self.period is not None):
            raise ValueError("list: names the list of a member column, not of an amount or "
                             "a period")
        return self

    def own_members(self) -> dict[str, str]:
        """Members the column gives itself, whatever the documents hold: value -> the key
        that gives it (``default``, ``charges``, ``unmapped``, ``map``)."""
        found: dict[str, str] = {}
        if isinstance(self.map, dict):
            found.update((member, "map") for member in self.map.values())
        if self.map is not None and self.unmapped != "fail":
            found[self.unmapped] = "unmapped"
        for key in ("charges", "default"):
            if (member := getattr(self, key)) is not None:
                found[member] = key
        return found

    @property
    def source_field(self) -> str | None:
        if self.lookup is not None:
            return self.lookup.field
        return self.field or self.period or self.amount

    def on_lines(self, has_lines: bool = True) -> bool:
        """Whether the column reads line items: ``line.*``, a line-level tag, or a dimension
        Zoho keeps on lines (when the module has line items: else its document's)."""
        return (self.tag is not None and self.tag_level == "line") \
            or (has_lines and self.dimension in LINE_DIMENSIONS) \
            or (self.source_field or "").startswith("line.")


#: The sources of a column: exactly one is given.
SOURCES = ("field", "const", "period", "amount", "lookup", "tag", "dimension",
           "organization")
#: Dimensions Zoho also carries on line items (a line's value comes first).
LINE_DIMENSIONS = ("location", "project", "item")


class Target(_Strict):
    """The Anaplan import: id (``112…``) or exact name; model defaults to the connection's."""

    import_: str = Field(alias="import")
    workspace_id: str | None = None
    model_id: str | None = None
    mapping_parameters: dict[str, str] = Field(default_factory=dict)

    def parameters(self) -> list[dict[str, str]]:
        """``mapping_parameters`` as the import's task takes them."""
        return [{"entityType": k, "entityName": v} for k, v in self.mapping_parameters.items()]


class Verify(_Strict):
    """Read the run's cells back out of Anaplan after the import, through a pre-created
    export (``116…`` or its name) of the target module, and compare them with what the run
    sent (and, for a ledger flow, with the postings summed again): a difference fails the
    run and names the cells."""

    export: str
    columns: dict[str, str] = Field(
        description="flow column -> the export's column holding it (every column)")
    where: dict[str, str] = Field(
        default_factory=dict, description="export column -> value: the rows this flow "
        "writes (e.g. Versions: Actual)")


class Align(_Strict):
    """After each run, hold the Actual cells of the months it sent against the plan
    version(s) of the same module, read through an export that holds every version: a
    report per month and version (unplanned actuals, planned members without actuals, the
    Zoho values routed to a default member, actual - plan), kept in the state store.
    Thresholds decide what fails the step; the rest is reported."""

    export: str | None = Field(
        default=None, description="the export (116... or its name) of the target module with "
        "every version (default: verify.export)")
    columns: dict[str, str] | None = Field(
        default=None, description="flow column -> the export's column holding it (default: "
        "verify.columns)")
    version: str = Field(default="Versions", description="the export column of the version")
    actual: str = Field(default="Actual", description="the version the flow writes")
    plans: list[str] = Field(default_factory=lambda: ["Budget"], min_length=1,
                             description="the plan versions each month is held against")
    unplanned_above: Decimal | None = Field(
        default=None, ge=0, description="fail when actuals without a plan exceed this amount "
        "(absolute, per row); unset: reported only")
    variance_above_percent: Decimal | None = Field(
        default=None, ge=0, description="fail when |actual - plan| exceeds this percent of "
        "|plan| on a planned row; unset: reported only")


class Sweep(_Strict):
    """The id sweep of an incremental flow: each run lists the document ids of the open
    months (the current one and the ``months - 1`` before it; ⌈documents / 200⌉ requests a
    month and module) and holds them against those the flow last sent for the month; an id
    gone from the listing whose detail Zoho answers "does not exist" is a delete."""

    months: int = Field(default=2, ge=1, le=12)


class Crosscheck(_Strict):
    """Hold the run's cells, summed over the columns ``flow`` does not have (e.g. the
    department), against the cells ``flow`` sent for the same months, as the state store
    recorded them (no Zoho or Anaplan request): a difference fails the run, or is reported
    only (``on_difference: report``)."""

    flow: str
    keys: list[str] | None = Field(
        default=None, description="the columns both flows share (default: every non-amount "
        "column both have, by name); they must include the period column")
    only: dict[str, list[str]] = Field(
        default_factory=dict, description="key column -> the values compared (e.g. the "
        "accounts only this flow's documents post to); needed against a ledger flow that "
        "reads more transaction types than this flow's documents")
    on_difference: Literal["fail", "report"] = "fail"
    _other: Flow | None = PrivateAttr(default=None)

    @property
    def other(self) -> Flow:
        """The other flow (bound when the flows file is checked)."""
        if self._other is None:
            raise ConfigError(f"crosscheck: flow {self.flow!r} was not checked with the "
                              "flows file it belongs to")
        return self._other

    def shared(self, flow: Flow, other: Flow) -> tuple[list[str], list[str]]:
        """(key columns, amount columns) the two flows' cells are compared on."""
        def split(f: Flow) -> tuple[list[str], list[str]]:
            return ([n for n, c in f.columns.items() if c.amount is None],
                    [n for n, c in f.columns.items() if c.amount is not None])

        (keys, amounts), (other_keys, other_amounts) = split(flow), split(other)
        return ([k for k in keys if k in other_keys] if self.keys is None else self.keys,
                [a for a in amounts if a in other_amounts])


class PostingAccounts(_Strict):
    """Accounts (code or name in the chart of accounts) that ``lines: postings`` sends a
    document's shipping charge and adjustment to."""

    shipping: str | None = None
    adjustment: str | None = None


#: Chart-of-accounts types of the profit-and-loss accounts.
PNL_TYPES = ("income", "other_income", "cost_of_goods_sold", "expense", "other_expense")
ACCOUNT_TYPES = ("cash", "bank", "accounts_receivable", "stock", "other_current_asset",
                 "fixed_asset", "accounts_payable", "other_current_liability", "equity",
                 *PNL_TYPES)
#: Ledger ``transaction_type`` values and the Books module whose documents post them.
TRANSACTION_MODULES = {"invoice": "invoices", "credit_notes": "creditnotes", "bills": "bills",
                       "vendor_credits": "vendorcredits", "expense": "expenses",
                       "journal": "journals", "customer_payment": "customerpayments",
                       "vendor_payment": "vendorpayments"}
#: The entity name of a ledger flow's records (an account's postings).
LEDGER = "ledger"


class Ledger(_Strict):
    """Which postings a ``source: ledger`` flow reads: the accounts (by type, or a list of
    codes or names) and the transaction types (default: all, i.e. true P&L actuals)."""

    account_types: list[Literal[ACCOUNT_TYPES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(PNL_TYPES))
    accounts: list[str] = Field(
        default_factory=list, description="account codes or names; given, only these")
    transaction_types: list[Literal[tuple(TRANSACTION_MODULES)]] | None = Field(  # type: ignore[valid-type]
        default=None, description="None: every type")

    def modules(self) -> list[str]:
        """The Books modules whose changes move these postings (in a fixed order). Payments
        post to bank, receivable and payable accounts only, so they count when those are
        chosen (by type or by name), or when listed."""
        types = self.transaction_types
        if types is None:
            balance_sheet = self.accounts or set(self.account_types) - set(PNL_TYPES)
            types = [t for t in TRANSACTION_MODULES
                     if balance_sheet or t not in ("customer_payment", "vendor_payment")]
        return [m for t, m in TRANSACTION_MODULES.items() if t in types]


def dag_id(flow_id: str) -> str:
    """The DAG of the flow ``flow_id``: ``zoho_<id>``."""
    return f"zoho_{flow_id}"


class Flow(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source: Literal["documents", "ledger"] = Field(
        default="documents", description="documents: a Books module's records; ledger: "
        "the general ledger's postings of the accounts in `ledger`")
    entity: str = ""
    ledger: Ledger | None = None
    schedule: Literal["hourly", "daily", "weekly", "monthly"] = "monthly"
    mode: Literal["incremental", "period", "full"] = "period"
    target: Target
    columns: dict[str, Column]
    grain: Literal["record", "aggregate"] = "record"
    exclude_status: list[str] = Field(default_factory=lambda: ["void", "draft"])
    excluded: Literal["skip", "zero"] = Field(
        default="skip", description="record grain: what to send for a record whose status is "
        "excluded: nothing, or its rows with every amount 0 (so a document voided after it "
        "was sent stops counting in Anaplan)")
    where: dict[str, str | list[str]] = Field(
        default_factory=dict, description="keep only records whose field equals (one of) these")
    lines: Literal["items", "postings"] = Field(
        default="items", description="what line.* columns read: the documents' line items "
        "as Zoho gives them, or their postings (line.amount net of tax and discounts, plus a "
        "line each for shipping and adjustment on the accounts below)")
    accounts: PostingAccounts = Field(default_factory=PostingAccounts)
    credits: str | None = Field(
        default=None, description="the module whose documents reverse this flow's (credit "
        "notes for invoices, vendor credits for bills): read with it, amounts subtracted")
    verify: Verify | None = None
    loads: str | None = Field(
        default=None, description="a list flow: the Anaplan list (name or id, as the fact "
        "flows' list: columns spell it) its import writes; each run reads it back and names "
        "every record whose text Anaplan holds differently, and fact flows with a list: "
        "column of it wait until it has loaded once")
    code: str | None = Field(
        default=None, description="with loads: the column holding a member's code (default: "
        "the first)")
    name: str | None = Field(
        default=None, description="with loads: the column holding a member's name (default: "
        "the second; none for a one-column flow)")
    text: Literal["report", "fail"] = Field(
        default="report", description="with loads: a record whose text Anaplan holds "
        "differently is reported (a warning, counted, noted in the audit) or fails the run")
    crosscheck: Crosscheck | None = None
    align: Align | None = None
    overlap_minutes: int = Field(default=10, ge=0)
    closed_before: date | None = Field(
        default=None, description="months ending before this date are closed (locked "
        "outside Zoho): not re-read by incremental runs, refused to period runs unless "
        "reopened; Zoho's transaction locks close months too")
    sweep: Sweep | None = Field(
        default=None, description="incremental flows: find documents deleted in Zoho by "
        "listing the ids of the open months each run (docs/flows.md, sweep)")
    fx: FxSource | None = Field(
        default=None, description="where the rates of translate: columns come from "
        "(default: the file's)")
    organizations: list[Organization] | None = Field(
        default=None, description="several Zoho organizations read into one import, each "
        "its own unit of work; default: the file's (for a flow with an organization: "
        "entity column), else the connection's one organization")
    description: str = ""
    enabled: bool = True

    @model_validator(mode="after")
    def _check(self) -> Flow:
        if not self.columns:
            raise ValueError("columns: at least one column is needed")
        self._check_list()
        self._check_organizations()
        self._check_translation()
        if self.verify is not None:
            if self.grain != "aggregate":
                raise ValueError("verify: reads whole cells back, so it needs grain "
                                 "'aggregate'")
            if set(self.verify.columns) != set(self.columns):
                missing = sorted(set(self.columns) - set(self.verify.columns))
                extra = sorted(set(self.verify.columns) - set(self.columns))
                raise ValueError("verify.columns must name every column of the flow: "
                                 + "; ".join(filter(None, [
                                     f"missing {', '.join(missing)}" if missing else "",
                                     f"not flow columns: {', '.join(extra)}" if extra else ""])))
            if self.period_field is None:
                raise ValueError("verify: needs a period column (the months compared)")
        if self.align is not None:
            self._check_align(self.align)
        if self.sweep is not None and (self.mode != "incremental" or self.source == LEDGER):
            raise ValueError("sweep: finds deleted documents for an incremental documents "
                             "flow (mode: incremental); a period run rebuilds its month whole "
                             "and a ledger flow reads postings, which vanish with their "
                             "document")
        if self.source == LEDGER:
            return self._check_ledger()
        if self.ledger is not None:
            raise ValueError("ledger: only used with source: ledger")
        if not self.entity:
            raise ValueError("entity: a Books module is needed (e.g. invoices), or set "
                             "source: ledger")
        entity = get_entity(self.entity)
        object.__setattr__(self, "entity", entity.name)
        postings = self.lines == "postings"
        self._check_lines(entity)
        self._check_fields(entity.name, posting_fields(entity.posts_header) if postings
                           else LINE_ITEM)
        if postings and not self.uses_lines:
            raise ValueError("lines: postings needs columns that read line.* (e.g. Amount: "
                             "{amount: line.amount})")
        if not postings and (self.accounts.shipping or self.accounts.adjustment):
            raise ValueError("accounts: only used with lines: postings")
        if self.credits is not None:
            credit = get_entity(self.credits)
            if credit.credits != entity.name:
                known = [e.name for e in ENTITIES.values() if e.credits == entity.name]
                raise ValueError(f"credits: {credit.name!r} does not credit {entity.name!r}"
                                 + (f"; use {known[0]!r}" if known else
                                    f" (nothing credits {entity.name!r})"))
            object.__setattr__(self, "credits", credit.name)
        self._check_sums()
        if self.grain == "aggregate" and self.mode == "incremental" and (
                not entity.date_filters or self.period_field != "date"):
            raise ValueError("an incremental aggregate flow rebuilds every month its changed "
                             "records fall in, so it needs a column 'period: date' on a dated "
                             "entity; otherwise use mode 'period' or grain 'record'")
        if self.excluded == "zero" and (self.grain != "record" or not any(
                c.amount for c in self.columns.values())):
            raise ValueError("excluded: zero needs grain 'record' and an amount column "
                             "(aggregate flows rebuild their cells without excluded records)")
        self._check_monthly()
        if self.mode == "period" and not entity.date_filters:
            raise ValueError(f"mode 'period' needs dated documents; {entity.name!r} has no "
                             "date: use mode 'full'")
        return self

    def _check_translation(self) -> None:
        """Translated amounts are cells of a month: an aggregate flow with a period."""
        if self.translated and (self.grain != "aggregate" or self.period_field is None):
            raise ValueError("translate: rates are per month, applied to whole cells: the "
                             "flow needs grain 'aggregate' and a period column")

    @property
    def translated(self) -> list[str]:
        """The columns translated to a group currency."""
        return [n for n, c in self.columns.items() if c.translate is not None]

    def fx_of(self, defaults: Defaults) -> FxSource | None:
        """Where the rates of its ``translate:`` columns come from."""
        return self.fx or defaults.fx

    def _check_organizations(self) -> None:
        """Several organizations need whole cells per entity: an aggregate flow with an
        ``organization: entity`` column; entity codes are unique."""
        if self.organizations is None:
            return
        codes = [o.entity for o in self.organizations]
        if not codes:
            raise ValueError("organizations: name at least one, or leave the key out")
        twice = sorted({c for c in codes if codes.count(c) > 1}
                       | {c for c in {c.lower() for c in codes}
                          if [x.lower() for x in codes].count(c) > 1})
        if twice:
            raise ValueError(f"organizations: entity {', '.join(twice)} is named twice "
                             "(codes must differ, also in case: each is a task group)")
        if self.grain != "aggregate" or self.loads is not None:
            raise ValueError("organizations: several organizations are combined as whole "
                             "cells per entity: the flow needs grain 'aggregate'")
        if not self.entity_column:
            raise ValueError("organizations: add a column {organization: entity} (e.g. "
                             "Entity: {organization: entity, list: Entities}) so each "
                             "organization's cells are its own")

    @property
    def organization_columns(self) -> bool:
        """Whether a column holds a fact of the organization read (read once a run)."""
        return any(c.organization is not None for c in self.columns.values())

    @property
    def entity_column(self) -> str | None:
        """The column holding the organization's Entity member."""
        return next((n for n, c in self.columns.items() if c.organization == "entity"), None)

    def organizations_of(self, defaults: Defaults) -> list[Organization]:
        """The organizations a run reads (none: the connection's one)."""
        if self.organizations is not None:
            return self.organizations
        return list(defaults.organizations) if self.entity_column else []

    def _check_lines(self, entity: Entity) -> None:
        """``line.*`` columns need line items, or postings of a document that posts its
        header; reporting tags need documents (their lines or headers)."""
        if any(c.tag is not None for c in self.columns.values()) and not entity.detailed:
            raise ValueError(f"entity {entity.name!r} has no line items and no document "
                             "header carrying reporting tags")
        if entity.posts_header and self.lines == "postings":
            if self.accounts.shipping or self.accounts.adjustment:
                raise ValueError(f"accounts: {entity.name} have no shipping charge or "
                                 "adjustment")
            return
        if self.uses_lines and not entity.has_line_items:
            if entity.posts_header:
                raise ValueError(f"entity {entity.name!r} has no line items: set lines: "
                                 "postings to read each as one posting line (line.account_id, "
                                 "line.amount net of tax), or read its header fields")
            raise ValueError(f"entity {entity.name!r} has no line items (columns use line.* "
                             "or a reporting tag, which Zoho keeps on lines)")

    def _check_ledger(self) -> Flow:
        if self.entity not in ("", LEDGER):
            raise ValueError(f"a ledger flow reads postings, not {self.entity!r}: leave out "
                             "entity")
        object.__setattr__(self, "entity", LEDGER)
        if self.ledger is None:
            object.__setattr__(self, "ledger", Ledger())
        for key, default in (("credits", None), ("lines", "items")):
            if getattr(self, key) != default:
                raise ValueError(f"{key}: not used by a ledger flow (postings are already "
                                 "net and signed by account type)")
        if self.accounts.shipping or self.accounts.adjustment:
            raise ValueError("accounts: not used by a ledger flow; choose accounts in "
                             "ledger.accounts or ledger.account_types")
        self._check_fields(LEDGER, frozenset())  # postings have no lines
        if self.dimensional:
            raise ValueError("Zoho's general ledger carries no reporting tag, location, "
                             "project, item or salesperson: read them from documents "
                             "(source: documents)")
        for name, column in self.columns.items():
            if column.amount is not None and column.currency == "document":
                raise ValueError(f"column {name!r}: ledger amounts are in the base currency "
                                 "(currency: document is not available)")
        if self.mode == "full":
            raise ValueError("mode 'full' would read every posting ever made: use mode "
                             "'period' (a backfill covers history) or 'incremental'")
        self._check_sums()
        if self.mode == "incremental" and (self.grain != "aggregate"
                                           or self.period_field != "transaction_date"):
            raise ValueError("an incremental ledger flow rebuilds every month its changed "
                             "documents fall in: it needs grain 'aggregate' and a column "
                             "'period: transaction_date'")
        self._check_monthly()
        return self

    def _check_list(self) -> None:
        """``loads`` is for list flows; ``code``, ``name`` and ``text`` only with it, the
        columns they name the flow's."""
        if self.loads is None:
            given = [k for k in ("code", "name") if getattr(self, k) is not None]
            if self.text != "report":
                given.append("text")
            if given:
                raise ValueError(f"{', '.join(given)}: only with loads (the Anaplan list the "
                                 "flow writes, e.g. loads: Departments)")
            return
        if self.mode != "full" or self.grain != "record" or self.is_ledger:
            raise ValueError("loads: names the list a list flow writes: it needs mode 'full' "
                             "and grain 'record'")
        for key in ("code", "name"):
            column = getattr(self, key)
            if column is not None and column not in self.columns:
                raise ValueError(f"{key}: {column!r} is not a column of the flow; columns: "
                                 f"{', '.join(self.columns)}")
        code, name = self.list_columns
        if code == name:
            raise ValueError(f"code and name: both name column {code!r}")

    @property
    def list_columns(self) -> tuple[str, str | None]:
        """(code column, name column) of a list flow: ``code`` and ``name``, else the first
        and second columns (no name column for a one-column flow)."""
        code = self.code or next(iter(self.columns))
        others = [c for c in list(self.columns)[:2] if c != code]
        return code, self.name or (others[0] if others else None)

    def _check_fields(self, entity: str, lines: frozenset[str]) -> None:
        """Every column's source (``line.*`` against ``lines``), lookup key and value, and
        ``where`` field is one the entity has."""
        fields = known_fields(entity)
        for name, column in self.columns.items():
            _check_field(entity, fields, name, column.source_field, lines=lines)
            if column.lookup is not None:
                other = get_entity(column.lookup.entity).name
                for role in ("key", "value"):
                    _check_field(other, known_fields(other), name,
                                 getattr(column.lookup, role), f"lookup {role}")
        for name in self.where:
            _check_field(entity, fields, "where", name)

    def _check_sums(self) -> None:
        if self.grain == "aggregate" and not any(c.amount for c in self.columns.values()):
            raise ValueError("an aggregate flow needs at least one amount column to sum")

    def _check_monthly(self) -> None:
        if self.grain == "aggregate" and self.mode == "period" and self.schedule != "monthly":
            raise ValueError(f"an aggregate flow in mode 'period' sends whole month cells, so "
                             f"it runs monthly (got schedule {self.schedule!r}); to refresh "
                             "more often use mode 'incremental'")

    @property
    def is_ledger(self) -> bool:
        return self.source == LEDGER

    @property
    def change_entities(self) -> list[str]:
        """The modules an incremental run lists for changes: the flow's, or for a ledger
        flow the modules whose documents post the chosen transaction types."""
        if self.ledger is not None:
            return self.ledger.modules()
        return self.entities

    @property
    def sees_deletes(self) -> bool:
        """Whether runs remove documents deleted in Zoho: incremental documents flows
        (the deletes of their ``change_entities``)."""
        return self.mode == "incremental" and not self.is_ledger

    @property
    def remembers_lines(self) -> bool:
        """Whether the state store keeps the rows sent for each document (incremental
        record-grain flows: to send them as zero once the document is deleted)."""
        return self.sees_deletes and self.grain == "record"

    @property
    def record_ids(self) -> list[tuple[str, str]]:
        """(id field, module) of the records a run sends, in ``entities`` order: a ledger
        flow's postings are named by their document (``transaction_id``)."""
        if self.is_ledger:
            return [("transaction_id", LEDGER)]
        return [(get_entity(e).id_field, e) for e in self.entities]

    @property
    def uses_lines(self) -> bool:
        has_lines = self.is_ledger or get_entity(self.entity).has_line_items
        return any(c.on_lines(has_lines) for c in self.columns.values())

    @property
    def dimensional(self) -> bool:
        """Whether a column reads a reporting tag or a location, project, item or
        salesperson (which Zoho's general ledger does not carry)."""
        return any(c.tag is not None or c.dimension is not None for c in self.columns.values())

    def _check_align(self, align: Align) -> None:
        """``align`` names an export and a column for each of the flow's columns (its own,
        else verify's), and the flow has one amount and a period to align."""
        if self.grain != "aggregate" or self.period_field is None:
            raise ValueError("align: needs grain 'aggregate' and a period column (the "
                             "months aligned)")
        if sum(1 for c in self.columns.values() if c.amount) != 1:
            raise ValueError("align: needs exactly one amount column")
        if align.export is None or align.columns is None:
            if self.verify is None:
                raise ValueError("align: give export and columns, or set verify (align "
                                 "reads its export)")
            align.export = align.export or self.verify.export
            align.columns = align.columns or dict(self.verify.columns)
        missing = sorted(set(self.columns) - set(align.columns))
        if missing:
            raise ValueError(f"align.columns: no export column for {', '.join(missing)}")
        if align.actual in align.plans:
            raise ValueError(f"align.plans: {align.actual!r} is the actual version")

    @property
    def period_field(self) -> str | None:
        """The date field of the first ``period`` column (the month a row belongs to)."""
        return next((c.period for c in self.columns.values() if c.period), None)

    @property
    def rebuilds_months(self) -> bool:
        """Incremental aggregate: changed records name the months to re-extract whole."""
        return self.grain == "aggregate" and self.mode == "incremental"

    @property
    def entities(self) -> list[str]:
        """The modules a run reads: the flow's, then the one that credits it."""
        return [self.entity] + ([self.credits] if self.credits else [])

    @property
    def member_lists(self) -> dict[str, list[str]]:
        """Anaplan list (as ``list:`` names it) -> the columns that hold its members."""
        found: dict[str, list[str]] = {}
        for name, column in self.columns.items():
            if column.list_ is not None:
                found.setdefault(column.list_, []).append(name)
        return found

    @property
    def lookup_entities(self) -> set[str]:
        found = {get_entity(c.lookup.entity).name for c in self.columns.values() if c.lookup}
        if self.accounts.shipping or self.accounts.adjustment or self.is_ledger:
            found.add("chartofaccounts")
        return found


def read_modules(flows: Iterable[Flow]) -> set[str]:
    """Every Zoho module the flows read: their own, their lookups' (the chart of accounts
    for ledger flows) and those they list for changes."""
    return {e for f in flows for e in [*f.entities, *f.lookup_entities, *f.change_entities]
            if e != LEDGER}


def posting_fields(header: bool) -> frozenset[str]:
    """What ``line.*`` reads with ``lines: postings``: a line item's fields and its
    ``amount``, or the one posting line of a document that posts its header."""
    return HEADER_POSTING if header else LINE_ITEM | {"amount"}


def list_flows(flows: Iterable[Flow]) -> dict[str, list[str]]:
    """Module -> the flows that load it whole into an Anaplan list (mode full)."""
    found: dict[str, list[str]] = {}
    for flow in flows:
        if flow.mode == "full" and flow.grain == "record" and not flow.is_ledger:
            found.setdefault(flow.entity, []).append(flow.id)
    return found


def list_loads(flows: Iterable[Flow]) -> dict[str, list[str]]:
    """Anaplan list (as ``loads:`` names it) -> the list flows whose import writes it."""
    found: dict[str, list[str]] = {}
    for flow in flows:
        if flow.loads is not None:
            found.setdefault(flow.loads, []).append(flow.id)
    return found


def _check_field(entity: str, fields: frozenset[str] | None, column: str, path: str | None,
                 role: str = "field", lines: frozenset[str] = LINE_ITEM) -> None:
    if path is None:
        return
    catalogue: frozenset[str] | None
    if path.startswith("line."):
        name, catalogue, what = path[5:], lines, f"{entity} line item"
    else:
        name, catalogue, what = path, fields, entity
    if catalogue is not None and name not in catalogue:
        raise ValueError(f"column {column!r}: unknown {what} {role} {name!r}; known: "
                         f"{', '.join(sorted(catalogue))}")


class Pool(_Strict):
    """An Airflow pool shared by every flow's tasks on one side (create it with
    ``ml-connector pools``): its slots bound how many of those tasks run at once."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    slots: int = Field(default=1, ge=1)
    description: str = ""


class Changes(_Strict):
    """How incremental flows learn of changes between their scheduled runs: the asset
    watcher of each module they read fires a run when its records change."""

    source: Literal["webhooks", "poll", "schedule"] = Field(
        default="webhooks", description="webhooks: events the receiver recorded in the "
        "state store (no Zoho request); poll: one Zoho list request per module every "
        "poll_minutes, charged to the daily quota; schedule: the cron schedule only")
    check_seconds: float = Field(default=5, gt=0, le=300, description="webhooks: how often "
                                 "the watcher reads the state store for new events")
    settle_seconds: float = Field(default=2, ge=0, le=60, description="webhooks: a burst "
                                  "of events becomes one run once none came for this long")
    poll_minutes: float = Field(default=60, ge=1, description="poll: minutes between two "
                                "checks (each costs one request per module, from the daily "
                                "quota: 9 modules hourly are 216 requests a day)")

    @property
    def interval(self) -> float:
        """Seconds between two checks of a watcher."""
        return self.check_seconds if self.source == "webhooks" else self.poll_minutes * 60


class TransactionLocks(_Strict):
    """How runs read Zoho's transaction locks (one request, kept for ``cache_hours``): a
    path Zoho does not serve, or a scope the refresh token lacks, means no lock is known."""

    read: bool = Field(default=True, description="false: no request; only closed_before "
                       "closes months")
    path: str = Field(default="/transactionlocks", pattern=r"^/[A-Za-z0-9/_-]+$",
                      description="the Books path listing the locks (observed)")
    scope: str = Field(default="settings", pattern=r"^[a-z]+$", description="the module of "
                       "the READ scope the path needs (unknown; ZohoBooks.<scope>.READ)")
    module_field: str = Field(default="module", description="the field of a lock naming "
                              "its module (sales, purchase, accountant, ...); a lock "
                              "without it and with lock_scope 0 locks every module")
    cache_hours: float = Field(default=24, ge=0, description="the locks read are reused "
                               "for this long (0: read on every run)")


class Defaults(_Strict):
    zoho_conn_id: str = "zoho_books_default"
    anaplan_conn_id: str = "anaplan_default"
    owner: str = "finance-data"
    start_date: date = date(2026, 1, 1)
    retries: int = Field(default=2, ge=0)
    zoho_pool: Pool | None = None
    anaplan_pool: Pool | None = None
    lookup_max_age_hours: float = Field(
        default=24, ge=0, description="lookup lists (e.g. the chart of accounts) read by a "
        "flow are reused from the organization's last full read while younger than this; "
        "0 reads them on every run")
    ledger_reuse_minutes: float = Field(
        default=60, ge=0, le=1440, description="a ledger flow takes an account's month "
        "from another ledger flow's read of it made this recently, when no posting document "
        "changed since that read; 0 reads every month itself")
    on_quota: Literal["fail", "wait"] = Field(
        default="fail", description="an extract the organization's daily Zoho quota cannot "
        "carry fails at once, or waits in the triggerer for the quota to reset")
    changes: Changes = Field(default_factory=Changes)
    closed_before: date | None = Field(
        default=None, description="every flow's months ending before this date are closed "
        "(a flow's own closed_before replaces it)")
    transaction_locks: TransactionLocks = Field(default_factory=TransactionLocks)
    fx: FxSource | None = Field(
        default=None, description="where every flow's translate: columns take their rates "
        "(a flow's own fx: replaces it)")
    organizations: list[Organization] = Field(
        default_factory=list, description="the organizations of every flow with an "
        "organization: entity column and no organizations of its own")

    def pools(self) -> dict[str, dict]:
        """The pools as ``airflow pools import`` reads them."""
        return {p.name: {"slots": p.slots, "description": p.description,
                         "include_deferred": False}
                for p in (self.zoho_pool, self.anaplan_pool) if p is not None}


def crosscheck_problems(flows: Iterable[Flow]) -> dict[str, str]:
    """flow id -> what is wrong with its ``crosscheck`` against the other flows (and how
    to fix it); a valid one is bound to its other flow."""
    by_id = {f.id: f for f in flows}
    problems: dict[str, str] = {}
    for flow in by_id.values():
        if flow.crosscheck is not None:
            problem = _crosscheck_problem(flow, flow.crosscheck, by_id)
            if problem:
                problems[flow.id] = f"crosscheck.{problem}"
            else:
                flow.crosscheck._other = by_id[flow.crosscheck.flow]
    return problems


def _crosscheck_problem(flow: Flow, check: Crosscheck, flows: dict[str, Flow]) -> str | None:
    other = flows.get(check.flow)
    if other is None or other.id == flow.id:
        return (f"flow: no other flow {check.flow!r} in the file; name the aggregate flow "
                f"whose cells these sum to (flows: {', '.join(sorted(set(flows) - {flow.id}))})")
    for f in (flow, other):
        if f.grain != "aggregate" or f.period_field is None:
            return (f"flow: {f.id} must be an aggregate flow with a period column (cells per "
                    "month are compared)")
    keys, amounts = check.shared(flow, other)
    periods = {n for f in (flow, other) for n, c in f.columns.items() if c.period is not None}
    for key in keys:
        for f in (flow, other):
            column = f.columns.get(key)
            if column is None or column.amount is not None:
                return (f"keys: {key!r} is not a non-amount column of {f.id}; list the "
                        "columns both flows share (e.g. Account, Period)")
    if not keys or not periods <= set(keys):
        return (f"keys: the shared columns {keys} must include both flows' period column "
                f"({', '.join(sorted(periods))}, one name in both); rename it alike or list it")
    if not amounts:
        return (f"flow: {flow.id} and {other.id} have no amount column of the same name to "
                "compare; name them alike")
    for key in check.only:
        if key not in keys:
            return f"only: {key!r} is not one of the shared keys ({', '.join(keys)})"
    return _same_documents(flow, other, check)


def _same_documents(flow: Flow, other: Flow, check: Crosscheck) -> str | None:
    """Whether the two flows read the same postings: same documents and rules, or (against
    a ledger flow) the transaction types of the documents, else ``only`` some keys."""
    if flow.is_ledger and other.is_ledger:
        return None if flow.ledger == other.ledger else (
            f"flow: {other.id} reads other ledger postings than {flow.id} (ledger keys "
            "differ); compare flows that read the same accounts and transaction types")
    if flow.is_ledger or other.is_ledger:
        ledger, documents = (flow, other) if flow.is_ledger else (other, flow)
        assert ledger.ledger is not None
        types = {t for t, m in TRANSACTION_MODULES.items() if m in documents.entities}
        read = set(ledger.ledger.transaction_types or TRANSACTION_MODULES)
        if read != types and not check.only:
            return (f"only: {ledger.id} sums every posting of its accounts "
                    f"({', '.join(sorted(read))}), {documents.id} only "
                    f"{', '.join(sorted(types))}: the sums agree only on "
                    "accounts no other transaction posts to; list them (only: {Account: "
                    "[...]}) or set that flow's ledger.transaction_types")
        return None
    rules = ("entities", "lines", "accounts", "exclude_status", "where")
    for rule in rules:
        if getattr(flow, rule) != getattr(other, rule):
            key = "entity/credits" if rule == "entities" else rule
            return (f"flow: {other.id} and {flow.id} read different documents or postings "
                    f"({key} differ); the sums agree only between flows that read the same "
                    "documents with the same rules")
    return None


class FlowsFile(_Strict):
    defaults: Defaults = Field(default_factory=Defaults)
    flows: list[Flow]

    @model_validator(mode="after")
    def _unique(self) -> FlowsFile:
        seen: set[str] = set()
        for flow in self.flows:
            if flow.id in seen:
                raise ValueError(f"flow id {flow.id!r} is used twice")
            seen.add(flow.id)
        return self


def _where(loc: tuple, data: object) -> str:
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            flow_id = node[key].get("id") if isinstance(node, list) and isinstance(
                node[key], dict) else None
            parts[-1] += f"[{key}]" + (f" ({flow_id})" if flow_id else "")
        else:
            parts.append(str(key))
        node = node[key] if isinstance(node, (list, dict)) and _has(node, key) else None
    return ".".join(parts)


def _has(node, key) -> bool:
    return key in node if isinstance(node, dict) else isinstance(key, int) and key < len(node)


def parse_flows(data: object, source: str = "flows.yaml", *,
                crosschecks: bool = True) -> FlowsFile:
    """Validate flow data; every problem is reported with its key path and value. With
    ``crosschecks``, each flow's ``crosscheck`` is checked against (and bound to) the
    other flows of the data."""
    try:
        spec = FlowsFile.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(k for k in err["loc"] if not (isinstance(k, str) and "[" in k))
            where = _where(loc, data) or "(top level)"
            message = re.sub(r"^Value error, ", "", err["msg"])
            value = err.get("input")
            shown = "" if isinstance(value, (dict, list)) or value is None else f" (got {value!r})"
            lines.append(f"{where}: {message}{shown}")
        raise ConfigError(f"{source} is invalid:\n  " + "\n  ".join(lines)) from None
    except ConfigError as exc:
        raise ConfigError(f"{source} is invalid: {exc}") from None
    problems = crosscheck_problems(spec.flows) if crosschecks else {}
    if problems:
        at = {flow.id: n for n, flow in enumerate(spec.flows)}
        raise ConfigError(f"{source} is invalid:\n  " + "\n  ".join(
            f"flows[{at[k]}] ({k}): {v}" for k, v in problems.items()))
    return spec


def _read(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no flows file at {path}: name it with --flows, or write the "
                          "starter one into the DAGs folder with `ml-connector init`") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name} is not valid YAML: {exc}") from None


def load_flows(path: str | Path) -> FlowsFile:
    """The flows file, every flow valid (else a ``ConfigError`` listing every problem);
    a column's ``map`` file is read from beside it."""
    path = Path(path)
    spec = parse_flows(_read(path), path.name)
    beside(spec.defaults.fx, path.parent)
    for flow in spec.flows:
        read_maps(flow, path.parent)
        beside(flow.fx, path.parent)
    return spec


def beside(fx: FxSource | None, folder: Path) -> None:
    """A ``source: csv`` rate file named relative to flows.yaml, made absolute."""
    if fx is not None and fx.file and not Path(fx.file).is_absolute():
        object.__setattr__(fx, "file", str(folder / fx.file))


def read_maps(flow: Flow, folder: Path) -> None:
    """Replace each ``map: <file>`` of ``flow``'s columns by the table the CSV file (in
    ``folder``) holds: a header ``zoho,anaplan``, then one Zoho value and its member per
    line; many values may share a member, a value may appear once."""
    for name, column in flow.columns.items():
        if not isinstance(column.map, str):
            continue
        what = f"flow {flow.id}: column {name!r}: map {column.map}"
        rows = csv_beside(folder / column.map, what, ("zoho", "anaplan"))
        table: dict[str, str] = {}
        for number, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) < 2 or row[1] == "":
                raise ConfigError(f"{what} line {number}: expected a Zoho value and a member, "
                                  f"got {row!r}")
            if row[0] in table and table[row[0]] != row[1]:
                raise ConfigError(f"{what} line {number}: {row[0]!r} is mapped twice "
                                  f"({table[row[0]]!r} and {row[1]!r})")
            table[row[0]] = row[1]
        object.__setattr__(column, "map", table)


def split_flows(data: object, source: str = "flows.yaml") -> tuple[FlowsFile, list[str]]:
    """The valid flows of flow data, and a message for each invalid one (its id, key and
    value): one bad flow does not take the others down. The defaults, and the file's shape,
    must be valid."""
    if not isinstance(data, dict) or not isinstance(data.get("flows"), list):
        return parse_flows(data, source), []  # reports what is wrong with the shape
    flows: list = data["flows"]
    header = parse_flows({**data, "flows": []}, source)
    valid: list[Flow] = []
    problems: list[str] = []
    labels: dict[str, str] = {}
    for n, entry in enumerate(flows):
        label = f"flows[{n}]" + (f" ({entry.get('id')})" if isinstance(entry, dict)
                                 and entry.get("id") else "")
        try:
            flow = parse_flows({"flows": [entry]}, source, crosschecks=False).flows[0]
        except ConfigError as exc:
            detail = str(exc).removeprefix(f"{source} is invalid:").strip()
            problems.append(detail.replace("flows[0]", f"flows[{n}]"))
            continue
        if any(f.id == flow.id for f in valid):
            problems.append(f"{label}: flow id {flow.id!r} is used twice")
            continue
        valid.append(flow)
        labels[flow.id] = label
    crossed = crosscheck_problems(valid)
    problems += [f"{labels[k]}: {v}" for k, v in crossed.items()]
    valid = [f for f in valid if f.id not in crossed]
    return header.model_copy(update={"flows": valid}), problems


def load_valid_flows(path: str | Path) -> tuple[FlowsFile, list[str]]:
    """``split_flows`` of a flows file (with its columns' ``map`` files read; a flow whose
    map file cannot be read is invalid)."""
    path = Path(path)
    spec, problems = split_flows(_read(path), path.name)
    beside(spec.defaults.fx, path.parent)
    valid = []
    for flow in spec.flows:
        beside(flow.fx, path.parent)
        try:
            read_maps(flow, path.parent)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        valid.append(flow)
    return spec.model_copy(update={"flows": valid}), problems
