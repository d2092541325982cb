"""Closed periods: the months a flow no longer re-reads or rewrites, closed by Zoho's
transaction locks of the modules it reads or by the flows file's ``closed_before``.

A lock freezes the documents of its module dated on or before its date; a month is closed
when it ends on or before that date. A flow reading several modules (a ledger flow: every
module whose documents post the postings it reads) has a month closed only when each of
them is locked through it: the strictest (earliest) of their lock dates counts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field

from ml_connector.errors import ApiError, AuthError, ConfigError
from ml_connector.flows.spec import Defaults, Flow, TransactionLocks, dag_id
from ml_connector.flows.windows import month_of, next_month
from ml_connector.state import schema
from ml_connector.state.reads import ReadLog
from ml_connector.state.store import StateStore
from ml_connector.window import month_name
from ml_connector.zoho.client import ZohoBooksClient
from ml_connector.zoho.entities import Entity
from ml_connector.zoho.extract import ExtractManifest

log = logging.getLogger(__name__)

#: The Zoho lock module whose lock freezes each Books module's documents (Zoho's help page
#: on transaction locking; purchase orders, which post nothing, follow their bills).
LOCK_MODULES: dict[str, str] = {
    "invoices": "sales", "creditnotes": "sales", "customerpayments": "sales",
    "bills": "purchase", "vendorcredits": "purchase", "purchaseorders": "purchase",
    "expenses": "purchase", "vendorpayments": "purchase",
    "journals": "accountant",
}
#: Lock statuses that freeze documents.
LOCKING = ("enabled", "enabled_with_logging")
_unavailable_said: set[str] = set()


class PeriodClosed(ConfigError):
    """A run would re-read and rewrite a closed month; the message names the lock date, its
    source and how to reopen the month."""


@dataclass(frozen=True)
class Closure:
    """Everything dated on or before ``through`` is closed; ``source`` says who closed it
    (a Zoho lock by id and module, or ``closed_before``)."""

    through: date
    source: str

    def closes(self, month: date) -> bool:
        """Whether the month starting ``month`` ends on or before ``through``."""
        return next_month(month) - timedelta(days=1) <= self.through

    def __str__(self) -> str:
        return f"closed through {self.through.isoformat()} by {self.source}"


def cache_key(settings: TransactionLocks) -> str:
    return f"transactionlocks:{settings.path}"


def zoho_locks(client: ZohoBooksClient, settings: TransactionLocks) -> list[dict]:
    """The organization's transaction locks: one request, kept in the state store for
    ``cache_hours``. A path Zoho does not serve (404), a scope the token lacks or another
    refusal that would repeat means no lock is known: said once, never a failed run."""
    if not settings.read:
        return []
    key = cache_key(settings)
    cache = client.lists if client.store is not None else None
    kept = cache.get(key, settings.cache_hours * 3600) if cache is not None else None
    if kept is not None:
        return list(kept[1])
    try:
        rows = list(client.get(settings.path, scope=settings.scope).get(
            "transaction_locks") or [])
    except ApiError as exc:
        if exc.retryable or not (isinstance(exc, AuthError) or exc.status in (400, 403, 404)):
            raise
        if client.org_key not in _unavailable_said:
            _unavailable_said.add(client.org_key)
            log.warning("No Zoho transaction lock known for organization %s: %s answered "
                        "%s. Months are closed by closed_before only (flows.yaml); set "
                        "defaults.transaction_locks (path, scope) if Zoho serves them "
                        "elsewhere", client.organization_id, settings.path, exc)
        rows = []
    if cache is not None:
        cache.put(key, rows)
    return rows


def kept_locks(store: StateStore, settings: TransactionLocks) -> list[dict]:
    """The locks a run last read (any organization of the store, whatever their age): what
    the state store knows without a request."""
    from sqlalchemy import select

    from ml_connector.state.details import unpack

    table = schema.zoho_lists
    with store.engine.connect() as conn:
        row = conn.execute(select(table.c.body).where(table.c.list_key == cache_key(settings))
                           .order_by(table.c.fetched_at.desc()).limit(1)).one_or_none()
    rows = unpack(row.body) if row is not None else []
    return rows if isinstance(rows, list) else []


def lock_of(row: dict, settings: TransactionLocks) -> tuple[str, date] | None:
    """(module, date) of an enabled lock row (module ``all`` for a lock of every module),
    else None (disabled, undated or of a module it does not name)."""
    if row.get("transaction_lock_status") not in LOCKING:
        return None
    try:
        day = date.fromisoformat(str(row.get("transaction_lock_date"))[:10])
    except ValueError:
        return None
    module = row.get(settings.module_field)
    if not module:
        module = "all" if str(row.get("lock_scope", 0)) == "0" else None
    return (str(module), day) if module else None


def flow_closure(flow: Flow, locks: Iterable[dict], defaults: Defaults) -> Closure | None:
    """What closes ``flow``'s months: the strictest Zoho lock over the lock modules of the
    modules it reads, or ``closed_before`` (the flow's, else the defaults'), whichever
    closes more; None when neither closes anything."""
    found: list[Closure] = []
    modules = {LOCK_MODULES.get(e) for e in flow.change_entities}
    settings = defaults.transaction_locks
    if modules and None not in modules:
        parsed = [(lock_of(row, settings), row) for row in locks]
        per_module: list[Closure] = []
        for module in sorted(m for m in modules if m):
            mine = [(day, row) for found_lock, row in parsed if found_lock is not None
                    for kind, day in [found_lock] if kind in ("all", module)]
            if not mine:
                per_module = []
                break
            day, row = max(mine, key=lambda item: item[0])
            per_module.append(Closure(day, f"Zoho transaction lock "
                                      f"{row.get('transaction_lock_id', '?')} ({module})"))
        if per_module:
            found.append(min(per_module, key=lambda c: c.through))
    before = flow.closed_before or defaults.closed_before
    if before is not None:
        where = f"flow {flow.id}" if flow.closed_before else "defaults"
        found.append(Closure(before - timedelta(days=1),
                             f"closed_before: {before.isoformat()} ({where} in flows.yaml)"))
    return max(found, key=lambda c: c.through) if found else None


def closed_months(months: Sequence[date], closure: Closure | None) -> list[date]:
    return [m for m in months if closure is not None and closure.closes(m)]


def read_closure(flow: Flow, defaults: Defaults, client: ZohoBooksClient, store: StateStore,
                 recorded_as: tuple[str, str]) -> Closure | None:
    """What closes ``flow``'s months (Zoho's locks, read once a ``cache_hours``, their
    request kept as the read ``transactionlocks`` of ``recorded_as``: dag id, run id; or
    ``closed_before``); None when nothing does."""
    settings = defaults.transaction_locks
    locks: list[dict] = []
    if settings.read:
        before = client.requests
        locks = zoho_locks(client, settings)
        if spent := client.requests - before:  # charged to the run, as its reads
            ReadLog(store).record(*recorded_as, "transactionlocks", ExtractManifest(
                entity="transactionlocks", window={}, count=len(locks),
                organization_id=client.organization_id, requests=spent))
    return flow_closure(flow, locks, defaults)


def holds_back(flow: Flow) -> bool:
    """Whether ``flow`` is a record-grain incremental documents flow with a month column:
    its read leaves out the listed documents dated into closed months (``ClosedRows``)."""
    return (flow.mode == "incremental" and flow.grain == "record" and not flow.is_ledger
            and flow.period_field is not None)


@dataclass
class ClosedRows:
    """Picks the list rows of a record-grain incremental read dated (``field``) into a
    month ``closure`` closes, before any detail is fetched; ``found``: their ids by month
    (``yyyy-mm``)."""

    closure: Closure
    field: str
    found: dict[str, list[str]] = dataclass_field(default_factory=dict)

    def __call__(self, ent: Entity, row: dict) -> bool:
        day = row.get(self.field)
        if not day:
            return False
        month = month_of(day)  # a row without a date stays: its build says why
        if not self.closure.closes(month):
            return False
        self.found.setdefault(month.strftime("%Y-%m"), []).append(str(row.get(ent.id_field)))
        return True


def closed_rows(flow: Flow, defaults: Defaults, client: ZohoBooksClient, store: StateStore,
                recorded_as: tuple[str, str], *, reopen: bool = False) -> ClosedRows | None:
    """What leaves the closed months' documents out of a record-grain incremental flow's
    read (``holds_back``); None when it reopens them, nothing is closed or the flow is
    not such a flow."""
    if reopen or not holds_back(flow):
        return None
    closure = read_closure(flow, defaults, client, store, recorded_as)
    assert flow.period_field is not None
    return ClosedRows(closure, flow.period_field) if closure is not None else None


def months_of(labels: Iterable[str]) -> list[date]:
    """The months of ``yyyy-mm`` labels, oldest first."""
    return sorted(month_of(f"{label}-01") for label in labels)


def closed_notes(flow: Flow, shut: Sequence[date], dated: Mapping[Any, list[str]],
                 closure: Closure | None, *, first: bool = False) -> list[str]:
    """One line per closed month a run of ``flow`` leaves out: the changes dated into it
    (``dated``: by month, or ``yyyy-mm``). A record-grain flow has no month to rerun: a
    run with ``reopen`` applies what it reads."""
    record = flow.grain == "record"
    if first:
        return [f"{month_name(m)} is {closure}: not read (a "
                f"{'run' if record else 'backfill'} with reopen: true loads it)"
                for m in shut]
    notes = []
    for month in shut:
        ids = dated.get(month) or dated.get(month.strftime("%Y-%m"), [])
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10
                                        else "")
        notes.append(f"CLOSED MONTH CHANGED: {month_name(month)} is {closure}, yet "
                     f"{len(ids) or 'a'} record(s) changed in it or moved out of it"
                     + (f" ({shown})" if shown else "") + "; not applied: "
                     + ("a run with reopen: true applies such changes"
                        if record else "run the month with reopen: true to send it")
                     + " (the lock was lifted in Zoho?)")
    return notes


def noted_closed(flow: Flow, store: StateStore, shut: Sequence[date],
                 dated: Mapping[Any, list[str]], closure: Closure | None,
                 emit: Any = log) -> list[str]:
    """``closed_notes``, logged: quietly on the flow's first run (no watermark), else as
    warnings."""
    first = not store.watermarks(flow.id)  # of any of its organizations
    notes = closed_notes(flow, shut, dated, closure, first=first)
    for line in notes:
        (emit.info if first else emit.warning)("%s", line)
    return notes


def note_left_out(flow: Flow, store: StateStore, left: ClosedRows | None,
                  manifest: ExtractManifest, emit: Any = log) -> None:
    """Keep in ``manifest`` (``left_out``) the documents ``left`` left out of a read, and
    log their notes (``noted_closed``)."""
    if left is None or not left.found:
        return
    manifest.left_out = left.found
    noted_closed(flow, store, months_of(left.found), left.found, left.closure, emit)


def refusal(flow: Flow, months: Sequence[date], closure: Closure) -> PeriodClosed:
    """The error of a run over closed ``months``: what closed them and how to reopen."""
    dag = dag_id(flow.id)
    first = months[0].strftime("%Y-%m")
    named = ", ".join(month_name(m) for m in months)
    param = "months" if flow.is_ledger else "month"
    return PeriodClosed(
        f"flow {flow.id}: {named} {'is' if len(months) == 1 else 'are'} closed: {closure} "
        f"(documents dated on or before {closure.through.isoformat()} are locked). A run "
        "would re-read and rewrite a closed month, so it is refused. To reopen it for one "
        f"run, give the param reopen: true (airflow dags trigger {dag} -c "
        f"'{{\"{param}\": \"{first}\", \"reopen\": true}}'; a backfill: --dag-run-conf "
        "'{\"reopen\": true}'; ml-connector reconcile --reopen), or lift the lock in Zoho "
        "Books / move closed_before in flows.yaml")


class Closed(BaseModel):
    """The closed-period check of a period run: its months that are closed (``yyyy-mm``),
    what closed them, and whether the run reopened them."""

    months: list[str] = Field(default_factory=list)
    through: date | None = None
    source: str | None = None
    reopened: bool = False
