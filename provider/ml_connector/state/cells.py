"""The cells each aggregated flow last sent per data window, with their amounts: a rebuilt
window clears (sends zero to) a cell whose records have all gone (voided, re-dated or
re-coded), and another flow's cross-check sums them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import delete, insert, select

from ml_connector.state import schema
from ml_connector.state.store import StateStore

Cell = tuple[str, ...]  # the group-key values of an aggregated row


class CellLog:
    """Per flow and window start: the cells sent by the last successful run."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def cells(self, flow: str, window_starts: Sequence[str]) -> set[Cell]:
        table = schema.cells
        stmt = select(table.c.cell_key).where(table.c.flow == flow,
                                              table.c.window_start.in_(list(window_starts)))
        with self.store.engine.connect() as conn:
            return {tuple(json.loads(row[0])) for row in conn.execute(stmt)}

    def amounts(self, flow: str, month: str) -> dict[Cell, list[str] | None]:
        """The cells ``flow`` sent in the windows starting in ``month`` (``yyyy-mm``), with
        their amounts as text (None: recorded before amounts were kept)."""
        table = schema.cells
        stmt = select(table.c.cell_key, table.c.amounts).where(
            table.c.flow == flow, table.c.window_start.like(f"{month}-%"))
        with self.store.engine.connect() as conn:
            return {tuple(json.loads(key)): None if amounts is None else json.loads(amounts)
                    for key, amounts in conn.execute(stmt)}

    def replace(self, flow: str, window_starts: Sequence[str],
                sent: Mapping[str, Iterable[Cell]],
                amounts: Mapping[Cell, Sequence[str]] | None = None) -> int:
        """Forget the cells of ``window_starts``, then remember ``sent`` (window -> cells),
        each with its ``amounts`` when given."""
        table = schema.cells
        now = time.time()
        amounts = amounts or {}
        rows = [{"flow": flow, "window_start": start, "cell_key": json.dumps(list(cell)),
                 "recorded_at": now, "amounts": json.dumps(list(amounts[cell]))
                 if cell in amounts else None}
                for start, cells in sent.items() for cell in cells]
        with self.store.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.flow == flow,
                                             table.c.window_start.in_(list(window_starts))))
            if rows:
                conn.execute(insert(table), rows)
        return len(rows)
