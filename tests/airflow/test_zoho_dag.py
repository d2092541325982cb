"""The extract DAG in real Airflow (`airflow dags test`) against the sandbox over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from ml_connector.zoho import ExtractWindow
from ml_connector.zoho.extract import iter_window

from ..airflow_env import airflow, airflow_env, migrate, sandbox_connections
from ..conftest import zoho_credentials

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.airflow


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("airflow-home")


def test_extract_dag_reads_exactly_the_runs_month(sandbox, zoho_client, airflow_home):
    env = airflow_env(
        airflow_home, ROOT / "dags",
        sandbox_connections(sandbox.base_url, sandbox.sandbox.config),
    )
    migrate(env)
    refresh = zoho_credentials(sandbox, "us").refresh_token
    done = airflow(env, "dags", "test", "zoho_books_extract", "2026-03-01")
    # Two extract tasks in separate processes shared one access token via the state store.
    assert sandbox.sandbox.zoho.stats()["tokens_minted"].get(refresh) == 1
    assert "extract_invoices" in done.stdout + done.stderr
    reports = list((airflow_home / "staging" / "zoho_books_extract").glob("*/report.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    window = ExtractWindow(start=date(2026, 2, 1), end=date(2026, 3, 1))
    client = zoho_client()
    for entity in ("invoices", "bills"):
        expected = list(iter_window(client, entity, window))
        assert report[entity]["count"] == len(expected) > 0
        assert report[entity]["window"] == {
            "start": "2026-02-01", "end": "2026-03-01", "modified_after": None,
        }
        assert report[entity]["first_date"] == "2026-02-01"
        assert report[entity]["last_date"] == "2026-02-28"
        staged = reports[0].parent / f"extract_{entity}.jsonl"
        ids = [json.loads(line)[f"{entity[:-1]}_id"] for line in staged.read_text().splitlines()]
        assert sorted(ids) == sorted(r[f"{entity[:-1]}_id"] for r in expected)
    # Secrets stay out of the task output.
    for secret in (sandbox.sandbox.config.zoho.client_secret, refresh):
        assert secret not in done.stdout + done.stderr


def test_provider_registers_connection_type(sandbox, airflow_home):
    env = airflow_env(airflow_home, ROOT / "dags", {})
    done = airflow(env, "providers", "hooks")
    assert "zoho_books" in done.stdout
    assert "ml_connector.hooks.zoho_books.ZohoBooksHook" in done.stdout


def resolve(env: dict[str, str], **connections: str) -> subprocess.CompletedProcess:
    """``state_url()`` as a task or the CLI resolves it, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-c", "from ml_connector.hooks.state import state_url; "
                               "print(state_url())"],
        env={**env, **connections}, capture_output=True, text=True, timeout=120, check=False)


def test_the_state_store_never_falls_back_silently(airflow_home):
    env = airflow_env(airflow_home, ROOT / "dags", {})
    migrate(env)
    # Nothing configured: the local SQLite default.
    done = resolve(env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"sqlite:///{airflow_home / 'ml_connector' / 'state.db'}"
    # Configured: its URL, never the default.
    done = resolve(env, AIRFLOW_CONN_ML_CONNECTOR_STATE=json.dumps(
        {"conn_type": "postgres", "host": "db.internal", "login": "mlc", "password": "s3cr3t",
         "schema": "state", "port": 5432}))
    assert done.stdout.strip() == "postgresql://mlc:s3cr3t@db.internal:5432/state"
    # Configured but unreadable, or of a type that is no store: an error naming it (and no
    # secret), not a private SQLite file per machine.
    for broken in ('{"conn_type": "postgres", "password": "s3cr3t", ', json.dumps(
            {"conn_type": "http", "host": "example.com", "password": "s3cr3t"})):
        done = resolve(env, AIRFLOW_CONN_ML_CONNECTOR_STATE=broken)
        assert done.returncode != 0
        assert "state store connection 'ml_connector_state'" in done.stderr
        assert "s3cr3t" not in done.stderr + done.stdout
