"""When each dimension flow last loaded its Anaplan list, as its own record (it was a
watermark ``<flow>@loaded`` holding the read's time as text).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MARK = "@loaded"


def upgrade() -> None:
    loads = op.create_table(
        "mlc_list_loads",
        sa.Column("flow", sa.String(200), primary_key=True),
        sa.Column("read_at", sa.Float, nullable=False),
        sa.Column("run_id", sa.String(250), nullable=True),
        sa.Column("loaded_at", sa.Float, nullable=False),
    )
    marks = sa.table("mlc_watermarks", sa.column("flow", sa.String), sa.column("value", sa.String),
                     sa.column("updated_at", sa.Float))
    conn = op.get_bind()
    rows = conn.execute(sa.select(marks.c.flow, marks.c.value, marks.c.updated_at)
                        .where(marks.c.flow.like(f"%{MARK}"))).all()
    moved = []
    for flow, value, updated_at in rows:
        try:
            read_at = float(value)
        except (TypeError, ValueError):
            continue  # not a marker this code wrote: left as it is
        moved.append({"flow": flow[:-len(MARK)], "read_at": read_at, "run_id": None,
                      "loaded_at": updated_at})
    if moved:
        op.bulk_insert(loads, moved)
        conn.execute(sa.delete(marks).where(marks.c.flow.in_(
            [f"{m['flow']}{MARK}" for m in moved])))


def downgrade() -> None:
    loads = sa.table("mlc_list_loads", sa.column("flow", sa.String),
                     sa.column("read_at", sa.Float), sa.column("loaded_at", sa.Float))
    rows = op.get_bind().execute(sa.select(loads.c.flow, loads.c.read_at, loads.c.loaded_at)).all()
    if rows:
        marks = sa.table("mlc_watermarks", sa.column("flow", sa.String),
                         sa.column("value", sa.String), sa.column("updated_at", sa.Float))
        op.bulk_insert(marks, [{"flow": f"{flow}{MARK}", "value": repr(read_at),
                                "updated_at": loaded_at} for flow, read_at, loaded_at in rows])
    op.drop_table("mlc_list_loads")
