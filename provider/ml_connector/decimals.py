"""Numbers as they come in JSON, checked: finite decimals or nothing."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def finite_decimal(value: Any) -> Decimal | None:
    """``value`` as a finite decimal, or None when it is not a finite number."""
    if type(value) is float or type(value) is int:  # the usual case: a JSON number
        return Decimal(repr(value)) if value - value == 0 else None  # not NaN or infinite
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
