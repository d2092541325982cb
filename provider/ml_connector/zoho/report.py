"""Summaries of staged extracts: what was read, by status and currency."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any


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


def read_jsonl(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    for line in lines:
        if line.strip():
            yield json.loads(line)
