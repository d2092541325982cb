"""Bring a state store's schema to the current version with Alembic.

The version lives in ``mlc_alembic_version``, not Alembic's default table, so the store may
share a database with Airflow's own. Stores created before migrations existed are adopted in
place (the first revision creates only what is missing).
"""

from __future__ import annotations

import logging
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

VERSION_TABLE = "mlc_alembic_version"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("ml_connector.state") / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this version of the package knows."""
    current = ScriptDirectory.from_config(_config()).get_current_head()
    assert current is not None
    return current


def current(engine: Engine) -> str | None:
    """The store's revision (``None``: never migrated)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade(engine: Engine) -> None:
    """Migrate to the newest revision (nothing to do when already there), without a log
    line per revision (the store logs one for the whole upgrade)."""
    chatty = logging.getLogger("alembic")
    level = chatty.level
    chatty.setLevel(logging.WARNING)
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), "head")
    finally:
        chatty.setLevel(level)
