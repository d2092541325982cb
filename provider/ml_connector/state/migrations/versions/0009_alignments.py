"""Month-end: plan-vs-actual alignments (per flow, month and plan version, the latest
report) and the Anaplan requests of each flow run's tasks.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlc_alignments",
        sa.Column("flow", sa.String(100), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("version", sa.String(100), primary_key=True),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("export_id", sa.String(20), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("unplanned", sa.Integer, nullable=False),
        sa.Column("unactual", sa.Integer, nullable=False),
        sa.Column("breaches", sa.Integer, nullable=False),
        sa.Column("actual", sa.String(40), nullable=False),
        sa.Column("plan", sa.String(40), nullable=False),
        sa.Column("anaplan_requests", sa.Integer, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("aligned_at", sa.Float, nullable=False),
    )


    op.create_table(
        "mlc_anaplan_requests",
        sa.Column("dag_id", sa.String(250), primary_key=True),
        sa.Column("run_id", sa.String(250), primary_key=True),
        sa.Column("task_id", sa.String(250), primary_key=True),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mlc_anaplan_requests")
    op.drop_table("mlc_alignments")
