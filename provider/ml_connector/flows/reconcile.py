"""Reconciliation: each Zoho record of a run, imported, failed (with why) or skipped."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import groupby
from typing import Any

from ml_connector.anaplan.dump import RejectedRow
from ml_connector.anaplan.tasks import TaskStatus


def audit_rows(
    *,
    entity: str,
    import_id: str,
    task: TaskStatus,
    line_of_key: Mapping[str, int],
    rejected: Iterable[RejectedRow],
    members: Iterable[Mapping[str, str]],
    skipped: Iterable[Mapping[str, str]],
) -> Iterator[dict[str, Any]]:
    """Audit rows for one run. ``members`` must list each record's keys consecutively (as
    the build writes them); memory holds only the rejected lines."""
    errors = {row.line: "; ".join(row.errors) or row.status for row in rejected if row.line}
    whole_task_failed = task.state != "COMPLETE" or task.successful is False
    task_error = None
    if whole_task_failed:
        task_error = f"import {task.state}: {task.summary}".strip()
    base = {"entity": entity, "import_id": import_id, "task_id": task.task_id}
    for (record_id, module), entries in groupby(
            members, key=lambda m: (m["id"], m.get("e", entity))):
        problems = []
        window = {}
        for entry in entries:
            window = _window(entry)
            line = line_of_key.get(entry["key"])
            if line in errors:
                problems.append(f"line {line}: {errors[line]}")
        if task_error and not problems:
            problems.append(task_error)
        yield {**base, **window, "entity": module, "record_id": record_id,
               "status": "failed" if problems else "imported",
               "error": "; ".join(dict.fromkeys(problems)) or None}
    for entry in skipped:
        yield {**base, **_window(entry), "entity": entry.get("e", entity),
               "record_id": entry["id"], "status": "skipped",
               "error": f"skipped: {entry['reason']}"}


def _window(entry: Mapping[str, str]) -> dict[str, str]:
    """The data window a build entry names, as audit columns (none: the run's window)."""
    return {"window_start": entry["ws"], "window_end": entry["we"]} if "ws" in entry else {}
