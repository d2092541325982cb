"""The Anaplan operator and deferrable sensor in real Airflow, against the sandbox."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ml_connector.triggers.anaplan import AnaplanTaskTrigger

from ..airflow_env import airflow, airflow_env, migrate, sandbox_connections
from ..conftest import MODEL, WORKSPACE

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.airflow


def run_dag(sandbox, home: Path, conf: dict, *extra: str):
    env = airflow_env(home, HERE / "dags",
                      sandbox_connections(sandbox.base_url, sandbox.sandbox.config))
    migrate(env)
    return airflow(env, "dags", "test", "anaplan_import_check", "-c", json.dumps(conf), *extra)


def test_import_and_deferred_wait_apply_the_file(sandbox, tmp_path_factory, tmp_path):
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("Code,Name,Type\n4000,Sales,Income\n4100,Services,Income\n")
    actuals = tmp_path / "actuals.csv"
    actuals.write_text("Account,Period,Amount\n4000,Jan 26,1200.50\n4100,Jan 26,99.95\n"
                       "4999,Jan 26,5.00\n")
    done = run_dag(sandbox, tmp_path_factory.mktemp("home"),
                   {"accounts": str(accounts), "actuals": str(actuals)})
    output = done.stdout + done.stderr
    assert output.count("[DAG TEST] running trigger in line") == 2, "both waits deferred"
    assert "Anaplan import finished" in output
    assert "line 4" in output or "4999" in output, "the rejected row is reported"
    cells = {(c["dimensions"]["Accounts"], c["dimensions"]["Time"]): c["values"]["Amount"]
             for c in sandbox.sandbox.anaplan.module_cells(MODEL, "Invoice Actuals")}
    assert cells == {("4000", "Jan 26"): 1200.5, ("4100", "Jan 26"): 99.95}
    assert "sandbox-password" not in output


def test_mismatched_columns_fail_before_upload(sandbox, tmp_path_factory, tmp_path):
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("Code,Title,Type\n4000,Sales,Income\n")
    home = tmp_path_factory.mktemp("home")
    with pytest.raises(RuntimeError) as info:
        run_dag(sandbox, home, {"accounts": str(accounts), "actuals": str(accounts)})
    assert "missing columns ['Name']; unexpected columns ['Title']" in str(info.value)
    assert sandbox.sandbox.anaplan.file_bytes(MODEL, "113000000001") is None, "nothing uploaded"
    # A column mismatch would repeat: the task fails on its first try, its retries unused.
    with sqlite3.connect(home / "airflow.db") as db:
        tries = db.execute("SELECT try_number, state FROM task_instance WHERE task_id = "
                           "'import_accounts'").fetchall()
    assert tries == [(1, "failed")]


def test_trigger_serializes_to_ids_and_timing_only():
    trigger = AnaplanTaskTrigger(
        anaplan_conn_id="anaplan_default", workspace_id=WORKSPACE, model_id=MODEL,
        import_id="112000000006", anaplan_task_id="16605AE88D1D46EDB88FD12DFBA867A9",
        poll_interval=2, max_poll_interval=600, deadline=1_900_000_000.0, cancel_on_timeout=True,
    )
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(__import__(module, fromlist=[name]), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs["poll_interval"] == 5.0 and kwargs["max_poll_interval"] == 60.0
    assert set(kwargs) == {"anaplan_conn_id", "workspace_id", "model_id", "import_id",
                           "anaplan_task_id",
                           "poll_interval", "max_poll_interval", "deadline", "cancel_on_timeout",
                           "rejected_rows_shown", "cancel_on_kill"}


def test_the_deferred_wait_finds_a_connection_kept_in_airflows_database(
        sandbox, tmp_path_factory, tmp_path):
    """Connections added in the UI or with ``airflow connections add`` live in Airflow's
    database; ``airflow dags test`` runs the waits' triggers in its own process, which finds
    the connection there too (not only in ``AIRFLOW_CONN_*`` variables)."""
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("Code,Name,Type\n4000,Sales,Income\n")
    actuals = tmp_path / "actuals.csv"
    actuals.write_text("Account,Period,Amount\n4000,Jan 26,10.00\n")
    home = tmp_path_factory.mktemp("home")
    env = airflow_env(home, HERE / "dags", {})
    migrate(env)
    for key, value in sandbox_connections(sandbox.base_url, sandbox.sandbox.config).items():
        airflow(env, "connections", "add", key.removeprefix("AIRFLOW_CONN_").lower(),
                "--conn-json", value)
    done = airflow(env, "dags", "test", "anaplan_import_check", "-c",
                   json.dumps({"accounts": str(accounts), "actuals": str(actuals)}),
                   check=False)
    output = done.stdout + done.stderr
    assert "isn't defined" not in output, output[-3000:]
    with sqlite3.connect(home / "airflow.db") as db:
        states = dict(db.execute("SELECT task_id, state FROM task_instance").fetchall())
    assert states == {"import_accounts": "success", "start_actuals": "success",
                      "wait_actuals": "success"}, states
    assert "sandbox-password" not in output
