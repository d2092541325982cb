"""Zoho records -> import rows for one flow, streamed; which records fed which rows.

``build_file`` writes the CSV for the import and the ``Member`` lines of which record fed
which row (``flows.files``), so that reconciliation can tell, for every record, whether the
rows it fed were imported. Memory holds only the aggregated cells (aggregate grain) or
nothing at all (record grain).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import IO, Any, NamedTuple

from ml_connector.decimals import finite_decimal
from ml_connector.errors import ConfigError
from ml_connector.flows.build import period_label, rate_of, to_base, write_csv
from ml_connector.flows.dimensions import Routed, crosswalk, dimension_column
from ml_connector.flows.files import Member, SentCell, SentLines, Skipped, line_writer
from ml_connector.flows.members import Carriers
from ml_connector.flows.organizations import OrgFacts
from ml_connector.flows.postings import Account, Postings
from ml_connector.flows.spec import Column, Flow, Lookup
from ml_connector.window import Window
from ml_connector.zoho.entities import get_entity

Lookups = Mapping[str, Mapping[str, str]]  # "entity:key:value" -> {key: value}
EMPTY: Mapping[str, str] = {}


def lookup_name(column: Column) -> str:
    lookup = column.lookup
    assert lookup is not None
    return f"{get_entity(lookup.entity).name}:{lookup.key}:{lookup.value}"


def _add_pair(table: dict[str, str], lookup: Lookup, record: Mapping[str, Any]) -> None:
    """Add ``record``'s key -> value to a lookup table, when it has both."""
    key, value = record.get(lookup.key), record.get(lookup.value)
    if key not in (None, "") and value not in (None, ""):
        table[str(key)] = str(value)


def lookup_table(column: Column, records: Iterable[dict]) -> dict[str, str]:
    """``key -> value`` of one lookup column from the records of its entity."""
    lookup = column.lookup
    assert lookup is not None
    table: dict[str, str] = {}
    for record in records:
        _add_pair(table, lookup, record)
    return table


def lookup_tables(flow: Flow, records_by_entity: Mapping[str, Iterable[dict]]) -> dict:
    """Build the key -> value tables the flow's lookups need from extracted entities (each
    entity's records are read once, whatever number of columns look through it)."""
    tables: dict[str, dict[str, str]] = {}
    by_entity: dict[str, list[tuple[Lookup, dict[str, str]]]] = {}
    for column in flow.columns.values():
        if column.lookup is not None:
            by_entity.setdefault(get_entity(column.lookup.entity).name, []).append(
                (column.lookup, tables.setdefault(lookup_name(column), {})))
    for entity, wanted in by_entity.items():
        for record in records_by_entity[entity]:
            for lookup, table in wanted:
                _add_pair(table, lookup, record)
    return tables


#: Reads an entity's list afresh (a lookup list reused from an earlier read missed a key).
Refresh = Callable[[str], Iterable[dict]]


@dataclass
class BuildResult:
    """What a build wrote: rows, records used and skipped (with reasons), cell totals."""

    rows: int = 0
    records: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    cleared: int = 0
    zeroed: int = 0
    #: Dimension columns: lines given the default member, values routed to ``unmapped``.
    defaulted: dict[str, int] = field(default_factory=dict)
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)
    #: ``translate:`` columns: the rates used, in words (column -> one per month).
    translated: dict[str, str] = field(default_factory=dict)

    def add(self, other: BuildResult) -> None:
        """Add another build's counts (the organizations of one import)."""
        for name in ("rows", "records", "skipped", "cleared", "zeroed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mine, theirs in ((self.skipped_reasons, other.skipped_reasons),
                             (self.defaulted, other.defaulted)):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n
        for column, values in other.unmapped.items():
            into = self.unmapped.setdefault(column, {})
            for value, n in values.items():
                into[value] = into.get(value, 0) + n

    def took(self, routed: Routed) -> None:
        """Keep what the build's dimension columns defaulted and routed."""
        self.defaulted = dict(routed.defaulted)
        self.unmapped = {column: dict(values) for column, values in routed.unmapped.items()}

    def routed_lines(self) -> list[str]:
        """One line per dimension column that defaulted or routed values (the task log)."""
        lines = [f"column {c!r}: {n:,} line(s) carried no value and got the default member"
                 for c, n in sorted(self.defaulted.items())]
        lines += [f"column {c!r}: values with no mapping routed to the unmapped member: "
                  + ", ".join(f"{v!r} x {n:,}" for v, n in sorted(values.items(),
                                                                 key=lambda vn: -vn[1]))
                  for c, values in sorted(self.unmapped.items())]
        return lines


class RowMapper:
    """Evaluates a flow's columns for a record (and each of its line items)."""

    def __init__(self, flow: Flow, lookups: Lookups, refresh: Refresh | None = None,
                 accounts: Mapping[str, Account] | None = None,
                 organization: OrgFacts | None = None) -> None:
        self.flow = flow
        self.organization = organization
        self.lookups = dict(lookups)
        self.refresh = refresh
        self._refreshed: set[str] = set()
        ids = flow.record_ids
        self.id_field = ids[0][0]
        # Crediting modules first: a credit note may name the invoice it was raised from
        # (an ``invoice_id`` of its own), an invoice never carries a ``creditnote_id``.
        self._ids = ids[::-1]
        self._crediting = frozenset(flow.entities[1:])
        #: A ledger flow's postings name the module of their document by transaction type.
        self._module_field = "transaction_type" if flow.is_ledger else None
        self.header = list(flow.columns)
        #: Lines given a default member, values routed or left unmapped by ``map``.
        self.routed = Routed()
        self._has_lines = flow.is_ledger or get_entity(flow.entity).has_line_items
        self.measures = [i for i, c in enumerate(flow.columns.values()) if c.amount]
        #: Amount columns sent in the base currency (converted at the record's rate).
        self._in_base = [i for i, c in enumerate(flow.columns.values())
                         if c.amount and c.currency != "document"]
        self._columns = [self._mapped(n, c) for n, c in flow.columns.items()]
        #: Columns whose values are always text (lookups, month labels, text constants,
        #: tags, dimensions, mapped members).
        self.text_columns = frozenset(
            i for i, c in enumerate(flow.columns.values())
            if c.lookup is not None or c.period is not None or isinstance(c.const, str)
            or c.organization is not None
            or c.tag is not None or c.dimension is not None or c.map is not None)
        # Columns whose value may differ from line to line: those reading lines, and with
        # postings those naming a member for the charges (which are lines of their own).
        postings = flow.lines == "postings"
        self._per_line = frozenset(i for i, c in enumerate(flow.columns.values())
                                   if c.on_lines(self._has_lines)
                                   or (postings and c.charges is not None))
        zero = Decimal(0)
        self._zeroed = [(lambda record, line: zero) if c.amount else fn
                        for c, fn in zip(flow.columns.values(), self._columns, strict=True)]
        self._line_columns = {zeroed: [(i, columns[i]) for i in sorted(self._per_line)]
                              for zeroed, columns in ((False, self._columns),
                                                      (True, self._zeroed))}
        accounts = accounts or {}
        self.postings = Postings(self.id_of, accounts.get("shipping"), accounts.get(
            "adjustment")) if postings else None
        # What ``line.*`` columns read, decided once: postings (of the lines, or of the
        # header of a document without lines), line items, or one empty line.
        self.lines: Callable[[Mapping[str, Any]], Sequence[Mapping[str, Any]]] = (
            (lambda record: [EMPTY]) if not flow.uses_lines
            else self._items if self.postings is None
            else self.postings.header if not flow.is_ledger
            and get_entity(flow.entity).posts_header
            else self.postings.lines)

    def origin(self, record: Mapping[str, Any]) -> tuple[str, str, str]:
        """(id field, id, module) of a record of any of the flow's modules: the flow's own,
        or the one crediting it."""
        for id_field, name in self._ids:
            if id_field in record:
                if self._module_field is not None:
                    name = str(record.get(self._module_field) or name)
                return id_field, str(record[id_field]), name
        return self.id_field, str(record.get(self.id_field)), self.flow.entity

    def id_of(self, record: Mapping[str, Any]) -> tuple[str, str]:
        """(id field, id) of a record of any of the flow's modules."""
        return self.origin(record)[:2]

    def credits(self, entity: str | None) -> bool:
        """Whether records of module ``entity`` credit the flow's (their amounts count
        negatively)."""
        return entity in self._crediting

    def entity_of(self, record: Mapping[str, Any]) -> str:
        """The module a record comes from (the flow's own, or the one crediting it)."""
        return self.origin(record)[2]

    def skip_reason(self, record: Mapping[str, Any]) -> str | None:
        if record.get("status") in self.flow.exclude_status:
            return f"status {record.get('status')}"
        for name, wanted in self.flow.where.items():
            allowed = wanted if isinstance(wanted, list) else [wanted]
            if str(record.get(name)) not in allowed:
                return f"{name} {record.get(name)}"
        return None

    def _mapped(self, name: str, column: Column
                ) -> Callable[[Mapping[str, Any], Mapping[str, Any]], Any]:
        """The column as a function of (record, line), through its ``map`` when it has one."""
        value = self._compile(name, column)
        if column.map is None:
            return value
        assert isinstance(column.map, dict), "map files load with flows.yaml, exports at build"
        return crosswalk(name, column, column.map, value,
                         lambda record: "{} {}".format(*self.id_of(record)), self.routed)

    def _compile(self, name: str, column: Column
                 ) -> Callable[[Mapping[str, Any], Mapping[str, Any]], Any]:
        """The column as a function of (record, line), decided once per build."""
        def source(path: str) -> Callable[[Mapping[str, Any], Mapping[str, Any]], Any]:
            if path.startswith("line."):
                name = path[5:]
                return lambda record, line: line.get(name)
            return lambda record, line: record.get(path)

        if column.const is not None or column.organization is not None:
            const = column.const if column.organization is None else self.fact(name, column)
            return lambda record, line: const
        if column.tag is not None or column.dimension is not None:
            return dimension_column(name, column, self._has_lines, self.place, self.routed)
        if column.field is not None:
            field_of = source(column.field)
            return lambda record, line: "" if (v := field_of(record, line)) is None else v
        if column.period is not None:
            date_of = source(column.period)
            date_name = column.period.removeprefix("line.")

            def period(record: Mapping[str, Any], line: Mapping[str, Any]) -> str:
                value = date_of(record, line)
                try:
                    return period_label(value)
                except (ConfigError, TypeError):
                    raise self.bad_value(record, line, date_name, value,
                                         "a date (yyyy-mm-dd)") from None

            return period
        if column.amount is not None:
            amount_of = source(column.amount)
            field_name = column.amount.removeprefix("line.")

            def number(record: Mapping[str, Any], line: Mapping[str, Any]) -> Decimal:
                value = amount_of(record, line)
                if type(value) is Decimal:  # a posting's amount, checked already
                    return value
                found = finite_decimal(value)
                if found is None:
                    raise self.bad_value(record, line, field_name, value, "a finite number")
                return found

            return number  # in the document's currency: ``rows`` converts to the base
        lookup = column.lookup
        assert lookup is not None
        key_of = source(lookup.field)
        name = lookup_name(column)
        tables = self.lookups

        def look(record: Mapping[str, Any], line: Mapping[str, Any]) -> str:
            key = key_of(record, line)
            found = tables.get(name, EMPTY).get(key if type(key) is str else str(key))
            return found if found is not None else self._look(column, name, record, key)

        return look

    def fact(self, name: str, column: Column) -> str:
        """The value of an ``organization:`` column: a fact of the organization read."""
        assert column.organization is not None
        value = self.organization.fact(column.organization) if self.organization else ""
        if not value:
            raise ConfigError(f"flow {self.flow.id}: column {name!r} holds the organization's "
                              f"{column.organization}, which this run does not know"
                              + (": name the flow's organizations (organizations: [{entity: "
                                 "...}])" if column.organization == "entity" else ""))
        return value

    def _items(self, record: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        """A document's line items, which must be a list (of objects: ``rows`` checks)."""
        items = record.get("line_items")
        if type(items) is list:
            return items
        if items is None:
            return []
        raise self.bad_value(record, EMPTY, "line_items", items, "a list of line items")

    def rate(self, record: Mapping[str, Any]) -> Decimal | None:
        """The record's exchange rate to the base currency (None: 1; a record without one
        is in the base currency)."""
        raw = record.get("exchange_rate", 1)
        try:
            return rate_of(raw)
        except (ValueError, TypeError):
            raise self.bad_value(record, EMPTY, "exchange_rate", raw,
                                 "a positive number (the document's rate to the base "
                                 "currency)") from None

    def bad_value(self, record: Mapping[str, Any], line: Mapping[str, Any], field: str,
                  value: Any, wanted: str) -> ConfigError:
        """The error for a value that cannot be sent: names the document, the line and the
        field, and says what was expected."""
        return ConfigError(f"{self.place(record, line)} {field}: expected {wanted}, got "
                           f"{value!r:.60}; correct the document in Zoho Books (nothing was "
                           "uploaded)")

    def place(self, record: Mapping[str, Any], line: Mapping[str, Any]) -> str:
        """``invoice_id 1`` or ``invoice_id 1 line 2 (line_item_id 77)``."""
        doc = "{} {}".format(*self.id_of(record))
        if not line:
            return doc
        items = record.get("line_items")
        n = next((n for n, item in enumerate(items, start=1) if item is line), None) \
            if type(items) is list else None
        name = line.get("line_item_id")
        if n is None and not name:  # the posting of a document's header (an expense)
            return doc
        return f"{doc} line {n or '?'}" + (f" (line_item_id {name})" if name else "")

    def _look(self, column: Column, name: str, record: Mapping[str, Any], key: Any) -> str:
        lookup = column.lookup
        assert lookup is not None
        table = self.lookups.get(name, {})
        if str(key) not in table and self.refresh is not None and name not in self._refreshed:
            # The list may be older than the record (reused from an earlier read): read it
            # again, once per run, before calling the key unknown.
            self._refreshed.add(name)
            table = self.lookups[name] = lookup_table(column, self.refresh(lookup.entity))
        if str(key) not in table:
            raise ConfigError(
                "{} {}: ".format(*self.id_of(record)) + f"{lookup.field} {key!r} "
                f"has no {lookup.value} in {lookup.entity}")
        return table[str(key)]

    def rows(self, record: Mapping[str, Any], zero: bool = False,
             credit: bool | None = None) -> Iterator[list[Any]]:
        """The record's rows (one per line when columns use lines); with ``zero``, every
        amount is 0; a crediting document's amounts are negated (``credit``: whether the
        record is one, when the caller knows)."""
        if credit is None:
            credit = self.credits(self.entity_of(record))
        columns = self._zeroed if zero else self._columns
        lines = self.lines(record)
        if not lines:
            return
        # Columns that do not read the line are the same on every row: computed once.
        fixed: list[Any] = [None if i in self._per_line else column(record, EMPTY)
                            for i, column in enumerate(columns)]
        per_line = self._line_columns[zero]
        in_base = self._in_base if not zero else ()
        rate = self.rate(record) if in_base else None
        sign = -1 if credit and not zero else 1
        for line in lines:
            row = fixed.copy()
            try:
                for i, column in per_line:
                    row[i] = column(record, line)
            except AttributeError:
                if type(line) is dict:
                    raise
                raise self.bad_value(record, EMPTY, "line_items", line,
                                     "a list of line items (objects)") from None
            for i in in_base:
                row[i] = to_base(row[i], rate)
            if sign < 0:
                for i in self.measures:
                    row[i] = -row[i] if row[i] else row[i]  # never "-0"
            yield row


class Usable(NamedTuple):
    """A record to send: its id, module (when not the flow's own) and data window (none:
    the run's), whether it credits and whether it is zeroed."""

    record: dict
    record_id: str
    module: str | None
    window: Window | tuple[None, None]
    credit: bool
    zeroed: bool


def build_file(flow: Flow, records: Iterable[dict], lookups: Lookups, csv_out: IO[str],
               members_out: IO[str], skipped_out: IO[str], *,
               window_of: Callable[[Mapping[str, Any]], Window] | None = None,
               cells_out: IO[str] | None = None,
               clear: Iterable[tuple[str, ...]] = (),
               refresh: Refresh | None = None,
               accounts: Mapping[str, Account] | None = None,
               values_out: IO[str] | None = None,
               lines_out: IO[str] | None = None,
               organization: OrgFacts | None = None,
               translate: Callable[[str, str, Decimal], Decimal] | None = None
               ) -> BuildResult:
    """Write the import CSV, the record -> row ``members`` and the skipped records.

    Aggregate grain: ``cells_out`` receives a ``SentCell`` for every cell sent, and each
    cell of ``clear`` (sent before for the windows rebuilt now) that no record feeds any
    more is sent as zero, so no stale value survives. ``values_out`` receives the documents
    ``Carried`` by each value of the flow's ``list:`` columns (for the member check).
    Record grain: ``lines_out`` receives the ``SentLines`` of each document.
    ``organization``: the organization read (its ``organization:`` columns); ``translate``:
    (column, month label, base-currency sum) -> the cell's amount in the group currency,
    for each ``translate:`` column.
    """
    mapper = RowMapper(flow, lookups, refresh, accounts, organization)
    result = BuildResult()
    usable = _usable(flow, mapper, records, window_of, line_writer(skipped_out), result)
    member = line_writer(members_out)
    carriers = Carriers(flow, values_out) if values_out is not None else None
    if flow.grain == "record":
        sent = line_writer(lines_out) if lines_out is not None else None
        dated = flow.period_field or "date"

        def record_rows() -> Iterator[list[str]]:
            for use in usable:
                document = "{} {}".format(*mapper.id_of(use.record)) if carriers is not None else ""
                rows: list[list[str]] = []
                for row in mapper.rows(use.record, zero=use.zeroed, credit=use.credit):
                    result.rows += 1
                    member(Member(use.record_id, str(result.rows), use.module, *use.window))
                    if carriers is not None:
                        carriers.add(row, document)
                    if sent is not None:
                        rows.append(["" if v is None else str(v) for v in row])
                    yield row  # csv writes each value as str() does
                if sent is not None:
                    sent(SentLines(use.record_id, str(use.record.get(dated) or "")[:7], rows,
                                   use.module))

        write_csv(csv_out, mapper.header, record_rows())
        mapper.routed.check(flow.id)
        result.took(mapper.routed)
        if carriers is not None:
            carriers.write()
        return result
    cells = _Cells(mapper)
    for use in usable:
        document = "{} {}".format(*mapper.id_of(use.record)) if carriers is not None else ""
        for row in mapper.rows(use.record, credit=use.credit):
            member(Member(use.record_id, cells.add(row, use.window[0] or ""), use.module,
                          *use.window))
            if carriers is not None:
                carriers.add(row, document)
    if carriers is not None:
        carriers.write()
    result.cleared = cells.clear(clear)
    if translate is not None:
        cells.translate(translate)
    if cells_out is not None:
        sent = line_writer(cells_out)
        for key, start in cells.windows.items():
            sent(SentCell(start, list(key), [str(v) for v in cells.sums[key]]))
    mapper.routed.check(flow.id)
    result.took(mapper.routed)
    result.rows = write_csv(csv_out, mapper.header, cells.rows())
    return result


def _usable(flow: Flow, mapper: RowMapper, records: Iterable[dict],
            window_of: Callable[[Mapping[str, Any]], Window] | None,
            skip: Callable[[Skipped], None], result: BuildResult) -> Iterator[Usable]:
    """The records to send, with what their rows and members need; the others are written
    to ``skip`` and counted in ``result`` with their reason."""
    zero_excluded = flow.excluded == "zero"
    for record in records:
        window = window_of(record) if window_of is not None else (None, None)
        _, record_id, entity = mapper.origin(record)
        module = entity if entity != flow.entity else None
        reason = mapper.skip_reason(record)
        zeroed = bool(reason) and zero_excluded and record.get("status") in flow.exclude_status
        if reason and not zeroed:
            result.skipped += 1
            result.skipped_reasons[reason] = result.skipped_reasons.get(reason, 0) + 1
            skip(Skipped(record_id, reason, module, *window))
            continue
        if zeroed:
            result.zeroed += 1
        else:
            result.records += 1
        yield Usable(record, record_id, module, window, mapper.credits(module), zeroed)


class _Cells:
    """An aggregate import's cells: rows summed by their dimension values (the key)."""

    def __init__(self, mapper: RowMapper) -> None:
        self.mapper = mapper
        self.zero = [Decimal(0)] * len(mapper.measures)
        self.sums: dict[tuple[str, ...], list[Decimal]] = {}
        self.windows: dict[tuple[str, ...], str] = {}  # a cell's window start
        self.key_text: dict[tuple[str, ...], str] = {}  # a cell's row key, joined once
        self.measures = list(enumerate(mapper.measures))
        dims = [i for i in range(len(mapper.header)) if i not in mapper.measures]
        # A cell's key: its dimension values as text (lookups and periods already are text).
        self.key_of: Callable[[list[Any]], tuple[str, ...]]
        if len(dims) > 1 and all(i in mapper.text_columns for i in dims):
            self.key_of = itemgetter(*dims)
        else:
            self.key_of = lambda row: tuple([str(row[i]) for i in dims])

    def add(self, row: list[Any], window_start: str) -> str:
        """Add ``row`` to its cell; returns the cell's row key."""
        key = self.key_of(row)
        sums = self.sums.get(key)
        if sums is None:
            sums = self.sums[key] = list(self.zero)
            self.key_text[key] = "|".join(key)
            self.windows[key] = window_start
        for n, i in self.measures:
            sums[n] += row[i]
        return self.key_text[key]

    def clear(self, keys: Iterable[tuple[str, ...]]) -> int:
        """Send each of ``keys`` that no row fed as zero; returns how many."""
        cleared = 0
        for key in keys:
            if tuple(key) not in self.sums:
                self.sums[tuple(key)] = list(self.zero)
                cleared += 1
        return cleared

    def translate(self, convert: Callable[[str, str, Decimal], Decimal]) -> None:
        """Translate the sums of the ``translate:`` columns, each in its cell's month."""
        flow = self.mapper.flow
        names = list(flow.columns)
        dims = [i for i in range(len(names)) if i not in self.mapper.measures]
        period = dims.index(next(i for i, c in enumerate(flow.columns.values()) if c.period))
        translated = [(n, names[i]) for n, i in self.measures
                      if flow.columns[names[i]].translate is not None]
        for key, sums in self.sums.items():
            for n, name in translated:
                sums[n] = convert(name, key[period], sums[n])

    def rows(self) -> Iterator[list[str]]:
        """The cells as import rows, sorted by key."""
        header, measures = self.mapper.header, self.mapper.measures
        for key in sorted(self.sums):
            values, sums = iter(key), iter(self.sums[key])
            yield [str(next(sums)) if i in measures else next(values)
                   for i in range(len(header))]


def row_keys(flow: Flow, csv_lines: Iterable[list[str]]) -> dict[str, int]:
    """Row key -> file line number (the header is line 1), matching ``members`` keys."""
    measures = {i for i, c in enumerate(flow.columns.values()) if c.amount}
    out = {}
    for number, row in enumerate(csv_lines, start=2):
        if flow.grain == "record":
            out[str(number - 1)] = number
        else:
            out["|".join(v for i, v in enumerate(row) if i not in measures)] = number
    return out
