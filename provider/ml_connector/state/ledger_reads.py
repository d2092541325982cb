"""An account's month of general-ledger postings as a ledger run read it, kept so that
another ledger flow of the organization can take it instead of reading it again.

Kept in ``mlc_zoho_lists`` under ``ledger:<account id>:<yyyy-mm>``, with ``as_of``: Zoho's
clock when the read's first page was served, less ``settle.SETTLE_SECONDS`` (every edit
stamped at or before it is in the rows). Entries older than a day are removed as new ones
are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select

from ml_connector.state import schema
from ml_connector.state.details import pack, unpack
from ml_connector.state.store import StateStore

PREFIX = "ledger:"
#: Kept months older than this are removed (the longest reuse ``ledger_reuse_minutes`` allows).
KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class KeptMonth:
    """An account's month of ledger rows, read at ``fetched_at`` (our clock), holding every
    edit Zoho stamped at or before ``as_of`` (Zoho's clock)."""

    as_of: float
    fetched_at: float
    rows: list[dict[str, Any]]


class KeptLedger:
    """The kept ledger months of one organization (``org_key`` as the detail cache's)."""

    def __init__(self, store: StateStore, org_key: str, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.org_key = org_key
        self.clock = clock

    @staticmethod
    def key(account_id: str, month: date) -> str:
        return f"{PREFIX}{account_id}:{month:%Y-%m}"

    def get(self, account_id: str, month: date, max_age: float) -> KeptMonth | None:
        """The account's month if one younger than ``max_age`` seconds is kept."""
        table = schema.zoho_lists
        with self.store.engine.connect() as conn:
            row = conn.execute(select(table.c.body, table.c.fetched_at).where(
                table.c.org_key == self.org_key,
                table.c.list_key == self.key(account_id, month))).one_or_none()
        if row is None or row.fetched_at < self.clock() - max_age:
            return None
        body = unpack(row.body)
        if not isinstance(body, dict):
            return None
        return KeptMonth(float(body["as_of"]), float(row.fetched_at), list(body["rows"]))

    def put(self, account_id: str, month: date, as_of: float,
            rows: list[dict[str, Any]]) -> None:
        """Keep the account's month as read (every row of every transaction type)."""
        table, now = schema.zoho_lists, self.clock()
        key = self.key(account_id, month)
        with self.store.engine.begin() as conn:
            conn.execute(delete(table).where(
                table.c.org_key == self.org_key, table.c.list_key.like(f"{PREFIX}%"),
                (table.c.list_key == key) | (table.c.fetched_at < now - KEEP_SECONDS)))
            conn.execute(insert(table).values(
                org_key=self.org_key, list_key=key, body=pack({"as_of": as_of, "rows": rows}),
                count=len(rows), fetched_at=now))
