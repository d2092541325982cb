"""Reconciliation: each Zoho record of a run, imported, failed (with why) or skipped."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import groupby
from typing import Any

from ml_connector.anaplan.dump import RejectedRow
from ml_connector.anaplan.tasks import TaskStatus
from ml_connector.flows.files import Member, Skipped


def audit_rows(
    *,
    entity: str,
    import_id: str,
    task: TaskStatus,
    line_of_key: Mapping[str, int],
    rejected: Iterable[RejectedRow],
    members: Iterable[Member],
    skipped: Iterable[Skipped],
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
            members, key=lambda m: (m.record_id, m.module or entity)):
        problems = []
        window = {}
        for entry in entries:
            window = _window(entry)
            line = line_of_key.get(entry.row)
            if line in errors:
                problems.append(f"line {line}: {errors[line]}")
        if task_error and not problems:
            problems.append(task_error)
        yield {**base, **window, "entity": module, "record_id": record_id,
               "status": "failed" if problems else "imported",
               "error": "; ".join(dict.fromkeys(problems)) or None}
    for left in skipped:
        yield {**base, **_window(left), "entity": left.module or entity,
               "record_id": left.record_id, "status": "skipped",
               "error": f"skipped: {left.reason}"}


def with_notes(rows: Iterable[dict[str, Any]], notes: Mapping[str, str],
               every: str | None = None) -> Iterator[dict[str, Any]]:
    """Audit ``rows`` with each imported record's note (``notes``: record id -> text, e.g.
    what a list flow's read-back found; ``every``: a note for all of them) in its ``error``
    column, after any note it has."""
    for row in rows:
        note = notes.get(row["record_id"], every) if row["status"] == "imported" else None
        if note and row.get("error") and note != row["error"]:
            note = f"{row['error']}; {note}"
        yield {**row, "error": note} if note else row


def _window(entry: Member | Skipped) -> dict[str, str]:
    """The data window a build entry names, as audit columns (none: the run's window)."""
    if entry.window_start is None or entry.window_end is None:
        return {}
    return {"window_start": entry.window_start, "window_end": entry.window_end}
