"""The state store's tables as of version 0.1 (tokens, locks, watermarks, cells, audit, Zoho
detail cache, reused lists, daily quota).

Stores created before migrations existed already hold some or all of these tables: each is
created only where missing, so such a store is adopted in place.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables(meta: sa.MetaData) -> None:
    sa.Table("mlc_token_cache", meta,
             sa.Column("cache_key", sa.String(64), primary_key=True),
             sa.Column("ciphertext", sa.Text, nullable=False),
             sa.Column("updated_at", sa.Float, nullable=False))
    sa.Table("mlc_locks", meta,
             sa.Column("lock_key", sa.String(128), primary_key=True),
             sa.Column("holder", sa.String(64), nullable=False),
             sa.Column("lease_until", sa.Float, nullable=False))
    sa.Table("mlc_watermarks", meta,
             sa.Column("flow", sa.String(200), primary_key=True),
             sa.Column("value", sa.String(64), nullable=False),
             sa.Column("updated_at", sa.Float, nullable=False))
    sa.Table("mlc_cells", meta,
             sa.Column("flow", sa.String(100), primary_key=True),
             sa.Column("window_start", sa.String(40), primary_key=True),
             sa.Column("cell_key", sa.String(500), primary_key=True),
             sa.Column("recorded_at", sa.Float, nullable=False))
    sa.Table("mlc_audit", meta,
             sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("flow", sa.String(100), nullable=False),
             sa.Column("entity", sa.String(40), nullable=False),
             sa.Column("record_id", sa.String(64), nullable=False),
             sa.Column("run_id", sa.String(250), nullable=False),
             sa.Column("window_start", sa.String(40)),
             sa.Column("window_end", sa.String(40)),
             sa.Column("import_id", sa.String(20)),
             sa.Column("task_id", sa.String(40)),
             sa.Column("status", sa.String(16), nullable=False),
             sa.Column("error", sa.Text),
             sa.Column("recorded_at", sa.Float, nullable=False),
             sa.Index("ix_mlc_audit_flow_status", "flow", "status"),
             sa.Index("ix_mlc_audit_flow_run", "flow", "run_id"),
             sa.Index("ix_mlc_audit_record", "record_id"))
    sa.Table("mlc_zoho_details", meta,
             sa.Column("org_key", sa.String(64), primary_key=True),
             sa.Column("entity", sa.String(40), primary_key=True),
             sa.Column("record_id", sa.String(64), primary_key=True),
             sa.Column("modified", sa.String(40), nullable=False),
             sa.Column("body", sa.LargeBinary, nullable=False),
             sa.Column("size", sa.Integer, nullable=False),
             sa.Column("fetched_at", sa.Float, nullable=False),
             sa.Index("ix_mlc_zoho_details_fetched", "fetched_at"))
    sa.Table("mlc_zoho_lists", meta,
             sa.Column("org_key", sa.String(64), primary_key=True),
             sa.Column("list_key", sa.String(200), primary_key=True),
             sa.Column("body", sa.LargeBinary, nullable=False),
             sa.Column("count", sa.Integer, nullable=False),
             sa.Column("fetched_at", sa.Float, nullable=False))
    sa.Table("mlc_zoho_quota", meta,
             sa.Column("org_key", sa.String(64), primary_key=True),
             sa.Column("daily_limit", sa.Integer),
             sa.Column("remaining", sa.Integer),
             sa.Column("resets_at", sa.Float),
             sa.Column("used", sa.Integer, nullable=False),
             sa.Column("updated_at", sa.Float, nullable=False))


def upgrade() -> None:
    meta = sa.MetaData()
    _tables(meta)
    meta.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    meta = sa.MetaData()
    _tables(meta)
    meta.drop_all(op.get_bind(), checkfirst=True)
