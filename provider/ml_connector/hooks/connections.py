"""Airflow connections, inside a task or in a command run beside Airflow.

In a task (or the triggerer, or DAG parsing) a connection comes through the Task SDK. A
command such as ``ml-connector doctor`` or ``webhooks serve`` runs outside any of them,
where the Task SDK sees only environment variables and secrets backends: there the
connection is read as the ``airflow`` command reads it, from the secrets backends and then
Airflow's database (``airflow.models.Connection.get_connection_from_secrets``), so
connections added in the UI work too.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any


def in_airflow_runtime() -> bool:
    """Whether this process is a task, the triggerer or a DAG parser (Task SDK comms)."""
    runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    return hasattr(runner, "SUPERVISOR_COMMS")


def get_connection(conn_id: str) -> Any:
    """The connection ``conn_id``; ``AirflowNotFoundException`` when there is none."""
    from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        if in_airflow_runtime():
            raise
    from airflow.models.connection import Connection

    # Secrets backends, then Airflow's database; it raises the same AirflowNotFoundException.
    return Connection.get_connection_from_secrets(conn_id)


class ConnectionLookup:
    """Mixed into a hook (before ``BaseHook``): its connection is found outside a task too."""

    @classmethod
    def get_connection(cls, conn_id: str) -> Any:
        """The connection, also from Airflow's database when run outside a task (commands
        such as ``ml-connector doctor``)."""
        return get_connection(conn_id)

    @classmethod
    async def aget_connection(cls, conn_id: str) -> Any:
        """The connection, awaited (triggers). ``airflow dags test`` runs a trigger in its
        own process, where the Task SDK's async lookup sees environment variables and
        secrets backends only (Airflow 3.3): the connection is then read as a command reads
        it, from the secrets backends and Airflow's database."""
        from airflow.providers.common.compat.sdk import AirflowNotFoundException

        try:
            return await super().aget_connection(conn_id)  # type: ignore[misc]
        except AirflowNotFoundException:
            from airflow.models.connection import Connection

            return await asyncio.to_thread(Connection.get_connection_from_secrets, conn_id)


def save_connection(conn_id: str, conn_type: str, *, login: str, password: str | None,
                    host: str | None, extra: dict) -> str | None:
    """Write (or replace) connection ``conn_id`` in Airflow's database with ``airflow
    connections import --overwrite``; None, or why it could not be written."""
    import json

    from ml_connector.airflow_cli import import_file

    record = {conn_id: {"conn_type": conn_type, "login": login, "password": password or "",
                        "host": host or "", "extra": json.dumps(extra)}}
    return import_file("connections", record, "--overwrite")
