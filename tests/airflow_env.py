"""An Airflow home wired to a running sandbox: environment, connections, database.

Used by the demo and by the integration tests, which run real ``airflow`` commands.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from ml_connector_sandbox.anaplan import DEFAULT_PASSWORD as ANAPLAN_PASSWORD
from ml_connector_sandbox.anaplan import DEFAULT_USER as ANAPLAN_USER
from ml_connector_sandbox.core import SandboxConfig

__all__ = ["ANAPLAN_MODEL", "ANAPLAN_PASSWORD", "ANAPLAN_USER", "ANAPLAN_WORKSPACE",
           "sandbox_connections"]

ANAPLAN_WORKSPACE = "8a81b09d5e8c6f27015ed3b6e5c01b2a"
ANAPLAN_MODEL = "75A40874E6B64FA3AE0743278996850F"


def sandbox_connections(
    base_url: str, config: SandboxConfig, *, region: str = "us",
    organization_id: str | None = "10234695", requests_per_minute: int = 90,
    zoho_extra: dict | None = None,
) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables for the sandbox's Zoho Books and Anaplan, as ``sandbox
    up`` prints them (``zoho_extra`` adds fields to the Zoho connection's extra, e.g. its
    webhook secret)."""
    connections = config.airflow_connections(
        base_url, region=region, organization_id=organization_id or "",
        zoho_extra={"requests_per_minute": requests_per_minute, **(zoho_extra or {})})
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn)
            for conn_id, conn in connections.items()}


def airflow_env(
    home: Path, dags_folder: Path, connections: dict[str, str], **settings: str
) -> dict[str, str]:
    """Environment for ``airflow`` commands using ``home`` (SQLite, no examples, low
    parallelism for small machines, a persistent Fernet key)."""
    home.mkdir(parents=True, exist_ok=True)
    key_file = home / "fernet.key"
    if not key_file.exists():
        key_file.write_text(Fernet.generate_key().decode())
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__FERNET_KEY": key_file.read_text().strip(),
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__ML_CONNECTOR__STAGING_BASE": f"file://{home / 'staging'}",
        **connections,
    }
    env.update({f"AIRFLOW__{k.upper()}": v for k, v in settings.items()})
    return env


def airflow(env: dict[str, str], *args: str, timeout: float = 900,
            check: bool = True) -> subprocess.CompletedProcess:
    """Run an ``airflow`` command; output captured, failure raised with its output (unless
    not ``check``). SQLite's "database is locked" (the CLI racing a running scheduler) is
    retried a few times."""
    for attempt in range(5):
        done = subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), *args],
            env=env, capture_output=True, text=True, timeout=timeout, check=False,
        )
        locked = "database is locked" in done.stdout + done.stderr
        if done.returncode == 0 or not locked or attempt == 4:
            break
        time.sleep(2 + attempt)
    if check and done.returncode != 0:
        raise RuntimeError(
            f"airflow {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-4000:]}\n"
            f"{done.stderr[-4000:]}"
        )
    return done


def migrate(env: dict[str, str]) -> None:
    """Create or upgrade the Airflow metadata database (once per home)."""
    marker = Path(env["AIRFLOW_HOME"]) / ".migrated"
    if not marker.exists():
        airflow(env, "db", "migrate")
        marker.touch()


def create_pools(env: dict[str, str], flows: Path) -> dict[str, dict]:
    """Create (or update) the Airflow pools a flows file names, as a user would:
    ``ml-connector pools`` output fed to ``airflow pools import``."""
    cli = str(Path(sys.executable).parent / "ml-connector")
    printed = subprocess.run([cli, "pools", "--flows", str(flows)], env=env, check=True,
                             capture_output=True, text=True).stdout
    path = Path(env["AIRFLOW_HOME"]) / "pools.json"
    path.write_text(printed)
    airflow(env, "pools", "import", str(path))
    return json.loads(printed)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def standalone_settings(port: int) -> dict[str, str]:
    """Settings for ``airflow standalone`` on loopback: api-server port, execution API URL
    and one JWT secret shared by every component."""
    return {
        "api__host": "127.0.0.1",
        "api__port": str(port),
        "core__execution_api_server_url": f"http://127.0.0.1:{port}/execution/",
        "api_auth__jwt_secret": secrets.token_hex(16),
        "core__parallelism": "4",
        "scheduler__scheduler_heartbeat_sec": "2",
        "dag_processor__refresh_interval": "5",
    }


@contextmanager
def airflow_server(env: dict[str, str], log_path: Path, *args: str,
                   timeout: float = 180) -> Iterator[str]:
    """Run ``airflow <args>`` until the block ends, once its api-server answers; yields the
    api-server URL. The whole process group is stopped after."""
    url = f"http://127.0.0.1:{env['AIRFLOW__API__PORT']}"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "airflow"), *args], env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{url}/api/v2/version", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"airflow {args[0]} did not start; see {log_path}")
            time.sleep(1)
        yield url
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(20)
                time.sleep(1)
            except subprocess.TimeoutExpired:
                continue
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def standalone(env: dict[str, str], log_path: Path,
               timeout: float = 180) -> AbstractContextManager[str]:
    """``airflow standalone`` (scheduler, dag-processor, api-server, triggerer) until the
    block ends; yields the api-server URL."""
    return airflow_server(env, log_path, "standalone", timeout=timeout)


@contextmanager
def receiver(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """``ml-connector webhooks serve`` on ``port`` until the block ends; yields its URL."""
    with log.open("a") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "ml-connector"), "webhooks",
                                 "serve", "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)
