"""What a webhook's body says: which module, which record, and whether it was deleted.

Zoho's default body is ``{"<module>": {...record...}}``; the body of a "Deleted" event is
not documented (shared/api/zoho-books.md, "Deletions": a workflow rule's webhook may send a
custom body), so where the module, the id and the event type sit is a setting of the
connection (``PayloadShape``): dotted paths into the body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ml_connector.errors import Rejected
from ml_connector.zoho.entities import ENTITIES

#: The payload's top-level key (Zoho's detail key, e.g. ``invoice``) -> the module.
MODULES = {e.detail_key: e.name for e in ENTITIES.values()}


@dataclass(frozen=True)
class PayloadShape:
    """Where a body holds the module, the record id and the event type.

    ``module_field``: a path whose value names the module (``invoices`` or ``invoice``);
    None: the body's top-level key does (Zoho's default body). ``id_field``: the path of the
    record id; None: the module's id field inside its object (``invoice.invoice_id``).
    ``event_field``: the path of the event type; a body without it is a create or an edit.
    ``deleted``: the event types (any case) that mean a delete."""

    module_field: str | None = None
    id_field: str | None = None
    event_field: str = "event_type"
    deleted: tuple[str, ...] = ("deleted",)


@dataclass(frozen=True)
class Change:
    """One webhook's meaning: a record of a module changed, or was deleted."""

    entity: str
    record_id: str
    modified: str
    deleted: bool = False


def at(payload: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``payload`` (None where it is missing)."""
    for part in path.split("."):
        if not isinstance(payload, dict):
            return None
        payload = payload.get(part)
    return payload


def parse_payload(body: bytes, shape: PayloadShape | None = None) -> Change:
    """The ``Change`` a webhook body announces; ``Rejected`` (400) when it is not JSON or
    names no module the connector reads, or no record id, where ``shape`` says."""
    shape = shape or PayloadShape()
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected(400, f"body is not JSON ({type(exc).__name__})") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "body must be a JSON object keyed by module, e.g. {\"invoice\": …}")
    entity, key = _module(payload, shape)
    record = payload.get(key)
    record = record if isinstance(record, dict) else {}
    id_path = shape.id_field or f"{key}.{ENTITIES[entity].id_field}"
    record_id = at(payload, id_path)
    if record_id in (None, "") or isinstance(record_id, (dict, list)):
        raise Rejected(400, f"body has no record id at {id_path}")
    event = at(payload, shape.event_field)
    deleted = isinstance(event, str) and event.strip().lower() in shape.deleted
    return Change(entity, str(record_id), str(record.get("last_modified_time") or ""),
                  deleted)


def _module(payload: dict, shape: PayloadShape) -> tuple[str, str]:
    """(module, its detail key) the body names."""
    if shape.module_field is not None:
        value = str(at(payload, shape.module_field) or "").strip().lower()
        for entity in ENTITIES.values():
            if value in (entity.name, entity.detail_key):
                return entity.name, entity.detail_key
        raise Rejected(400, f"{shape.module_field} is {value[:40]!r}, no Zoho Books module the "
                       f"connector reads; expected one of {', '.join(sorted(MODULES))}")
    for key, record in payload.items():
        if key in MODULES and isinstance(record, dict):
            return MODULES[key], key
    raise Rejected(400, "body names no Zoho Books module the connector reads (keys: "
                   f"{', '.join(sorted(map(str, payload))[:5]) or 'none'}); expected one of "
                   f"{', '.join(sorted(MODULES))}")
