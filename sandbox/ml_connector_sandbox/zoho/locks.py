"""Transaction locking: the locks an organization serves and the edits they refuse.

shared/api/zoho-books.md, "Transaction locking": lock fields and modules confirmed (Zoho's
"Transaction Locking" API page), the path ``GET /transactionlocks`` observed, the scope
unknown. Which field names a lock's module is not shown by the page (it shows
``lock_scope`` 0..5 and ``lock_scope_formatted``, 0 being "All"), and the error Zoho sends
for an edit into a locked period is not published: both are settings here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ml_connector_sandbox.zoho.errors import ZohoError

#: Zoho's lock modules; ``all`` is a lock of every module at once (``lock_scope`` 0).
MODULES: tuple[str, ...] = ("sales", "purchase", "accountant", "banking",
                            "inventory_adjustments")
LockModule = Literal["all", "sales", "purchase", "accountant", "banking",
                     "inventory_adjustments"]
Status = Literal["disabled", "enabled", "enabled_with_logging"]


class LockSpec(BaseModel):
    """One transaction lock: documents of ``module`` dated on or before ``date`` cannot be
    added, edited or deleted while it is enabled (``enabled_with_logging`` locks too)."""

    model_config = ConfigDict(extra="forbid")

    module: LockModule = "all"
    date: date
    status: Status = "enabled"
    transaction_lock_id: str | None = None
    accounting_period_id: str | None = None

    @property
    def locks(self) -> bool:
        return self.status != "disabled"


class LockingSpec(BaseModel):
    """How transaction locks are served and enforced, and the locks each organization has
    from the start (organization id -> locks; ``PUT /_sandbox/zoho/orgs/<org>/
    transactionlocks`` replaces them)."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(default="transactionlocks", pattern=r"^[a-z][a-z0-9_-]*$",
                      description="the Books path of the lock list (observed: transactionlocks)"
                      "; any other path answers as an unknown URL")
    scope: str = Field(default="settings", description="the module of the scope the lock "
                       "list needs (ZohoBooks.<module>.READ; unknown)")
    module_field: str | None = Field(
        default="module", description="the field of a lock row naming its module (unknown: "
        "the API page shows only lock_scope and lock_scope_formatted); None: not served")
    kinds: dict[str, str] = Field(
        default_factory=lambda: {
            "invoices": "sales", "creditnotes": "sales", "customerpayments": "sales",
            "bills": "purchase", "vendorcredits": "purchase", "expenses": "purchase",
            "vendorpayments": "purchase", "journals": "accountant"},
        description="Books module -> the lock module that freezes its documents (Zoho's "
        "help page lists each lock module's transactions; purchase orders are not among "
        "them)")
    error_status: int = Field(default=400, ge=400, le=499)
    error_code: int = Field(
        default=1001, description="the code of Zoho's refusal of an edit into a locked "
        "period (not published: a setting)")
    error_message: str = Field(
        default="You cannot add, edit or delete transactions dated on or before "
        "{lock_date} as transactions are locked.", description="its message ({lock_date} "
        "is the lock's date; not published: a setting)")
    locks: dict[str, list[LockSpec]] = Field(default_factory=dict)


class Locks:
    """The organizations' locks, their list body and the check of an edit."""

    def __init__(self, spec: LockingSpec) -> None:
        self.spec = spec
        self._locks: dict[str, list[LockSpec]] = {}
        self._guard = threading.Lock()
        for org_id, locks in spec.locks.items():
            self.replace(org_id, locks)

    def replace(self, org_id: str, locks: Iterable[LockSpec]) -> list[LockSpec]:
        """Set an organization's locks; ids are given to those without one."""
        numbered = []
        for n, lock in enumerate(locks, start=1):
            ids = {"transaction_lock_id": lock.transaction_lock_id or f"{org_id}9{n:05d}",
                   "accounting_period_id": lock.accounting_period_id or f"{org_id}8{n:05d}"}
            numbered.append(lock.model_copy(update=ids))
        with self._guard:
            self._locks[org_id] = numbered
        return numbered

    def of(self, org_id: str) -> list[LockSpec]:
        with self._guard:
            return list(self._locks.get(org_id, []))

    def list_body(self, org_id: str) -> dict:
        """``GET /transactionlocks``: every lock of the organization, disabled ones too."""
        rows = []
        for lock in self.of(org_id):
            scope = 0 if lock.module == "all" else MODULES.index(lock.module) + 1
            row = {"transaction_lock_id": lock.transaction_lock_id,
                   "accounting_period_id": lock.accounting_period_id,
                   "transaction_lock_status": lock.status,
                   "transaction_lock_date": lock.date.isoformat(),
                   "lock_status": "locked" if lock.locks else "unlocked",
                   "lock_scope": scope,
                   "lock_scope_formatted": lock.module.replace("_", " ").title()}
            if self.spec.module_field and lock.module != "all":
                row[self.spec.module_field] = lock.module
            rows.append(row)
        return {"code": 0, "message": "success", "transaction_locks": rows}

    def check(self, org_id: str, kind: str, *dates: str) -> None:
        """Refuse (Zoho's error) a change of a ``kind`` document dated (before or after the
        change) on or before an enabled lock of its module."""
        module = self.spec.kinds.get(kind)
        if module is None:
            return
        for lock in self.of(org_id):
            if lock.locks and lock.module in ("all", module) and any(
                    d and d[:10] <= lock.date.isoformat() for d in dates):
                spec = self.spec
                raise ZohoError(spec.error_status, spec.error_code, spec.error_message.format(
                    lock_date=lock.date.isoformat()))
