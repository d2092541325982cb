"""Requests in flight per organization, shared by every worker (PostgreSQL row locks).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlc_request_slots",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("mlc_request_slots")
