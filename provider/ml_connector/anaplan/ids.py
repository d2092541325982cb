"""Anaplan ids: checked and normalized before any call (paths are case-sensitive)."""

from __future__ import annotations

import re

from ml_connector.errors import ConfigError

_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
OBJECT_PREFIXES = {"import": "112", "file": "113", "export": "116", "action": "117",
                   "process": "118"}


def _hex32(value: object, what: str) -> str:
    text = str(value or "").strip()
    if not _HEX32.fullmatch(text):
        raise ConfigError(f"{what} must be 32 hexadecimal characters, got {value!r}")
    return text


def workspace_id(value: object) -> str:
    """A workspace id, lowercased as Anaplan's paths require."""
    return _hex32(value, "workspace id").lower()


def model_id(value: object) -> str:
    """A model id, uppercased as Anaplan's paths require."""
    return _hex32(value, "model id").upper()


def task_id(value: object) -> str:
    return _hex32(value, "task id").upper()


#: Actions that run as tasks, by id prefix: their collection in the API.
ACTION_COLLECTIONS = {"112": "imports", "116": "exports", "118": "processes"}


def action_path(value: object) -> str:
    """``imports/<id>``, ``exports/<id>`` or ``processes/<id>``: the resource of an action's
    tasks."""
    text = str(value or "").strip()
    collection = ACTION_COLLECTIONS.get(text[:3])
    if collection is None or not (len(text) == 12 and text.isdigit()):
        raise ConfigError(f"action id must be 12 digits: an import (112…), an export (116…) "
                          f"or a process (118…), got {value!r}")
    return f"{collection}/{text}"


def is_process(value: object) -> bool:
    return action_path(value).startswith("processes/")


def object_id(value: object, kind: str) -> str:
    """A 12-digit object id whose prefix matches its kind (``112…`` for imports, ...)."""
    text = str(value or "").strip()
    prefix = OBJECT_PREFIXES[kind]
    if not (len(text) == 12 and text.isdigit()):
        raise ConfigError(f"{kind} id must be 12 digits starting with {prefix}, got {value!r}")
    if not text.startswith(prefix):
        raise ConfigError(f"{kind} id must start with {prefix}, got {value!r}")
    return text


def numbered_id(value: object, kind: str) -> str:
    """A 12-digit id of an object whose prefix this module does not check (a list's)."""
    text = str(value or "").strip()
    if not (len(text) == 12 and text.isdigit()):
        raise ConfigError(f"{kind} id must be 12 digits, got {value!r}")
    return text
