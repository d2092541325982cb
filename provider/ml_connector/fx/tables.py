"""Rates kept in a table: an Anaplan export of an FX module, or a CSV file beside
flows.yaml; a row per currency and month holding its month-end and average rates."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ml_connector.errors import ConfigError
from ml_connector.flows.beside import csv_beside
from ml_connector.fx.models import CODE, CSV_HEADER, FxSource, SourceKind
from ml_connector.fx.rates import MONTH, MonthRates, Rates, month_key, month_of_label, rate_text

#: One row of a rate table: (where it is, currency, yyyy-mm, month-end text, average text).
Row = tuple[str, str, str, str, str]


def rate_value(text: str, where: str) -> str | None:
    """A rate cell as decimal text (blank: None); anything but a positive number is an
    error naming ``where``."""
    cell = text.strip().replace(",", "")
    if not cell:
        return None
    try:
        value = Decimal(cell)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        raise ConfigError(f"fx: {where}: a rate must be a positive number (group-currency units "
                          f"per 1 unit of the currency), got {text!r}")
    return rate_text(value)


def table_rates(rows: Iterable[Row], *, source: SourceKind, origin: str, group: str,
                currencies: Iterable[str], months: Iterable[str]) -> Rates:
    """The rates of ``currencies`` (the group's aside) for ``months`` among ``rows``: each
    row's rates are checked, and a currency and month given twice with different rates is
    an error naming both places."""
    wanted = set(currencies) - {group}
    needed = {month_key(m) for m in months}
    seen: dict[tuple[str, str], tuple[str, MonthRates]] = {}
    for where, currency, month, month_end, average in rows:
        found = MonthRates(month_end=rate_value(month_end, f"{where}: month_end"),
                           average=rate_value(average, f"{where}: average"))
        first = seen.setdefault((currency, month), (where, found))
        if first[1] != found:
            raise ConfigError(f"fx: {where}: {currency} {month} has other rates than at "
                              f"{first[0]}; keep one row per currency and month")
    rates = Rates(group=group, source=source, origin=origin)
    for (currency, month), (_, found) in sorted(seen.items()):
        if currency in wanted and month in needed:
            rates.rates.setdefault(currency, {})[month] = found
    return rates


def anaplan_rows(source: FxSource, data: bytes) -> Iterator[Row]:
    """The rows of an FX module's export (CSV, as ``AnaplanClient.run_export`` returns it),
    read with ``source.columns``; rows of a period that is not a month (a quarter, a year)
    are left out."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    header = next(reader, [])
    names = source.columns
    wanted = [names.currency, names.period, names.month_end, names.average]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise ConfigError(f"fx: export {source.export!r} has no column "
                          f"{', '.join(map(repr, missing))}; its columns: {', '.join(header)} "
                          "(fix fx.columns in flows.yaml, or the export)")
    at = [header.index(c) for c in wanted]
    for number, row in enumerate(reader, start=2):
        if len(row) <= max(at):
            continue
        currency, label, month_end, average = (row[i] for i in at)
        month = month_of_label(label)
        if month is not None and currency.strip():
            yield (f"export {source.export!r} row {number}", currency.strip(), month,
                   month_end, average)


def anaplan_rates(source: FxSource, data: bytes, group: str, currencies: Iterable[str],
                  months: Iterable[str]) -> Rates:
    """The rates of ``currencies`` for ``months`` (yyyy-mm) in an FX module's export."""
    return table_rates(anaplan_rows(source, data), source="anaplan",
                       origin=source.describe(), group=group, currencies=currencies,
                       months=months)


def csv_rows(path: Path, name: str) -> Iterator[Row]:
    """The rows of a rate file: the header ``currency,month,month_end,average``, then a
    currency's ISO code, a month (yyyy-mm) and its two rates per line (a blank rate: not
    known); a malformed line is an error naming the file and the line."""
    lines = csv_beside(path, f"fx: {name}", CSV_HEADER)
    for number, line in enumerate(lines, start=2):
        if not any(c.strip() for c in line):
            continue
        where = f"{name} line {number}"
        if len(line) != len(CSV_HEADER):
            raise ConfigError(f"fx: {where}: expected {len(CSV_HEADER)} values "
                              f"({','.join(CSV_HEADER)}), got {len(line)}: {line!r}")
        currency, month, month_end, average = (c.strip() for c in line)
        if not CODE.match(currency):
            raise ConfigError(f"fx: {where}: currency must be an ISO code, three capital letters "
                              f"(e.g. GBP), got {currency!r}")
        if not MONTH.match(month):
            raise ConfigError(f"fx: {where}: month must be yyyy-mm (e.g. 2026-01), got {month!r}")
        yield where, currency, month, month_end, average


def csv_rates(source: FxSource, folder: Path, group: str, currencies: Iterable[str],
              months: Iterable[str]) -> Rates:
    """The rates of ``currencies`` for ``months`` (yyyy-mm) in ``source.file`` (in
    ``folder``, beside flows.yaml)."""
    name = str(source.file)
    return table_rates(csv_rows(folder / name, name), source="csv", origin=source.describe(),
                       group=group, currencies=currencies, months=months)
