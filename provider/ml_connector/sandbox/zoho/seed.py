"""Deterministic record generation: any record is a pure function of (seed, org, entity, index).

Nothing is stored per record. ``created_time`` grows strictly with the index (as long as
the date range has more seconds than records) and ``date`` is its local date, so a date
window is an index range; ``last_modified_time`` trails ``created_time`` by at most
``MAX_LAG`` seconds.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta, timezone
from functools import lru_cache

from ml_connector.sandbox.zoho.config import OrgSpec
from ml_connector.sandbox.zoho.kinds import KINDS, Kind
from ml_connector.sandbox.zoho.times import format_time, local_date, midnight, zone

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

# US dollars per unit, before the monthly wobble.
USD_VALUE = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "INR": 0.012, "AUD": 0.66, "JPY": 0.0067,
             "CAD": 0.74, "CNY": 0.138, "SAR": 0.2667, "CHF": 1.13}
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "INR": "₹", "AUD": "$", "JPY": "¥", "CAD": "$",
           "CNY": "¥", "SAR": "SAR", "CHF": "CHF"}

_ADJECTIVES = ("Blue", "Summit", "Northern", "Bright", "Golden", "Silver", "Rapid", "Harbor",
               "Maple", "Granite", "Coastal", "Evergreen", "Pioneer", "Crescent", "Redwood",
               "Atlas", "Lakeside", "Prairie", "Union", "Meridian")
_NOUNS = ("River", "Peak", "Ridge", "Works", "Labs", "Systems", "Foods", "Logistics", "Media",
          "Motors", "Analytics", "Supply", "Design", "Energy", "Health", "Partners", "Robotics",
          "Textiles", "Ventures", "Builders")
_SUFFIXES = ("Inc", "LLC", "Ltd", "Corp", "Co")
_PEOPLE = ("Ava Patel", "Liam Chen", "Mia Rossi", "Noah Kim", "")


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
        rates = TAXES.get(org.region, (0,))
        self.taxes = [
            (self.make_id(8, k), f"{TAX_NAMES.get(org.region, 'Tax')} {pct:g}%" if pct else "",
             float(pct))
            for k, pct in enumerate(rates)
        ]
        self.account_ids = {a[0]: self.make_id(5, k) for k, a in enumerate(ACCOUNTS)}

    def make_id(self, code: int, index: int) -> str:
        return f"46{self.tag}{code}{index:09d}"

    def index_of(self, code: int, record_id: str) -> int | None:
        prefix = f"46{self.tag}{code}"
        if len(record_id) != len(prefix) + 9 or not record_id.startswith(prefix):
            return None
        tail = record_id[len(prefix):]
        return int(tail) if tail.isdigit() else None

    def currency_id(self, code: str) -> str:
        return self.make_id(9, self.currencies.index(code))

    def exchange_rate(self, code: str, day: date) -> float:
        """Units of the org's base currency per unit of ``code`` in ``day``'s month."""
        if code == self.org.currency_code:
            return 1.0
        return round(self._usd(code, day) / self._usd(self.org.currency_code, day), 6)

    def _usd(self, code: str, day: date) -> float:
        wobble = mix(digest(f"{code}:{day.year}-{day.month}")) % 4001 - 2000
        return USD_VALUE.get(code, 1.0) * (1 + wobble / 100_000)


class Table:
    """The records of one entity of one org, generated on demand from their index.

    Indexes ``>= count`` are records added at run time; their ``created_time`` is kept in
    ``added`` and never decreases.
    """

    def __init__(self, kind: Kind, catalog: Catalog, count: int, base: int, span: int,
                 contacts: Table | None = None) -> None:
        self.kind = kind
        self.catalog = catalog
        self.count = count
        self.base = base
        self.span = span
        self.step = max(1, span // count) if count else 1
        self.contacts = contacts
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

    def _generate(self, i: int) -> dict:
        rng = random.Random(f"{self._key}:{i}")
        tz = self.catalog.tz
        created = self.created(i)
        record = {self.kind.id_field: self.record_id(i)}
        record.update(GENERATORS[self.kind.name](self, i, rng, local_date(created, tz)))
        record["created_time"] = format_time(created, tz)
        record["last_modified_time"] = format_time(created + self.lag(i), tz)
        return record


def _transaction(table: Table, i: int, rng: random.Random, day: date) -> dict:
    """An invoice, bill or purchase order with 1-4 line items whose totals add up."""
    kind, cat = table.kind, table.catalog
    contacts = table.contacts
    assert contacts is not None
    org = cat.org
    if kind.party == "customer":
        contact_index = rng.randrange(org.customers)
    else:
        contact_index = org.customers + rng.randrange(org.vendors)
    contact = contacts.record(contact_index)
    currency = contact["currency_code"]
    status = pick_weighted(rng, kind.statuses)
    lines, sub_total, tax_total = [], 0, 0
    for k in range(rng.randint(1, 4)):
        item_no = rng.randrange(len(ITEMS))
        name, _sku, price, _type, income, expense = ITEMS[item_no]
        account = income if kind.line_account == "income" else expense
        base_price = price if kind.line_account == "income" else price * 0.6
        rate_cents = round(base_price * 100 * rng.uniform(0.9, 1.1))
        quantity = rng.randint(1, 20)
        discount = rng.choice((0, 0, 0, 0, 5, 10))
        item_cents = (quantity * rate_cents * (100 - discount) + 50) // 100
        tax_id, _tax_name, pct = rng.choice(cat.taxes)
        tax_cents = (item_cents * round(pct * 100) + 5000) // 10000
        sub_total += item_cents
        tax_total += tax_cents
        lines.append({
            "line_item_id": f"46{cat.tag}7{kind.code}{i:09d}{k}",
            "item_id": cat.make_id(6, item_no),
            "name": name,
            "description": f"{name} ({day:%b %Y})",
            "account_id": cat.account_ids[account],
            "account_name": account,
            "rate": money(rate_cents),
            "quantity": float(quantity),
            "discount": float(discount),
            "tax_id": tax_id,
            "tax_percentage": pct,
            "item_total": money(item_cents),
        })
    total = sub_total + tax_total
    if status in ("paid", "void"):
        balance = 0
    elif status == "partially_paid":
        balance = total * rng.randint(10, 90) // 100
    else:
        balance = total
    record = {
        kind.number_field: f"{kind.number_prefix}{i + 1:06d}",
        f"{kind.party}_id": contact["contact_id"],
        f"{kind.party}_name": contact["contact_name"],
        "status": status,
        "date": day.isoformat(),
        kind.due_field: (day + timedelta(days=rng.choice((7, 15, 30, 45)))).isoformat(),
        "currency_id": contact["currency_id"],
        "currency_code": currency,
        "exchange_rate": cat.exchange_rate(currency, day),
        "total": money(total),
    }
    if kind.has_balance:
        record["balance"] = money(balance)
    record["reference_number"] = (
        f"REF-{rng.randint(1000, 99999)}" if rng.random() < 0.6 else ""
    )
    if kind.party == "customer":
        record["salesperson_name"] = rng.choice(_PEOPLE)
    record.update(sub_total=money(sub_total), tax_total=money(tax_total), line_items=lines,
                  notes="")
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
        "account_name": name,
        "account_code": code,
        "account_type": kind,
        "is_active": active,
        "parent_account_id": cat.account_ids[parent] if parent else "",
        "parent_account_name": parent or "",
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
        "account_name": income,
        "purchase_account_id": cat.account_ids[expense],
        "purchase_account_name": expense,
        "tax_id": tax_id,
        "tax_percentage": pct,
    }


GENERATORS = {"invoices": _transaction, "bills": _transaction, "purchaseorders": _transaction,
              "contacts": _contact, "chartofaccounts": _account, "items": _item}


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
    for name in ("invoices", "bills", "purchaseorders"):
        tables[name] = Table(KINDS[name], cat, getattr(org, name), start, span, contacts)
    return tables
