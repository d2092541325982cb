"""Deleted documents: the deletes found (by a webhook or an id sweep) and, per record-grain
flow and document, the rows it last sent (to send them as zero once it is deleted).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlc_deletes",
        sa.Column("organization_id", sa.String(32), primary_key=True),
        sa.Column("entity", sa.String(40), primary_key=True),
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("found_at", sa.Float, nullable=False),
    )
    op.create_table(
        "mlc_sent_lines",
        sa.Column("flow", sa.String(100), primary_key=True),
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("line_keys", sa.Text, nullable=False),
        sa.Column("sent_at", sa.Float, nullable=False),
    )
    op.create_index("ix_mlc_sent_lines_month", "mlc_sent_lines", ["flow", "month"])


def downgrade() -> None:
    op.drop_index("ix_mlc_sent_lines_month", "mlc_sent_lines")
    op.drop_table("mlc_sent_lines")
    op.drop_table("mlc_deletes")
