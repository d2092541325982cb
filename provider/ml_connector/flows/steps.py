"""The build and reconcile steps of a flow run, on staged files (no Airflow imports).

Paths are anything with ``open()`` and ``/`` (``pathlib.Path``, Airflow's
``ObjectStoragePath``), so the same code runs in a task or a test.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ml_connector.anaplan.dump import RejectedRow
from ml_connector.flows.mapping import build_file, lookup_tables, row_keys
from ml_connector.flows.reconcile import audit_rows
from ml_connector.flows.spec import Flow
from ml_connector.state.audit import AuditLog
from ml_connector.transport.errors import ConnectorError
from ml_connector.zoho.report import read_jsonl

PathOf = Callable[[str], Any]


def read_records(path) -> Iterator[dict]:
    """The records of a staged JSON Lines file, streamed."""
    with path.open("r", encoding="utf-8") as handle:
        yield from read_jsonl(handle)


def build_step(flow: Flow, records: Callable[[], Iterator[dict]],
               lookup_manifests: Mapping[str, Mapping[str, Any]], out_dir: Any,
               path_of: PathOf) -> dict[str, Any]:
    """Write ``<flow>.csv``, ``<flow>.members.jsonl`` and ``<flow>.skipped.jsonl``."""
    tables = lookup_tables(flow, {entity: read_records(path_of(m["path"]))
                                  for entity, m in lookup_manifests.items()})
    paths = {kind: out_dir / f"{flow.id}{suffix}" for kind, suffix in
             (("csv", ".csv"), ("members_file", ".members.jsonl"),
              ("skipped_file", ".skipped.jsonl"))}
    with (paths["csv"].open("w", encoding="utf-8") as csv_out,
          paths["members_file"].open("w", encoding="utf-8") as members_out,
          paths["skipped_file"].open("w", encoding="utf-8") as skipped_out):
        result = build_file(flow, records(), tables, csv_out, members_out, skipped_out)
    return {**{k: str(v) for k, v in paths.items()}, **result.as_dict()}


def reconcile_step(flow: Flow, built: Mapping[str, Any], interval: tuple[str, str],
                   import_id: str, task: Mapping[str, Any], rejected: list[RejectedRow],
                   audit: AuditLog, run_id: str, path_of: PathOf) -> dict[str, Any]:
    """Write the audit rows of the run's data ``interval`` (replacing an earlier run of the
    same interval); raise when anything failed, after writing them."""
    with path_of(built["csv"]).open("r", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        line_of_key = row_keys(flow, reader)
    rows = audit_rows(
        entity=flow.entity, import_id=import_id, task=task,
        line_of_key=line_of_key, rejected=rejected,
        members=read_records(path_of(built["members_file"])),
        skipped=read_records(path_of(built["skipped_file"])),
    )
    counts = audit.replace_run(flow.id, run_id, interval, rows)
    summary = {"flow": flow.id, "run_id": run_id, "counts": counts,
               "task_id": task.get("task_id"), "rows": built["rows"]}
    if counts.get("failed"):
        raise ConnectorError(
            f"flow {flow.id}: {counts['failed']} record(s) failed in Anaplan task "
            f"{task.get('task_id')} ({task.get('summary', '')}); see `ml-connector audit "
            f"--flow {flow.id} --status failed`")
    return summary
