"""AnaplanTaskTrigger.run() against the sandbox: terminal states, rejected rows, timeouts."""

from __future__ import annotations

import asyncio
import io
import time

import pytest

from ml_connector.anaplan.outcome import TaskEvent, judge
from ml_connector.triggers.anaplan import AnaplanTaskTrigger

from ..conftest import MODEL, WORKSPACE

ACTUALS, ACTUALS_FILE = "112000000006", "113000000005"


@pytest.fixture
def started(connection_env, anaplan_client):
    """Start an import of ``rows`` and return its task id (Airflow connection set up)."""
    sandbox = connection_env
    client = anaplan_client()

    def start(rows: str, seconds: float = 0.5) -> str:
        sandbox.sandbox.anaplan.set_task_duration(queue_seconds=0, base_seconds=seconds)
        data = ("Account,Period,Amount\n" + rows).encode()
        client.upload(ACTUALS_FILE, io.BytesIO(data), len(data))
        return client.start_task(ACTUALS)

    start.client = client
    return start


def run(task_id: str, **kwargs) -> dict:
    trigger = AnaplanTaskTrigger(anaplan_conn_id="anaplan_default", workspace_id=WORKSPACE,
                                 model_id=MODEL, import_id=ACTUALS, anaplan_task_id=task_id,
                                 **kwargs)

    async def first_event():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(first_event())


def test_rejected_rows_reach_the_event_and_fail_the_judgement(sandbox, started):
    task_id = started("9999,Jan 26,1\n")
    sandbox.sandbox.clock.advance(10)
    event = run(task_id)
    assert event["status"] == "done" and event["task"]["state"] == "COMPLETE"
    assert event["rejected"] and "9999" in event["rejected"][0]
    ok, message = judge(TaskEvent.model_validate(event))
    assert not ok and "NOT successful" in message and "9999" in message


def test_timeout_cancels_the_task_when_asked(sandbox, started):
    task_id = started("", seconds=3600)
    event = run(task_id, deadline=time.time(), cancel_on_timeout=True)
    assert event["status"] == "timeout" and event["cancelled"]
    sandbox.sandbox.clock.advance(5)
    assert started.client.task(ACTUALS, task_id).state == "CANCELLED"
    assert "cancelled" in judge(TaskEvent.model_validate(event))[1]


def test_cancelled_task_is_a_failure(sandbox, started):
    task_id = started("", seconds=3600)
    started.client.cancel(ACTUALS, task_id)
    sandbox.sandbox.clock.advance(5)
    event = run(task_id)
    assert event["task"]["state"] == "CANCELLED"
    assert judge(TaskEvent.model_validate(event)) == (
        False, f"{event['task']['summary']}: the task was cancelled")


def test_unknown_task_gives_an_error_event(started):
    event = run("0" * 32)
    assert event["status"] == "error" and "404" in event["message"]
