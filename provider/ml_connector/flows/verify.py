"""Read-back verification: the cells a run wrote, read out of Anaplan through an export, held
against what the run sent and, for ledger flows, against the staged postings summed again.

A cell is its flow's non-amount column values (account, month, ...) and its amounts. In the
months a run rebuilt, every cell Anaplan holds for the flow's rows (the export's ``where``)
must equal what was sent, a cell sent as zero may be absent, and a cell not sent must be
zero: a value left over from an earlier load is a difference too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, Field

from ml_connector.errors import ConfigError
from ml_connector.flows.build import CENT, period_label
from ml_connector.flows.spec import Flow, Verify

Key = tuple[str, ...]
Cells = dict[Key, list[Decimal]]
ZERO = Decimal(0)
#: Differences named in a failure message (all of them are in the manifest).
SHOWN = 20


def number(text: str, where: str) -> Decimal:
    if text in ("", None):
        return ZERO
    try:
        value = Decimal(str(text).replace(",", ""))
    except InvalidOperation:
        raise ConfigError(f"{where}: not a number: {text!r}") from None
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Layout:
    """Which of a flow's columns are the cell key and which its amounts."""

    keys: list[str]
    measures: list[str]
    period: str  # the key column holding the month

    @classmethod
    def of(cls, flow: Flow) -> Layout:
        keys = [n for n, c in flow.columns.items() if c.amount is None]
        period = next(n for n, c in flow.columns.items() if c.period is not None)
        return cls(keys, [n for n, c in flow.columns.items() if c.amount], period)

    def month_of(self, key: Key) -> str:
        return key[self.keys.index(self.period)]


def of_entities(layout: Layout, entity_column: str | None, cells: Mapping[Key, Any],
                months_of: Mapping[str, set[str]]) -> dict[Key, Any]:
    """The ``cells`` of the entities a run of several organizations sent, each in the
    months it sent (``months_of``: entity -> month labels); those of the others stay out
    of the comparison. Without ``months_of`` (one organization) all of them."""
    if not months_of or entity_column is None:
        return dict(cells)
    at = layout.keys.index(entity_column)
    return {k: v for k, v in cells.items() if layout.month_of(k) in months_of.get(k[at], ())}


def sent_cells(layout: Layout, rows: Iterable[Sequence[str]], header: Sequence[str]) -> Cells:
    """The cells of an import file (its rows after the header)."""
    at = {name: i for i, name in enumerate(header)}
    return {tuple(row[at[k]] for k in layout.keys):
            [number(row[at[m]], f"import file column {m}") for m in layout.measures]
            for row in rows}


def held_cells(layout: Layout, verify: Verify, export: bytes, months: set[str]) -> Cells:
    """The cells an export holds for the flow's rows in ``months`` (month labels)."""
    reader = csv.reader(io.StringIO(export.decode("utf-8-sig")))
    header = next(reader, [])
    at = {name: i for i, name in enumerate(header)}
    wanted = [verify.columns[c] for c in (*layout.keys, *layout.measures)]
    wanted += list(verify.where)
    missing = [c for c in wanted if c not in at]
    if missing:
        raise ConfigError(f"export {verify.export} has no column {', '.join(missing)}; its "
                          f"columns: {', '.join(header)} (fix verify in flows.yaml)")
    where = [(at[c], v) for c, v in verify.where.items()]
    key_at = [at[verify.columns[k]] for k in layout.keys]
    value_at = [at[verify.columns[m]] for m in layout.measures]
    period_at = at[verify.columns[layout.period]]
    out: Cells = {}
    for row in reader:
        if not row or any(row[i] != v for i, v in where) or row[period_at] not in months:
            continue
        key = tuple(row[i] for i in key_at)
        out[key] = [number(row[i], f"export {verify.export}") for i in value_at]
    return out


def plain_key(flow: Flow, layout: Layout) -> Callable[[Mapping[str, Any]], Key] | None:
    """A record's cell key computed directly from its fields, without the build's code: for
    flows whose key columns copy fields, constants or months (ledger flows); None when a
    key needs a lookup or a line."""
    columns = flow.columns
    if any(columns[k].lookup is not None or columns[k].on_lines() or columns[k].map is not None
           or columns[k].dimension is not None for k in layout.keys):
        return None
    def part(name: str) -> Callable[[Mapping[str, Any]], str]:
        column = columns[name]
        const, period, field = column.const, column.period, str(column.field)
        if const is not None:
            return lambda record: const
        if period is not None:
            return lambda record: period_label(record[period])
        return lambda record: str(record.get(field, ""))

    parts = [part(name) for name in layout.keys]
    return lambda record: tuple(part(record) for part in parts)


def books_cells(flow: Flow, layout: Layout, records: Iterable[Mapping[str, Any]]
                ) -> Cells | None:
    """The cells summed again from staged records with ``plain_key`` (None when the flow's
    keys or amounts need the build: lookups, lines)."""
    key_of = plain_key(flow, layout)
    amounts = [str(flow.columns[m].amount) for m in layout.measures]
    if key_of is None or any(a.startswith("line.") for a in amounts):
        return None
    sums: dict[Key, list[Decimal]] = {}
    for record in records:
        totals = sums.setdefault(key_of(record), [ZERO] * len(amounts))
        for n, name in enumerate(amounts):
            totals[n] += Decimal(str(record.get(name)))
    return {k: [v.quantize(CENT, rounding=ROUND_HALF_UP) for v in values]
            for k, values in sums.items()}


class Difference(BaseModel):
    """One cell amount that is not the same everywhere (None: absent)."""

    key: list[str]
    measure: str
    sent: str | None
    held: str | None
    books: str | None = None

    def describe(self) -> str:
        parts = [f"sent {self.sent or 'nothing'}", f"Anaplan holds {self.held or 'nothing'}"]
        if self.books is not None:
            parts.append(f"the books say {self.books}")
        return f"{' / '.join(self.key)} {self.measure}: {', '.join(parts)}"


class CrossDifference(BaseModel):
    """One shared key whose amount differs between the two flows."""

    key: dict[str, str]
    measure: str
    summed: str  # this flow's cells summed over its other columns
    other: str  # what the other flow sent (0: no cell)

    def describe(self, flow: str, other: str) -> str:
        where = ", ".join(f"{k} {v}" for k, v in self.key.items())
        gap = Decimal(self.summed) - Decimal(self.other)
        return (f"{where} {self.measure}: {flow} sums to {self.summed}, {other} sent "
                f"{self.other} (difference {gap})")


class CrossResult(BaseModel):
    """What a cross-check compared per month, what it could not, and the differences."""

    flow: str
    other: str
    fail: bool = True
    months: dict[str, int] = Field(default_factory=dict)  # month label -> keys compared
    not_compared: list[str] = Field(default_factory=list)
    differences: list[CrossDifference] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.fail and self.differences)

    def lines(self) -> list[str]:
        """Each difference (the first ``SHOWN``) and each month not compared."""
        said = [d.describe(self.flow, self.other) for d in self.differences[:SHOWN]]
        more = len(self.differences) - SHOWN
        return said + ([f"... and {more} more"] if more > 0 else []) + self.not_compared

    def message(self) -> str:
        return (f"flow {self.flow}: {len(self.differences)} cell sum(s) differ from what "
                f"{self.other} sent:\n  " + "\n  ".join(self.lines()))


class Verification(BaseModel):
    """What a verify step compared, per month, and every difference it found."""

    flow: str
    run_id: str
    export_id: str | None = None  # None: no read-back (a cross-check only)
    months: dict[str, int] = Field(default_factory=dict)  # month label -> cells compared
    differences: list[Difference] = Field(default_factory=list)
    books_checked: bool = False
    crosscheck: CrossResult | None = None

    @property
    def ok(self) -> bool:
        return not self.differences and (self.crosscheck is None or self.crosscheck.ok)

    def message(self) -> str:
        said = []
        if self.differences:
            shown = "\n  ".join(d.describe() for d in self.differences[:SHOWN])
            more = len(self.differences) - SHOWN
            said.append(f"flow {self.flow}: {len(self.differences)} cell(s) differ from what "
                        f"the run sent (export {self.export_id}):\n  {shown}"
                        + (f"\n  ... and {more} more" if more > 0 else ""))
        if self.crosscheck is not None and not self.crosscheck.ok:
            said.append(self.crosscheck.message())
        return "\n".join(said)


def compare(layout: Layout, sent: Cells, held: Cells, books: Cells | None,
            months: set[str]) -> Iterator[Difference]:
    """The differences between the three views of the run's months, key by key."""
    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    keys = set(sent) | set(held) | (set(books) if books is not None else set())
    for key in sorted(k for k in keys if layout.month_of(k) in months):
        for n, measure in enumerate(layout.measures):
            s = sent[key][n] if key in sent else None
            h = held[key][n] if key in held else None
            b = books.get(key, [ZERO] * len(layout.measures))[n] if books is not None else None
            expected = s if s is not None else ZERO
            if (h if h is not None else ZERO) != expected or (b is not None and b != expected):
                yield Difference(key=list(key), measure=measure, sent=text(s), held=text(h),
                                 books=text(b))
