"""The build and reconcile steps of a flow run, on staged files (no Airflow imports).

Paths are anything with ``open()`` and ``/`` (``pathlib.Path``, Airflow's
``ObjectStoragePath``), so the same code runs in a task or a test.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from ml_connector.anaplan.dump import RejectedRow
from ml_connector.flows.mapping import Refresh, build_file, lookup_tables, row_keys
from ml_connector.flows.postings import posting_accounts
from ml_connector.flows.reconcile import audit_rows
from ml_connector.flows.spec import Flow
from ml_connector.flows.windows import Window, month_of, month_window
from ml_connector.state.audit import AuditLog
from ml_connector.state.cells import Cell, CellLog
from ml_connector.transport.errors import ConnectorError
from ml_connector.zoho.report import read_jsonl

PathOf = Callable[[str], Any]


def read_records(path) -> Iterator[dict]:
    """The records of a staged JSON Lines file, streamed."""
    with path.open("r", encoding="utf-8") as handle:
        yield from read_jsonl(handle)


def build_step(flow: Flow, records: Callable[[], Iterator[dict]],
               lookup_manifests: Mapping[str, Mapping[str, Any]], out_dir: Any,
               path_of: PathOf, clear: Iterable[Cell] = (),
               refresh: Refresh | None = None) -> dict[str, Any]:
    """Write ``<flow>.csv``, ``.members.jsonl``, ``.skipped.jsonl`` (and ``.cells.jsonl`` for
    aggregates); ``clear`` are cells sent before for the windows rebuilt now; ``refresh``
    reads a lookup list afresh when a key is missing from the one extracted."""
    tables = lookup_tables(flow, {entity: read_records(path_of(m["path"]))
                                  for entity, m in lookup_manifests.items()})
    accounts = posting_accounts(flow, lambda: read_records(
        path_of(lookup_manifests["chartofaccounts"]["path"])))
    suffixes = [("csv", ".csv"), ("members_file", ".members.jsonl"),
                ("skipped_file", ".skipped.jsonl")]
    if flow.grain == "aggregate":
        suffixes.append(("cells_file", ".cells.jsonl"))
    paths = {kind: out_dir / f"{flow.id}{suffix}" for kind, suffix in suffixes}
    window_of = None
    period = flow.period_field
    if flow.rebuilds_months and period is not None:
        def window_of(record: Mapping[str, Any]) -> Window:
            return month_window(month_of(record[period]))
    handles = {kind: path.open("w", encoding="utf-8") for kind, path in paths.items()}
    try:
        result = build_file(flow, records(), tables, handles["csv"], handles["members_file"],
                            handles["skipped_file"], window_of=window_of,
                            cells_out=handles.get("cells_file"), clear=clear,
                            refresh=refresh, accounts=accounts)
    finally:
        for handle in handles.values():
            handle.close()
    return {**{k: str(v) for k, v in paths.items()}, **result.as_dict()}


def reconcile_step(flow: Flow, built: Mapping[str, Any], windows: Sequence[Window],
                   import_id: str, task: Mapping[str, Any], rejected: list[RejectedRow],
                   audit: AuditLog, run_id: str, path_of: PathOf,
                   cells: CellLog | None = None) -> dict[str, Any]:
    """Write the audit rows of the run's data ``windows`` (replacing earlier runs of the same
    windows) and, once Anaplan has taken the file, the cells it sent; raise when anything
    failed, after writing them."""
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
    counts = audit.replace_run(flow.id, run_id, windows, rows)
    summary = {"flow": flow.id, "run_id": run_id, "counts": counts,
               "task_id": task.get("task_id"), "rows": built["rows"],
               "windows": [list(w) for w in windows]}
    if cells is not None and built.get("cells_file") and task.get("state") == "COMPLETE":
        sent: dict[str, set[Cell]] = defaultdict(set)
        for entry in read_records(path_of(built["cells_file"])):
            sent[entry["w"] or windows[0][0]].add(tuple(entry["key"]))
        summary["cells"] = cells.replace(flow.id, [w[0] for w in windows], sent)
    if counts.get("failed"):
        raise ConnectorError(
            f"flow {flow.id}: {counts['failed']} record(s) failed in Anaplan task "
            f"{task.get('task_id')} ({task.get('summary', '')}); see `ml-connector audit "
            f"--flow {flow.id} --status failed`")
    return summary
