"""Fields the Books API documents per module, for validating mappings before data moves."""

from __future__ import annotations

_DOC = {"status", "date", "currency_code", "exchange_rate", "total", "created_time",
        "last_modified_time", "sub_total", "tax_total", "reference_number", "currency_id",
        "discount", "discount_type", "is_discount_before_tax", "discount_amount",
        "shipping_charge", "adjustment", "adjustment_description", "is_inclusive_tax",
        "bcy_sub_total", "bcy_tax_total", "bcy_discount_total", "bcy_shipping_charge",
        "bcy_adjustment", "bcy_total", "location_id", "location_name"}
LINE_ITEM = frozenset({"line_item_id", "item_id", "name", "description", "account_id",
                       "account_name", "rate", "quantity", "discount", "discount_amount",
                       "tax_id", "tax_name", "tax_percentage", "item_total", "sku", "tags",
                       "location_id", "location_name", "project_id", "project_name"})
#: The fields of an expense's list row (Zoho's List Expenses schema); the others (its
#: ``account_id``, ``sub_total``, ``project_id``, ``exchange_rate``...) are in its detail only.
EXPENSE_LIST = frozenset({
    "expense_id", "date", "account_name", "description", "currency_id", "currency_code",
    "bcy_total", "bcy_total_without_tax", "total", "total_without_tax", "is_billable",
    "reference_number", "customer_id", "customer_name", "status", "location_id",
    "location_name", "created_time", "last_modified_time", "expense_receipt_name",
    "mileage_rate", "mileage_unit", "expense_type"})
#: The fields of the one posting line of a document that posts its header (an expense,
#: ``lines: postings``): its account, its description and ``amount`` net of tax.
HEADER_POSTING = frozenset({"account_id", "account_name", "description", "amount"})
#: List-row fields of the modules whose list rows lack fields a flow may read.
LISTED: dict[str, frozenset[str]] = {"expenses": EXPENSE_LIST}
FIELDS: dict[str, frozenset[str]] = {
    "invoices": frozenset(_DOC | {"invoice_id", "invoice_number", "customer_id", "customer_name",
                                  "due_date", "balance", "salesperson_id", "salesperson_name",
                                  "write_off_amount",
                                  "due_days", "is_emailed", "last_payment_date"}),
    "bills": frozenset(_DOC | {"bill_id", "bill_number", "vendor_id", "vendor_name", "due_date",
                               "balance"}),
    "creditnotes": frozenset(_DOC | {"creditnote_id", "creditnote_number", "customer_id",
                                     "customer_name", "balance"}),
    "vendorcredits": frozenset(_DOC | {"vendor_credit_id", "vendor_credit_number", "vendor_id",
                                       "vendor_name", "balance"}),
    "purchaseorders": frozenset(_DOC | {"purchaseorder_id", "purchaseorder_number", "vendor_id",
                                        "vendor_name", "delivery_date"}),
    # Zoho's expense schema (one account, no line items).
    "expenses": frozenset(EXPENSE_LIST | {
        "account_id", "paid_through_account_id", "paid_through_account_name", "exchange_rate",
        "tax_id", "tax_name", "tax_percentage", "tax_amount", "sub_total", "amount",
        "is_inclusive_tax", "is_itemized_expense", "vendor_id", "vendor_name", "project_id",
        "project_name", "invoice_id", "invoice_number", "transaction_id",
        "transaction_type"}),
    "contacts": frozenset({"contact_id", "contact_name", "company_name", "contact_type",
                           "status", "currency_code", "last_modified_time"}),
    # A ledger flow's records: an account's postings, with the account's code and type and
    # ``amount`` signed by that type (zoho/ledger.py, flows/ledger.py).
    "ledger": frozenset({"categorized_transaction_id", "transaction_id", "transaction_type",
                         "transaction_date", "account_id", "account_code", "account_name",
                         "account_type", "customer_id", "currency_code", "debit", "credit",
                         "amount"}),
    "tagoptions": frozenset({"tag_id", "tag_name", "option_id", "option_name",
                             "parent_option_id", "depth", "is_active"}),
    "locations": frozenset({"location_id", "location_name", "type", "parent_location_id",
                            "is_primary", "status"}),
    "projects": frozenset({"project_id", "project_name", "customer_id", "customer_name",
                           "status", "billing_type"}),
    "chartofaccounts": frozenset({"account_id", "account_name", "account_code", "account_type",
                                  "is_active", "parent_account_id"}),
}


def known_fields(entity: str) -> frozenset[str] | None:
    """The documented fields of ``entity`` (``None``: not catalogued, not checked)."""
    return FIELDS.get(entity)
