"""Failure dumps: CSV with the original columns plus ``_Status_``, ``_Line_``, ``_Error_N_``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class RejectedRow:
    """One input row the import rejected: its line in the file, values and errors."""

    line: int | None
    status: str
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.values.items())
        return f"line {self.line}: {'; '.join(self.errors) or self.status} [{shown}]"


def parse_dump(text: str) -> Iterator[RejectedRow]:
    """Rows of a failure dump, matched by header name (the column order is not documented)."""
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        errors = [v for k, v in sorted(row.items(), key=lambda kv: kv[0] or "")
                  if k and k.startswith("_Error_") and v]
        line = row.get("_Line_")
        yield RejectedRow(
            line=int(line) if line and line.strip().isdigit() else None,
            status=row.get("_Status_", ""),
            values={k: v for k, v in row.items() if k and not k.startswith("_")},
            errors=errors,
        )
