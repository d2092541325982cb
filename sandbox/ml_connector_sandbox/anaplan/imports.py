"""Running one import against a model: parse the source file, write list items or module
cells row by row, and report the result and the failure dump."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

from ml_connector_sandbox.anaplan.definition import TIME, ImportSpec, LineItemSpec
from ml_connector_sandbox.anaplan.model import ModelState, Value

RowWriter = Callable[[dict[str, str]], list[str]]

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@dataclass
class Outcome:
    """An import's ``result`` object and its failure dump (CSV bytes) if rows failed."""

    result: dict
    dump: bytes | None = None


def count_rows(spec: ImportSpec, data: bytes | None) -> int:
    """Data rows of a source file, by its line breaks (what task durations are based on)."""
    if not data:
        return 0
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    return max(0, lines - spec.first_data_row + 1)


def parse_number(text: str, decimal: str) -> float | None:
    """A number written with ``decimal`` as decimal separator; blank is 0; None if invalid."""
    value = text.strip()
    if not value:
        return 0.0
    if decimal != ".":
        if "." in value:
            return None
        value = value.replace(decimal, ".")
    return float(value) if _NUMBER.fullmatch(value) else None


def fatal(spec: ImportSpec, message: str) -> Outcome:
    return Outcome({"successful": False, "failureDumpAvailable": False, "objectId": spec.id,
                    "details": [{"type": "importFailed", "localMessageText": message,
                                 "occurrences": 0, "values": []}]})


def run_import(model: ModelState, spec: ImportSpec, data: bytes | None,
               params: dict[str, str]) -> Outcome:
    """Apply ``data`` (the user's upload of the import's source file) to ``model``.

    Rows are applied in order; a row with any error is rejected whole and lands in the dump.
    ``params`` maps mapping-parameter dimensions to the member chosen at the run.
    """
    if data is None:
        return fatal(spec, f"No data: upload file {spec.source} before running the import")
    try:
        text = data.decode("utf-8-sig" if spec.encoding.upper() == "UTF-8" else spec.encoding)
        records = list(csv.reader(io.StringIO(text, newline=""),
                                  delimiter=spec.column_separator, quotechar=spec.text_delimiter))
    except (UnicodeDecodeError, LookupError, csv.Error) as err:
        return fatal(spec, f"The file is not readable {spec.encoding} text: {err}")
    if len(records) < spec.header_row:
        return fatal(spec, "The file has no header row")
    header = records[spec.header_row - 1]
    missing = [h for h in spec.header_names if h not in header]
    if missing:
        return fatal(spec, f"Source header mismatch: missing {', '.join(missing)}; expected "
                           f"{', '.join(spec.header_names)}")
    writer = (_module_writer if spec.type == "MODULE_DATA" else _list_writer)(model, spec, params)
    position = {name: header.index(name) for name in spec.header_names}
    ok = failed = ignored = 0
    rejected: list[tuple[int, list[str], list[str]]] = []
    for number, row in enumerate(records[spec.first_data_row - 1:], start=spec.first_data_row):
        if not any(cell.strip() for cell in row):
            ignored += 1
            continue
        cells = {name: row[i] if i < len(row) else "" for name, i in position.items()}
        problems = writer(cells)
        if problems:
            failed += 1
            rejected.append((number, row, problems))
        else:
            ok += 1
    total = ok + failed + ignored
    details = [{
        "type": "moduleRowsProcessed" if spec.type == "MODULE_DATA" else "hierarchyRowsProcessed",
        "localMessageText": f"{spec.target}: {ok} of {total} rows successful, {ignored} ignored",
        "occurrences": 0,
        "values": ["successRowCount", str(ok), "failedCount", str(failed),
                   "ignoredCount", str(ignored), "totalRowCount", str(total)],
    }]
    result = {"successful": ok > 0 or failed == 0, "failureDumpAvailable": failed > 0,
              "objectId": spec.id, "details": details}
    return Outcome(result, _dump(header, rejected) if rejected else None)


def _list_writer(model: ModelState, spec: ImportSpec, params: dict[str, str]) -> RowWriter:
    """Upserts a row's item into the target list; returns the row's errors. Codes and
    names are trimmed, and a blank name replaced by the code, as ``list_text`` says; a
    parent must be a member of the list's parent list (blank: the top level)."""
    target = model.lists[spec.target]
    text = model.config.list_text
    fields = {c.field: h for h, c in spec.columns.items() if c.field}
    props = {c.property: h for h, c in spec.columns.items() if c.property}
    parents = model.lists[target.spec.parent] if target.spec.parent else None

    def write(cells: dict[str, str]) -> list[str]:
        code = cells[fields["code"]] if "code" in fields else ""
        name = cells[fields["name"]] if "name" in fields else ""
        code = code.strip() if text.trim_codes else code
        name = name.strip() if text.trim_names else name
        if not code.strip() and not name.strip():
            return ["Item code and name are both blank"]
        if "name" in fields and not name.strip() and text.blank_name == "reject":
            return [f"Item name is blank: {code!r}"]
        parent: str | None = None
        if parents is not None and "parent" in fields:
            value = cells[fields["parent"]].strip()
            found = parents.find(value) if value else None
            if value and found is None:
                return [f"Parent not located in {parents.spec.name} list: {value!r}"]
            parent = found.code if found else None
        keep_blank = "name" in fields and text.blank_name == "keep"
        given = name if name.strip() or keep_blank else None
        target.upsert(code if code.strip() else name, given,
                      {p: cells[h] for p, h in props.items()}, parent,
                      set_parent="parent" in fields)
        return []

    return write


def _module_writer(model: ModelState, spec: ImportSpec, params: dict[str, str]) -> RowWriter:
    """Writes a row's values into the cell its dimension members address; returns the
    row's errors (nothing is written if there are any)."""
    module = model.modules[spec.target]
    dims = {c.dimension: h for h, c in spec.columns.items() if c.dimension}
    items = {c.line_item: h for h, c in spec.columns.items() if c.line_item}

    def write(cells: dict[str, str]) -> list[str]:
        problems: list[str] = []
        key: list[str] = []
        for dim in module.spec.dimensions:
            raw = cells[dims[dim]].strip() if dim in dims else params[dim]
            member = model.member(dim, raw)
            if member is None and dim in dims and raw != cells[dims[dim]]:
                member = model.member(dim, cells[dims[dim]])  # a code kept with its spaces
            if member is None:
                problems.append(_not_located(dim, raw))
            key.append(member or "")
        values: dict[str, Value] = {}
        for name, header in items.items():
            value, problem = _value(model, spec, module.line_items[name], cells[header])
            if problem:
                problems.append(problem)
            else:
                values[name] = value
        if not problems:
            module.write(tuple(key), values)
        return problems

    return write


def _value(model: ModelState, spec: ImportSpec, item: LineItemSpec,
           raw: str) -> tuple[Value, str | None]:
    if item.format == "NUMBER":
        number = parse_number(raw, spec.decimal_separator)
        return (0.0, f"Invalid number for {item.name}: {raw!r}") if number is None else (
            number, None)
    if item.format == "TEXT" or not raw.strip():
        return raw, None
    dimension = TIME if item.format == "TIME" else str(item.list)
    member = model.member(dimension, raw.strip())
    return (member, None) if member is not None else ("", _not_located(dimension, raw))


def _not_located(dimension: str, value: str) -> str:
    if dimension == TIME:
        return f"Invalid time period: {value!r}"
    return f"Item not located in {dimension} list: {value!r}"


def _dump(header: list[str], rejected: list[tuple[int, list[str], list[str]]]) -> bytes:
    """The failure dump: ``_Status_``, the original columns, ``_Line_``, ``_Error_n_``."""
    width = max(len(p) for _, _, p in rejected)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["_Status_", *header, "_Line_", *(f"_Error_{n}_" for n in
                                                      range(1, width + 1))])
    for number, row, problems in rejected:
        cells = (row + [""] * len(header))[:len(header)]
        writer.writerow(["E", *cells, number, *problems, *[""] * (width - len(problems))])
    return out.getvalue().encode()
