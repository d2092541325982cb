"""Handing files to imports and processes: the column contract, process steps and dumps,
and the data-source lock that keeps concurrent runs from swapping files."""

from __future__ import annotations

import io
import threading
import time

import pytest

from ml_connector.anaplan.handoff import hand_over, plan_action
from ml_connector.errors import ApiError, ConfigError
from ml_connector.state.store import StateStore
from ml_connector_sandbox.faults import Fault

from ..conftest import MODEL
from .test_imports import (
    ACCOUNTS,
    ACTUALS,
    ACTUALS_FILE,
    cells,
    csv_bytes,
    load_accounts,
    run_import,
)

CUSTOMERS, CUSTOMERS_FILE = "112000000002", "113000000002"
LINES_HEADER = ["Line", "Invoice", "Customer", "Account", "Period", "Currency", "Amount"]


def give(client, sandbox, plan, data: bytes, **kwargs):
    return hand_over(client, plan, io.BytesIO(data), len(data),
                     sleep=sandbox.sandbox.clock.advance, **kwargs)


def test_a_process_runs_its_imports_on_one_file_and_reports_each_steps_dump(
        anaplan_client, sandbox):
    client = anaplan_client()
    load_accounts(client, sandbox)
    run_import(client, sandbox, CUSTOMERS, CUSTOMERS_FILE,
               csv_bytes(["Contact ID", "Name", "Currency"], [["C1", "Acme", "USD"]]))
    plan = plan_action(client, "Load Invoice Lines")
    assert (plan.kind, plan.action_id, plan.file_id) == ("process", "118000000001",
                                                         "113000000004")
    assert [h for _, h in plan.header_names] == [LINES_HEADER, LINES_HEADER]
    with pytest.raises(ConfigError, match="import 'Invoice Lines List'.*missing columns"):
        plan.check_header(LINES_HEADER[:-1])

    rows = [["INV-1-1", "INV-1", "C1", "4000", "Jan 26", "USD", "10.5"],
            ["INV-1-2", "INV-1", "C1", "9999", "Jan 26", "USD", "2"]]
    handoff = give(client, sandbox, plan, csv_bytes(LINES_HEADER, rows))
    assert handoff.state in ("IN_PROGRESS", "COMPLETE")
    status = client.wait(plan.action_id, handoff.task_id, sleep=sandbox.sandbox.clock.advance)
    assert status.state == "COMPLETE" and status.dump_objects == ["112000000005"]
    assert {i["code"] for i in sandbox.sandbox.anaplan.list_items(MODEL, "Invoice Lines")} == {
        "INV-1-1", "INV-1-2"}
    details = {c["dimensions"]["Invoice Lines"]: c["values"]
               for c in sandbox.sandbox.anaplan.module_cells(MODEL, "Invoice Line Details")}
    assert details["INV-1-1"]["Amount"] == 10.5 and details["INV-1-1"]["Account"] == "4000"
    rejected = client.rejected_rows(plan.action_id, handoff.task_id)
    assert [r.line for r in rejected] == [3] and "9999" in " ".join(rejected[0].errors)


def test_unknown_action_and_a_process_reading_two_files_are_refused(anaplan_client):
    client = anaplan_client()
    with pytest.raises(ConfigError, match="no import or process 'Load Everything'.*"
                                          "118000000001 \\(Load Invoice Lines\\)"):
        plan_action(client, "Load Everything")
    plan = plan_action(client, ACTUALS)
    assert (plan.kind, plan.file_id) == ("import", ACTUALS_FILE)
    assert plan.lock_key.endswith(f"{MODEL}/{ACTUALS_FILE}")


def test_queued_tasks_read_the_file_when_they_start(anaplan_client, sandbox):
    """Why the lock exists: two uploads to one file before a queued task starts lose the
    first file (the sandbox, like Anaplan, reads the file at start)."""
    client = anaplan_client()
    load_accounts(client, sandbox)
    sandbox.sandbox.anaplan.set_task_duration(queue_seconds=0, base_seconds=30)
    client.start_task(ACCOUNTS)  # the model is busy for 30 s
    header = ["Account", "Period", "Amount"]
    tasks = []
    for row in (["4000", "Jan 26", "1"], ["4100", "Jan 26", "2"]):
        data = csv_bytes(header, [row])
        client.upload(ACTUALS_FILE, io.BytesIO(data), len(data))
        tasks.append(client.start_task(ACTUALS))
    for task_id in tasks:
        assert client.wait(ACTUALS, task_id, sleep=sandbox.sandbox.clock.advance).ok
    assert ("4000", "Jan 26") not in cells(sandbox) and cells(sandbox)[("4100", "Jan 26")] == 2


def test_the_file_lock_keeps_concurrent_runs_apart(anaplan_client, sandbox, tmp_path):
    client = anaplan_client()
    load_accounts(client, sandbox)
    sandbox.sandbox.anaplan.set_task_duration(queue_seconds=0, base_seconds=30)
    client.start_task(ACCOUNTS)  # the model is busy: every new task queues
    store = StateStore.sqlite(tmp_path / "state.db")
    plan = plan_action(client, ACTUALS)
    clock = sandbox.sandbox.clock

    def sleep(seconds: float) -> None:
        clock.advance(seconds)
        time.sleep(0.01)

    results, errors = {}, []

    def run(account: str, amount: str) -> None:
        try:
            data = csv_bytes(["Account", "Period", "Amount"], [[account, "Feb 26", amount]])
            mine = anaplan_client()
            results[account] = hand_over(
                mine, plan, io.BytesIO(data), len(data), sleep=sleep,
                lock=lambda key: store.lock(key, lease=60, wait=60, poll=0.01))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=args)
               for args in (("4000", "1"), ("4100", "2"), ("5000", "3"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    for handoff in results.values():
        assert client.wait(ACTUALS, handoff.task_id, sleep=clock.advance).ok
    got = cells(sandbox)
    assert {k: got.get(k) for k in [("4000", "Feb 26"), ("4100", "Feb 26"),
                                     ("5000", "Feb 26")]} == {
        ("4000", "Feb 26"): 1, ("4100", "Feb 26"): 2, ("5000", "Feb 26"): 3}


def test_a_task_that_never_starts_is_cancelled(anaplan_client, sandbox):
    client = anaplan_client()
    load_accounts(client, sandbox)
    sandbox.sandbox.anaplan.set_task_duration(queue_seconds=0, base_seconds=3600)
    client.start_task(ACCOUNTS)
    plan = plan_action(client, ACTUALS)
    data = csv_bytes(["Account", "Period", "Amount"], [["4000", "Mar 26", "7"]])
    with pytest.raises(Exception, match="did not start within 60s .* it was cancelled"):
        give(client, sandbox, plan, data, start_timeout=60)
    sandbox.sandbox.clock.advance(4000)
    assert ("4000", "Mar 26") not in cells(sandbox)


def test_a_status_read_that_fails_says_why_and_cancels_once(anaplan_client, sandbox):
    """The task's status cannot be read after its start (404): the run fails with that
    error, not "did not start" or "the model is busy"; one cancel is tried, and the task,
    finished already, answers it 409 without a retry."""
    client = anaplan_client()
    load_accounts(client, sandbox)
    plan = plan_action(client, ACTUALS)
    data = csv_bytes(["Account", "Period", "Amount"], [["4000", "Apr 26", "7"]])
    sandbox.sandbox.anaplan.reset_stats()
    sandbox.sandbox.faults.arm(Fault(kind="server_error", api="anaplan", status=404,
                                     path="/tasks/", count=1))
    said: list[str] = []
    with pytest.raises(ApiError) as info:
        give(client, sandbox, plan, data, log=said.append)
    assert info.value.status == 404 and "did not start" not in str(info.value)
    deletes = {path: by_status for path, by_status in
               sandbox.sandbox.anaplan.stats()["by_path"].items() if path.startswith("DELETE")}
    assert [sum(by_status.values()) for by_status in deletes.values()] == [1], deletes
