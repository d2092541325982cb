"""Reading what the Anaplan sandbox holds, for comparison with the independent oracle."""

from __future__ import annotations

from decimal import Decimal

from .conftest import MODEL

#: The sandbox's organization the flows read.
ORG = "10234695"
#: Cells compare to the cent.
CENT = Decimal("0.01")


def account_cells(sandbox, module: str = "Invoice Actuals") -> dict[tuple[str, str], Decimal]:
    """An Accounts x Time module's Amount cells, to the cent."""
    return {(c["dimensions"]["Accounts"], c["dimensions"]["Time"]):
            Decimal(repr(c["values"]["Amount"])).quantize(CENT)
            for c in sandbox.sandbox.anaplan.module_cells(MODEL, module)}


def line_amounts(sandbox) -> dict[str, float]:
    """Invoice Line Details' Amount cells by line item id."""
    return {c["dimensions"]["Invoice Lines"]: c["values"]["Amount"]
            for c in sandbox.sandbox.anaplan.module_cells(MODEL, "Invoice Line Details")}
