"""The fault matrix: a fault in Zoho, in Anaplan, in the state store or in the worker (killed
at each step boundary), then a rerun; after it, February's cells equal the sandbox's own
profit and loss cell for cell, and the audit trail holds each document once.

Each case states how the faulted run ends: ``recovered`` (the run rode the fault out) or
the error it failed with (a fault that would repeat is not retried). The "What happens
when…" table of docs/troubleshooting.md is this one.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ml_connector.errors import ConnectorError
from ml_connector_sandbox.faults import Fault
from ml_connector_sandbox.zoho.pnl import actuals

from ..cells import ORG, account_cells
from ..conftest import MODEL, WORKSPACE
from .conftest import Flows

FEB, MAR = date(2026, 2, 1), date(2026, 3, 1)
FLOW = "invoice_actuals"


def arm(**fault: Any) -> Callable[[Any, Flows], None]:
    def armed(sandbox, _flows: Flows) -> None:
        sandbox.sandbox.faults.arm(Fault(**fault))
    return armed


def _lock_the_store(sandbox, flows: Flows) -> None:
    """Another process holds SQLite's write lock for the whole run (the run's store gives
    up after half a second instead of 30)."""
    from ml_connector.state.store import StateStore

    flows.store = StateStore(flows.store.url, busy_timeout=0.5)
    path = flows.store.url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    flows.release = holder  # type: ignore[attr-defined]


def _dead_holders_lock(sandbox, flows: Flows) -> None:
    """A worker that died while it held the import file's lock: its lease ran out."""
    from ml_connector.anaplan.handoff import plan_action
    from ml_connector.state import schema

    target = next(f for f in flows.spec.flows if f.id == FLOW).target.import_
    with flows.anaplan_client() as client:
        key = plan_action(client, target).lock_key
    with flows.store.engine.begin() as conn:
        conn.execute(schema.locks.insert().values(
            lock_key=key, holder="dead", owner="worker-2 pid 4242 (zoho_invoice_actuals.import)",
            lease_until=time.time() - 5))


def _wait_refused(sandbox, _flows: Flows) -> None:
    """The wait's status read is refused (404) after the import's own passed; the task
    completes all the same."""
    sandbox.sandbox.faults.arm(Fault(kind="slow", delay=0, api="anaplan", path="/tasks/"))
    sandbox.sandbox.faults.arm(Fault(kind="server_error", api="anaplan", status=404,
                                     path="/tasks/"))


# (case, how to inject it, how the faulted run ends)
FAULTS = [
    ("zoho 429 on list pages", arm(kind="rate_limit", api="zoho", path="/books/v3/invoices",
                                   count=2), "recovered"),
    ("zoho 500 on credit notes", arm(kind="server_error", api="zoho",
                                     path="/books/v3/creditnotes", count=2), "recovered"),
    ("zoho 503 from the accounts server", arm(kind="server_error", api="zoho", status=503,
                                              path="/oauth/v2/token", count=1), "recovered"),
    ("zoho connection dropped on a detail", arm(kind="drop", api="zoho",
                                                path="/books/v3/invoices/", count=1),
     "recovered"),
    ("zoho slow answer", arm(kind="slow", api="zoho", path="/books/v3/invoices/",
                             delay=1.0, count=1), "recovered"),
    ("zoho token expires mid-extract", arm(kind="expire_tokens", api="zoho",
                                           path="/books/v3/invoices/", count=1), "recovered"),
    ("zoho HTML instead of JSON", arm(kind="malformed", api="zoho", path="/books/v3/invoices",
                                      count=1), "ProtocolError"),
    ("anaplan 429 on upload chunks", arm(kind="rate_limit", api="anaplan", path="/chunks/",
                                         count=2), "recovered"),
    ("anaplan 500 on task start", arm(kind="server_error", api="anaplan", path="/tasks",
                                      count=1), "recovered"),
    ("anaplan model locked (423)", arm(kind="server_error", api="anaplan", status=423,
                                       path="/tasks", count=2), "recovered"),
    ("anaplan connection dropped on a poll", arm(kind="drop", api="anaplan", path="/tasks/",
                                                 count=1), "recovered"),
    ("anaplan token expires mid-poll", arm(kind="expire_tokens", api="anaplan", path="/tasks/",
                                           count=1), "recovered"),
    ("anaplan 503 from the auth service", arm(kind="server_error", api="anaplan", status=503,
                                              path="/token/authenticate", count=1),
     "recovered"),
    ("anaplan refuses the wait's status read", _wait_refused, "RunFailed"),
    ("state store locked by another process", _lock_the_store, "StateStoreError"),
    ("file lock left by a dead worker", _dead_holders_lock, "recovered"),
]


def oracle(sandbox) -> dict:
    return actuals(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"], FEB, MAR)


def documents(zoho_client) -> int:
    from ml_connector.zoho import ExtractWindow
    from ml_connector.zoho.extract import iter_window

    client = zoho_client()
    feb = ExtractWindow(start=FEB, end=MAR)
    return sum(1 for e in ("invoices", "creditnotes") for _ in iter_window(client, e, feb))


def check_after_rerun(sandbox, flows: Flows, zoho_client) -> None:
    """The rerun leaves what one clean run would: every cell, each document once."""
    summary = flows.run(FLOW, FEB, MAR)
    assert account_cells(sandbox) == oracle(sandbox)
    rows = flows.audit.query(flow=FLOW, limit=100_000)
    assert len(rows) == documents(zoho_client)
    assert len({(r["entity"], r["record_id"]) for r in rows}) == len(rows), "no duplicates"
    assert {r["run_id"] for r in rows} == {summary.run_id}


@pytest.fixture
def model_flows(flows) -> Flows:
    """The flows, with the model's Accounts list loaded (the cells' dimension)."""
    flows.run("accounts", date(2026, 1, 31), FEB)
    return flows


@pytest.mark.parametrize(("case", "inject", "outcome"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_fault_then_a_rerun(sandbox, model_flows, zoho_client, case, inject, outcome):
    flows = model_flows
    inject(sandbox, flows)
    try:
        flows.run(FLOW, FEB, MAR)
        ended = "recovered"
    except ConnectorError as exc:
        ended = type(exc).__name__
    finally:
        release = getattr(flows, "release", None)
        if release is not None:
            release.execute("ROLLBACK")
            release.close()
    assert sandbox.sandbox.faults.armed() == [], "the fault was met"
    assert ended == outcome
    if ended == "recovered":
        assert account_cells(sandbox) == oracle(sandbox)
    check_after_rerun(sandbox, flows, zoho_client)


# -- the worker killed at each step boundary (SIGKILL: nothing of it runs after) ----------

BOUNDARIES = {
    "after the extract": "ml_connector.flows.run:FlowRun.build",
    "after the build": "ml_connector.flows.run:FlowRun.send",
    "between upload and task start": "ml_connector.anaplan.client:AnaplanClient.start_task",
    "after the task started": "ml_connector.anaplan.client:AnaplanClient.start_task+",
    "before reconcile": "ml_connector.flows.run:FlowRun.reconcile",
}


def _killed_worker(boundary: str, base_url: str, credentials: tuple[str, str, str],
                   state_url: str, work: str) -> None:
    """A flow run in its own process that kills itself at ``boundary``: before the named
    function runs, or right after it returned (``+``)."""
    import importlib

    from ml_connector.anaplan.auth import BasicMethod
    from ml_connector.anaplan.client import AnaplanClient
    from ml_connector.anaplan.config import AnaplanConfig
    from ml_connector.flows.local import run_flow
    from ml_connector.flows.run import FlowRun
    from ml_connector.flows.spec import load_flows
    from ml_connector.state.store import StateStore
    from ml_connector.zoho import ZohoBooksClient, ZohoConfig, ZohoCredentials

    from ..conftest import FAST_RETRY, PASSWORD, USER
    from .conftest import ROOT, stamp

    target, after = boundary.rstrip("+"), boundary.endswith("+")
    module_name, _, attr = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    real = getattr(owner, name)

    def die(*args: Any, **kwargs: Any) -> Any:
        if after:
            real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(owner, name, die)
    spec = load_flows(ROOT / "dags" / "flows.yaml")
    flow = next(f for f in spec.flows if f.id == FLOW)
    store = StateStore(state_url)
    zoho = ZohoConfig(region="us", organization_id=ORG, endpoint_base=base_url,
                      requests_per_minute=100_000, retry=FAST_RETRY)
    anaplan = AnaplanConfig(WORKSPACE, MODEL, endpoint_base=base_url, retry=FAST_RETRY)
    run = FlowRun(flow, store, "killed__run", (stamp(FEB), stamp(MAR)), Path(work),
                  zoho=lambda: ZohoBooksClient(ZohoCredentials(*credentials), zoho,
                                               store=store),
                  anaplan=lambda: AnaplanClient(BasicMethod(USER, PASSWORD), anaplan))
    run_flow(run, spec.defaults, lock=store.lock)


@pytest.mark.parametrize("boundary", list(BOUNDARIES))
def test_a_worker_killed_at_a_step_boundary_then_a_rerun(sandbox, model_flows, zoho_client,
                                                        tmp_path, caplog, boundary):
    flows = model_flows
    from ..conftest import zoho_credentials

    creds = zoho_credentials(sandbox)
    work = tmp_path / "killed"
    work.mkdir()
    worker = multiprocessing.get_context("spawn").Process(
        target=_killed_worker, args=(BOUNDARIES[boundary], sandbox.base_url,
                                     (creds.client_id, creds.client_secret,
                                      creds.refresh_token), flows.store.url, str(work)))
    worker.start()
    worker.join(240)
    assert worker.exitcode == -signal.SIGKILL, "the worker died at the boundary"
    assert flows.audit.query(flow=FLOW, limit=10) == [], "nothing of it was reconciled"
    caplog.set_level("INFO", logger="ml_connector.state.store")
    check_after_rerun(sandbox, flows, zoho_client)
    if boundary in ("between upload and task start", "after the task started"):
        waited = [r.getMessage() for r in caplog.records if "Waiting for lock" in r.getMessage()]
        assert waited and f"pid {worker.pid}" in waited[0], "the rerun took the lock over"
