"""An Airflow api-server with the provider installed as pip installs it (its Month-end
plugin found through the package's entry point, the plugins folder empty), users of the
simple auth manager, and the state store the page reads."""

from __future__ import annotations

import importlib.metadata
import json
import os
from contextlib import AbstractContextManager
from pathlib import Path

import httpx

from ..airflow_env import airflow_server, free_port, standalone_settings

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "ml_connector_month_end"
#: name:role of the simple auth manager's users (month_auth limits the clerk's DAGs).
USERS = "analyst:viewer,clerk:viewer"


def _has_entry_point() -> bool:
    return any(e.name == PLUGIN for e in importlib.metadata.entry_points(
        group="airflow.plugins"))


def plugin_env(env: dict[str, str], base: Path) -> dict[str, str]:
    """``env`` (an Airflow home's) with the plugin installed, an empty plugins folder,
    the simple auth manager's users (one limited to some DAGs) and the api-server's
    settings on a free port."""
    plugins = base / "plugins"
    plugins.mkdir(exist_ok=True)
    assert _has_entry_point(), ("the package's airflow.plugins entry point is not installed "
                                "here: `make install` (pip install -e .) installs it")
    path = [p for p in (str(ROOT), env.get("PYTHONPATH")) if p]
    settings = {f"AIRFLOW__{k.upper()}": v for k, v in standalone_settings(free_port()).items()}
    return {**env, **settings, "PYTHONPATH": os.pathsep.join(path),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
            "AIRFLOW__CORE__AUTH_MANAGER": "tests.airflow.month_auth.DagLimitedAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": USERS,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False"}


def passwords(env: dict[str, str]) -> dict[str, str]:
    """The users' passwords the simple auth manager generated."""
    path = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
    return json.loads(path.read_text())


def token(url: str, env: dict[str, str], user: str) -> str:
    """A JWT for ``user``, from ``/auth/token`` as the UI's login gets one."""
    answer = httpx.post(f"{url}/auth/token", json={"username": user,
                                                   "password": passwords(env)[user]})
    return answer.raise_for_status().json()["access_token"]


def api_server(env: dict[str, str], log_path: Path,
               timeout: float = 180) -> AbstractContextManager[str]:
    """``airflow api-server`` until the block ends; yields its URL."""
    return airflow_server(env, log_path, "api-server", "-H", "127.0.0.1", "-p",
                          env["AIRFLOW__API__PORT"], "-w", "1", timeout=timeout)
