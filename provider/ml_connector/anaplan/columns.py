"""The column contract: a file's header must equal the import's ``headerNames``."""

from __future__ import annotations

from ml_connector.errors import ConfigError


def check_header(header: list[str], expected: list[str], import_name: str = "the import") -> None:
    """Raise a ``ConfigError`` listing missing and unexpected columns (or a wrong order)."""
    missing = [c for c in expected if c not in header]
    unexpected = [c for c in header if c not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing columns {missing}")
        if unexpected:
            parts.append(f"unexpected columns {unexpected}")
        raise ConfigError(f"file header does not match {import_name}: {'; '.join(parts)}; "
                          f"expected {expected}")
    if header != expected:
        raise ConfigError(f"file columns are in the wrong order for {import_name}: got {header}, "
                          f"expected {expected}")
