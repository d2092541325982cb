"""Planning-dimension values of a line: a reporting tag's option, or the line's (else its
document's) location, project, item or salesperson; and the crosswalk (``map``) from Zoho
values to Anaplan members, with what it could not map.

Where Zoho keeps each (``../shared/api`` notes, "Planning dimensions on documents"): tags on
line items of detail responses only (newer organizations' "transaction-level" tags on the
document header, in a field whose name is unknown: ``tag_field``); ``location_id`` on
invoice headers and lines, bill and expense headers; ``project_id`` on invoice, bill and
credit-note lines and expense headers; ``item_id`` on lines; ``salesperson_id`` on invoice
headers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ml_connector.errors import ConfigError
from ml_connector.flows.spec import LINE_DIMENSIONS, Column

#: (id field, name field) of each dimension, as Zoho names them on lines and headers.
DIMENSION_FIELDS: dict[str, tuple[str, str]] = {
    "location": ("location_id", "location_name"),
    "project": ("project_id", "project_name"),
    "item": ("item_id", "name"),
    "salesperson": ("salesperson_id", "salesperson_name"),
}
#: A line's key that marks a posting of a document's charge (shipping, adjustment).
CHARGE = "posting"
#: (record, line) -> the place named in an error (``invoice_id 1 line 2 (...)``).
Place = Callable[[Mapping[str, Any], Mapping[str, Any]], str]


def _text(value: Any) -> str | None:
    """A Zoho value as a member's text; None for a missing or empty one."""
    if value is None or value == "":
        return None
    return str(value)


def tag_reader(tag: str, value: str, field: str = "tags"
               ) -> Callable[[Mapping[str, Any]], str | None]:
    """The option of reporting tag ``tag`` (its name or id) in the tag list ``field`` of a
    line or document header: its id or name; None where the list is absent or lacks it."""
    wanted = "tag_option_id" if value == "id" else "tag_option_name"

    def read(line: Mapping[str, Any]) -> str | None:
        tags = line.get(field)
        if type(tags) is not list:
            return None
        for entry in tags:
            if type(entry) is dict and tag in (entry.get("tag_name"), str(entry.get("tag_id"))):
                return _text(entry.get(wanted))
        return None

    return read


@dataclass
class Routed:
    """What a build's dimension columns did besides copying a value: lines given the
    column's default, values routed to the ``unmapped`` member, and values with no mapping
    (under ``unmapped: fail``) with the documents that carry them."""

    defaulted: Counter = field(default_factory=Counter)  # column -> lines
    unmapped: dict[str, Counter] = field(default_factory=dict)  # column -> value -> lines
    missing: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # col -> value -> docs

    def check(self, flow_id: str) -> None:
        """Raise naming every value with no mapping and its documents (nothing is sent)."""
        if not self.missing:
            return
        said = []
        for column, values in sorted(self.missing.items()):
            for value, docs in sorted(values.items()):
                shown = ", ".join(sorted(docs)[:5]) + (f" and {len(docs) - 5} more"
                                                       if len(docs) > 5 else "")
                said.append(f"column {column!r}: {value!r} ({shown})")
        raise ConfigError(f"flow {flow_id}: {len(said)} Zoho value(s) have no member in the "
                          f"column's map: {'; '.join(said)}. Add them to the map, or set "
                          "unmapped: <member> to route them there (nothing was uploaded)")


def dimension_column(name: str, column: Column, has_lines: bool, place: Place,
                     routed: Routed) -> Callable[[Mapping[str, Any], Mapping[str, Any]], str]:
    """A tag or dimension column as a function of (record, line): the line's value, else
    the document's (a tag in its header field ``tag_field``; a dimension Zoho keeps on
    headers), else the column's default; a document-level tag reads the document only; a
    charge posting takes ``charges`` when given. An empty value counts as none."""
    on_line: Callable[[Mapping[str, Any]], str | None] | None
    on_header: Callable[[Mapping[str, Any]], str | None] | None
    if column.tag is not None:
        on_header = tag_reader(column.tag, column.value, column.tag_field)
        on_line = tag_reader(column.tag, column.value) if column.tag_level == "line" else None
        what = f"reporting tag {column.tag!r}"
    else:
        assert column.dimension is not None
        id_field, name_field = DIMENSION_FIELDS[column.dimension]
        wanted = id_field if column.value == "id" else name_field
        lined = has_lines and column.dimension in LINE_DIMENSIONS
        on_line = (lambda line: _text(line.get(wanted))) if lined else None
        headed = column.dimension != "item"  # a document's ``name`` is not an item
        on_header = (lambda record: _text(record.get(wanted))) if headed else None
        what = f"{column.dimension} ({wanted})"
    default, charges = column.default, column.charges

    def value(record: Mapping[str, Any], line: Mapping[str, Any]) -> str:
        if charges is not None and CHARGE in line:
            return charges
        found = on_line(line) if on_line is not None and CHARGE not in line else None
        if found is None and on_header is not None:
            found = on_header(record)
        if found is not None:
            return found
        if default is None:
            raise ConfigError(f"{place(record, line)}: no {what} on the line or its document, "
                              f"and column {name!r} has no default: set its default (e.g. "
                              "default: Unassigned) or tag the document in Zoho Books "
                              "(nothing was uploaded)")
        routed.defaulted[name] += 1
        return default

    return value


def crosswalk(name: str, column: Column, table: Mapping[str, str], source: Callable[
        [Mapping[str, Any], Mapping[str, Any]], Any], doc: Callable[[Mapping[str, Any]], str],
        routed: Routed) -> Callable[[Mapping[str, Any], Mapping[str, Any]], str]:
    """``source``'s value translated by ``table`` (the column's map); a value it lacks goes
    to the ``unmapped`` member, or is remembered with its document (``unmapped: fail``).
    Members the column gives itself (its default, charges) pass as they are."""
    fallback = None if column.unmapped == "fail" else column.unmapped
    own = {v for v in (column.default, column.charges) if v is not None}

    def mapped(record: Mapping[str, Any], line: Mapping[str, Any]) -> str:
        raw = source(record, line)
        key = "" if raw is None else str(raw)
        member = table.get(key)
        if member is not None:
            return member
        if key in own:
            return key
        if fallback is not None:
            routed.unmapped.setdefault(name, Counter())[key] += 1
            return fallback
        routed.missing.setdefault(name, {}).setdefault(key, set()).add(doc(record))
        return key

    return mapped
