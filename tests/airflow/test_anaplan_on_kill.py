"""A killed Anaplan wait cancels its Anaplan task: ``on_kill`` of the operator and sensor
against the sandbox, and a user marking the task failed in real Airflow, in the worker and
deferred in the triggerer."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from ml_connector.anaplan.tasks import TaskStatus
from ml_connector.operators.anaplan_import import AnaplanImportOperator
from ml_connector.sensors.anaplan import AnaplanTaskSensor
from ml_connector.triggers.anaplan import AnaplanTaskTrigger

from ..airflow_env import (
    airflow_env,
    free_port,
    migrate,
    sandbox_connections,
    standalone,
    standalone_settings,
)
from ..conftest import MODEL, WORKSPACE
from .test_webhook_runs import wait_until

HERE = Path(__file__).resolve().parent
ACCOUNTS_IMPORT, ACCOUNTS_FILE = "112000000001", "113000000001"
ACCOUNTS = "Code,Name,Type\n4000,Sales,Income\n4100,Services,Income\n"
HOUR = 3600


class TaskInstance:
    """What the operator reads of its task instance outside a task runner."""

    dag_id, task_id = "on_kill_check", "import_accounts"

    def __init__(self) -> None:
        self.xcom: dict = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcom[key] = value


def anaplan_task(sandbox, task_id: str) -> dict:
    return next(t for t in sandbox.sandbox.anaplan.tasks(MODEL) if t["taskId"] == task_id)


def hour_long_import(sandbox, anaplan_client) -> str:
    """The Accounts import started directly, taking an hour on the sandbox clock: its id."""
    sandbox.sandbox.anaplan.set_task_duration(queue_seconds=0, base_seconds=HOUR)
    client = anaplan_client()
    client.upload(ACCOUNTS_FILE, io.BytesIO(ACCOUNTS.encode()), len(ACCOUNTS))
    return client.start_task(ACCOUNTS_IMPORT)


def in_thread(target) -> tuple[threading.Thread, dict]:
    """Run ``target`` as a task would run ``execute``; its result or error lands in the dict."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = target()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_on_kill_cancels_the_import_the_operator_waits_for(connection_env, tmp_path, capfd):
    sandbox = connection_env
    sandbox.sandbox.anaplan.set_task_duration(queue_seconds=0, base_seconds=HOUR)
    source = tmp_path / "accounts.csv"
    source.write_text(ACCOUNTS)
    operator = AnaplanImportOperator(task_id="import_accounts", import_id="Accounts from Zoho",
                                     source=str(source), wait_for_completion=True,
                                     deferrable=False)
    operator.on_kill()  # nothing started: nothing to cancel, no request
    assert sandbox.sandbox.anaplan.stats()["total"] == 0

    thread, outcome = in_thread(lambda: operator.execute(
        {"ti": TaskInstance(), "run_id": "manual__on_kill"}))
    started = wait_until(lambda: operator.running_task, 60, "the import's start")
    task_id = started[1]
    wait_until(lambda: anaplan_task(sandbox, task_id)["taskState"] == "IN_PROGRESS", 30,
               "the running import")
    operator.on_kill()
    wait_until(lambda: anaplan_task(sandbox, task_id)["taskState"] == "CANCELLED", 30,
               "the cancelled import")
    thread.join(60)
    assert "the task was cancelled" in str(outcome.get("error")), outcome
    assert sandbox.sandbox.anaplan.list_items(MODEL, "Accounts") == []
    assert f"Cancelled Anaplan task {task_id} of {ACCOUNTS_IMPORT}" in capfd.readouterr().out


def test_on_kill_after_the_task_finished_only_warns(connection_env, anaplan_client, capfd):
    sandbox = connection_env
    task_id = hour_long_import(sandbox, anaplan_client)
    sensor = AnaplanTaskSensor(task_id="wait_accounts", import_id=ACCOUNTS_IMPORT,
                               anaplan_task_id=task_id, deferrable=False)
    thread, outcome = in_thread(lambda: sensor.execute({}))
    wait_until(lambda: sandbox.sandbox.anaplan.stats()["status_polls"].get(task_id), 30,
               "the sensor's first poke")
    sandbox.sandbox.clock.advance(HOUR + 1)  # the import completes between two pokes
    sensor.on_kill()  # Anaplan answers 409: a warning, no error
    thread.join(60)
    assert "error" not in outcome, outcome
    assert TaskStatus.model_validate(outcome["result"]).state == "COMPLETE"  # its XCom
    assert anaplan_task(sandbox, task_id)["taskState"] == "COMPLETE"
    assert len(sandbox.sandbox.anaplan.list_items(MODEL, "Accounts")) == 2
    out = capfd.readouterr().out
    assert f"Could not cancel Anaplan task {task_id} of {ACCOUNTS_IMPORT}" in out
    assert "409" in out


def test_trigger_on_kill_outside_a_triggerer_leaves_the_task_running(connection_env,
                                                                     anaplan_client):
    """Without a task instance whose state says it left ``deferred``, nothing is cancelled:
    Airflow 3.3 also calls ``on_kill`` when a trigger moves to another triggerer."""
    sandbox = connection_env
    task_id = hour_long_import(sandbox, anaplan_client)
    trigger = AnaplanTaskTrigger(anaplan_conn_id="anaplan_default", workspace_id=WORKSPACE,
                                 model_id=MODEL, import_id=ACCOUNTS_IMPORT,
                                 anaplan_task_id=task_id)
    asyncio.run(trigger.on_kill())
    sandbox.sandbox.clock.advance(5)
    assert anaplan_task(sandbox, task_id)["taskState"] == "IN_PROGRESS"


class RestApi:
    """Airflow's public REST API as the admin user of ``airflow standalone``."""

    def __init__(self, url: str, home: Path) -> None:
        users = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
        token = httpx.post(f"{url}/auth/token", json={
            "username": "admin", "password": users["admin"]}).raise_for_status().json()
        self.http = httpx.Client(base_url=f"{url}/api/v2", timeout=30, headers={
            "Authorization": f"Bearer {token['access_token']}"})

    def get(self, path: str) -> dict | None:
        response = self.http.get(path)
        return None if response.status_code == 404 else response.raise_for_status().json()

    def ti_state(self, run_id: str, task_id: str) -> str | None:
        ti = self.get(f"/dags/anaplan_on_kill/dagRuns/{run_id}/taskInstances/{task_id}")
        return ti and ti["state"]

    def mark_failed(self, run_id: str, task_id: str) -> None:
        """What the UI's "Mark as failed" sends."""
        self.http.patch(f"/dags/anaplan_on_kill/dagRuns/{run_id}/taskInstances/{task_id}",
                        json={"new_state": "failed"}).raise_for_status()


@pytest.mark.airflow
def test_marking_the_task_failed_cancels_the_anaplan_task(sandbox, tmp_path_factory,
                                                          tmp_path):
    sandbox.sandbox.anaplan.set_task_duration(queue_seconds=0, base_seconds=HOUR)
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(ACCOUNTS)
    home = tmp_path_factory.mktemp("home")
    env = airflow_env(home, HERE / "dags",
                      sandbox_connections(sandbox.base_url, sandbox.sandbox.config),
                      core__dags_are_paused_at_creation="False",
                      **standalone_settings(free_port()))
    migrate(env)
    anaplan = sandbox.sandbox.anaplan

    def started(after: set[str]) -> str | None:
        running = [t["taskId"] for t in anaplan.tasks(MODEL)
                   if t["taskId"] not in after and t["taskState"] == "IN_PROGRESS"]
        return running[0] if running else None

    def cancelled(task_id: str) -> bool:
        return anaplan_task(sandbox, task_id)["taskState"] == "CANCELLED"

    with standalone(env, home / "standalone.log") as url:
        api = RestApi(url, home)
        wait_until(lambda: api.get("/dags/anaplan_on_kill"), 180, "the DAG parsed")
        begun = time.monotonic()
        run_id = api.http.post("/dags/anaplan_on_kill/dagRuns", json={
            "logical_date": None, "conf": {"accounts": str(accounts)}},
        ).raise_for_status().json()["dag_run_id"]

        # 1. Waiting in the worker: the worker's on_kill cancels.
        first = wait_until(lambda: started(set()), 120, "the first import running")
        api.mark_failed(run_id, "import_in_worker")
        wait_until(lambda: cancelled(first), 60, "the worker's cancel")

        # 2. Deferred: the trigger's on_kill cancels, once the triggerer polls the task.
        second = wait_until(lambda: started({first}), 120, "the second import running")
        wait_until(lambda: api.ti_state(run_id, "import_deferred") == "deferred", 60,
                   "the deferral")
        polls = anaplan.stats()["status_polls"].get(second, 0)
        wait_until(lambda: anaplan.stats()["status_polls"].get(second, 0) > polls, 60,
                   "the triggerer's first poll")
        api.mark_failed(run_id, "import_deferred")
        wait_until(lambda: cancelled(second), 60, "the triggerer's cancel")
        print(f"\nrun started -> both imports cancelled: {time.monotonic() - begun:.0f} s")
    assert anaplan.list_items(MODEL, "Accounts") == [], "nothing of either import applied"
    assert [t["taskState"] for t in anaplan.tasks(MODEL)] == ["CANCELLED", "CANCELLED"]
    # The worker's task log, and the triggerer's (the trigger's log, or the triggerer's own
    # once Airflow has closed the trigger's).
    logs = "".join(p.read_text() for p in home.rglob("*.log"))
    assert f"Cancelled Anaplan task {first} of {ACCOUNTS_IMPORT}" in logs
    assert f"Cancelled Anaplan task {second} of {ACCOUNTS_IMPORT}" in logs
