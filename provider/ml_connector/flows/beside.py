"""CSV files kept beside flows.yaml (a column's ``map``, an ``fx`` rate file)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from ml_connector.errors import ConfigError


def csv_beside(path: Path, what: str, header: Sequence[str]) -> list[list[str]]:
    """The lines of the CSV file at ``path`` after its header, which must begin with
    ``header`` (any case); ``what`` names the file in errors."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            lines = list(csv.reader(handle))
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read {path} ({exc.strerror or exc}): the file "
                          "goes beside flows.yaml") from None
    if not lines or [c.strip().lower() for c in lines[0][:len(header)]] != list(header):
        raise ConfigError(f"{what} line 1: the header must be {','.join(header)}, got "
                          f"{','.join(lines[0]) if lines else 'an empty file'}")
    return lines[1:]
