"""A Zoho document as the amounts it posts to profit-and-loss accounts (``lines: postings``).

Each line posts its ``item_total`` less the tax it includes (tax-inclusive documents) and
less its share of an entity-level discount; shipping and the adjustment post to accounts of
their own. Amounts are in the document's currency; tax, the receivable/payable side and
write-offs post to no P&L account and are left out. A document without line items that
posts its header (an expense) is one posting: its account, its amount net of tax.

Entity-level discount shares follow Zoho's allocation in proportion to the lines' net
amounts, each share rounded half-up to the cent and the last line taking the remainder, so
the shares add up to the document's ``discount_amount`` exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ml_connector.decimals import decimal_of, finite_decimal
from ml_connector.errors import ConfigError
from ml_connector.flows.build import CENT
from ml_connector.flows.dimensions import CHARGE
from ml_connector.flows.spec import Flow


@dataclass(frozen=True)
class Account:
    """A chart-of-accounts entry that shipping or adjustments post to."""

    account_id: str
    account_name: str


def find_account(accounts: Iterable[Mapping[str, Any]], wanted: str, setting: str) -> Account:
    """The account whose ``account_code`` or ``account_name`` is ``wanted``."""
    names = []
    for row in accounts:
        names.append(str(row.get("account_name")))
        if wanted in (str(row.get("account_code") or ""), str(row.get("account_name"))):
            return Account(str(row["account_id"]), str(row.get("account_name")))
    raise ConfigError(f"{setting}: no account with code or name {wanted!r} in the chart of "
                      f"accounts; known names: {', '.join(sorted(names)) or '(none)'}")


def posting_accounts(flow: Flow, chart: Callable[[], Iterable[Mapping[str, Any]]]
                     ) -> dict[str, Account]:
    """The accounts a ``lines: postings`` flow names, found in the chart of accounts."""
    found = {}
    for role in ("shipping", "adjustment"):
        wanted = getattr(flow.accounts, role)
        if wanted:
            found[role] = find_account(chart(), wanted, f"flow {flow.id}: accounts.{role}")
    return found


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def allocate(amount: Decimal, nets: list[Decimal]) -> list[Decimal]:
    """``amount`` split over ``nets`` in proportion; the last share takes the remainder."""
    whole = sum(nets, Decimal(0))
    if not nets:
        return []
    if whole == 0:
        return [Decimal(0)] * (len(nets) - 1) + [amount]
    shares = [_cents(amount * net / whole) for net in nets[:-1]]
    return [*shares, amount - sum(shares, Decimal(0))]


class Postings:
    """Turns documents into posting lines: the item lines with ``amount`` (net of tax and
    discounts), then shipping and adjustment lines on their configured accounts."""

    def __init__(self, id_of: Callable[[Mapping[str, Any]], tuple[str, str]],
                 shipping: Account | None = None, adjustment: Account | None = None) -> None:
        self.id_of = id_of  # record -> (id field, id)
        self.shipping = shipping
        self.adjustment = adjustment

    def _amount(self, value: Any, record: Mapping[str, Any], field: str,
                n: int | None = None) -> Decimal:
        """``decimal_of`` a document's (or its line ``n``'s) ``field``; the message is
        built only on error."""
        number = finite_decimal(value)
        if number is not None:
            return number
        return decimal_of(value, f"{self._doc(record)}{f' line {n}' if n else ''} {field}")

    def _doc(self, record: Mapping[str, Any]) -> str:
        return "{} {}".format(*self.id_of(record))

    def header(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The one posting of a document without line items that posts its header (an
        expense): its account, and ``amount`` net of tax (less ``tax_amount`` when
        ``is_inclusive_tax``), as Zoho posts it to the expense account."""
        if record.get("is_itemized_expense") is True or record.get("line_items"):
            raise ConfigError(f"{self._doc(record)} is itemized (several accounts), which "
                              "this flow cannot split; a ledger flow (source: ledger) reads "
                              "its postings by account (nothing was uploaded)")
        amount = self._amount(record.get("amount"), record, "amount")
        if record.get("is_inclusive_tax") is True:
            amount -= self._amount(record.get("tax_amount") or 0, record, "tax_amount")
        return [{"account_id": record.get("account_id"),
                 "account_name": record.get("account_name"),
                 "description": record.get("description"), "amount": amount}]

    def lines(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The document's posting lines. Item lines are the document's own line dicts with
        ``amount`` set on them (a build reads each staged record once), so no line is
        copied; shipping and the adjustment are lines of their own."""
        lines = record.get("line_items") or []
        if type(lines) is not list:
            raise ConfigError(f"{self._doc(record)}: line_items is not a list, got "
                              f"{type(lines).__name__} {lines!r:.40}; expected a list of line "
                              "items")
        inclusive = record.get("is_inclusive_tax") is True
        amount_of = self._amount
        for n, line in enumerate(lines, start=1):
            total = finite_decimal(line.get("item_total")) if type(line) is dict else None
            if total is None:
                if type(line) is not dict:
                    raise ConfigError(f"{self._doc(record)} line {n}: expected a line item (an "
                                      f"object), got {line!r:.40}")
                total = amount_of(line.get("item_total"), record, "item_total", n)
            if inclusive:
                pct = amount_of(line.get("tax_percentage") or 0, record, "tax_percentage", n)
                total -= _cents(total * pct / (100 + pct))
            line["amount"] = total
        if record.get("discount_type") == "entity_level":
            discount = amount_of(record.get("discount_amount") or 0, record, "discount_amount")
            if discount:
                shares = allocate(discount, [line["amount"] for line in lines])
                for line, share in zip(lines, shares, strict=True):
                    line["amount"] -= share
        out: list[dict[str, Any]] = lines
        for part, account, label in (("shipping_charge", self.shipping, "shipping"),
                                     ("adjustment", self.adjustment, "adjustment")):
            value = record.get(part)
            if not value:
                continue
            amount = amount_of(value, record, part)
            if not amount:
                continue
            if account is None:
                raise ConfigError(
                    f"{self._doc(record)} has a {part} of {amount} but the flow names no "
                    f"account for it: set accounts.{label} (an account code or name) in "
                    "flows.yaml")
            if out is lines:
                out = list(lines)
            out.append({CHARGE: label, "line_item_id": f"{self.id_of(record)[1]}:{label}",
                        "name": label,
                        "account_id": account.account_id,
                        "account_name": account.account_name, "amount": amount})
        return out
