"""Webhook events the receiver verified, and the watchers' cursors over them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlc_webhook_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("organization_id", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.UniqueConstraint("organization_id", "event_id",
                            name="uq_mlc_webhook_events_event"),
        sa.UniqueConstraint("digest", name="uq_mlc_webhook_events_digest"),
    )
    op.create_index("ix_mlc_webhook_events_org_entity", "mlc_webhook_events",
                    ["organization_id", "entity", "seq"])
    op.create_table(
        "mlc_event_cursors",
        sa.Column("watcher", sa.String(200), primary_key=True),
        sa.Column("position", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mlc_event_cursors")
    op.drop_index("ix_mlc_webhook_events_org_entity", table_name="mlc_webhook_events")
    op.drop_table("mlc_webhook_events")
