"""The shipped consolidated flow in real Airflow (`airflow dags test` of
``zoho_group_pl_actuals``): four Zoho organizations in three data centers, each read by its
own task group, imported as one file whose cells equal the sandbox's own consolidation in
local and group currency; an organization whose login is revoked, whose daily quota is used
up, or whose currency has no rate for the month, is left out and named while the others are
imported, and a run with the ``organizations`` param reads only the one left out. (The
flow's behaviour is tested in this process, in tests/flows/test_group_flows.py.)

The tests share one sandbox and one Airflow home (one migration, one load of the Accounts
list), each on a month of its own; the quota test, which leaves UK's quota used up for the
sandbox's day, comes last."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest
import yaml

from ml_connector.state.store import StateStore
from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.server import RunningSandbox, start_sandbox
from ml_connector_sandbox.zoho.config import default_refresh_tokens

from ..airflow_env import airflow
from ..conftest import MODEL, ROOMY
from ..flows.test_group_flows import ENTITIES, books, held
from .flow_env import flow_env

pytestmark = pytest.mark.airflow

DAG = "zoho_group_pl_actuals"
DAILY = "zoho_group_pl_daily"
ROOT_DAGS = Path(__file__).resolve().parents[2] / "dags"
#: Two more refresh tokens of the Indian login: one revoked, the one it is given after.
REVOKED, AGAIN = "1000.sandbox-refresh-in-revoked", "1000.sandbox-refresh-in-again"


@dataclass
class Group:
    """The sandbox and the Airflow home (its Accounts list loaded) the tests share."""

    sandbox: RunningSandbox
    home: Path
    env: dict[str, str]

    def run(self, month: str | None, logical_date: str, env: dict[str, str] | None = None,
            dag: str = DAG, **conf: str) -> tuple[subprocess.CompletedProcess, str, str]:
        """`airflow dags test` of ``dag`` (for ``month``): (the process, run id, state)."""
        conf = {"month": month, **conf} if month else conf
        done = airflow(env or self.env, "dags", "test", dag, logical_date,
                       *(["-c", json.dumps(conf)] if conf else []), check=False)
        with sqlite3.connect(self.home / "airflow.db") as db:
            run_id, state = db.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ? "
                                       "ORDER BY id DESC LIMIT 1", (dag,)).fetchone()
        return done, run_id, state

    def watermarks(self) -> dict[str, str]:
        """The incremental group flow's watermark of each organization."""
        return StateStore.sqlite(self.home / "ml_connector" / "state.db").watermarks(
            DAILY.removeprefix("zoho_"))

    def states(self, run_id: str) -> dict[str, str]:
        """Task id -> state of a run's task instances."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            return dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ? "
                                   "AND run_id = ?", (DAG, run_id)).fetchall())

    def tries(self, run_id: str, state: str) -> dict[str, int]:
        """Task id -> tries of a run's task instances in ``state``."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            return dict(db.execute("SELECT task_id, try_number FROM task_instance WHERE "
                                   "dag_id = ? AND run_id = ? AND state = ?",
                                   (DAG, run_id, state)).fetchall())

    def grid(self) -> dict[str, list]:
        """The top of the DAG's task group as the Grid reads it (the serialized DAG):
        each child's id -> [kind, its children's ids (a group's)]."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            data, packed = db.execute("SELECT data, data_compressed FROM serialized_dag "
                                      "WHERE dag_id = ? ORDER BY created_at DESC",
                                      (DAG,)).fetchone()
        dag = json.loads(data if data is not None else zlib.decompress(packed))["dag"]
        return {key: [kind, sorted(child["children"]) if kind == "taskgroup" else []]
                for key, (kind, child) in dag["task_group"]["children"].items()}

    def admin(self, method: str, path: str, **body: str) -> dict:
        """A call of the Zoho sandbox's admin API (``/_sandbox/zoho``)."""
        answer = httpx.request(method, f"{self.sandbox.base_url}/_sandbox/zoho{path}",
                               json=body or None, timeout=30)
        return answer.raise_for_status().json()

    def used_today(self) -> dict[str, int]:
        """Each organization's requests today, as the sandbox counts them."""
        return {e: self.admin("GET", f"/orgs/{o}/quota")["used_today"]
                for e, o in ENTITIES.items()}

    def held(self, month: date) -> dict:
        """Consolidated Actuals' cells of ``month``."""
        label = month.strftime("%b %y")
        return {k: v for k, v in held(self.sandbox).items() if k[2] == label}


def by_group(states: dict[str, str]) -> dict[str, set[str]]:
    """The states of each organization's task group (``us``, ``labs``, ...)."""
    found: dict[str, set[str]] = {}
    for task_id, state in states.items():
        if "." in task_id:
            found.setdefault(task_id.split(".", 1)[0], set()).add(state)
    return found


def india(env: dict[str, str], token: str) -> dict[str, str]:
    """``env`` with the Indian login's connection on another refresh token."""
    conn = json.loads(env["AIRFLOW_CONN_ZOHO_BOOKS_IN"])
    conn["extra"] = {**conn["extra"], "refresh_token": token}
    return {**env, "AIRFLOW_CONN_ZOHO_BOOKS_IN": json.dumps(conn)}


def with_daily(folder: Path) -> Path:
    """The shipped DAG files and flows, and the group flow in mode incremental beside it
    (``group_pl_daily``): each organization keeps a watermark of its own."""
    for source in ROOT_DAGS.iterdir():
        if source.is_file():
            shutil.copy(source, folder / source.name)
    spec = yaml.safe_load((ROOT_DAGS / "flows.yaml").read_text())
    monthly = next(f for f in spec["flows"] if f["id"] == DAG.removeprefix("zoho_"))
    spec["flows"].append({**monthly, "id": DAILY.removeprefix("zoho_"), "schedule": "daily",
                          "mode": "incremental"})
    (folder / "flows.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def group(tmp_path_factory) -> Iterator[Group]:
    tokens = [*(t.model_dump() for t in default_refresh_tokens()),
              {"token": REVOKED, "region": "in"}, {"token": AGAIN, "region": "in"}]
    config = SandboxConfig.model_validate({**ROOMY, "zoho": {**ROOMY["zoho"],
                                                             "refresh_tokens": tokens}})
    running = start_sandbox(config)
    try:
        home = tmp_path_factory.mktemp("group-home")
        env = flow_env(running, home, dags=with_daily(tmp_path_factory.mktemp("dags")))
        airflow(env, "dags", "test", "zoho_accounts", "2026-04-01")
        yield Group(running, home, env)
    finally:
        running.stop()


def test_four_organizations_are_read_by_their_groups_and_imported_as_one(group):
    errors = airflow(group.env, "dags", "list-import-errors", "--local", "-o", "json")
    assert json.loads(errors.stdout.strip().splitlines()[-1]) == []  # after a warning
    january = date(2026, 1, 1)
    done, run_id, state = group.run("2026-01", "2026-02-01")
    assert state == "success", done.stdout[-3000:] + done.stderr[-3000:]
    groups = by_group(group.states(run_id))
    assert groups == {e.lower(): {"success"} for e in ENTITIES}
    # The Grid shows a group per organization, its steps inside, the shared steps after.
    grid = group.grid()
    for unit in groups:
        assert grid[unit] == ["taskgroup", sorted(
            f"{unit}.{step}" for step in ("closed", "extract_chartofaccounts", "extract",
                                          "build"))]
    assert {k for k, (kind, _) in grid.items() if kind == "operator"} == {
        "rates", "combine", "check_members", "dry_run", "import", "wait", "verify",
        "reconcile"}
    expected = books(group.sandbox, january)
    assert {e for e, _, _ in expected} == set(ENTITIES)
    assert {c for c, _, _ in expected.values()} == {"USD", "GBP", "INR"}
    assert group.held(january) == expected
    assert all(local and amount for _, local, amount in group.held(january).values())


def test_a_revoked_login_leaves_india_out_and_a_run_of_india_alone_reads_only_it(group):
    february = date(2026, 2, 1)
    revoked = india(group.env, REVOKED)
    assert group.admin("POST", "/revoke-refresh-token", token=REVOKED) == {"revoked": True}
    done, run_id, state = group.run("2026-02", "2026-03-01", revoked)
    output = done.stdout + done.stderr
    assert state == "failed" and done.returncode != 0
    assert "imported US, LABS, UK; not read: IN (in." in output, output[-3000:]
    assert "refused the credentials" in output and "connection 'zoho_books_in'" in output
    states = group.states(run_id)
    groups = by_group(states)
    assert groups["in"] <= {"failed", "upstream_failed"} and "failed" in groups["in"]
    # The refusal fails India's step at once (a retry would be refused too).
    failed = {t: n for t, n in group.tries(run_id, "failed").items() if t.startswith("in.")}
    assert failed and set(failed.values()) == {1}, failed
    assert {g: groups[g] for g in ("us", "labs", "uk")} == {
        g: {"success"} for g in ("us", "labs", "uk")}
    assert (states["combine"], states["import"], states["reconcile"]) == (
        "success", "success", "failed")
    expected = books(group.sandbox, february)
    assert group.held(february) == {k: v for k, v in expected.items() if k[0] != "IN"}

    # India's connection given a working refresh token, the run of the organization left
    # out reads India alone: the others' requests stay, but for the group company's
    # answer to India's rates (its currencies, and the INR rates).
    before = group.used_today()
    done, run_id, state = group.run("2026-02", "2026-03-02", india(group.env, AGAIN),
                                    organizations="IN")
    assert state == "success", done.stdout[-3000:] + done.stderr[-3000:]
    used = {e: n - before[e] for e, n in group.used_today().items()}
    assert used["IN"] > 0
    assert {e: used[e] for e in ("US", "LABS", "UK")} == {"US": 2, "LABS": 0, "UK": 0}
    groups = by_group(group.states(run_id))
    assert groups["in"] == {"success"}
    assert {g: groups[g] for g in ("us", "labs", "uk")} == {
        g: {"skipped"} for g in ("us", "labs", "uk")}
    assert group.held(february) == expected


def test_a_missing_rate_sends_nothing_for_its_entity(group):
    """Zillum Inc's INR rates before March taken out of the sandbox (as if never entered):
    January again leaves India out, naming the currency and month; India's January cells
    stay as the first run sent them, the others are sent whole again."""
    january = date(2026, 1, 1)
    rates = group.sandbox.sandbox.zoho.orgs[ENTITIES["US"]].catalog.rates
    kept = rates.series["INR"]
    before = {k: v for k, v in group.held(january).items() if k[0] == "IN"}
    rates.series["INR"] = [(d, r) for d, r in kept if d >= date(2026, 3, 1)]
    rates._days["INR"] = [d for d, _ in rates.series["INR"]]
    try:
        done, run_id, state = group.run("2026-01", "2026-02-02")
    finally:
        rates.series["INR"], rates._days["INR"] = kept, [d for d, _ in kept]
    output = done.stdout + done.stderr
    assert state == "failed", output[-3000:]
    assert "imported US, LABS, UK; not read: IN (in.build: no average rate of INR to USD " \
        "for 2026-01" in output, output[-3000:]
    assert "nothing is translated with a guessed rate" in output
    states = group.states(run_id)
    assert states["in.build"] == "failed" and group.tries(run_id, "failed")["in.build"] == 1
    assert {g: s for g, s in by_group(states).items() if g != "in"} == {
        g: {"success"} for g in ("us", "labs", "uk")}
    now = group.held(january)
    assert {k: v for k, v in now.items() if k[0] == "IN"} == before
    assert {k: v for k, v in now.items() if k[0] != "IN"} == {
        k: v for k, v in books(group.sandbox, january).items() if k[0] != "IN"}


def test_each_organization_keeps_its_own_watermark_through_a_partial_run(group):
    """The incremental group flow while India's login is refused: the others' watermarks
    are set, India's is not; with India's login working again, the next run sets it and
    leaves the others' as they were (nothing changed for them)."""
    group.admin("POST", "/revoke-refresh-token", token=REVOKED)  # (each test on its own)
    done, _, state = group.run(None, "2026-04-01", india(group.env, REVOKED), dag=DAILY)
    output = done.stdout + done.stderr
    assert state == "failed" and "not read: IN (in." in output, output[-3000:]
    first = group.watermarks()
    assert set(first) == {"US", "LABS", "UK"}, first
    done, _, state = group.run(None, "2026-04-02", india(group.env, AGAIN), dag=DAILY)
    assert state == "success", (done.stdout + done.stderr)[-3000:]
    after = group.watermarks()
    assert set(after) == set(ENTITIES) and {e: after[e] for e in first} == first


def test_an_organization_at_its_daily_quota_is_left_out_alone(group):
    march = date(2026, 3, 1)
    # Where the daily flow sent UK's March already, one of its cells is marked, so that a
    # run that sent UK's cells again would show (none: none may appear).
    uk = next((k for k in group.held(march) if k[0] == "UK"), None)
    if uk is not None:
        module = group.sandbox.sandbox.anaplan.model(MODEL).module_named(
            "Consolidated Actuals")
        module.write(uk, {"Local Amount": 1.0})
    kept = {k: v for k, v in group.held(march).items() if k[0] == "UK"}
    group.admin("POST", f"/orgs/{ENTITIES['UK']}/quota/exhaust")
    done, run_id, state = group.run("2026-03", "2026-04-01")
    output = done.stdout + done.stderr
    assert state == "failed"
    assert "imported US, LABS, IN; not read: UK (uk." in output
    assert "daily quota (10000000) is used up (code 45)" in output
    states = group.states(run_id)
    # UK's first step that asked Zoho failed at once (no retry: the quota is back only
    # tomorrow); its build never ran.
    failed = {t: n for t, n in group.tries(run_id, "failed").items() if t.startswith("uk.")}
    assert failed and set(failed.values()) == {1}, failed
    assert states["uk.build"] == "upstream_failed"
    groups = by_group(states)
    assert {g: groups[g] for g in ("us", "labs", "in")} == {
        g: {"success"} for g in ("us", "labs", "in")}
    expected = books(group.sandbox, march)
    now = group.held(march)
    assert {k: v for k, v in now.items() if k[0] != "UK"} == {
        k: v for k, v in expected.items() if k[0] != "UK"}
    assert {k: v for k, v in now.items() if k[0] == "UK"} == kept  # nothing of UK sent
    assert uk is None or kept[uk][1] == 1
