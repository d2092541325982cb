"""The member check: every value a flow's ``list:`` columns send is a member of its Anaplan
list, checked before the upload, since a module import rejects a row whose member it does
not find and the connector would only learn of it from the failure dump.

A value counts as a member when it equals a member's code or its name: Anaplan matches
numbered lists on code and standard lists on name. The build keeps, per value of each
``list:`` column, the first documents that carry it (``Carriers``); the check reads each
named list once (``read_members``), streams the import file for the distinct values
(``file_values``) and names each value that is not a member, its documents and the fix.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from ml_connector.errors import MembersMissing
from ml_connector.flows.files import Carried, line_writer, read_lines
from ml_connector.flows.spec import Column, Flow, dag_id

if TYPE_CHECKING:
    from ml_connector.anaplan.client import AnaplanClient
    from ml_connector.anaplan.models import ListInfo

#: Documents named per value in the error; values per column whose documents a build keeps.
SHOWN = 5
MAX_VALUES = 10_000
NOT_KEPT = (f"no document kept: a cell an earlier run sent, now cleared, or a value past the "
            f"first {MAX_VALUES:,} of its column")


def list_columns(flow: Flow) -> list[tuple[int, str]]:
    """(position, name) of the flow's ``list:`` columns in its import file."""
    return [(i, name) for i, (name, column) in enumerate(flow.columns.items())
            if column.list_ is not None]


class Carriers:
    """The documents that carry each value of a flow's ``list:`` columns, kept by the
    build: per value the first ``SHOWN`` and how many (a record's rows come together, so a
    change of document counts one more), for at most ``MAX_VALUES`` values a column."""

    def __init__(self, flow: Flow, out: IO[str]) -> None:
        self.columns = list_columns(flow)
        self.out = out
        #: column -> value -> [documents counted, the last one, the first SHOWN]
        self.seen: dict[str, dict[str, list[Any]]] = {name: {} for _, name in self.columns}

    def add(self, row: Sequence[Any], document: str) -> None:
        """Count the values of ``row``, a row of ``document`` (``invoice_id 1``)."""
        for i, name in self.columns:
            values = self.seen[name]
            value = str(row[i])
            entry = values.get(value)
            if entry is None:
                if len(values) < MAX_VALUES:
                    values[value] = [1, document, [document]]
            elif entry[1] != document:
                entry[0] += 1
                entry[1] = document
                if len(entry[2]) < SHOWN:
                    entry[2].append(document)

    def write(self) -> None:
        """Write a ``Carried`` line per value kept."""
        put = line_writer(self.out)
        for name, values in self.seen.items():
            for value, (count, _, documents) in values.items():
                put(Carried(name, value, documents, count))


class MemberCheck(BaseModel):
    """What the member check read: each list's members, each ``list:`` column's distinct
    values, and the Anaplan requests it made."""

    lists: dict[str, int] = Field(default_factory=dict)
    values: dict[str, int] = Field(default_factory=dict)
    requests: int = 0


@dataclass(frozen=True)
class Members:
    """A list's members as an import matches them: their codes and names."""

    list_id: str
    keys: frozenset[str]
    count: int
    names: Mapping[str, str] = field(default_factory=dict)  # code -> name


def read_members(client: AnaplanClient, names: Iterable[str],
                 lists: list[ListInfo] | None = None) -> dict[str, Members]:
    """The members of each list (name or id, as ``list:`` spells it): the model's
    ``lists`` read once (unless given), then each list's items once (``ConfigError`` for a
    list the model lacks)."""
    lists = client.lists() if lists is None else lists
    found: dict[str, Members] = {}
    for name in names:
        info = client.find_list(name, lists)
        items = client.list_items(info.id, include_all=True)
        found[name] = Members(info.id, frozenset(k for item in items
                                                 for k in (item.code, item.name) if k),
                              len(items), {item.code: item.name for item in items
                                           if item.code and item.name})
    return found


def file_values(flow: Flow, path: Any) -> dict[str, set[str]]:
    """The distinct values of each ``list:`` column in the import file at ``path``, read
    streaming (only the distinct values are kept)."""
    columns = list_columns(flow)
    found: dict[str, set[str]] = {name: set() for _, name in columns}
    with path.open("r", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row in reader:
            for i, name in columns:
                found[name].add(row[i])
    return found


def not_members(flow: Flow, values: Mapping[str, set[str]],
                members: Mapping[str, Members]) -> dict[str, set[str]]:
    """Column -> its values that are not members of the column's list. In a list flow a
    blank value (a ``Parent`` column's, of a member at the top) names no member."""
    missing: dict[str, set[str]] = {}
    blank = {""} if flow.loads is not None else set()
    for name, found in values.items():
        list_name = flow.columns[name].list_
        assert list_name is not None
        if absent := found - members[list_name].keys - blank:
            missing[name] = absent
    return missing


def carried(path: Any, missing: Mapping[str, set[str]]) -> dict[tuple[str, str], Carried]:
    """(column, value) -> its documents, for the ``missing`` values, from a build's file."""
    return {(c.column, c.value): c for c in read_lines(path, Carried)
            if c.value in missing.get(c.column, ())}


def missing_error(flow: Flow, missing: Mapping[str, set[str]],
                  carriers: Mapping[tuple[str, str], Carried],
                  loads: Mapping[str, list[str]]) -> MembersMissing:
    """The error naming each value that is not a member, where it comes from (its
    documents, or the column's own ``default``/``charges``/``map``/``unmapped``) and the
    fix for each list (``loads``: list -> the list flows that load it)."""
    said: list[str] = []
    for name in sorted(missing):
        column = flow.columns[name]
        own = column.own_members()
        list_name = column.list_
        assert list_name is not None
        values = []
        for value in sorted(missing[name]):
            entry, given = carriers.get((name, value)), own.get(value)
            parts = []
            if entry is not None:
                more = entry.count - len(entry.documents)
                parts.append(", ".join(entry.documents) + (f" and {more} more" if more else ""))
            if given is not None:
                parts.append(f"the column's {given}")
            values.append(f"{value!r} ({'; '.join(parts) or NOT_KEPT})")
        said.append(f"column {name!r} (list {list_name}): {'; '.join(values)}\n  fix: "
                    + member_fix(list_name, loads.get(list_name, []),
                           any(v in own for v in missing[name])))
    count = sum(len(v) for v in missing.values())
    return MembersMissing(
        f"flow {flow.id}: {count} value(s) are not members of their Anaplan list (no "
        "member has it as code or name), so the import would reject their rows; nothing "
        "was uploaded:\n  " + "\n  ".join(said))


def member_fix(list_name: str, loaders: list[str], own: bool, only_own: bool = False) -> str:
    """How to make values members of a list (``loaders``: the list flows that load it), or
    send them elsewhere; ``own``: some are members the column gives itself, ``only_own``:
    all are (flows.yaml names them: correcting it comes first)."""
    runs = " or ".join(f"airflow dags test {dag_id(f)}" for f in loaders)
    if only_own:
        return ("correct them in flows.yaml (the column names them itself), or "
                + (f"if they are Zoho's, load them into {list_name} with list flow "
                   f"{', '.join(loaders)} ({runs})" if loaders else
                   f"add them to the Anaplan list {list_name}"))
    if loaders:
        fix = (f"if Zoho holds them, load them into {list_name} with list flow "
               f"{', '.join(loaders)} ({runs}), then run this flow again")
    else:
        fix = f"add them to the Anaplan list {list_name}"
    fix += ("; or send them to an existing member with the column's map: (and unmapped: "
            "<member> for values it does not name)")
    if own:
        fix += "; a member the column gives itself: correct it in flows.yaml"
    return fix


#: Zoho module listing each dimension's values (salesperson: none the notes know of).
DIMENSION_LISTS = {"location": ("locations", "location_id", "location_name"),
                   "project": ("projects", "project_id", "project_name"),
                   "item": ("items", "item_id", "name")}


def zoho_values(client: Any, column: Column) -> dict[str, str] | None:
    """The values a tag or dimension ``column`` can send as Zoho holds them now: value ->
    what Zoho calls it. A tag's options that are no other option's parent (lines carry
    those in the sandbox; whether Zoho lets a line carry a parent option is not
    documented); every location, project or item. None: no list to read (a salesperson).
    One request for a dimension's list; a tag: the tag list and its options."""
    from ml_connector.zoho.tags import tag_option_rows

    wanted = "id" if column.value == "id" else "name"
    if column.tag is not None:
        rows = list(tag_option_rows(client, only=[column.tag]))
        parents = {r["parent_option_id"] for r in rows}
        return {str(r[f"option_{wanted}"] or ""): f"option {r['option_name']!r} of tag "
                f"{r['tag_name']}" for r in rows if r["option_id"] not in parents}
    listed = DIMENSION_LISTS.get(column.dimension or "")
    if listed is None:
        return None
    module, id_field, name_field = listed
    return {str(r.get(id_field if wanted == "id" else name_field) or ""):
            f"{column.dimension} {r.get(name_field)!r}"
            for r in client.iter_records(module, {})}


def zoho_not_members(column: Column, values: Mapping[str, str], members: Members
                     ) -> tuple[dict[str, str], dict[str, str]]:
    """Of a column's Zoho ``values`` (value -> what Zoho calls it): (those its ``map``
    leaves without a member under ``unmapped: fail``, those whose member, after the map,
    the list lacks), each value -> a description naming the member it would send."""
    table = column.map if isinstance(column.map, dict) else None
    fallback = None if column.unmapped == "fail" else column.unmapped
    unmapped: dict[str, str] = {}
    absent: dict[str, str] = {}
    for value, said in sorted(values.items()):
        member = value
        if table is not None:
            found = table.get(value, fallback)
            if found is None:
                unmapped[value] = said
                continue
            member = found
        if member not in members.keys:
            absent[member] = said + (f", mapped from {value!r}" if member != value else "")
    return unmapped, absent
