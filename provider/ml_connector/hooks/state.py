"""Reach the connector's state store through an Airflow connection."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from ml_connector.errors import ConfigError
from ml_connector.state.store import StateStore

DEFAULT_STATE_CONN_ID = "ml_connector_state"


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))


def default_state_url() -> str:
    """The SQLite file used when no state store connection is configured."""
    return f"sqlite:///{airflow_home() / 'ml_connector' / 'state.db'}"


def state_url(conn_id: str = DEFAULT_STATE_CONN_ID) -> str:
    """SQLAlchemy URL of the state store: the connection's, or, only when no such connection
    exists, a SQLite file in ``AIRFLOW_HOME``. A connection that exists but cannot be read is
    an error: falling back would give each machine its own tokens, locks and watermarks."""
    from airflow.providers.common.compat.sdk import AirflowNotFoundException

    from ml_connector.hooks.connections import get_connection

    unreadable = ConfigError(
        f"the state store connection {conn_id!r} could not be read; every worker must reach "
        f"the same store (access tokens, locks, watermarks, audit): fix the connection, or "
        f"delete it to use {default_state_url()}")
    try:
        conn = get_connection(conn_id)
    except AirflowNotFoundException:
        # Secrets backends that fail to parse a connection report it as missing: an
        # environment variable that is set but unreadable must not read as "not configured".
        if os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}"):
            raise unreadable from None
        return default_state_url()
    except Exception:  # its text may quote the connection's URI and password
        raise unreadable from None
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    if conn.conn_type in ("postgres", "postgresql"):
        return conn.get_uri().replace("postgres://", "postgresql://", 1)
    raise ConfigError(f"the state store connection {conn_id!r} has type {conn.conn_type!r}; "
                      "use a 'sqlite' or 'postgres' connection")


@cache
def state_store(url: str) -> StateStore:
    return StateStore(url)
