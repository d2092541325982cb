"""The Books modules the emulator serves: paths, keys, list fields, statuses and filters."""

from __future__ import annotations

from dataclasses import dataclass, field


def norm(value: str) -> str:
    """Filter names compare without case and underscores (``Status.PartiallyPaid``)."""
    return value.replace("_", "").lower()


@dataclass(frozen=True)
class Kind:
    """One Books module: ``/name`` lists it under key ``list_key`` (default: ``name``),
    ``/name/{id}`` under ``singular``. ``filters`` maps a normalized ``filter_by``/``status``
    value to ``(field, allowed values)``. ``credits`` names the module whose documents this
    one credits (credit notes: invoices, vendor credits: bills). ``date_field`` is the
    document date the ``date_*`` filters read (``date``; journals: ``journal_date``; none on
    reference data). ``modified_on_day``: ``last_modified_time`` matches records modified on
    the value's date, not after it (observed on ``/journals``, shared/api/zoho-books.md)."""

    name: str
    singular: str
    label: str
    report_name: str
    id_field: str
    code: int
    scope: str
    list_fields: tuple[str, ...]
    sort_columns: tuple[str, ...]
    index_sorted: frozenset[str]
    default_sort: str = "created_time"
    default_order: str = "D"
    filter_prefix: str = "Status"
    filters: dict[str, tuple[str, frozenset]] = field(default_factory=dict)
    statuses: tuple[tuple[str, int], ...] = ()
    party: str | None = None
    number_field: str | None = None
    number_prefix: str = ""
    due_field: str | None = None
    has_balance: bool = False
    line_account: str = "income"
    list_key: str = ""
    credits: str | None = None
    date_field: str | None = None
    modified_on_day: bool = False

    def __post_init__(self) -> None:
        if not self.list_key:
            object.__setattr__(self, "list_key", self.name)
        if self.date_field is None and self.party is not None:
            object.__setattr__(self, "date_field", "date")

    @property
    def has_date(self) -> bool:
        return self.date_field is not None

    @property
    def all_filter(self) -> str:
        return f"{self.filter_prefix}.All"


def _status_filters(statuses: tuple[tuple[str, int], ...], **groups: set[str]) -> dict:
    found = {norm(s): ("status", frozenset({s})) for s, _ in statuses}
    found.update({norm(k): ("status", frozenset(v)) for k, v in groups.items()})
    return found


_INVOICE_STATUSES = (("draft", 8), ("sent", 20), ("viewed", 7), ("overdue", 10),
                     ("paid", 45), ("partially_paid", 6), ("void", 4))
_BILL_STATUSES = (("draft", 6), ("open", 25), ("overdue", 10), ("paid", 48),
                  ("partially_paid", 7), ("void", 4))
_PO_STATUSES = (("draft", 10), ("open", 30), ("billed", 45), ("partially_billed", 10),
                ("cancelled", 5))
_CREDIT_STATUSES = (("draft", 8), ("open", 30), ("closed", 57), ("void", 5))
_STAMPS = ("created_time", "last_modified_time")
#: On the list rows of invoices, bills and expenses of organizations with locations
#: (confirmed; not on vendor credit or purchase order lists). A row holds the fields its
#: record has.
_LOCATION = ("location_id", "location_name")

INVOICES = Kind(
    name="invoices", singular="invoice", label="Invoice", report_name="Invoices",
    id_field="invoice_id", code=1, scope="invoices",
    list_fields=("invoice_id", "invoice_number", "customer_id", "customer_name", "status",
                 "date", "due_date", "currency_id", "currency_code", "exchange_rate", "total",
                 "balance", "reference_number", "salesperson_name", "due_days", "is_emailed",
                 "last_payment_date", *_STAMPS, "salesperson_id", *_LOCATION),
    sort_columns=("customer_name", "invoice_number", "date", "due_date", "total", "balance",
                  *_STAMPS),
    index_sorted=frozenset({"created_time", "date", "invoice_number"}),
    filters=_status_filters(_INVOICE_STATUSES,
                            unpaid={"sent", "viewed", "overdue", "partially_paid"}),
    statuses=_INVOICE_STATUSES, party="customer", number_field="invoice_number",
    number_prefix="INV-", due_field="due_date", has_balance=True, line_account="income",
)
BILLS = Kind(
    name="bills", singular="bill", label="Bill", report_name="Bills",
    id_field="bill_id", code=2, scope="bills",
    list_fields=("bill_id", "bill_number", "vendor_id", "vendor_name", "status", "date",
                 "due_date", "currency_id", "currency_code", "exchange_rate", "total",
                 "balance", "reference_number", *_STAMPS, *_LOCATION),
    sort_columns=("vendor_name", "bill_number", "date", "due_date", "total", "balance",
                  *_STAMPS),
    index_sorted=frozenset({"created_time", "date", "bill_number"}),
    filters=_status_filters(_BILL_STATUSES, unpaid={"open", "overdue", "partially_paid"}),
    statuses=_BILL_STATUSES, party="vendor", number_field="bill_number",
    number_prefix="BILL-", due_field="due_date", has_balance=True, line_account="expense",
)
PURCHASEORDERS = Kind(
    name="purchaseorders", singular="purchaseorder", label="Purchase Order",
    report_name="Purchase Orders", id_field="purchaseorder_id", code=3, scope="purchaseorders",
    list_fields=("purchaseorder_id", "purchaseorder_number", "vendor_id", "vendor_name",
                 "status", "date", "delivery_date", "currency_id", "currency_code",
                 "exchange_rate", "total", "reference_number", *_STAMPS),
    sort_columns=("vendor_name", "purchaseorder_number", "date", "delivery_date", "total",
                  *_STAMPS),
    index_sorted=frozenset({"created_time", "date", "purchaseorder_number"}),
    filters=_status_filters(_PO_STATUSES),
    statuses=_PO_STATUSES, party="vendor", number_field="purchaseorder_number",
    number_prefix="PO-", due_field="delivery_date", has_balance=False, line_account="expense",
)
CONTACTS = Kind(
    name="contacts", singular="contact", label="Contact", report_name="Contacts",
    id_field="contact_id", code=4, scope="contacts",
    list_fields=("contact_id", "contact_name", "company_name", "contact_type",
                 "customer_sub_type", "status", "currency_id", "currency_code", "email",
                 "phone", "payment_terms", *_STAMPS),
    sort_columns=("contact_name", "company_name", *_STAMPS),
    index_sorted=frozenset({"created_time"}),
    default_sort="contact_name", default_order="A",
    filters={
        "active": ("status", frozenset({"active"})),
        "inactive": ("status", frozenset({"inactive"})),
        "customers": ("contact_type", frozenset({"customer"})),
        "vendors": ("contact_type", frozenset({"vendor"})),
    },
)
CHARTOFACCOUNTS = Kind(
    name="chartofaccounts", singular="chart_of_account", label="Account",
    # Zoho's Chart of Accounts page: /chartofaccounts needs ZohoBooks.accountants.READ.
    report_name="Chart of Accounts", id_field="account_id", code=5, scope="accountants",
    list_fields=("account_id", "account_name", "account_code", "account_type", "is_active",
                 "parent_account_id", "parent_account_name", "description", *_STAMPS),
    sort_columns=("account_name", "account_code", "account_type", *_STAMPS),
    index_sorted=frozenset({"created_time"}),
    default_sort="account_name", default_order="A", filter_prefix="AccountType",
    filters={
        "active": ("is_active", frozenset({True})),
        "inactive": ("is_active", frozenset({False})),
        **{norm(t): ("account_type", frozenset({t})) for t in (
            "cash", "bank", "accounts_receivable", "stock", "other_current_asset",
            "fixed_asset", "accounts_payable", "other_current_liability", "equity", "income",
            "other_income", "cost_of_goods_sold", "expense", "other_expense")},
        "asset": ("account_type", frozenset({"cash", "bank", "accounts_receivable", "stock",
                                             "other_current_asset", "fixed_asset"})),
        "liability": ("account_type", frozenset({"accounts_payable",
                                                 "other_current_liability"})),
    },
)
ITEMS = Kind(
    name="items", singular="item", label="Item", report_name="Items",
    id_field="item_id", code=6, scope="settings",
    list_fields=("item_id", "name", "sku", "description", "rate", "purchase_rate", "status",
                 "item_type", "product_type", "account_id", "account_name",
                 "purchase_account_id", "purchase_account_name", "tax_id", "tax_percentage",
                 *_STAMPS),
    sort_columns=("name", "rate", "purchase_rate", *_STAMPS),
    index_sorted=frozenset({"created_time"}),
    default_sort="name", default_order="A",
    filters={
        "active": ("status", frozenset({"active"})),
        "inactive": ("status", frozenset({"inactive"})),
    },
)

CREDITNOTES = Kind(
    name="creditnotes", singular="creditnote", label="Credit Note", report_name="Credit Notes",
    id_field="creditnote_id", code=10, scope="creditnotes",
    list_fields=("creditnote_id", "creditnote_number", "customer_id", "customer_name", "status",
                 "date", "currency_id", "currency_code", "exchange_rate", "total", "balance",
                 "reference_number", *_STAMPS),
    sort_columns=("customer_name", "creditnote_number", "date", "total", "balance", *_STAMPS),
    index_sorted=frozenset({"created_time", "date", "creditnote_number"}),
    filters=_status_filters(_CREDIT_STATUSES),
    statuses=_CREDIT_STATUSES, party="customer", number_field="creditnote_number",
    number_prefix="CN-", has_balance=True, line_account="income", credits="invoices",
)
VENDORCREDITS = Kind(
    name="vendorcredits", singular="vendor_credit", label="Vendor Credit",
    report_name="Vendor Credits", id_field="vendor_credit_id", code=11,
    # Zoho's Vendor Credits API page names the OAuth scope ZohoBooks.debitnotes.READ.
    scope="debitnotes",
    list_fields=("vendor_credit_id", "vendor_credit_number", "vendor_id", "vendor_name",
                 "status", "date", "currency_id", "currency_code", "exchange_rate", "total",
                 "balance", "reference_number", *_STAMPS),
    sort_columns=("vendor_name", "vendor_credit_number", "date", "total", "balance", *_STAMPS),
    index_sorted=frozenset({"created_time", "date", "vendor_credit_number"}),
    filters=_status_filters(_CREDIT_STATUSES),
    statuses=_CREDIT_STATUSES, party="vendor", number_field="vendor_credit_number",
    number_prefix="DN-", has_balance=True, line_account="expense",
    list_key="vendor_credits",  # Zoho lists /vendorcredits under "vendor_credits"
    credits="bills",
)

_EXPENSE_STATUSES = (("non-billable", 60), ("unbilled", 20), ("invoiced", 10),
                     ("reimbursed", 10))
EXPENSES = Kind(
    # Zoho's Expenses API page: /expenses, list key "expenses", detail key "expense",
    # scope ZohoBooks.expenses.READ; statuses unbilled, invoiced, reimbursed, non-billable.
    name="expenses", singular="expense", label="Expense", report_name="Expenses",
    id_field="expense_id", code=13, scope="expenses",
    list_fields=("expense_id", "date", "account_id", "account_name", "paid_through_account_id",
                 "paid_through_account_name", "description", "currency_id", "currency_code",
                 "exchange_rate", "total", "bcy_total", "total_without_tax",
                 "bcy_total_without_tax", "is_billable", "reference_number", "customer_id",
                 "customer_name", "vendor_id", "vendor_name", "status", *_STAMPS, *_LOCATION),
    sort_columns=("date", "account_name", "total", "bcy_total", "reference_number",
                  "customer_name", "vendor_name", "paid_through_account_name", *_STAMPS),
    index_sorted=frozenset({"created_time", "date"}),
    filters=_status_filters(_EXPENSE_STATUSES, billable={"unbilled", "invoiced"},
                            nonbillable={"non-billable"}),
    statuses=_EXPENSE_STATUSES, date_field="date",
)
_JOURNAL_STATUSES = (("published", 92), ("draft", 8))
JOURNALS = Kind(
    # Zoho's Journals API page: /journals, keys "journals" / "journal", journal_date,
    # entry_number, line_items with debit_or_credit and amount; the Chart of Accounts
    # scope (ZohoBooks.accountants.READ) covers it (shared/api/zoho-books.md).
    name="journals", singular="journal", label="Journal", report_name="Journals",
    id_field="journal_id", code=12, scope="accountants",
    list_fields=("journal_id", "journal_date", "entry_number", "reference_number",
                 "currency_id", "currency_code", "exchange_rate", "notes", "journal_type",
                 "status", "total", *_STAMPS),
    sort_columns=("journal_date", "entry_number", "reference_number", "total", *_STAMPS),
    index_sorted=frozenset({"created_time", "journal_date", "entry_number"}),
    filters=_status_filters(_JOURNAL_STATUSES), statuses=_JOURNAL_STATUSES,
    number_field="entry_number", date_field="journal_date", modified_on_day=True,
)

CUSTOMERPAYMENTS = Kind(
    # Zoho's Customer Payments API page: /customerpayments, keys "customerpayments" /
    # "payment", scope ZohoBooks.customerpayments.READ; account_id is the deposit account,
    # invoices[] the invoices paid (amount_applied).
    name="customerpayments", singular="payment", label="Payment", report_name="Payments",
    id_field="payment_id", code=14, scope="customerpayments",
    list_fields=("payment_id", "payment_number", "customer_id", "customer_name",
                 "payment_mode", "date", "account_id", "account_name", "amount", "bcy_amount",
                 "unused_amount", "reference_number", "currency_id", "currency_code",
                 "exchange_rate", *_STAMPS),
    sort_columns=("customer_name", "payment_number", "date", "amount", *_STAMPS),
    index_sorted=frozenset({"created_time", "date", "payment_number"}),
    party="customer", number_field="payment_number", number_prefix="PMT-",
)
VENDORPAYMENTS = Kind(
    # Zoho's Vendor Payments API page: /vendorpayments, keys "vendorpayments" /
    # "vendorpayment", scope ZohoBooks.vendorpayments.READ; paid_through_account_id, bills[].
    name="vendorpayments", singular="vendorpayment", label="Vendor Payment",
    report_name="Vendor Payments", id_field="payment_id", code=15, scope="vendorpayments",
    list_fields=("payment_id", "payment_number", "vendor_id", "vendor_name", "payment_mode",
                 "date", "paid_through_account_id", "paid_through_account_name", "amount",
                 "bcy_amount", "balance", "reference_number", "currency_id", "currency_code",
                 "exchange_rate", *_STAMPS),
    sort_columns=("vendor_name", "payment_number", "date", "amount", *_STAMPS),
    index_sorted=frozenset({"created_time", "date", "payment_number"}),
    party="vendor", number_field="payment_number", number_prefix="VP-",
)

#: Document modules: line items with discounts, taxes, shipping, adjustments, bcy_* amounts.
DOCUMENTS: tuple[str, ...] = ("invoices", "bills", "purchaseorders", "creditnotes",
                              "vendorcredits")

KINDS: dict[str, Kind] = {
    k.name: k for k in (INVOICES, BILLS, PURCHASEORDERS, CONTACTS, CHARTOFACCOUNTS, ITEMS,
                        CREDITNOTES, VENDORCREDITS, EXPENSES, JOURNALS, CUSTOMERPAYMENTS,
                        VENDORPAYMENTS)
}
