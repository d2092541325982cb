"""Numbers as they come in JSON, checked: finite decimals, or an error naming where."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from ml_connector.errors import ConfigError


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


def decimal_of(value: Any, where: str | Callable[[], str]) -> Decimal:
    """A finite decimal amount; anything else is an error naming ``where`` (text, or a
    function giving it: built only when needed)."""
    number = finite_decimal(value)
    if number is None:
        place = where() if callable(where) else where
        raise ConfigError(f"{place}: expected a finite number, got {value!r}")
    return number
