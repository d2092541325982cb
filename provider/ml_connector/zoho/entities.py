"""The Zoho Books modules the connector reads, and how each one is addressed."""

from __future__ import annotations

from dataclasses import dataclass

from ml_connector.errors import ConfigError


@dataclass(frozen=True)
class Entity:
    """A Books module: its path, list and detail keys, id field and supported filters."""

    name: str
    detail_key: str
    id_field: str
    scope: str
    date_filters: bool = True
    modified_filter: bool = True
    sort_by_created: bool = True
    has_line_items: bool = False
    #: No line items: the document posts its header, one account and amount (expenses).
    posts_header: bool = False
    list_params: tuple[tuple[str, str], ...] = ()
    key: str | None = None
    credits: str | None = None  # the module whose documents this one credits (reverses)
    #: Its records are not a list endpoint's rows but read by ``zoho.tags`` (tag options).
    reader: str | None = None
    #: Its changes can be watched (a workflow rule's webhook, or polling its newest
    #: ``last_modified_time``); settings lists without either are reloaded on schedule.
    watched: bool = True

    @property
    def path(self) -> str:
        return "/reportingtags" if self.reader == "tags" else f"/{self.name}"

    @property
    def list_key(self) -> str:
        """The list response's array key: the module name, except where Zoho differs."""
        return self.key or self.name

    @property
    def detailed(self) -> bool:
        """Whether its detail holds what its list rows lack: line items, or the header that
        a document without lines posts (an expense's ``account_id`` and amounts)."""
        return self.has_line_items or self.posts_header

    @property
    def oauth_scope(self) -> str:
        """The READ scope a refresh token needs for this module."""
        return read_scope(self.scope)


def read_scope(module: str) -> str:
    return f"ZohoBooks.{module}.READ"


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity("invoices", "invoice", "invoice_id", "invoices", has_line_items=True),
        Entity("bills", "bill", "bill_id", "bills", has_line_items=True),
        Entity("purchaseorders", "purchaseorder", "purchaseorder_id", "purchaseorders",
               has_line_items=True),
        Entity("creditnotes", "creditnote", "creditnote_id", "creditnotes", has_line_items=True,
               credits="invoices"),
        # Zoho's Vendor Credits API: list key "vendor_credits", OAuth scope
        # ZohoBooks.debitnotes.READ (zoho.com/books/api/v3/vendor-credits).
        Entity("vendorcredits", "vendor_credit", "vendor_credit_id", "debitnotes",
               has_line_items=True, key="vendor_credits", credits="bills"),
        Entity("customerpayments", "payment", "payment_id", "customerpayments"),
        Entity("vendorpayments", "vendorpayment", "payment_id", "vendorpayments"),
        # No line items (Zoho's expense schema): the header is the posting; its list rows
        # lack account_id, the amounts net of tax, project_id and exchange_rate.
        Entity("expenses", "expense", "expense_id", "expenses", posts_header=True),
        # last_modified_time on /journals matches equal dates only: window by date instead.
        Entity("journals", "journal", "journal_id", "accountants", has_line_items=True,
               modified_filter=False),
        Entity("contacts", "contact", "contact_id", "contacts", date_filters=False,
               sort_by_created=False),
        # Items sit under ZohoBooks.settings in Zoho's scope list.
        Entity("items", "item", "item_id", "settings", date_filters=False,
               sort_by_created=False),
        # Locations (with their parents) and projects: the lists of two planning dimensions
        # (shared/api/zoho-books.md, "Planning dimensions on documents").
        Entity("locations", "location", "location_id", "settings", date_filters=False,
               modified_filter=False, sort_by_created=False, watched=False),
        Entity("projects", "project", "project_id", "projects", date_filters=False,
               modified_filter=False, sort_by_created=False, watched=False),
        # Every reporting tag's options, one row each (``zoho.tags``): a tag's options are the
        # members of its dimension's list.
        Entity("tagoptions", "reporting_tag", "option_id", "settings", date_filters=False,
               modified_filter=False, sort_by_created=False, reader="tags", watched=False),
        # /chartofaccounts (and its transactions) need ZohoBooks.accountants.READ.
        Entity("chartofaccounts", "chart_of_account", "account_id", "accountants",
               date_filters=False, modified_filter=False, sort_by_created=False,
               list_params=(("filter_by", "AccountType.All"),)),
    )
}
ALIASES = {
    "purchase_orders": "purchaseorders",
    "chart_of_accounts": "chartofaccounts",
    "accounts": "chartofaccounts",
    "credit_notes": "creditnotes",
    "vendor_credits": "vendorcredits",
    "customer_payments": "customerpayments",
    "vendor_payments": "vendorpayments",
}


def get_entity(name: str) -> Entity:
    """The entity called ``name`` (or a common alias of it); a ``ConfigError`` otherwise."""
    key = (name or "").strip().lower()
    key = ALIASES.get(key, key)
    if key not in ENTITIES:
        raise ConfigError(
            f"unknown Zoho Books entity {name!r}; expected one of {', '.join(ENTITIES)}"
        )
    return ENTITIES[key]
