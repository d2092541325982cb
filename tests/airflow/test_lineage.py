"""OpenLineage events of a flow run (Airflow's OpenLineage provider, file transport)."""

from __future__ import annotations

import json

import pytest

from ..airflow_env import airflow
from ..conftest import MODEL, WORKSPACE
from .flow_env import ORG, flow_env

pytestmark = pytest.mark.airflow


def test_a_flow_run_reports_zoho_in_and_anaplan_out(sandbox, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    events = home / "lineage.jsonl"
    env = flow_env(sandbox, home, openlineage__transport=json.dumps(
        {"type": "file", "log_file_path": str(events), "append": True}),
        openlineage__namespace="ml-connector-test")
    airflow(env, "dags", "test", "zoho_accounts", "2026-04-01")
    done = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    complete = {e["job"]["name"].rsplit(".", 1)[-1]: e for e in done
                if e.get("eventType") == "COMPLETE" and "." in e["job"]["name"]}
    extract, built, imported = complete["extract"], complete["build"], complete["import"]
    assert [(d["namespace"], d["name"]) for d in extract["inputs"]] == [
        (f"zoho-books://us/{ORG}", "chartofaccounts")]
    staged = (extract["outputs"][0]["namespace"], extract["outputs"][0]["name"])
    assert staged[0] == "file" and staged[1].endswith("/extract.jsonl")
    # The extract's file is the one the build read; the import's is the one it wrote.
    built_files = {(d["namespace"], d["name"]) for d in built["outputs"]}
    assert staged in built_files
    sent = [(d["namespace"], d["name"]) for d in imported["inputs"]]
    assert len(sent) == 1 and sent[0] in built_files and sent[0][1].endswith("/accounts.csv")
    assert [(d["namespace"], d["name"]) for d in imported["outputs"]] == [
        (f"anaplan://{WORKSPACE.lower()}", f"{MODEL}/Accounts from Zoho")]
