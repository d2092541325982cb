"""Amount columns translated to a group currency (``translate:``): each cell's sum in the
organization's base currency times the rate of its month, half-up to the cent; the rates
used are kept for the audit."""

from __future__ import annotations

from decimal import Decimal

from ml_connector.flows.spec import Flow
from ml_connector.fx.rates import Rates, month_of_label


class Translator:
    """Translate the cells of one organization (base ``currency``) with ``rates``."""

    def __init__(self, flow: Flow, rates: Rates, currency: str) -> None:
        self.flow, self.rates, self.currency = flow, rates, currency
        #: (column, yyyy-mm) -> the rate used, as text
        self.used: dict[tuple[str, str], str] = {}

    def __call__(self, column: str, label: str, amount: Decimal) -> Decimal:
        """``amount`` of ``column`` in the cell of month ``label`` (``Jan 26``),
        translated."""
        translate = self.flow.columns[column].translate
        assert translate is not None
        month = month_of_label(label) or label
        value, rate = self.rates.translate(amount, self.currency, month, translate.rate)
        self.used.setdefault((column, month), str(rate))
        return value

    def notes(self) -> dict[str, str]:
        """Column -> the rates it was translated with, in words (one per month)."""
        found: dict[str, list[str]] = {}
        for (column, month), rate in sorted(self.used.items()):
            translate = self.flow.columns[column].translate
            assert translate is not None
            kind = translate.rate.replace("_", "-")
            found.setdefault(column, []).append(
                f"{month} {self.currency}->{translate.to} {rate} ({kind})")
        return {column: ", ".join(rates) for column, rates in found.items()}
