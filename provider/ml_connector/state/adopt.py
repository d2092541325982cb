"""A flow that names its organizations takes over what it kept while it read the
connection's one organization: the rows of organization '' become the inheriting
organization's (its watermarks, cells, audit, verifications and lines sent), once."""

from __future__ import annotations

import logging

from sqlalchemy import Table, exists, select, update

from ml_connector.state import schema
from ml_connector.state.store import StateStore

log = logging.getLogger(__name__)

#: The tables whose rows are kept per flow and organization.
KEPT: tuple[Table, ...] = (schema.watermarks, schema.cells, schema.audit,
                           schema.verifications, schema.sent_lines)


def adopt(store: StateStore, flow: str, organization: str) -> int:
    """Move ``flow``'s rows of organization '' to ``organization`` unless it has rows
    already (then they belong to the flow's earlier single-organization life, and stay);
    returns the rows moved."""
    keys = (flow, f"{flow}:sweep")
    moved = 0
    with store.engine.begin() as conn:
        for table in KEPT:
            mine = table.c.flow.in_(keys) if table is schema.watermarks else \
                table.c.flow == flow
            if conn.execute(select(exists().where(mine, table.c.organization == organization))
                            ).scalar():
                return moved
        for table in KEPT:
            mine = table.c.flow.in_(keys) if table is schema.watermarks else \
                table.c.flow == flow
            moved += conn.execute(update(table).where(mine, table.c.organization == "")
                                  .values(organization=organization)).rowcount or 0
    if moved:
        log.info("Flow %s now names its organizations: the %d row(s) it kept for the "
                 "connection's organization are %s's", flow, moved, organization)
    return moved
