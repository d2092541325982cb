"""The live state of a model: list items, module cells, the calendar, files and tasks."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ml_connector_sandbox.anaplan.config import AnaplanSandboxConfig
from ml_connector_sandbox.anaplan.definition import (
    TIME,
    ExportSpec,
    ImportSpec,
    ListItemSpec,
    ListSpec,
    ModelSpec,
    ModuleSpec,
    ProcessSpec,
    WorkspaceSpec,
    month_index,
)
from ml_connector_sandbox.anaplan.files import Files

if TYPE_CHECKING:
    from ml_connector_sandbox.anaplan.tasks import TaskBoard

VERSIONS = "Versions"
Value = float | str
Headers = Mapping[str, str]
NO_HEADERS: Headers = {}


def renamed(columns: list[tuple[str, str, str]], headers: Headers
            ) -> list[tuple[str, str, str]]:
    """``columns`` with the headers ``headers`` gives another name."""
    return [(headers.get(h, h), kind, name) for h, kind, name in columns]


@dataclass
class Item:
    id: str
    code: str
    name: str
    properties: dict[str, str] = field(default_factory=dict)
    parent: str | None = None  # code of its member of the parent list

    def row(self) -> dict:
        return {"id": self.id, "code": self.code, "name": self.name,
                "properties": dict(self.properties)}


class ListState:
    """A list's items by code; members are found by code first, then by name. A list with
    a parent list (``spec.parent``) holds each item's parent member by its code."""

    def __init__(self, spec: ListSpec, ids: itertools.count) -> None:
        self.spec = spec
        self._ids = ids
        self.items: dict[str, Item] = {}
        for item in spec.items:
            self.upsert(item.code, item.name, item.properties, item.parent,
                        set_parent=item.parent is not None)

    def find(self, value: str) -> Item | None:
        found = self.items.get(value)
        if found is None:
            found = next((i for i in self.items.values() if i.name == value), None)
        return found

    def upsert(self, code: str, name: str | None, properties: dict[str, str],
               parent: str | None = None, *, set_parent: bool = False) -> bool:
        """Create or update the item with ``code`` (a None ``name`` is the code for a new
        item and leaves an existing one's; ``set_parent``: its parent becomes ``parent``,
        None for the top level); True if it was created."""
        item = self.items.get(code)
        if item is None:
            self.items[code] = Item(f"{next(self._ids):012d}", code,
                                    code if name is None else name, dict(properties),
                                    parent if set_parent else None)
            return True
        if name is not None:
            item.name = name
        item.properties.update(properties)
        if set_parent:
            item.parent = parent
        return False

    def export_columns(self, headers: Headers = NO_HEADERS) -> list[tuple[str, str, str]]:
        """(header, data type, list) of each column of the list's export (``headers``:
        another header for a column, by its usual one)."""
        parent = [("Parent", "ENTITY", self.spec.parent)] if self.spec.parent else []
        return renamed([(self.spec.name, "ENTITY", self.spec.name), ("Code", "TEXT", ""),
                        *parent, *((p, "TEXT", "") for p in self.spec.properties)], headers)

    def to_csv(self, headers: Headers = NO_HEADERS) -> bytes:
        """The members as a list export writes them: name, code, parent (a list with a
        parent list), then each property; a row per member."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c for c, _, _ in self.export_columns(headers)])
        for item in self.items.values():
            parent = [item.parent or ""] if self.spec.parent else []
            writer.writerow([item.name, item.code, *parent,
                             *(item.properties.get(p, "") for p in self.spec.properties)])
        return out.getvalue().encode()

    def rows(self) -> list[dict]:
        """Items as the admin hooks show them (``parent``: the parent member's code, ``""``
        at the top level, on lists with a parent list only)."""
        if self.spec.parent is None:
            return [i.row() for i in self.items.values()]
        return [{**i.row(), "parent": i.parent or ""} for i in self.items.values()]


class ModuleState:
    """A module's cells: dimension members (in ``spec.dimensions`` order) -> line item values."""

    def __init__(self, spec: ModuleSpec) -> None:
        self.spec = spec
        self.line_items = {i.name: i for i in spec.line_items}
        self.cells: dict[tuple[str, ...], dict[str, Value]] = {}
        #: Entered cells (member names) whose members are not all in their lists yet.
        self.entered: list[tuple[tuple[str, ...], dict[str, Value]]] = [
            (key, dict(cell.values)) for cell in spec.cells for key in cell.keys(spec.dimensions)]

    def write(self, key: tuple[str, ...], values: dict[str, Value]) -> None:
        self.cells.setdefault(key, {}).update(values)

    def rows(self) -> list[dict]:
        """``[{"dimensions": {dim: member}, "values": {line item: value}}]``, in member order
        (months chronologically)."""
        dims = self.spec.dimensions

        def order(key: tuple[str, ...]) -> tuple:
            return tuple((month_index(m) or 0, m) if d == TIME else (0, m)
                         for d, m in zip(dims, key, strict=True))

        return [{"dimensions": dict(zip(dims, key, strict=True)), "values": dict(self.cells[key])}
                for key in sorted(self.cells, key=order)]

    def export_columns(self, headers: Headers = NO_HEADERS) -> list[tuple[str, str, str]]:
        """(header, data type, list) of each column of the module's export (``headers``:
        another header for a dimension's or line item's column, by its name)."""
        return renamed([*((d, "ENTITY", d) for d in self.spec.dimensions),
                        *((n, i.format if i.format != "LIST" else "ENTITY", "")
                          for n, i in self.line_items.items())], headers)

    def to_csv(self, headers: Headers = NO_HEADERS) -> bytes:
        """The cells as flat CSV: one column per dimension, then one per line item; a row
        per cell with data (a module's default view, or a tabular multi-column export)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c for c, _, _ in self.export_columns(headers)])
        for row in self.rows():
            writer.writerow([*row["dimensions"].values(),
                             *(row["values"].get(name, "") for name in self.line_items)])
        return out.getvalue().encode()


@dataclass
class ModelState:
    """One model: its definition, lists, modules, files and task board."""

    spec: ModelSpec
    workspace: WorkspaceSpec
    config: AnaplanSandboxConfig
    active_state: str = ""
    lists: dict[str, ListState] = field(default_factory=dict)
    modules: dict[str, ModuleState] = field(default_factory=dict)
    imports: dict[str, ImportSpec] = field(default_factory=dict)
    processes: dict[str, ProcessSpec] = field(default_factory=dict)
    exports: dict[str, ExportSpec] = field(default_factory=dict)
    months: list[str] = field(default_factory=list)
    files: Files = field(init=False)
    tasks: TaskBoard = field(init=False)

    def __post_init__(self) -> None:
        spec = self.spec
        ids = itertools.count(206000000001)
        versions = ListSpec(id="101999999999", name=VERSIONS,
                            items=[ListItemSpec(code=v) for v in spec.versions])
        self.active_state = self.active_state or spec.active_state
        self.lists = {x.name: ListState(x, ids) for x in [*spec.lists, versions]}
        self.modules = {m.name: ModuleState(m) for m in spec.modules}
        self.imports = {i.id: i for i in spec.imports}
        self.processes = {p.id: p for p in spec.processes}
        self.months = spec.time.labels()
        self.exports = {e.id: e for e in spec.exports}
        self.files = Files(spec.files, self.config.file_limits)
        for export in spec.exports:  # an export writes the file of its own id
            self.files.add(export.id, export.name)

    @property
    def id(self) -> str:
        return self.spec.id

    def exported(self, export: ExportSpec) -> ListState | ModuleState:
        """What an export reads: its list, or its module."""
        if export.list is not None:
            return self.list_named(export.list)
        assert export.module is not None
        return self.settled(self.module_named(export.module))

    def settled(self, module: ModuleState) -> ModuleState:
        """``module`` with the entered cells whose members are all in their lists now (a
        cell already written keeps its values)."""
        waiting = []
        for names, values in module.entered:
            key = tuple(self.member(d, n) for d, n in zip(module.spec.dimensions, names,
                                                          strict=True))
            if None in key:
                waiting.append((names, values))
            elif key not in module.cells:
                module.write(tuple(str(k) for k in key), values)
        module.entered = waiting
        return module

    def member(self, dimension: str, value: str) -> str | None:
        """The member of a list (its code) or of ``Time`` (its label) that ``value`` names."""
        if dimension == TIME:
            return value if value in self.months else None
        item = self.lists[dimension].find(value)
        return item.code if item else None

    def list_named(self, name_or_id: str) -> ListState:
        for state in self.lists.values():
            if name_or_id in (state.spec.name, state.spec.id):
                return state
        raise KeyError(f"no list {name_or_id!r} in model {self.id}")

    def module_named(self, name_or_id: str) -> ModuleState:
        for state in self.modules.values():
            if name_or_id in (state.spec.name, state.spec.id):
                return state
        raise KeyError(f"no module {name_or_id!r} in model {self.id}")
