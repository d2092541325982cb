"""Summaries of staged extracts: what was read, by status and currency."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import msgspec


def summarize_records(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Count, statuses, date range and totals per currency (in document and base currency)."""
    count = 0
    statuses: Counter[str] = Counter()
    totals: dict[str, Decimal] = defaultdict(Decimal)
    base_total = Decimal()
    first = last = None
    for record in records:
        count += 1
        statuses[str(record.get("status"))] += 1
        total = Decimal(str(record.get("total", 0)))
        rate = Decimal(str(record.get("exchange_rate", 1) or 1))
        totals[str(record.get("currency_code"))] += total
        base_total += (total * rate).quantize(Decimal("0.01"))
        day = record.get("date")
        if day:
            first = min(first or day, day)
            last = max(last or day, day)
    return {
        "count": count,
        "statuses": dict(sorted(statuses.items())),
        "totals_by_currency": {k: str(v) for k, v in sorted(totals.items())},
        "total_in_base_currency": str(base_total),
        "first_date": first,
        "last_date": last,
    }


def jsonl_line(record: dict[str, Any]) -> str:
    """One record as a compact JSON Lines line (newline included)."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"


#: msgspec (which Airflow brings) decodes a staged line about four times as fast as
#: ``json.loads``; a line it refuses (``NaN`` or ``Infinity``, which ``json`` writes) is
#: read by ``json`` as before, so the value reaches the build's checks.
_decode = msgspec.json.Decoder().decode


def read_jsonl(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The records of JSON Lines text (blank lines skipped)."""
    for line in lines:
        if line.strip():
            try:
                yield _decode(line)
            except msgspec.DecodeError:
                yield json.loads(line)
