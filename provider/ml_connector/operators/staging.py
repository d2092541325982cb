"""Where operators stage files: ``<base>/<dag_id>/<run_id>/<name>``, so reruns overwrite."""

from __future__ import annotations

import re
from typing import Any

from airflow.providers.common.compat.sdk import ObjectStoragePath, conf

from ml_connector.errors import ConfigError
from ml_connector.hooks.state import airflow_home


def _safe(part: str, what: str = "id") -> str:
    """One folder or file name of a staged path: other characters become ``_``; an id that
    would still leave the staging base (``.``, ``..``, empty) is refused."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", str(part))
    if not safe.strip("."):
        raise ConfigError(f"{what} {part!r} cannot name a staged file: it would leave the "
                          "staging base; use letters, digits, '.', '_' or '-'")
    return safe


def staging_base(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    configured = conf.get("ml_connector", "staging_base", fallback=None)
    return configured or f"file://{airflow_home() / 'ml_connector' / 'staging'}"


def staged_dir(explicit_base: str | None, context: Any) -> ObjectStoragePath:
    """The folder of this task's run's staged files (created)."""
    dag_id = context["dag"].dag_id if context.get("dag") else context["ti"].dag_id
    folder = (ObjectStoragePath(staging_base(explicit_base)) / _safe(dag_id, "dag_id")
              / _safe(context["run_id"], "run_id"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def staged_path(explicit_base: str | None, context: Any, name: str) -> ObjectStoragePath:
    """The staged file ``name`` of this task's run (parent folders created)."""
    return staged_dir(explicit_base, context) / _safe(name, "file name")
