"""Per-organization state: the watermarks, cells, audit rows, verifications and sent lines of
a flow are kept per organization (column ``organization``; '' is the flow's only
organization, which every row written before gets).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: The tables whose primary key gains the organization (after ``flow``).
KEYED = {
    "mlc_watermarks": ["flow", "organization"],
    "mlc_cells": ["flow", "organization", "window_start", "cell_key"],
    "mlc_sent_lines": ["flow", "organization", "record_id"],
}
#: Audit indexes on the flow: name -> columns (before, after).
AUDIT_INDEXES = {
    "ix_mlc_audit_flow_status": (["flow", "status"], ["flow", "organization", "status"]),
    "ix_mlc_audit_flow_run": (["flow", "run_id"], ["flow", "run_id", "organization"]),
}


def _organization() -> sa.Column:
    return sa.Column("organization", sa.String(64), nullable=False, server_default="")


def _rekey(table: str, columns: list[str]) -> None:
    """Set ``table``'s primary key to ``columns``, keeping its rows and indexes (SQLite
    copies the table; PostgreSQL alters it in place, keeping the key's name)."""
    current = sa.Table(table, sa.MetaData(), autoload_with=op.get_bind())
    found = current.primary_key.name
    name = found if isinstance(found, str) and found else f"{table}_pkey"  # SQLite: unnamed
    current.primary_key.name = name
    with op.batch_alter_table(table, copy_from=current) as batch:
        batch.drop_constraint(name, type_="primary")
        batch.create_primary_key(name, columns)


def upgrade() -> None:
    """Only what is missing: a table an older version created from today's definition (a
    store adopted by 0001) already has the column and key."""
    inspector = sa.inspect(op.get_bind())
    for table in (*KEYED, "mlc_audit", "mlc_verifications"):
        if "organization" not in {c["name"] for c in inspector.get_columns(table)}:
            with op.batch_alter_table(table) as batch:
                batch.add_column(_organization())
    for table, key in KEYED.items():
        if inspector.get_pk_constraint(table)["constrained_columns"] != key:
            _rekey(table, key)
    indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("mlc_audit")}
    for index, (_, after) in AUDIT_INDEXES.items():
        if indexes.get(index) != after:
            if index in indexes:
                op.drop_index(index, "mlc_audit")
            op.create_index(index, "mlc_audit", after)


def downgrade() -> None:
    """Back to one organization per flow: the rows of other organizations than '' go."""
    for index, (before, _) in AUDIT_INDEXES.items():
        op.drop_index(index, "mlc_audit")
        op.create_index(index, "mlc_audit", before)
    for table in ("mlc_verifications", "mlc_audit", *KEYED):
        op.execute(sa.text(f"DELETE FROM {table} WHERE organization <> ''"))
    for table, key in KEYED.items():
        _rekey(table, [c for c in key if c != "organization"])
    for table in ("mlc_verifications", "mlc_audit", *KEYED):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("organization")
