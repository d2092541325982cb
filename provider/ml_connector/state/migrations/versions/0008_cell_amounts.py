"""The amounts of each cell sent (for cross-checks between flows), beside its key.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mlc_cells") as batch:
        batch.add_column(sa.Column("amounts", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mlc_cells") as batch:
        batch.drop_column("amounts")
