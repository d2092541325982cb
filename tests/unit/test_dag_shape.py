"""The DAGs the factory builds from the shipped flows.yaml: task chains, pools, schedules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ml_connector.dag_factory import build_dags

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "dags" / "flows.yaml"


def upstream(dag, task_id: str) -> set[str]:
    return set(dag.get_task(task_id).upstream_task_ids)


def test_period_flow_chain_and_pools():
    dag = build_dags(FLOWS)["zoho_invoice_actuals"]
    assert upstream(dag, "build") == {"extract", "extract_chartofaccounts"}
    assert upstream(dag, "import") == {"build", "extract_chartofaccounts"}
    # Reconcile takes the manifests of the run (typed, from XCom) and runs after the wait.
    assert upstream(dag, "reconcile") == {"wait", "import", "build", "extract"}
    assert dag.get_task("reconcile").trigger_rule == "all_done"
    pools = {t.task_id: t.pool for t in dag.tasks}
    assert pools["extract"] == pools["extract_chartofaccounts"] == "zoho_books"
    assert pools["import"] == pools["wait"] == "anaplan"
    assert pools["build"] == "default_pool"


def test_incremental_aggregate_flow_reads_changes_then_whole_months():
    dag = build_dags(FLOWS)["zoho_invoice_actuals_daily"]
    assert upstream(dag, "scope") == {"changes"}
    assert upstream(dag, "extract") == {"scope"}
    extract = dag.get_task("extract")
    assert extract.mode == "period" and extract.windows.operator.task_id == "scope"
    assert dag.get_task("changes").mode == "incremental"
    assert not dag.get_task("changes").line_items and extract.line_items
    assert dag.timetable.expression == "0 0 * * *"


def test_pools_command_prints_what_airflow_pools_import_reads():
    out = subprocess.run([str(Path(sys.executable).parent / "ml-connector"), "pools",
                          "--flows", str(FLOWS)], capture_output=True, text=True, check=True)
    pools = json.loads(out.stdout)
    assert pools["zoho_books"]["slots"] == 1 and pools["anaplan"]["slots"] == 2
    assert all({"slots", "description", "include_deferred"} <= set(p) for p in pools.values())
