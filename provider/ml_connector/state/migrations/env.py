"""Alembic environment: runs on the connection ``StateStore`` hands over, never from a URL."""

from __future__ import annotations

from alembic import context

from ml_connector.state.migrate import VERSION_TABLE
from ml_connector.state.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  version_table=VERSION_TABLE, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
