"""Data windows of flow runs: months of documents, and the months an incremental aggregate
run must rebuild whole (those its changed records fall in now or fell in when last sent)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from ml_connector.errors import ConfigError
from ml_connector.window import Window

__all__ = ["Window", "affected_months", "month_of", "month_window", "next_month", "one_month",
           "parse_months"]


def month_of(value: Any) -> date:
    """The first day of the month of a ``yyyy-mm-dd`` date (or an ISO timestamp)."""
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ConfigError(f"not a date (yyyy-mm-dd): {value!r}") from None
    return day.replace(day=1)


def parse_months(text: str) -> list[date]:
    """Months written as ``2026-01..2026-12`` (a range, inclusive), ``2026-01,2026-03`` or
    one month; first days, sorted."""
    months: set[date] = set()
    for part in (p.strip() for p in str(text).split(",")):
        first, _, last = part.partition("..")
        try:
            start = date.fromisoformat(f"{first.strip()}-01")
            end = date.fromisoformat(f"{(last or first).strip()}-01")
        except ValueError:
            raise ConfigError(f"months: {part!r} is not a month (yyyy-mm) or a range "
                              "(yyyy-mm..yyyy-mm)") from None
        if end < start:
            raise ConfigError(f"months: {part!r} ends before it starts")
        while start <= end:
            months.add(start)
            start = next_month(start)
    return sorted(months)


def one_month(text: str) -> Window:
    """The window of one month written ``yyyy-mm``."""
    months = parse_months(text)
    if len(months) != 1:
        raise ConfigError(f"month: {text!r} is not one month (yyyy-mm)")
    return month_window(months[0])


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_window(first: date) -> Window:
    """``[first, first of next month)`` as ISO timestamps at midnight UTC."""
    return Window.of(first, next_month(first))


def affected_months(
    records: Iterable[Mapping[str, Any]],
    date_field: str | Sequence[str],
    id_field: str | Sequence[str],
    previous: Callable[[list[str]], Iterable[str]],
    batch: int = 500,
) -> list[date]:
    """Months (first days, sorted) of the changed ``records``' ``date_field`` and of the
    windows ``previous(ids)`` says those records were last sent in: an invoice moved from
    January to February changes both months' cells. ``id_field`` may name several modules'
    id fields (a flow reading invoices and credit notes), ``date_field`` several date fields
    (the first a record has counts: journals are dated by ``journal_date``). Memory holds one
    batch of ids."""
    id_fields = [id_field] if isinstance(id_field, str) else list(id_field)
    date_fields = [date_field] if isinstance(date_field, str) else list(date_field)
    months: set[date] = set()
    ids: list[str] = []

    def flush() -> None:
        months.update(month_of(start) for start in previous(ids))
        ids.clear()

    for record in records:
        field = next((f for f in id_fields if f in record), id_fields[0])
        dated = next((f for f in date_fields if f in record), date_fields[0])
        if record.get(dated) in (None, ""):
            raise ConfigError(f"{field} {record.get(field)} has no {dated}")
        try:
            months.add(month_of(record[dated]))
        except ConfigError as exc:
            raise ConfigError(f"{field} {record.get(field)} {dated}: {exc}") from None
        ids.append(str(record.get(field)))
        if len(ids) >= batch:
            flush()
    if ids:
        flush()
    return sorted(months)
