"""Reach the connector's state store through an Airflow connection."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from ml_connector.state.store import StateStore

DEFAULT_STATE_CONN_ID = "ml_connector_state"


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))


def state_url(conn_id: str = DEFAULT_STATE_CONN_ID) -> str:
    """SQLAlchemy URL of the state store: the connection's, or a SQLite file in AIRFLOW_HOME."""
    from airflow.providers.common.compat.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:
        return f"sqlite:///{airflow_home() / 'ml_connector' / 'state.db'}"
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    if conn.conn_type in ("postgres", "postgresql"):
        return conn.get_uri().replace("postgres://", "postgresql://", 1)
    return conn.get_uri()


@cache
def state_store(url: str) -> StateStore:
    return StateStore(url)
