"""The model definition: workspaces, models, lists, modules, data source files, imports and
processes, as declared in YAML (``default_model.yaml`` is the standard one)."""

from __future__ import annotations

import itertools
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_MODEL = Path(__file__).with_name("default_model.yaml")

#: The time dimension's name in module definitions and import columns.
TIME = "Time"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

ImportType = Literal["MODULE_DATA", "HIERARCHY_DATA"]
ActiveState = str  # ARCHIVED, UNLOCKED, ACTIVE, PRODUCTION, ... (any text, to test clients)


class _Spec(BaseModel):
    """Unquoted YAML numbers (ids, item codes) are taken as the text they were written as."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


def month_index(label: str) -> int | None:
    """``"Jan 26"`` -> months since Jan 2000 (``312``); None if not such a label."""
    month, _, year = label.partition(" ")
    if month not in MONTHS or len(year) != 2 or not year.isdigit():
        return None
    return int(year) * 12 + MONTHS.index(month)


def month_label(index: int) -> str:
    return f"{MONTHS[index % 12]} {index // 12:02d}"


class ListItemSpec(_Spec):
    code: str
    name: str | None = Field(default=None, description="default: the code")
    properties: dict[str, str] = Field(default_factory=dict)
    parent: str | None = Field(default=None, description="code of its member of the parent list")


class ListSpec(_Spec):
    """A list (dimension): items identified by code, with text properties; ``parent`` names
    the list its items roll up to (a hierarchy such as Regions > Departments)."""

    id: str = Field(pattern=r"^101\d{9}$")
    name: str
    parent: str | None = None
    properties: list[str] = Field(default_factory=list)
    items: list[ListItemSpec] = Field(default_factory=list)


class LineItemSpec(_Spec):
    """A measure of a module: NUMBER, TEXT, a member of a list (LIST) or a month (TIME)."""

    name: str
    format: Literal["NUMBER", "TEXT", "LIST", "TIME"] = "NUMBER"
    list: str | None = Field(default=None, description="the list of a LIST line item")

    @model_validator(mode="after")
    def _list_named(self) -> LineItemSpec:
        if (self.format == "LIST") != (self.list is not None):
            raise ValueError(f"line item {self.name}: 'list' goes with format LIST only")
        return self


class CellSpec(_Spec):
    """Cells entered in the model (a plan version's, say): one member (code or name) of
    each dimension, or a list of them (every combination gets the values)."""

    members: dict[str, str | list[str]]
    values: dict[str, float]

    def keys(self, dimensions: list[str]) -> list[tuple[str, ...]]:
        """The member names of every cell, in ``dimensions`` order."""
        given = [self.members[d] for d in dimensions]
        return list(itertools.product(*([m] if isinstance(m, str) else m for m in given)))


class ModuleSpec(_Spec):
    """A module: cells addressed by one member of each dimension (list names or ``Time``).
    ``cells``: values entered in the model; a cell appears once every member it names is in
    its list (a plan entered against the departments the list flows load)."""

    id: str = Field(pattern=r"^102\d{9}$")
    name: str
    dimensions: list[str]
    line_items: list[LineItemSpec]
    cells: list[CellSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cells_fit(self) -> ModuleSpec:
        items = {i.name for i in self.line_items}
        for cell in self.cells:
            if set(cell.members) != set(self.dimensions) or not set(cell.values) <= items:
                raise ValueError(f"module {self.name}: a cell names a member of each of "
                                 f"{', '.join(self.dimensions)} and values of its line items")
        return self


class FileSpec(_Spec):
    """An import data source file."""

    id: str = Field(pattern=r"^113\d{9}$")
    name: str


class ColumnSpec(_Spec):
    """What one source column feeds. MODULE_DATA: a ``dimension`` or a ``line_item`` of the
    target module; HIERARCHY_DATA: the item's ``field`` (code, name, or parent: a member of
    the list's parent list) or a ``property``. Empty: the column is in the file but not used
    by this import."""

    dimension: str | None = None
    line_item: str | None = None
    field: Literal["code", "name", "parent"] | None = None
    property: str | None = None

    @model_validator(mode="after")
    def _at_most_one(self) -> ColumnSpec:
        if sum(v is not None for v in vars(self).values()) > 1:
            raise ValueError("a column feeds at most one of dimension/line_item/field/property")
        return self


class ImportSpec(_Spec):
    """An import action: its data source file, column contract and mapping."""

    id: str = Field(pattern=r"^112\d{9}$")
    name: str
    type: ImportType
    target: str = Field(description="module name (MODULE_DATA) or list name (HIERARCHY_DATA)")
    source: str = Field(pattern=r"^113\d{9}$", description="data source file id")
    columns: dict[str, ColumnSpec] = Field(description="header name -> mapping, in file order")
    parameters: dict[str, str] = Field(
        default_factory=dict,
        description="mapping parameters asked at each run: entityType -> dimension it fixes",
    )
    column_separator: str = ","
    text_delimiter: str = '"'
    decimal_separator: str = "."
    header_row: int = Field(default=1, ge=1)
    first_data_row: int = Field(default=2, ge=1)
    encoding: str = "UTF-8"

    @property
    def header_names(self) -> list[str]:
        return list(self.columns)


class ExportSpec(_Spec):
    """An export action, written to the file of the same id when its task completes: a
    module's cells as a tabular multi-column CSV (one column per dimension, then one per
    line item; a row per cell with data), or a list's members (``list``: its name, then
    Code, Parent when the list has a parent list, and a column per property)."""

    id: str = Field(pattern=r"^116\d{9}$")
    name: str
    module: str | None = None
    list: str | None = None
    headers: dict[str, str] = Field(
        default_factory=dict, description="a column's header by the dimension, line item or "
        "list column it shows (default: that name)")

    @model_validator(mode="after")
    def _one_source(self) -> ExportSpec:
        if (self.module is None) == (self.list is None):
            raise ValueError(f"export {self.name}: give exactly one of module and list")
        return self


class ProcessSpec(_Spec):
    id: str = Field(pattern=r"^118\d{9}$")
    name: str
    actions: list[str] = Field(description="import ids, run in order")


class TimeSpec(_Spec):
    """The model calendar: months from ``first`` to ``last`` as ``"Jan 26"`` labels."""

    first: str = "Jan 24"
    last: str = "Dec 27"

    @model_validator(mode="after")
    def _labels(self) -> TimeSpec:
        first, last = month_index(self.first), month_index(self.last)
        if first is None or last is None or last < first:
            raise ValueError("time: first and last must be ordered labels like 'Jan 26'")
        return self

    def labels(self) -> list[str]:
        first, last = month_index(self.first), month_index(self.last)
        assert first is not None and last is not None  # checked by _labels
        return [month_label(i) for i in range(first, last + 1)]


class ModelSpec(_Spec):
    id: str = Field(pattern=r"^[0-9A-F]{32}$")
    name: str
    active_state: ActiveState = "PRODUCTION"
    time: TimeSpec = Field(default_factory=TimeSpec)
    versions: list[str] = Field(default_factory=lambda: ["Actual", "Budget", "Forecast"])
    lists: list[ListSpec] = Field(default_factory=list)
    modules: list[ModuleSpec] = Field(default_factory=list)
    files: list[FileSpec] = Field(default_factory=list)
    imports: list[ImportSpec] = Field(default_factory=list)
    exports: list[ExportSpec] = Field(default_factory=list)
    processes: list[ProcessSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        dims = {x.name for x in self.lists} | {TIME, "Versions"}
        files = {f.id for f in self.files}
        modules = {m.name: m for m in self.modules}
        lists = {x.name: x for x in self.lists}
        ids = [*(x.id for x in self.lists), *(m.id for m in self.modules),
               *(f.id for f in self.files), *(i.id for i in self.imports),
               *(e.id for e in self.exports), *(p.id for p in self.processes)]
        if len(ids) != len(set(ids)):
            raise ValueError(f"model {self.id}: object ids must be unique")
        for module in self.modules:
            for name in module.dimensions + [i.list for i in module.line_items if i.list]:
                if name not in dims:
                    raise ValueError(f"module {module.name}: no list {name!r}")
        self._check_parents(lists)
        for imp in self.imports:
            if imp.source not in files:
                raise ValueError(f"import {imp.name}: no file {imp.source}")
            if imp.type == "MODULE_DATA":
                self._check_module_import(imp, modules.get(imp.target))
            elif imp.target not in lists:
                raise ValueError(f"import {imp.name}: no list {imp.target!r}")
            elif not any(c.field in ("code", "name") for c in imp.columns.values()):
                raise ValueError(f"import {imp.name}: no column gives the item code or name")
            elif (any(c.field == "parent" for c in imp.columns.values())
                  and lists[imp.target].parent is None):
                raise ValueError(f"import {imp.name}: list {imp.target!r} has no parent list")
        for export in self.exports:
            if export.module is not None and export.module not in modules:
                raise ValueError(f"export {export.name}: no module {export.module!r}")
            if export.module is not None:
                shown = modules[export.module]
                known = {*shown.dimensions, *(i.name for i in shown.line_items)}
                unknown = sorted(set(export.headers) - known)
                if unknown:
                    raise ValueError(f"export {export.name}: headers name no column of "
                                     f"{export.module}: {', '.join(unknown)}")
            if export.list is not None and export.list not in lists:
                raise ValueError(f"export {export.name}: no list {export.list!r}")
        imports = {i.id for i in self.imports}
        for process in self.processes:
            if not set(process.actions) <= imports:
                raise ValueError(f"process {process.name}: unknown actions")
        return self

    @staticmethod
    def _check_parents(lists: dict[str, ListSpec]) -> None:
        """Parent lists exist and form no cycle; seeded items name members of them."""
        for spec in lists.values():
            seen, up = {spec.name}, spec.parent
            while up is not None:
                if up not in lists:
                    raise ValueError(f"list {spec.name}: no parent list {up!r}")
                if up in seen:
                    raise ValueError(f"list {spec.name}: its parents form a cycle")
                seen.add(up)
                up = lists[up].parent
            for item in spec.items:
                if item.parent is None:
                    continue
                parent = lists[spec.parent] if spec.parent else None
                if parent is None or item.parent not in {i.code for i in parent.items}:
                    raise ValueError(f"list {spec.name}: item {item.code} names a parent "
                                     f"{item.parent!r} that is not an item of its parent list")

    @staticmethod
    def _check_module_import(imp: ImportSpec, module: ModuleSpec | None) -> None:
        if module is None:
            raise ValueError(f"import {imp.name}: no module {imp.target!r}")
        items = {i.name for i in module.line_items}
        fed = [c.dimension for c in imp.columns.values() if c.dimension]
        if any(c.field or c.property for c in imp.columns.values()):
            raise ValueError(f"import {imp.name}: module imports map dimensions and line items")
        if sorted(fed + list(imp.parameters.values())) != sorted(module.dimensions):
            raise ValueError(
                f"import {imp.name}: columns and parameters must fix each dimension once"
            )
        if not {c.line_item for c in imp.columns.values() if c.line_item} <= items:
            raise ValueError(f"import {imp.name}: unknown line items")


class WorkspaceSpec(_Spec):
    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    name: str
    models: list[ModelSpec] = Field(default_factory=list)


@lru_cache(maxsize=8)
def _read(path: str, mtime_ns: int) -> dict:
    return yaml.safe_load(Path(path).read_text()) or {}


def load_workspaces(path: str | Path = DEFAULT_MODEL) -> list[WorkspaceSpec]:
    """The ``workspaces`` of a model-definition YAML file."""
    raw = _read(str(path), Path(path).stat().st_mtime_ns)
    return [WorkspaceSpec.model_validate(w) for w in raw.get("workspaces", [])]
