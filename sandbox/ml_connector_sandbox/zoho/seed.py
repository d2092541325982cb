"""Deterministic record generation: any record is a pure function of (seed, org, entity, index).

Nothing is stored per record. ``created_time`` grows strictly with the index (as long as
the date range has more seconds than records) and ``date`` is its local date, so a date
window is an index range; ``last_modified_time`` trails ``created_time`` by at most
``MAX_LAG`` seconds.

Documents
---------
Invoices, bills, purchase orders, credit notes and vendor credits follow the rules below.
Amounts are integer cents internally and floats with two decimals in JSON. ``half_up(x)``
is ``x`` rounded to the cent, halves away from zero (``Decimal`` ``ROUND_HALF_UP``; every
rounded quantity below is non-negative except ``adjustment`` and its ``bcy_adjustment``).
``p`` is a line's ``tax_percentage`` (e.g. ``8.25``); lines are taken in their JSON order.

1. Lines: ``rate`` (per unit), ``quantity``, item-level ``discount`` (a percent: 0, 5 or 10;
   always 0 on documents with an entity-level discount), ``item_total =
   half_up(quantity * rate * (1 - discount / 100))``, line ``discount_amount = quantity *
   rate - item_total``, ``tax_id``, ``tax_name`` (``""`` for the 0 % rate),
   ``tax_percentage``, ``account_id``/``account_name``: income accounts on invoices and
   credit notes, expense/cost accounts on bills, purchase orders and vendor credits.
2. Tax: ``is_inclusive_tax`` is true on about 20 % of documents; then ``rate`` and
   ``item_total`` include tax, ``tax_i = half_up(item_total_i * p / (100 + p))`` and
   ``net_i = item_total_i - tax_i``. Otherwise ``net_i = item_total_i`` and ``tax_i =
   half_up((net_i - s_i) * p / 100)`` where ``s_i`` is the line's share of a *before-tax*
   entity discount (rule 3), else 0.
3. Entity discount, on about 25 % of tax-exclusive documents and never on inclusive ones:
   ``discount_type = "entity_level"``, ``discount`` = the percent ``pct`` (5 or 10, a
   number), ``is_discount_before_tax`` (true on about 70 %). With ``N = sum(net_i)``:
   before tax ``discount_amount = half_up(N * pct / 100)``; after tax ``discount_amount =
   half_up((N + tax_total) * pct / 100)``, ``tax_total`` being the undiscounted tax of rule
   2. Allocation to lines, in both cases: ``s_i = half_up(discount_amount * net_i / N)`` for
   every line but the last, the last line gets ``discount_amount - sum(other s_i)``, so
   ``sum(s_i) == discount_amount``. All other documents: ``discount_type = "item_level"``,
   ``discount = 0``, ``discount_amount = 0``, ``is_discount_before_tax = true``, ``s_i = 0``.
4. ``shipping_charge`` (5.00..50.00, never taxed or discounted) on about 30 % of invoices
   and credit notes, 0 on everything else. ``adjustment`` (non-zero, -5.00..+5.00, with
   ``adjustment_description`` ``"Rounding"`` or ``"Handling"``) on about 15 % of invoices and
   bills; 0 and ``""`` on everything else.
5. ``sub_total = sum(item_total_i)`` (tax included on inclusive documents), ``tax_total =
   sum(tax_i)``, ``taxes = [{"tax_id", "tax_name", "tax_amount"}]``: one entry per non-zero
   rate used by a line, in the org's tax order, ``tax_amount`` = the sum of that rate's
   ``tax_i``. ``total``: exclusive ``N - discount_amount (if before tax) + tax_total -
   discount_amount (if after tax) + shipping_charge + adjustment``; inclusive
   ``sum(item_total_i) + shipping_charge + adjustment``. Equivalently, for every document:
   ``total = sum(net_i - s_i) + tax_total + shipping_charge + adjustment``.
   ``bcy_sub_total``, ``bcy_tax_total``, ``bcy_discount_total`` (of the document's
   ``discount_amount``), ``bcy_shipping_charge``, ``bcy_adjustment``, ``bcy_total``: each is
   ``half_up(amount * exchange_rate)`` on its own (``exchange_rate`` as the decimal JSON
   shows it), so the ``bcy_*`` parts need not add up to ``bcy_total``.
6. ``balance`` (invoices, bills, credit notes, vendor credits): 0 when paid, void or
   closed, part of the total when partially paid, else the rest to pay or to use. Invoices
   carry ``write_off_amount`` (on about 4 % of paid invoices, 0.01..25.00 and at most the
   total; else 0), list rows also ``due_days`` (``"Due in N days"`` counted from the
   document date; ``"Overdue by N days"`` when overdue; ``""`` when paid or void),
   ``is_emailed`` and ``last_payment_date`` (a date between ``date`` and the
   ``last_modified_time`` date when paid or partially paid, else ``""``).
7. Credit notes (``invoices_credited``) and vendor credits (``bills_credited``), 1-2 lines
   of quantity 1-5: the contact is the party of an earlier document (an invoice resp. bill,
   not draft or void, created before the credit and at most 60 days before when one
   exists) where the org has one, else a random customer resp. vendor with nothing
   credited. Entries ``{"invoice_id"|"bill_id", "invoice_number"|"bill_number",
   "amount_applied", "date"}``: ``closed`` applies the whole total (when the total exceeds
   the credited document's total, the credit stays ``open`` with that document's total
   applied), ``open`` applies 10-90 % of ``min(total, credited total)`` (at least 0.01),
   ``draft`` and ``void`` apply nothing. ``balance = total - amount_applied`` (void: 0).
   ``date`` lies between the credit's date and its ``last_modified_time`` date.

Posting, for a Profit and Loss built from documents: each line ``net_i - s_i`` to its
account (tax-exclusive, after item and entity discount); ``shipping_charge`` to "Shipping
Charge" (4600, income); ``adjustment`` to "Other Charges" (4700, income) on invoices and
credit notes, to "Other Expenses" (6950, expense) on bills and vendor credits; tax to "Tax
Payable"; ``total`` to receivable resp. payable. Credit notes and vendor credits reverse
invoices and bills (they reduce income and expense). Purchase orders post nothing.
``write_off_amount`` touches no account of this chart.

Expenses and journals
---------------------
8. Expenses (one account each, no line items): ``account_id`` an expense account,
   ``paid_through_account_id`` Petty Cash or Business Checking, ``vendor_id`` on about 70 %
   (then in the vendor's currency), ``amount`` as entered, ``is_inclusive_tax`` on about 30 %,
   ``tax_percentage`` from the org's rates. ``tax_amount = half_up(amount * p / (100 + p))``
   when inclusive, else ``half_up(amount * p / 100)``; ``sub_total`` (``total_without_tax``)
   is the amount net of tax, ``total = sub_total + tax_amount``, ``bcy_*`` as rule 5.
   Posting: ``sub_total`` debited to the account, ``tax_amount`` to "Tax Payable",
   ``total`` credited to the paid-through account.
9. Journals (``journal_date``, ``entry_number``, in the base currency): two or three
   ``line_items`` (``account_id``, ``debit_or_credit``, ``amount``, ``customer_id``) from a
   fixed set of entries (depreciation, accrued rent, a revenue reclass between income
   accounts, interest income, bank fees, contract labour accrued), debits equal to credits;
   ``total`` is the sum of the debits; ``draft`` journals post nothing.
10. Customer payments and vendor payments: the party of an earlier invoice resp. bill (not
   draft or void, as rule 7 picks it) in its currency and at its exchange rate, ``amount``
   its total (about 70 %) or 10-90 % of it, ``invoices``/``bills`` naming it with that
   ``amount_applied``; with no such document, a random contact pays a base-currency amount
   applied to nothing. Deposited to Business Checking or Undeposited Funds, paid through
   Business Checking or Petty Cash. Posting: the deposit account debited and Accounts
   Receivable credited; Accounts Payable debited and the paid-through account credited.

Organizations with ``local_prices`` (the newer ones) draw the same numbers and divide each
amount above (line rates, shipping, adjustment, expense, journal and unapplied payment
amounts) by the US-dollar value of its currency (``currencies.USD_VALUE``), rounded to the
cent: a US dollar price list in the document's currency. With ``document_rates: daily``
their ``exchange_rate`` is the rate in effect on the document's date in the org's rate
series (``currencies.py``).

Planning dimensions
-------------------
Reporting tags, locations, projects, line ``sku`` and ``salesperson_id`` are added to a
generated record afterwards by ``dimensions.py``, from a random stream of their own
(``stream(i, "dims")``): none of the values above depends on them.
"""

from __future__ import annotations

import hashlib
import random
from bisect import bisect_left
from datetime import date, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from ml_connector_sandbox.zoho.config import OrgSpec
from ml_connector_sandbox.zoho.currencies import USD_VALUE, Currencies
from ml_connector_sandbox.zoho.kinds import DOCUMENTS, KINDS, Kind
from ml_connector_sandbox.zoho.times import format_time, local_date, midnight, zone

if TYPE_CHECKING:
    from ml_connector_sandbox.zoho.dimensions import Dimensions

DAY = 86400
MAX_LAG = 40 * DAY
_MASK = (1 << 64) - 1

# (name, code, type, parent name, active)
ACCOUNTS = (
    ("Petty Cash", "1000", "cash", None, True),
    ("Business Checking", "1010", "bank", None, True),
    ("Undeposited Funds", "1020", "cash", None, True),
    ("Accounts Receivable", "1200", "accounts_receivable", None, True),
    ("Inventory Asset", "1300", "stock", None, True),
    ("Prepaid Expenses", "1400", "other_current_asset", None, True),
    ("Furniture and Equipment", "1500", "fixed_asset", None, True),
    ("Accounts Payable", "2000", "accounts_payable", None, True),
    ("Tax Payable", "2100", "other_current_liability", None, True),
    ("Accrued Liabilities", "2200", "other_current_liability", None, True),
    ("Owner's Equity", "3000", "equity", None, True),
    ("Retained Earnings", "3100", "equity", None, True),
    ("Sales", "4000", "income", None, True),
    ("Product Sales", "4010", "income", "Sales", True),
    ("Service Revenue", "4020", "income", "Sales", True),
    ("Consulting Income", "4100", "income", None, True),
    ("Interest Income", "4900", "other_income", None, True),
    ("Cost of Goods Sold", "5000", "cost_of_goods_sold", None, True),
    ("Advertising and Marketing", "6000", "expense", None, True),
    ("Office Supplies", "6100", "expense", None, True),
    ("Rent Expense", "6200", "expense", None, True),
    ("IT and Internet Expenses", "6300", "expense", None, True),
    ("Travel Expense", "6400", "expense", None, True),
    ("Professional Fees", "6500", "expense", None, True),
    ("Contract Labor", "6600", "expense", "Professional Fees", True),
    ("Shipping and Freight", "6700", "expense", None, True),
    ("Bank Fees and Charges", "6800", "expense", None, True),
    ("Trade Show Costs", "6850", "expense", "Advertising and Marketing", False),
    ("Depreciation Expense", "6900", "other_expense", None, True),
    # Appended, so the ids above do not move.
    ("Shipping Charge", "4600", "income", None, True),
    ("Other Charges", "4700", "income", None, True),  # invoice / credit note adjustments
    ("Other Expenses", "6950", "expense", None, True),  # bill / vendor credit adjustments
)

# (name, sku, rate, product type, income account, expense account)
ITEMS = (
    ("Widget Standard", "WID-001", 25.00, "goods", "Product Sales", "Cost of Goods Sold"),
    ("Widget Pro", "WID-002", 79.00, "goods", "Product Sales", "Cost of Goods Sold"),
    ("Gadget Kit", "GAD-010", 149.50, "goods", "Product Sales", "Cost of Goods Sold"),
    ("Spare Parts Pack", "SPR-100", 12.75, "goods", "Product Sales", "Cost of Goods Sold"),
    ("Installation Service", "SRV-INS", 120.00, "service", "Service Revenue", "Contract Labor"),
    ("Consulting Hour", "SRV-CON", 180.00, "service", "Consulting Income", "Professional Fees"),
    ("Support Plan Monthly", "SRV-SUP", 299.00, "service", "Service Revenue",
     "IT and Internet Expenses"),
    ("Training Session", "SRV-TRN", 450.00, "service", "Service Revenue", "Travel Expense"),
    ("Office Paper Case", "OFF-PAP", 42.00, "goods", "Product Sales", "Office Supplies"),
    ("Freight Handling", "SHP-FRT", 18.00, "service", "Sales", "Shipping and Freight"),
    ("Cloud Hosting", "SRV-CLD", 95.00, "service", "Service Revenue",
     "IT and Internet Expenses"),
    ("Workspace Rental", "SRV-RNT", 1500.00, "service", "Sales", "Rent Expense"),
)

# Tax rates (percent) by region; the first is always 0.
TAXES = {"us": (0, 6.0, 8.25), "eu": (0, 7.0, 19.0), "in": (0, 5.0, 18.0), "au": (0, 10.0),
         "jp": (0, 8.0, 10.0), "ca": (0, 5.0, 13.0), "cn": (0, 6.0, 13.0), "sa": (0, 15.0)}
TAX_NAMES = {"us": "Sales Tax", "eu": "VAT", "in": "GST", "au": "GST", "jp": "Consumption Tax",
             "ca": "GST/HST", "cn": "VAT", "sa": "VAT"}

_ADJECTIVES = ("Blue", "Summit", "Northern", "Bright", "Golden", "Silver", "Rapid", "Harbor",
               "Maple", "Granite", "Coastal", "Evergreen", "Pioneer", "Crescent", "Redwood",
               "Atlas", "Lakeside", "Prairie", "Union", "Meridian")
_NOUNS = ("River", "Peak", "Ridge", "Works", "Labs", "Systems", "Foods", "Logistics", "Media",
          "Motors", "Analytics", "Supply", "Design", "Energy", "Health", "Partners", "Robotics",
          "Textiles", "Ventures", "Builders")
_SUFFIXES = ("Inc", "LLC", "Ltd", "Corp", "Co")
_PEOPLE = ("Ava Patel", "Liam Chen", "Mia Rossi", "Noah Kim", "")

# Document features (module docstring): who gets them and how often.
SHIPPING_KINDS = frozenset({"invoices", "creditnotes"})
ADJUSTMENT_KINDS = frozenset({"invoices", "bills"})
INCLUSIVE_SHARE = 0.20
ENTITY_DISCOUNT_SHARE = 0.25
BEFORE_TAX_SHARE = 0.70
SHIPPING_SHARE = 0.30
ADJUSTMENT_SHARE = 0.15
WRITE_OFF_SHARE = 0.04
CREDIT_WINDOW = 60 * DAY
_LINE_DISCOUNTS = (0, 0, 0, 0, 5, 10)


def digest(text: str) -> int:
    """A stable 64-bit integer for ``text`` (Python's ``hash`` varies between processes)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def mix(x: int) -> int:
    """SplitMix64 finalizer: a cheap, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def money(cents: int) -> float:
    return round(cents / 100, 2)


def pick_weighted(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


class Catalog:
    """An org's fixed reference data: currencies, taxes, accounts and items."""

    def __init__(self, seed: int, org: OrgSpec) -> None:
        self.seed = seed
        self.org = org
        self.tz: timezone = zone(org.utc_offset)
        self.tag = org.organization_id[-4:]
        self.currencies = [org.currency_code] + [
            c for c in org.foreign_currencies if c != org.currency_code
        ]
        rates = org.tax_rates or TAXES.get(org.region, (0,))
        tax_name = org.tax_name or TAX_NAMES.get(org.region, "Tax")
        self.taxes = [
            (self.make_id(8, k), f"{tax_name} {pct:g}%" if pct else "", float(pct))
            for k, pct in enumerate(rates)
        ]
        self.account_ids = {a[0]: self.make_id(5, k) for k, a in enumerate(ACCOUNTS)}
        #: The name this org shows for each account of the group chart (by group name).
        self.names = {a[0]: org.account_names.get(a[1], a[0]) for a in ACCOUNTS}
        #: Every currency the org has enabled: the traded ones, then rate-only ones.
        self.rates = Currencies(seed, org.organization_id, self.currencies + [
            c for c in org.rate_currencies if c not in self.currencies], org.start_date,
            org.end_date, self.make_id)
        #: Tags, locations, projects: set by the organization (``dimensions.py``).
        self.dimensions: Dimensions | None = None

    def make_id(self, code: int, index: int) -> str:
        return f"46{self.tag}{code}{index:09d}"

    def index_of(self, code: int, record_id: str) -> int | None:
        prefix = f"46{self.tag}{code}"
        if len(record_id) != len(prefix) + 9 or not record_id.startswith(prefix):
            return None
        tail = record_id[len(prefix):]
        return int(tail) if tail.isdigit() else None

    def currency_id(self, code: str) -> str:
        return self.rates.currency_id(code)

    def priced(self, cents: int, code: str) -> int:
        """A generated amount of US-dollar size in ``code`` (``OrgSpec.local_prices``)."""
        if not self.org.local_prices or code == "USD":
            return cents
        return round(cents / USD_VALUE.get(code, 1.0))

    def exchange_rate(self, code: str, day: date) -> float:
        """Units of the org's base currency per unit of ``code`` on ``day``: from the org's
        rate series (``document_rates: daily``), else one rate per month."""
        if code == self.org.currency_code:
            return 1.0
        if self.org.document_rates == "daily":
            return self.rates.rate_on(code, day)
        return round(self._usd(code, day) / self._usd(self.org.currency_code, day), 6)

    def _usd(self, code: str, day: date) -> float:
        wobble = mix(digest(f"{code}:{day.year}-{day.month}")) % 4001 - 2000
        return USD_VALUE.get(code, 1.0) * (1 + wobble / 100_000)


class Table:
    """The records of one entity of one org, generated on demand from their index.

    Indexes ``>= count`` are records added at run time; their ``created_time`` is kept in
    ``added`` and never decreases. ``credited`` is the table a credit module credits.
    """

    def __init__(self, kind: Kind, catalog: Catalog, count: int, base: int, span: int,
                 contacts: Table | None = None, credited: Table | None = None) -> None:
        self.kind = kind
        self.catalog = catalog
        self.count = count
        self.base = base
        self.span = span
        self.step = max(1, span // count) if count else 1
        self.contacts = contacts
        self.credited = credited
        org = catalog.org.organization_id
        self._key = f"{catalog.seed}:{org}:{kind.name}"
        self._salt = digest(self._key)
        self._lag_salt = digest(self._key + ":lag")
        self.added: list[int] = []
        self.record = lru_cache(maxsize=8192)(self._generate)

    @property
    def size(self) -> int:
        return self.count + len(self.added)

    def created(self, i: int) -> int:
        """``created_time`` of record ``i`` in epoch seconds (non-decreasing in ``i``)."""
        if i < self.count:
            return self.base + (i * self.span) // self.count + mix(self._salt ^ i) % self.step
        return self.added[i - self.count]

    def lag(self, i: int) -> int:
        """Seconds from creation to the generated last modification (at most ``MAX_LAG``)."""
        if i >= self.count:
            return 0
        h = mix(self._lag_salt ^ i)
        bucket, rest = h % 100, h >> 8
        if bucket < 80:
            return 60 + rest % (2 * 3600)
        if bucket < 95:
            return DAY + rest % (9 * DAY)
        return 10 * DAY + rest % (MAX_LAG - 10 * DAY + 1)

    def modified(self, i: int) -> int:
        return self.created(i) + self.lag(i)

    def record_id(self, i: int) -> str:
        return self.catalog.make_id(self.kind.code, i)

    def index_of(self, record_id: str) -> int | None:
        i = self.catalog.index_of(self.kind.code, record_id)
        return i if i is not None and i < self.size else None

    def stream(self, i: int, part: str = "") -> random.Random:
        """The random stream of record ``i`` (``part`` names a further independent one)."""
        return random.Random(f"{self._key}:{i}:{part}" if part else f"{self._key}:{i}")

    def _generate(self, i: int) -> dict:
        rng = self.stream(i)
        tz = self.catalog.tz
        created = self.created(i)
        record = {self.kind.id_field: self.record_id(i)}
        record.update(GENERATORS[self.kind.name](self, i, rng, local_date(created, tz)))
        record["created_time"] = format_time(created, tz)
        record["last_modified_time"] = format_time(created + self.lag(i), tz)
        if self.catalog.dimensions is not None:  # from a stream of their own
            self.catalog.dimensions.decorate(self, i, record)
        return record


def half_up(numerator: int, denominator: int = 1) -> int:
    """``numerator / denominator`` rounded to an integer, halves away from zero."""
    quotient, rest = divmod(abs(numerator), denominator)
    if 2 * rest >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def in_base(cents: int, exchange_rate: float) -> int:
    """``cents * exchange_rate`` in base-currency cents, rounded half-up (rule 5)."""
    if exchange_rate == 1.0:
        return cents
    exact = Decimal(cents) * Decimal(repr(exchange_rate))
    return int(exact.to_integral_value(rounding=ROUND_HALF_UP))


def allocate(amount: int, nets: list[int]) -> list[int]:
    """Shares of ``amount`` in proportion to ``nets``; the last takes the remainder (rule 3)."""
    whole = sum(nets)
    shares = [half_up(amount * net, whole) for net in nets[:-1]]
    return [*shares, amount - sum(shares)]


def _credit_target(table: Table, i: int, rng: random.Random) -> dict | None:
    """An earlier document of ``table.credited`` for credit ``i`` to apply to (rule 7)."""
    target = table.credited
    if target is None or target.count == 0:
        return None
    created = table.created(i)
    indexes = range(target.count)
    hi = bisect_left(indexes, created, key=target.created)
    if hi == 0:
        return None
    lo = bisect_left(indexes, created - CREDIT_WINDOW, key=target.created)
    if lo >= hi:
        lo = 0
    for _ in range(4):
        record = target.record(rng.randrange(lo, hi))
        if record["status"] not in ("draft", "void"):
            return record
    return None


def _document(table: Table, i: int, rng: random.Random, day: date) -> dict:
    """An invoice, bill, purchase order, credit note or vendor credit (module docstring)."""
    kind, cat = table.kind, table.catalog
    contacts = table.contacts
    assert contacts is not None
    org = cat.org
    doc = table.stream(i, "doc")
    is_credit = kind.credits is not None
    credited = _credit_target(table, i, rng) if is_credit else None
    if credited is not None:
        contact_index = contacts.index_of(credited[f"{kind.party}_id"])
        assert contact_index is not None
    elif kind.party == "customer":
        contact_index = rng.randrange(org.customers)
    else:
        contact_index = org.customers + rng.randrange(org.vendors)
    contact = contacts.record(contact_index)
    currency = contact["currency_code"]
    exchange_rate = cat.exchange_rate(currency, day)
    status = pick_weighted(rng, kind.statuses)

    # Document-level features come from their own stream, so the draws above and the lines
    # below stay what they were before these features existed.
    inclusive = doc.random() < INCLUSIVE_SHARE
    entity_draw, entity_choice, before_draw = doc.random(), doc.choice((5, 10)), doc.random()
    entity_pct = entity_choice if not inclusive and entity_draw < ENTITY_DISCOUNT_SHARE else 0
    before_tax = before_draw < BEFORE_TAX_SHARE if entity_pct else True
    shipping_draw, shipping = doc.random(), doc.randint(500, 5000)
    if kind.name not in SHIPPING_KINDS or shipping_draw >= SHIPPING_SHARE:
        shipping = 0
    adjustment_draw = doc.random()
    adjustment = doc.choice((-1, 1)) * doc.randint(1, 500)
    adjustment_text = doc.choice(("Rounding", "Handling"))
    if kind.name not in ADJUSTMENT_KINDS or adjustment_draw >= ADJUSTMENT_SHARE:
        adjustment, adjustment_text = 0, ""
    shipping, adjustment = cat.priced(shipping, currency), cat.priced(adjustment, currency)

    lines: list[dict] = []
    items: list[int] = []
    points: list[int] = []  # tax rates in hundredths of a percent
    for k in range(rng.randint(1, 2 if is_credit else 4)):
        item_no = rng.randrange(len(ITEMS))
        name, _sku, price, _type, income, expense = ITEMS[item_no]
        account = income if kind.line_account == "income" else expense
        base_price = price if kind.line_account == "income" else price * 0.6
        rate = cat.priced(round(base_price * 100 * rng.uniform(0.9, 1.1)), currency)
        quantity = rng.randint(1, 5 if is_credit else 20)
        drawn_discount = rng.choice(_LINE_DISCOUNTS)
        discount = 0 if entity_pct else drawn_discount
        tax_id, tax_name, pct = rng.choice(cat.taxes)
        point = round(pct * 100)
        if inclusive:
            rate = half_up(rate * (10000 + point), 10000)
        gross = quantity * rate
        item = half_up(gross * (100 - discount), 100)
        items.append(item)
        points.append(point)
        lines.append({
            "line_item_id": f"46{cat.tag}7{kind.code}{i:09d}{k}",
            "item_id": cat.make_id(6, item_no),
            "name": name,
            "description": f"{name} ({day:%b %Y})",
            "account_id": cat.account_ids[account],
            "account_name": cat.names[account],
            "rate": money(rate),
            "quantity": float(quantity),
            "discount": float(discount),
            "discount_amount": money(gross - item),
            "tax_id": tax_id,
            "tax_name": tax_name,
            "tax_percentage": pct,
            "item_total": money(item),
        })

    discount_amount = 0
    if inclusive:
        taxes = [half_up(item * p, 10000 + p) for item, p in zip(items, points, strict=True)]
        total = sum(items) + shipping + adjustment
    else:
        nets = items
        if entity_pct and before_tax:
            discount_amount = half_up(sum(nets) * entity_pct, 100)
            shares = allocate(discount_amount, nets)
            taxes = [half_up((net - share) * p, 10000)
                     for net, share, p in zip(nets, shares, points, strict=True)]
        else:
            taxes = [half_up(net * p, 10000) for net, p in zip(nets, points, strict=True)]
            if entity_pct:
                discount_amount = half_up((sum(nets) + sum(taxes)) * entity_pct, 100)
        total = sum(nets) - discount_amount + sum(taxes) + shipping + adjustment
    sub_total, tax_total = sum(items), sum(taxes)
    by_tax: dict[str, int] = {}
    for line, tax in zip(lines, taxes, strict=True):
        if line["tax_percentage"]:
            by_tax[line["tax_id"]] = by_tax.get(line["tax_id"], 0) + tax

    applied = 0
    if status == "paid" or status == "void":
        balance = 0
    elif status == "partially_paid":
        balance = total * rng.randint(10, 90) // 100
    else:
        balance = total
    if is_credit:
        if credited is not None and status in ("open", "closed"):
            limit = round(credited["total"] * 100)
            if status == "closed" and total <= limit:
                applied = total
            elif status == "closed":
                status, applied = "open", limit
            else:
                applied = max(1, min(total, limit) * doc.randint(10, 90) // 100)
        elif status == "closed":
            status = "open"
        balance = 0 if status == "void" else total - applied

    record: dict = {
        kind.number_field: f"{kind.number_prefix}{i + 1:06d}",
        f"{kind.party}_id": contact["contact_id"],
        f"{kind.party}_name": contact["contact_name"],
        "status": status,
        "date": day.isoformat(),
    }
    terms = 0
    if kind.due_field:
        terms = rng.choice((7, 15, 30, 45))
        record[kind.due_field] = (day + timedelta(days=terms)).isoformat()
    record.update({
        "currency_id": contact["currency_id"],
        "currency_code": currency,
        "exchange_rate": exchange_rate,
        "is_inclusive_tax": inclusive,
        "discount_type": "entity_level" if entity_pct else "item_level",
        "discount": float(entity_pct),
        "is_discount_before_tax": before_tax,
        "discount_amount": money(discount_amount),
        "shipping_charge": money(shipping),
        "adjustment": money(adjustment),
        "adjustment_description": adjustment_text,
        "sub_total": money(sub_total),
        "tax_total": money(tax_total),
        "taxes": [{"tax_id": tax_id, "tax_name": name, "tax_amount": money(by_tax[tax_id])}
                  for tax_id, name, _pct in cat.taxes if tax_id in by_tax],
        "total": money(total),
    })
    if kind.has_balance:
        record["balance"] = money(balance)
    record.update({
        "bcy_sub_total": money(in_base(sub_total, exchange_rate)),
        "bcy_tax_total": money(in_base(tax_total, exchange_rate)),
        "bcy_discount_total": money(in_base(discount_amount, exchange_rate)),
        "bcy_shipping_charge": money(in_base(shipping, exchange_rate)),
        "bcy_adjustment": money(in_base(adjustment, exchange_rate)),
        "bcy_total": money(in_base(total, exchange_rate)),
    })
    record["reference_number"] = (
        f"REF-{rng.randint(1000, 99999)}" if rng.random() < 0.6 else ""
    )
    if kind.party == "customer" and not is_credit:
        record["salesperson_name"] = rng.choice(_PEOPLE)
    created, lag = table.created(i), table.lag(i)
    if kind.name == "invoices":
        write_off_draw, write_off = doc.random(), doc.randint(1, 2500)
        if status != "paid" or write_off_draw >= WRITE_OFF_SHARE:
            write_off = 0
        paid_at = local_date(created + doc.randint(0, lag), cat.tz)
        overdue_by = doc.randint(1, 60)
        record.update({
            "write_off_amount": money(min(write_off, total)),
            "due_days": ("" if status in ("paid", "void")
                         else f"Overdue by {overdue_by} days" if status == "overdue"
                         else f"Due in {terms} days"),
            "is_emailed": status != "draft" and doc.random() < 0.9,
            "last_payment_date": (paid_at.isoformat()
                                  if status in ("paid", "partially_paid") else ""),
        })
    if kind.credits is not None:
        target = KINDS[kind.credits]
        number = str(target.number_field)
        applied_on = local_date(created + doc.randint(0, lag), cat.tz)
        record[f"{kind.credits}_credited"] = [] if not applied or credited is None else [{
            target.id_field: credited[target.id_field],
            number: credited[number],
            "amount_applied": money(applied),
            "date": applied_on.isoformat(),
        }]
    record.update(line_items=lines, notes="")
    return record


def _contact(table: Table, i: int, rng: random.Random, day: date) -> dict:
    cat = table.catalog
    company = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {rng.choice(_SUFFIXES)}"
    is_customer = i < cat.org.customers or (i >= table.count and rng.random() < 0.5)
    foreign = cat.currencies[1:]
    currency = cat.currencies[0]
    if foreign and rng.random() < 0.3:
        currency = rng.choice(foreign)
    slug = "".join(ch for ch in company.lower() if ch.isalnum())
    return {
        "contact_name": company,
        "company_name": company,
        "contact_type": "customer" if is_customer else "vendor",
        "customer_sub_type": "business",
        "status": "active" if rng.random() < 0.9 else "inactive",
        "currency_id": cat.currency_id(currency),
        "currency_code": currency,
        "email": f"accounts{i}@{slug}.example.com",
        "phone": f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        "payment_terms": rng.choice((15, 30, 45)),
    }


def _account(table: Table, i: int, rng: random.Random, day: date) -> dict:
    cat = table.catalog
    name, code, kind, parent, active = ACCOUNTS[i % len(ACCOUNTS)]
    return {
        "account_name": cat.names[name],
        "account_code": code,
        "account_type": kind,
        "is_active": active,
        "parent_account_id": cat.account_ids[parent] if parent else "",
        "parent_account_name": cat.names[parent] if parent else "",
        "description": "",
    }


def _item(table: Table, i: int, rng: random.Random, day: date) -> dict:
    cat = table.catalog
    name, sku, rate, product_type, income, expense = ITEMS[i % len(ITEMS)]
    tax_id, _name, pct = cat.taxes[-1]
    return {
        "name": name,
        "sku": sku,
        "description": name,
        "rate": rate,
        "purchase_rate": round(rate * 0.6, 2),
        "status": "active",
        "item_type": "sales_and_purchases",
        "product_type": product_type,
        "account_id": cat.account_ids[income],
        "account_name": cat.names[income],
        "purchase_account_id": cat.account_ids[expense],
        "purchase_account_name": cat.names[expense],
        "tax_id": tax_id,
        "tax_percentage": pct,
    }


_PAID_THROUGH = ("Petty Cash", "Business Checking")
_EXPENSE_ACCOUNTS = ("Office Supplies", "Rent Expense", "IT and Internet Expenses",
                     "Travel Expense", "Advertising and Marketing", "Bank Fees and Charges",
                     "Shipping and Freight", "Professional Fees")
#: Journal entries: (notes, [(account, side, share of the amount in percent)]).
_JOURNAL_ENTRIES = (
    ("Monthly depreciation", [("Depreciation Expense", "debit", 100),
                              ("Furniture and Equipment", "credit", 100)]),
    ("Accrued rent", [("Rent Expense", "debit", 100), ("Accrued Liabilities", "credit", 100)]),
    ("Revenue reclass", [("Product Sales", "debit", 100), ("Service Revenue", "credit", 100)]),
    ("Interest received", [("Business Checking", "debit", 100),
                           ("Interest Income", "credit", 100)]),
    ("Bank charges", [("Bank Fees and Charges", "debit", 100),
                      ("Business Checking", "credit", 100)]),
    ("Contract labour accrued", [("Contract Labor", "debit", 60),
                                 ("Professional Fees", "debit", 40),
                                 ("Accrued Liabilities", "credit", 100)]),
)


def _expense(table: Table, i: int, rng: random.Random, day: date) -> dict:
    """An expense (rule 8)."""
    cat, org = table.catalog, table.catalog.org
    contacts = table.contacts
    assert contacts is not None
    account = rng.choice(_EXPENSE_ACCOUNTS)
    paid_through = rng.choice(_PAID_THROUGH)
    vendor = contacts.record(org.customers + rng.randrange(org.vendors)) \
        if rng.random() < 0.7 else None
    currency = vendor["currency_code"] if vendor else cat.currencies[0]
    exchange_rate = cat.exchange_rate(currency, day)
    amount = cat.priced(rng.randint(1000, 200000), currency)
    inclusive = rng.random() < 0.3
    tax_id, tax_name, pct = rng.choice(cat.taxes)
    point = round(pct * 100)
    if inclusive:
        tax = half_up(amount * point, 10000 + point)
        sub_total = amount - tax
    else:
        tax = half_up(amount * point, 10000)
        sub_total = amount
    total = sub_total + tax
    status = pick_weighted(rng, table.kind.statuses)
    return {
        "date": day.isoformat(),
        "account_id": cat.account_ids[account], "account_name": cat.names[account],
        "paid_through_account_id": cat.account_ids[paid_through],
        "paid_through_account_name": paid_through,
        "description": f"{account} ({day:%b %Y})",
        "currency_id": cat.currency_id(currency), "currency_code": currency,
        "exchange_rate": exchange_rate,
        "is_inclusive_tax": inclusive, "amount": money(amount),
        "tax_id": tax_id, "tax_name": tax_name, "tax_percentage": pct,
        "tax_amount": money(tax), "sub_total": money(sub_total),
        "total_without_tax": money(sub_total), "total": money(total),
        "bcy_total_without_tax": money(in_base(sub_total, exchange_rate)),
        "bcy_total": money(in_base(total, exchange_rate)),
        "is_billable": status in ("unbilled", "invoiced"),
        "reference_number": f"EXP-{rng.randint(1000, 99999)}" if rng.random() < 0.5 else "",
        "customer_id": "", "customer_name": "",
        "vendor_id": vendor["contact_id"] if vendor else "",
        "vendor_name": vendor["contact_name"] if vendor else "",
        "status": status,
    }


def _journal(table: Table, i: int, rng: random.Random, day: date) -> dict:
    """A manual journal in the base currency (rule 9)."""
    cat = table.catalog
    notes, entry = _JOURNAL_ENTRIES[rng.randrange(len(_JOURNAL_ENTRIES))]
    amount = cat.priced(rng.randint(5000, 500000), cat.currencies[0])
    debits = [half_up(amount * share, 100) for _, side, share in entry if side == "debit"]
    debits[-1] = amount - sum(debits[:-1])
    lines, n = [], 0
    for k, (account, side, share) in enumerate(entry):
        value = debits[n] if side == "debit" else half_up(amount * share, 100)
        n += side == "debit"
        lines.append({"line_id": f"47{cat.tag}{table.kind.code}{i:09d}{k}",
                      "account_id": cat.account_ids[account],
                      "account_name": cat.names[account],
                      "customer_id": "", "customer_name": "", "description": notes,
                      "debit_or_credit": side, "amount": money(value), "tax_id": "",
                      "tax_name": ""})
    currency = cat.currencies[0]
    return {
        "journal_date": day.isoformat(), "entry_number": f"{i + 1}",
        "reference_number": f"JE-{rng.randint(100, 9999)}" if rng.random() < 0.4 else "",
        "currency_id": cat.currency_id(currency), "currency_code": currency,
        "exchange_rate": 1.0, "notes": notes, "journal_type": "both",
        "status": pick_weighted(rng, table.kind.statuses), "total": money(amount),
        "line_items": lines,
    }


def _payment(table: Table, i: int, rng: random.Random, day: date) -> dict:
    """A customer or vendor payment (rule 10)."""
    cat, kind, contacts = table.catalog, table.kind, table.contacts
    assert contacts is not None and table.credited is not None
    paid = table.credited.kind
    target = _credit_target(table, i, rng)
    customer = kind.party == "customer"
    if target is not None:
        contact_index = contacts.index_of(target[f"{kind.party}_id"])
        assert contact_index is not None
        contact = contacts.record(contact_index)
        currency, rate = target["currency_code"], target["exchange_rate"]
        total = round(target["total"] * 100)
        amount = total if rng.random() < 0.7 else max(1, total * rng.randint(10, 90) // 100)
        applied = [{paid.id_field: target[paid.id_field],
                    str(paid.number_field): target[str(paid.number_field)],
                    "amount_applied": money(amount)}]
    else:
        org = cat.org
        contact = contacts.record(rng.randrange(org.customers) if customer
                                  else org.customers + rng.randrange(org.vendors))
        currency, rate = cat.currencies[0], 1.0
        amount, applied = cat.priced(rng.randint(1000, 100000), currency), []
    account = rng.choice(("Business Checking", "Undeposited Funds") if customer
                         else _PAID_THROUGH)
    field = "account" if customer else "paid_through_account"
    return {
        "payment_number": f"{kind.number_prefix}{i + 1:06d}",
        f"{kind.party}_id": contact["contact_id"], f"{kind.party}_name": contact["contact_name"],
        "payment_mode": rng.choice(("Bank Transfer", "Check", "Credit Card", "Cash")),
        "date": day.isoformat(),
        f"{field}_id": cat.account_ids[account], f"{field}_name": account,
        "amount": money(amount), "bcy_amount": money(in_base(amount, rate)),
        "unused_amount" if customer else "balance": 0.0,
        "reference_number": f"PAY-{rng.randint(1000, 99999)}" if rng.random() < 0.5 else "",
        "currency_id": cat.currency_id(currency), "currency_code": currency,
        "exchange_rate": rate, f"{paid.name}": applied,
    }


GENERATORS = {"contacts": _contact, "expenses": _expense, "journals": _journal,
              "customerpayments": _payment, "vendorpayments": _payment,
              "chartofaccounts": _account, "items": _item,
              **dict.fromkeys(DOCUMENTS, _document)}


def build_tables(seed: int, org: OrgSpec) -> dict[str, Table]:
    """All tables of one org: transactions over its date range, reference data before it."""
    cat = Catalog(seed, org)
    start = midnight(org.start_date, cat.tz)
    span = ((org.end_date - org.start_date).days + 1) * DAY
    contacts = Table(KINDS["contacts"], cat, org.customers + org.vendors,
                     start - 365 * DAY, 365 * DAY - 3600)
    tables = {
        "contacts": contacts,
        "chartofaccounts": Table(KINDS["chartofaccounts"], cat, len(ACCOUNTS),
                                 start - 400 * DAY, DAY),
        "items": Table(KINDS["items"], cat, len(ITEMS), start - 399 * DAY, DAY),
    }
    for name in DOCUMENTS:  # credited modules come before the credits
        kind = KINDS[name]
        credited = tables[kind.credits] if kind.credits else None
        tables[name] = Table(kind, cat, getattr(org, name), start, span, contacts, credited)
    for name in ("expenses", "journals"):
        tables[name] = Table(KINDS[name], cat, getattr(org, name), start, span, contacts)
    for name, paid in (("customerpayments", "invoices"), ("vendorpayments", "bills")):
        tables[name] = Table(KINDS[name], cat, getattr(org, name), start, span, contacts,
                             tables[paid])
    return tables
