"""The member check in real Airflow (``airflow dags test``): a flow with ``list:`` columns
has a ``check_members`` task between build and import; a value that is not a member fails
it at once (no retry: it would fail again), the import never starts, and reconcile runs
and fails the run. (The check's behaviour is tested in this process, in tests/flows.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from ..airflow_env import airflow, airflow_env, create_pools, migrate, sandbox_connections
from ..cells import ORG
from ..flows.test_member_check import FACT, import_untouched, member_flows

pytestmark = pytest.mark.airflow

ROOT = Path(__file__).resolve().parents[2]


def test_a_member_missing_fails_the_check_task_and_no_import_starts(sandbox, anaplan_client,
                                                                     tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    dags = home / "dags"
    dags.mkdir()
    for name in ("flows.py", "flows_check.py"):
        (dags / name).write_text((ROOT / "dags" / name).read_text())
    tag = next(t for t in sandbox.sandbox.zoho.dimensions(ORG).tags if t.name == "Department")
    region = next(o.option_id for o in tag.options if not o.parent_id
                  and any(c.parent_id == o.option_id for c in tag.options))
    spec = member_flows(region)  # the departments of one region only
    spec["defaults"] = yaml.safe_load((ROOT / "dags" / "flows.yaml").read_text())["defaults"]
    (dags / "flows.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    env = airflow_env(home, dags, sandbox_connections(
        sandbox.base_url, sandbox.sandbox.config, requests_per_minute=100_000),
        operators__default_deferrable="True")
    migrate(env)
    create_pools(env, dags / "flows.yaml")
    for list_flow in ("accounts", "regions", "departments"):
        airflow(env, "dags", "test", f"zoho_{list_flow}", "2026-02-01")

    done = airflow(env, "dags", "test", f"zoho_{FACT}", "2026-02-01", check=False)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert f"flow {FACT}: " in output and "are not members of their Anaplan list" in output
    assert "airflow dags test zoho_departments" in output
    with sqlite3.connect(home / "airflow.db") as db:
        states = {task: (tries, state) for task, tries, state in db.execute(
            "SELECT task_id, try_number, state FROM task_instance WHERE dag_id = ?",
            (f"zoho_{FACT}",))}
    assert states["build"][1] == "success"
    assert states["check_members"] == (1, "failed"), "failed at once, no retry"
    assert states["import"][1] == states["wait"][1] == "upstream_failed"
    assert states["reconcile"][1] == "failed"
    assert import_untouched(sandbox, anaplan_client)
