"""Crosswalks kept in Anaplan (``map: {export, zoho, anaplan}``): a list's export read once
per run, at the build, into the table ``map`` holds inline (Zoho value -> member code)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from ml_connector.errors import ConfigError
from ml_connector.flows.spec import Flow, MapExport


def export_maps(flow: Flow) -> dict[str, MapExport]:
    """column name -> its ``map`` when it is an Anaplan export."""
    return {name: c.map for name, c in flow.columns.items() if isinstance(c.map, MapExport)}


def map_table(spec: MapExport, data: bytes, where: str) -> dict[str, str]:
    """Zoho value -> member code from an export's CSV: each row's ``zoho`` cell (split at
    ``separator``) maps to its ``anaplan`` cell; rows without a value are left out; a value
    mapped to two members is an error naming both."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    header = next(reader, [])
    missing = [c for c in (spec.zoho, spec.anaplan) if c not in header]
    if missing:
        raise ConfigError(f"{where}: export {spec.export!r} has no column "
                          f"{', '.join(map(repr, missing))}; its columns: {', '.join(header)} "
                          "(fix map.zoho / map.anaplan in flows.yaml, or the export)")
    zoho_at, member_at = header.index(spec.zoho), header.index(spec.anaplan)
    table: dict[str, str] = {}
    for row in reader:
        if len(row) <= max(zoho_at, member_at) or not row[member_at]:
            continue
        cell = row[zoho_at]
        values = cell.split(spec.separator) if spec.separator else [cell]
        for value in filter(None, (v.strip() for v in values)):
            if table.setdefault(value, row[member_at]) != row[member_at]:
                raise ConfigError(f"{where}: Zoho value {value!r} is mapped to two members "
                                  f"in export {spec.export!r} ({table[value]!r} and "
                                  f"{row[member_at]!r}); give it to one member in Anaplan")
    return table


def with_export_maps(flow: Flow, read_export: Callable[[str], bytes]) -> Flow:
    """``flow`` with each export ``map`` replaced by its table (``read_export``: an export's
    CSV, called once per export); the flow itself when it has none."""
    maps = export_maps(flow)
    if not maps:
        return flow
    read: dict[str, bytes] = {}
    columns = dict(flow.columns)
    for name, spec in maps.items():
        if spec.export not in read:
            read[spec.export] = read_export(spec.export)
        table = map_table(spec, read[spec.export], f"flow {flow.id}: column {name!r}: map")
        columns[name] = columns[name].model_copy(update={"map": table})
    return flow.model_copy(update={"columns": columns})
