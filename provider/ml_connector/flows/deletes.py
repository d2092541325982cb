"""Documents deleted in Zoho, found the same day: the id sweep of a flow's open months, the
deletes a run still has to remove from Anaplan, and what it sends for them (an aggregate
flow rebuilds the months they were sent in; a record-grain flow sends their rows once more
with every amount 0 and forgets them)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from ml_connector.errors import ApiError
from ml_connector.flows.files import Gone
from ml_connector.flows.spec import Flow
from ml_connector.flows.windows import month_of, month_window, next_month
from ml_connector.state.audit import AuditLog
from ml_connector.state.deletes import DELETED, DeleteLog, SentLines, SentRows, sent_ids
from ml_connector.state.store import StateStore
from ml_connector.window import Window
from ml_connector.zoho.client import ZohoBooksClient
from ml_connector.zoho.entities import get_entity

log = logging.getLogger(__name__)
#: Zoho's answer to the detail of a record that does not exist (any more).
NOT_FOUND = 1002


class SweepResult(BaseModel):
    """What an id sweep listed and found (the ``sweep`` step's manifest): the months
    swept (none: every open month is closed), requests charged, ids listed, and the
    deletes it confirmed by module."""

    months: list[str] = Field(default_factory=list)
    requests: int = 0
    listed: int = 0
    deleted: dict[str, list[str]] = Field(default_factory=dict)
    read_at: float = Field(default_factory=time.time)

    entity: str = "sweep"
    cache_hits: int = 0

    @property
    def count(self) -> int:
        """The documents listed (what ``ReadLog`` keeps as the read's records)."""
        return self.listed


def open_months(last: date, months: int) -> list[date]:
    """The ``months`` months ending with the month of ``last`` (first days, oldest first)."""
    first = month_of(last)
    found = [first]
    for _ in range(months - 1):
        first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
        found.insert(0, first)
    return found


def sweep(client: ZohoBooksClient, store: StateStore, flow: Flow, months: list[date],
          entities: Iterable[str], *, skip: Callable[[str, str], bool] = lambda e, i: False,
          unit: str = "") -> SweepResult:
    """List the ids of each of ``entities``' documents dated in each of ``months`` (one
    request per 200) and hold them against those ``flow`` last sent for the month; an id
    gone from every listed month is confirmed by its detail (Zoho answers code 1002 for a
    deleted document; another answer means it moved out of the swept months, and a later
    run sees its change) and recorded as a delete (``skip``: ids the run reads as changed
    anyway; ``unit``: the flow's organization key, of a flow of several). Requests:
    ⌈documents / 200⌉ per month and module, plus one per vanished id."""
    before = client.requests
    result = SweepResult(months=[m.strftime("%Y-%m") for m in months],
                         entity="+".join(entities))
    organization = client.organization_id
    for entity in entities:
        listed: set[str] = set()
        sent: set[str] = set()
        for month in months:
            listed |= month_ids(client, entity, month)
            sent |= sent_ids(store, flow.id, entity, month.strftime("%Y-%m"),
                             by_lines=flow.remembers_lines, organization=unit)
        result.listed += len(listed)
        gone = [i for i in sorted(sent - listed) if not skip(entity, i)]
        confirmed = [i for i in gone if _deleted(client, entity, i)]
        if confirmed:
            result.deleted[entity] = confirmed
            DeleteLog(store).found(organization, entity, confirmed, "sweep")
    result.requests = client.requests - before
    log.info("Id sweep of %s over %s: %d document(s) listed in %d request(s); %s",
             "+".join(entities), ", ".join(result.months), result.listed, result.requests,
             "; ".join(f"{len(ids)} {e} deleted in Zoho: {', '.join(ids[:10])}"
                       for e, ids in result.deleted.items()) or "none deleted")
    return result


def month_ids(client: ZohoBooksClient, entity: str, month: date) -> set[str]:
    """The ids of ``entity``'s documents dated in ``month``: ⌈documents / 200⌉ requests."""
    ent = get_entity(entity)
    last = date.fromordinal(next_month(month).toordinal() - 1)
    params = {"date_start": month.isoformat(), "date_end": last.isoformat()}
    return {str(r.get(ent.id_field)) for r in client.iter_records(ent, params)}


def _deleted(client: ZohoBooksClient, entity: str, record_id: str) -> bool:
    """Whether Zoho says the record does not exist."""
    try:
        client.get_detail(entity, record_id)
    except ApiError as exc:
        if exc.status == 404 and str(exc.code) == str(NOT_FOUND):
            return True
        raise
    return False


def gone_documents(store: StateStore, flow: Flow, organization_id: str, unit: str = ""
                   ) -> list[Gone]:
    """The deleted documents ``flow`` still has in Anaplan, each with the month window it
    was last sent in (from the audit; record grain: from the rows it remembers; ``unit``:
    the flow's key of the organization, of a flow of several)."""
    pending = DeleteLog(store).pending(flow.id, organization_id, flow.change_entities,
                                       by_lines=flow.remembers_lines)
    if not pending:
        return []
    ids = [d.record_id for d in pending]
    remembered = SentLines(store).of(flow.id, ids, organization=unit) \
        if flow.remembers_lines else {}
    audit = AuditLog(store)
    found = []
    for d in pending:
        window: Window | tuple[None, None] = (None, None)
        if d.record_id in remembered and remembered[d.record_id].month:
            window = month_window(month_of(remembered[d.record_id].month + "-01"))
        elif flow.rebuilds_months:
            starts = sorted(audit.windows_of(flow.id, [d.record_id], organization=unit))
            window = month_window(month_of(starts[0])) if starts else (None, None)
        rows = len(remembered[d.record_id].rows) if d.record_id in remembered else 0
        found.append(Gone(d.record_id, d.entity, d.source, d.found_at, window[0], window[1],
                          rows))
    log.info("%d document(s) deleted in Zoho to remove from Anaplan: %s", len(found),
             ", ".join(f"{g.module} {g.record_id}" for g in found[:20]))
    return found


def zero_rows(flow: Flow, remembered: Mapping[str, SentRows], gone: Iterable[Gone]
              ) -> Iterator[tuple[Gone, list[list[str]]]]:
    """Record grain: each deleted document with the rows it last sent, every amount 0
    (``excluded: zero``), or none (``excluded: skip``: the flow sends nothing for a
    document it does not count)."""
    amounts = {i for i, c in enumerate(flow.columns.values()) if c.amount is not None}
    for g in gone:
        sent = remembered.get(g.record_id)
        rows = [] if sent is None or flow.excluded != "zero" else [
            ["0" if i in amounts else v for i, v in enumerate(row)] for row in sent.rows]
        yield g, rows


def gone_audit(gone: Iterable[Gone], *, entity: str, import_id: str, task: Any,
               removed: bool) -> Iterator[dict[str, Any]]:
    """Audit rows of the deleted documents a run removed (``removed``: its import
    completed; otherwise they stay to remove, and the rows say the run failed)."""
    for g in gone:
        found = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(g.found_at))
        by = "an id sweep" if g.source == "sweep" else "its webhook"
        how = f"deleted in Zoho; found {found} by {by}" + (
            f"; {g.rows} row(s) sent as zero" if g.rows else "")
        window = {"window_start": g.window_start, "window_end": g.window_end} \
            if g.window_start and g.window_end else {}
        yield {"entity": g.module or entity, "import_id": import_id, "task_id": task.task_id,
               "record_id": g.record_id, **window,
               "status": DELETED if removed else "failed",
               "error": how if removed else f"{how}; import {task.state}: {task.summary}"}


def gone_note(gone: list[Gone], task: Any, removed: bool) -> str:
    """The reconcile log's line for the deleted documents of a run: removed by the Anaplan
    task, or left to the next run (the import did not complete)."""
    names = ", ".join(f"{g.module} {g.record_id}" for g in gone[:20]) + (
        ", ..." if len(gone) > 20 else "")
    if removed:
        return (f"Removed {len(gone)} document(s) deleted in Zoho from Anaplan by task "
                f"{task.task_id}: {names}")
    return (f"{len(gone)} document(s) deleted in Zoho not removed (task {task.task_id} "
            f"{task.state}); the next run sends them again: {names}")
