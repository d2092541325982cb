"""Read-back verification: per flow run and month, the cells compared with what Anaplan
holds and how many differ.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlc_verifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(100), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("window_start", sa.String(40), nullable=False),
        sa.Column("export_id", sa.String(20), nullable=False),
        sa.Column("cells", sa.Integer, nullable=False),
        sa.Column("differences", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("checked_at", sa.Float, nullable=False),
    )
    op.create_index("ix_mlc_verifications_flow", "mlc_verifications",
                    ["flow", "window_start"])


def downgrade() -> None:
    op.drop_index("ix_mlc_verifications_flow", table_name="mlc_verifications")
    op.drop_table("mlc_verifications")
