"""The cells each aggregated flow last sent per organization and data window, with their
amounts: a rebuilt window clears (sends zero to) a cell whose records have all gone
(voided, re-dated or re-coded), and another flow's cross-check sums them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, insert, select

from ml_connector.state import schema
from ml_connector.state.store import StateStore

Cell = tuple[str, ...]  # the group-key values of an aggregated row


class CellLog:
    """Per flow, organization ('': the flow's only one) and window start: the cells sent by
    the last successful run."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def cells(self, flow: str, window_starts: Sequence[str], organization: str = ""
              ) -> set[Cell]:
        table = schema.cells
        stmt = select(table.c.cell_key).where(table.c.flow == flow,
                                              table.c.organization == organization,
                                              table.c.window_start.in_(list(window_starts)))
        with self.store.engine.connect() as conn:
            return {tuple(json.loads(row[0])) for row in conn.execute(stmt)}

    def amounts(self, flow: str, month: str, organization: str | None = None
                ) -> dict[Cell, list[str] | None]:
        """The cells ``flow`` sent in the windows starting in ``month`` (``yyyy-mm``), with
        their amounts as text (None: recorded before amounts were kept); of ``organization``
        only, or (None) of every organization, a cell sent by several holding their sum."""
        table = schema.cells
        stmt = select(table.c.cell_key, table.c.amounts).where(
            table.c.flow == flow, table.c.window_start.like(f"{month}-%"))
        if organization is not None:
            stmt = stmt.where(table.c.organization == organization)
        found: dict[Cell, list[str] | None] = {}
        with self.store.engine.connect() as conn:
            for key, text in conn.execute(stmt):
                cell, amounts = tuple(json.loads(key)), None if text is None else json.loads(text)
                found[cell] = _sum(found[cell], amounts) if cell in found else amounts
        return found

    def replace(self, flow: str, window_starts: Sequence[str],
                sent: Mapping[str, Iterable[Cell]],
                amounts: Mapping[Cell, Sequence[str]] | None = None,
                organization: str = "") -> int:
        """Forget ``organization``'s cells of ``window_starts`` (other organizations' stay),
        then remember ``sent`` (window -> cells) as its, each with its ``amounts`` when
        given."""
        table = schema.cells
        now = time.time()
        amounts = amounts or {}
        rows = [{"flow": flow, "organization": organization, "window_start": start,
                 "cell_key": json.dumps(list(cell)), "recorded_at": now,
                 "amounts": json.dumps(list(amounts[cell])) if cell in amounts else None}
                for start, cells in sent.items() for cell in cells]
        with self.store.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.flow == flow,
                                             table.c.organization == organization,
                                             table.c.window_start.in_(list(window_starts))))
            if rows:
                conn.execute(insert(table), rows)
        return len(rows)


def _sum(a: list[str] | None, b: list[str] | None) -> list[str] | None:
    """Two organizations' amounts of one cell, added (None when either is unknown)."""
    if a is None or b is None or len(a) != len(b):
        return None
    try:
        return [str(Decimal(x.replace(",", "")) + Decimal(y.replace(",", "")))
                for x, y in zip(a, b, strict=True)]
    except InvalidOperation:
        return None
