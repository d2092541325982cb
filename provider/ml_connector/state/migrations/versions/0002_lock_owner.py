"""Locks name their holder (host, process, what it does), so a waiter can say whom it waits
for.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mlc_locks") as table:
        table.add_column(sa.Column("owner", sa.String(255)))


def downgrade() -> None:
    with op.batch_alter_table("mlc_locks") as table:
        table.drop_column("owner")
