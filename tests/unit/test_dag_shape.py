"""The DAGs the factory builds from the shipped flows.yaml: task chains, pools, schedules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from ml_connector.dag_factory import build_dags

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "dags" / "flows.yaml"


def upstream(dag, task_id: str) -> set[str]:
    return set(dag.get_task(task_id).upstream_task_ids)


def test_period_flow_chain_and_pools():
    dag = build_dags(FLOWS)["zoho_invoice_actuals"]
    assert upstream(dag, "build") == {"extract", "extract_chartofaccounts"}
    assert upstream(dag, "dry_run") == {"build"}
    assert upstream(dag, "import") == {"build", "extract_chartofaccounts", "dry_run"}
    # Reconcile takes the manifests of the run (typed, from XCom), the wait's included.
    assert upstream(dag, "reconcile") == {"wait", "import", "build", "extract"}
    # It audits a failed import, but a skipped build (nothing to send, or waiting for a
    # list flow) skips it: rechecking why there would race with the list flow.
    assert dag.get_task("reconcile").trigger_rule == "none_skipped"
    pools = {t.task_id: t.pool for t in dag.tasks}
    assert pools["extract"] == pools["extract_chartofaccounts"] == "zoho_books"
    assert pools["import"] == pools["wait"] == "anaplan"
    assert pools["build"] == pools["dry_run"] == "default_pool"
    assert dag.params["dry_run"] is False and dag.params["month"] is None


def test_incremental_documents_flows_take_reopen_and_lists_do_not():
    """A closed month holds back the incremental document flows, record grain included:
    each takes ``reopen``; a list flow reads no dated documents."""
    dags = build_dags(FLOWS)
    for dag_id in ("zoho_invoice_lines", "zoho_invoice_actuals_daily"):
        assert dags[dag_id].params["reopen"] is False, dag_id
    assert "reopen" not in dags["zoho_accounts"].params


def test_a_failed_step_fails_the_run_through_reconcile():
    """Reconcile, which runs after a failed step to record it, is each DAG's only leaf (or,
    in a flow that aligns, the align step after it, which does not run when reconcile
    fails), so Airflow judges the run by it; it takes a manifest of every step it follows,
    so a step that failed leaves it one short, and it fails then (``FlowRun.reconcile``).
    An aggregate flow's dry-run step runs before the import, which waits for it: a dry
    run skips it (so the import, the wait and reconcile are skipped, as when nothing
    changed), a failed one leaves reconcile without the import's manifest."""
    from ml_connector.flows.plan import flow_plan
    from ml_connector.flows.spec import load_flows

    spec = load_flows(FLOWS)
    dags = build_dags(FLOWS)
    for flow in spec.flows:
        dag = dags[f"zoho_{flow.id}"]
        plan = flow_plan(flow, spec.defaults)
        if flow.align is not None:
            assert [t.task_id for t in dag.leaves] == ["align"], flow.id
            assert upstream(dag, "align") == {"build", "reconcile"}
            assert plan.step("align").trigger_rule == "all_success"
        else:
            assert [t.task_id for t in dag.leaves] == ["reconcile"], flow.id
        if flow.grain == "aggregate":
            assert "dry_run" in upstream(dag, "import"), flow.id
            assert plan.step("dry_run").trigger_rule == "all_success"
            assert "dry_run" in dag.params, flow.id
        else:
            assert "dry_run" not in dag.task_ids and "dry_run" not in dag.params, flow.id
        reconcile = plan.step("reconcile")
        assert reconcile.after == () and reconcile.trigger_rule == "none_skipped"
        sources = {s for s in reconcile.inputs.values() if isinstance(s, str)}
        assert sources == upstream(dag, "reconcile") >= {"import", "wait"}, flow.id


def test_incremental_aggregate_flow_reads_changes_then_whole_months():
    dag = build_dags(FLOWS)["zoho_invoice_actuals_daily"]
    # The id sweep (its own task: Airflow's read is the extract operator) follows the
    # changes and precedes the scope, which rebuilds the months of what it found.
    assert upstream(dag, "sweep") == {"changes"}
    assert dag.get_task("sweep").pool == "zoho_books"
    assert upstream(dag, "scope") == {"changes", "sweep"}
    assert upstream(dag, "extract") == {"scope"}
    extract = dag.get_task("extract")
    assert extract.mode == "period" and extract.windows.operator.task_id == "scope"
    assert dag.get_task("changes").mode == "incremental"
    assert not dag.get_task("changes").line_items and extract.line_items
    assert dag.timetable.timetable.expression == "0 0 * * *"


def test_list_flows_reload_on_changes_only_where_zoho_can_report_them():
    """Accounts and contacts change by workflow-rule webhooks (or polling their newest
    ``last_modified_time``); reporting tags, locations and projects have neither, so their
    list flows run on their schedule alone: nothing waits for, or polls, what never comes."""
    dags = build_dags(FLOWS)
    for dag_id in ("zoho_accounts", "zoho_customers", "zoho_items"):
        assert "zoho_books_default." in str(dags[dag_id].timetable.asset_condition), dag_id
    for dag_id in ("zoho_regions", "zoho_departments", "zoho_locations", "zoho_projects"):
        timetable = dags[dag_id].timetable
        assert type(timetable).__name__ == "CronDataIntervalTimetable", dag_id
        assert timetable.expression == "0 0 * * *", dag_id


def test_ledger_flows_read_the_chart_then_the_postings_of_its_accounts():
    dags = build_dags(FLOWS)
    dag = dags["zoho_pl_actuals"]
    # A period run checks first that its months are not closed, then reads.
    assert upstream(dag, "extract") == {"extract_chartofaccounts", "closed"}
    assert upstream(dag, "extract_chartofaccounts") == {"closed"}
    assert dag.get_task("closed").pool == "zoho_books"
    assert upstream(dag, "build") == {"extract", "extract_chartofaccounts"}
    assert dag.get_task("extract").pool == "zoho_books"
    assert dag.get_task("import").mapping_parameters == [
        {"entityType": "Version", "entityName": "Actual"}]
    daily = dags["zoho_pl_actuals_daily"]
    assert upstream(daily, "scope") == {"changes"}
    # The changes say whether another ledger run's read of a month still holds.
    assert upstream(daily, "extract") == {"scope", "extract_chartofaccounts", "changes"}
    changes = daily.get_task("changes")
    assert [changes.entity, *changes.with_entities] == [
        "invoices", "creditnotes", "bills", "vendorcredits", "expenses", "journals"]
    assert not changes.line_items, "changes come from header lists"


def test_pools_command_prints_what_airflow_pools_import_reads():
    out = subprocess.run([str(Path(sys.executable).parent / "ml-connector"), "pools",
                          "--flows", str(FLOWS)], capture_output=True, text=True, check=True)
    pools = json.loads(out.stdout)
    assert pools["zoho_books"]["slots"] == 1 and pools["anaplan"]["slots"] == 2
    assert all({"slots", "description", "include_deferred"} <= set(p) for p in pools.values())


def test_one_invalid_flow_is_an_import_error_and_the_others_keep_their_dags(tmp_path,
                                                                         monkeypatch):
    """Airflow parses the shipped DAG files beside a flows.yaml with one broken flow: every
    other flow has its DAG, and the import error names the flow, the key and the value."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    folder = tmp_path / "dags"
    folder.mkdir()
    for name in ("flows.py", "flows_check.py"):
        (folder / name).write_text((ROOT / "dags" / name).read_text())
    spec = yaml.safe_load(FLOWS.read_text())
    broken = next(i for i, f in enumerate(spec["flows"]) if f["id"] == "po_commitments")
    spec["flows"][broken]["schedule"] = "fortnightly"
    (folder / "flows.yaml").write_text(yaml.safe_dump(spec))

    bag = DagBag(dag_folder=str(folder))
    expected = {f"zoho_{f['id']}" for f in spec["flows"] if f["id"] != "po_commitments"}
    assert set(bag.dags) == expected
    errors = {Path(path).name: text for path, text in bag.import_errors.items()}
    assert list(errors) == ["flows_check.py"]
    assert (f"flows[{broken}] (po_commitments).schedule: Input should be 'hourly', 'daily', "
            "'weekly' or 'monthly' (got 'fortnightly')") in errors["flows_check.py"]


def test_the_shipped_flows_have_no_import_error():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert {f"zoho_{f['id']}" for f in yaml.safe_load(FLOWS.read_text())["flows"]} <= set(
        bag.dags)


def test_the_audit_command_reports_a_store_it_cannot_use_in_one_line(tmp_path):
    """No traceback, no empty database created, no password shown."""
    from tests.servers import free_port

    command = [str(Path(sys.executable).parent / "ml-connector"), "audit", "--db"]
    missing = tmp_path / "nowhere" / "state.db"
    out = subprocess.run([*command, f"sqlite:///{missing}"], capture_output=True, text=True)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert f"no state store at sqlite:///{missing}" in out.stderr
    assert not missing.parent.exists()
    url = f"postgresql+psycopg://mlc:hunter2@127.0.0.1:{free_port()}/state"
    out = subprocess.run([*command, url], capture_output=True, text=True)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "cannot reach the state store postgresql+psycopg://mlc:***@127.0.0.1" in out.stderr
    assert "hunter2" not in out.stderr + out.stdout
    out = subprocess.run([*command, url.replace("+psycopg", "+pg8000")], capture_output=True,
                         text=True)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "needs the pg8000 driver" in out.stderr and "ml-connector[postgres]" in out.stderr


def test_a_list_flow_that_names_its_list_reads_it_back_before_reconcile(tmp_path):
    """``loads``: a verify task reads the list back after the wait; reconcile takes its
    manifest. A list flow without it keeps the shipped chain."""
    data = yaml.safe_load(FLOWS.read_text())
    accounts = next(f for f in data["flows"] if f["id"] == "accounts")
    plain = {k: v for k, v in accounts.items() if k != "loads"}
    data["flows"] = [{**accounts, "loads": "Accounts"}, {**plain, "id": "plain"}]
    path = tmp_path / "flows.yaml"
    path.write_text(yaml.safe_dump(data))
    dags = build_dags(path)
    dag = dags["zoho_accounts"]
    assert upstream(dag, "verify") == {"wait", "extract", "build"}
    assert upstream(dag, "reconcile") == {"wait", "import", "build", "extract", "verify"}
    assert dag.get_task("verify").pool == "anaplan"
    assert "verify" not in dags["zoho_plain"].task_ids


def test_a_flow_with_list_columns_checks_members_before_the_import(tmp_path):
    """The member check is a task of its own between build and import, in the Anaplan pool,
    a Python task that calls ``FlowRun.check_members``; reconcile stays the only leaf. An
    incremental flow also runs when the list flow of a ``list:`` list has loaded."""
    flows = {"defaults": {"anaplan_pool": {"name": "anaplan"}}, "flows": [
        {"id": "departments", "entity": "tagoptions", "mode": "full", "loads": "Departments",
         "target": {"import": "Departments from Zoho"},
         "columns": {"Option ID": {"field": "option_id"}}},
        {"id": "daily", "entity": "invoices", "mode": "incremental", "schedule": "daily",
         "grain": "aggregate", "target": {"import": "X"},
         "columns": {"Department": {"tag": "Department", "default": "U",
                                    "list": "Departments"},
                     "Period": {"period": "date"}, "Amount": {"amount": "line.item_total"}}}]}
    (tmp_path / "flows.yaml").write_text(yaml.safe_dump(flows))
    dags = build_dags(tmp_path / "flows.yaml")
    dag = dags["zoho_daily"]
    assert upstream(dag, "check_members") == {"build"}
    assert upstream(dag, "dry_run") == {"build", "check_members", "scope"}
    assert upstream(dag, "import") == {"build", "check_members", "dry_run"}
    check = dag.get_task("check_members")
    assert check.pool == "anaplan" and check.trigger_rule == "all_success"
    assert check.python_callable.__doc__.startswith("Check that every value of the flow's")
    assert [t.task_id for t in dag.leaves] == ["reconcile"]
    assets = {a.uri for a in dag.timetable.asset_condition.objects}
    assert "ml-connector://flows/departments" in assets
    assert "check_members" not in dags["zoho_departments"].task_ids


def test_a_record_grain_flow_sweeps_between_its_extract_and_its_build():
    """``invoice_lines`` with ``sweep``: the deletes the sweep finds are known when the
    build sends their rows as zero."""
    from ml_connector.flows.plan import flow_plan
    from ml_connector.flows.spec import parse_flows

    spec = yaml.safe_load(FLOWS.read_text())
    for flow in spec["flows"]:
        if flow["id"] == "invoice_lines":
            flow["sweep"] = {"months": 2}
    parsed = parse_flows(spec)
    lines = next(f for f in parsed.flows if f.id == "invoice_lines")
    plan = flow_plan(lines, parsed.defaults)
    names = [s.name for s in plan]
    assert names.index("extract") < names.index("sweep") < names.index("build")
    assert plan.step("sweep").inputs == {"changes": "extract"}
    assert "sweep" in plan.step("build").upstream()
