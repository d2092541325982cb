"""The files a build writes beside the import file, one JSON object a line, written and read
through these structs: the ``Member`` rows of each record, the ``Skipped`` records, for an
aggregate flow the ``SentCell``s and, for a flow with ``list:`` columns, the documents
``Carried`` by each of their values. A record's data window (the month it was built for, in
a run that rebuilds months) has the audit trail's column names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any, TypeVar

import msgspec


class _Line(msgspec.Struct, omit_defaults=True):
    """A line of a build file; fields left at their default are not written."""


class Member(_Line):
    """One row of the import file fed by a record: ``row`` is its key (record grain: the
    row's number; aggregate: the cell's dimension values joined by ``|``); ``module`` is set
    when the record is not of the flow's own module (a credit note of an invoice flow)."""

    record_id: str
    row: str
    module: str | None = None
    window_start: str | None = None
    window_end: str | None = None


class Skipped(_Line):
    """A record the build did not send, and why."""

    record_id: str
    reason: str
    module: str | None = None
    window_start: str | None = None
    window_end: str | None = None


class Carried(_Line):
    """A value of a ``list:`` column and the documents that carry it: the first few (as
    ``invoice_id 1``) and how many."""

    column: str
    value: str
    documents: list[str]
    count: int


class SentCell(_Line):
    """A cell an aggregate import sets: its dimension values, the start of the window it
    belongs to (empty: the run's only window) and its amounts as sent."""

    window_start: str
    key: list[str]
    amounts: list[str] | None = None


class SentLines(_Line):
    """A record-grain flow's rows of one document, as sent (the state store keeps them to
    send them as zero once Zoho deletes it); ``month``: ``yyyy-mm`` of its date."""

    record_id: str
    month: str
    rows: list[list[str]]
    module: str | None = None


class Gone(_Line):
    """A document deleted in Zoho that the run removes from Anaplan: where the delete was
    found (``source``) and when, and the window it was last sent in; ``rows``: the rows
    sent as zero for it (record grain)."""

    record_id: str
    module: str
    source: str
    found_at: float
    window_start: str | None = None
    window_end: str | None = None
    rows: int = 0


Line = TypeVar("Line", bound=_Line)


def line_writer(handle: IO[str]) -> Callable[[_Line], None]:
    """Write structs to the text ``handle``, one JSON object a line."""
    encode = msgspec.json.Encoder().encode
    write = handle.write

    def put(item: _Line) -> None:
        write(encode(item).decode())
        write("\n")

    return put


def read_lines(path: Any, kind: type[Line]) -> Iterator[Line]:
    """The ``kind`` structs of the file at ``path`` (anything with ``open()``), streamed."""
    decode = msgspec.json.Decoder(kind).decode
    with path.open("r", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield decode(line)


def decode_lines(text: str, kind: type[Line]) -> list[Line]:
    """The ``kind`` structs of a build file's text."""
    decode = msgspec.json.Decoder(kind).decode
    return [decode(line) for line in text.splitlines() if line.strip()]
