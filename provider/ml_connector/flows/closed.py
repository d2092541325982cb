"""Closed periods: the months a flow no longer re-reads or rewrites, closed by Zoho's
transaction locks of the modules it reads or by the flows file's ``closed_before``.

A lock freezes the documents of its module dated on or before its date; a month is closed
when it ends on or before that date. A flow reading several modules (a ledger flow: every
module whose documents post the postings it reads) has a month closed only when each of
them is locked through it: the strictest (earliest) of their lock dates counts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, timedelta

from pydantic import BaseModel, Field

from ml_connector.errors import ApiError, AuthError, ConfigError
from ml_connector.flows.spec import Defaults, Flow, TransactionLocks, dag_id
from ml_connector.flows.windows import month_of, next_month
from ml_connector.state import schema
from ml_connector.state.store import StateStore
from ml_connector.window import month_name
from ml_connector.zoho.client import ZohoBooksClient
from ml_connector.zoho.entities import Entity

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
