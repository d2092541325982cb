"""A new Airflow's first commands: ``ml-connector init`` gives it the flow DAGs and pools."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ml_connector.airflow_cli import json_list
from ml_connector.state.lists import ListLoads
from ml_connector.state.store import StateStore

from ..airflow_env import airflow, airflow_env, migrate

pytestmark = pytest.mark.airflow
ROOT = Path(__file__).resolve().parents[2]


def in_python(env, code: str) -> str:
    """What ``code`` prints, run as a separate program in ``env`` (outside any task)."""
    done = subprocess.run([str(Path(sys.executable).parent / "python"), "-c", code], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def listed(env, *command: str) -> list[dict]:
    """The JSON list an ``airflow ... list -o json`` command prints after its log lines."""
    return json_list(airflow(env, *command, "-o", "json").stdout)


def test_init_gives_an_empty_airflow_the_flows_and_their_pools(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    env = airflow_env(tmp_path / "home", dags, {})
    migrate(env)
    done = subprocess.run([str(Path(sys.executable).parent / "ml-connector"), "init",
                           str(dags)], env=env, capture_output=True, text=True, check=True)
    assert "created the pools zoho_books, anaplan" in done.stdout
    pools = {p["pool"]: int(p["slots"]) for p in listed(env, "pools", "list")}
    assert pools["zoho_books"] == 1 and pools["anaplan"] == 2
    airflow(env, "dags", "reserialize")  # what the dag-processor does on its own
    ids = {d["dag_id"] for d in listed(env, "dags", "list")}
    assert {"zoho_accounts", "zoho_invoice_actuals", "zoho_invoice_actuals_daily"} <= ids


def test_doctor_before_the_connections_exist_says_how_to_add_them(tmp_path):
    """Right after init, with no connection yet: one line per missing connection naming
    it and the command that writes it, no traceback, exit status 1."""
    dags = tmp_path / "dags"
    env = airflow_env(tmp_path / "home", dags, {})
    migrate(env)
    cli = str(Path(sys.executable).parent / "ml-connector")
    subprocess.run([cli, "init", str(dags)], env=env, check=True, capture_output=True)
    done = subprocess.run([cli, "doctor", "--flows", str(dags / "ml_connector" / "flows.yaml")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert "[FAIL] zoho: the Airflow connection 'zoho_books_default' does not exist: add it " \
        "(ml-connector zoho authorize writes it" in done.stdout
    anaplan = [line for line in done.stdout.splitlines() if line.startswith("[FAIL] anaplan")]
    assert anaplan == ["[FAIL] anaplan: the Airflow connection 'anaplan_default' does not "
                       "exist: add it (ml-connector anaplan authorize writes it, or Admin -> "
                       "Connections, type Anaplan)"]


def test_airflow_knows_the_providers_options(tmp_path):
    env = airflow_env(tmp_path / "home", tmp_path, {})
    shown = airflow(env, "config", "list", "--section", "ml_connector",
                    "--include-descriptions").stdout
    assert "[ml_connector]" in shown and "staging_base" in shown
    assert "ObjectStoragePath URL every worker reaches" in shown


def test_doctor_after_init_names_what_is_left_to_do(sandbox, tmp_path):
    """A new user's sequence: init, then doctor, which finds the pools and connections in
    order and says the list flows must run first."""
    from ..airflow_env import sandbox_connections

    dags = tmp_path / "dags"
    env = airflow_env(tmp_path / "home", dags, sandbox_connections(
        sandbox.base_url, sandbox.sandbox.config, requests_per_minute=100_000))
    migrate(env)
    cli = str(Path(sys.executable).parent / "ml-connector")
    subprocess.run([cli, "init", str(dags)], env=env, check=True, capture_output=True)
    done = subprocess.run([cli, "doctor", "--flows", str(dags / "ml_connector" / "flows.yaml")],
                          env=env, capture_output=True, text=True, timeout=600)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "[ok  ] pools: zoho_books: 1 slot(s)" in out
    assert "[ok  ] zoho: token obtained; organization 10234695" in out
    assert "[ok  ] anaplan: invoice_actuals: import" in out
    assert "[WARN] lists: flow accounts has not loaded its list" in out
    assert "[FAIL]" not in out
    assert out.rstrip().endswith("list flow(s) named above have loaded their lists")
    assert sandbox.sandbox.config.zoho.client_secret not in out + done.stderr
    # The fix is a command that works now: no scheduler or dag-processor has parsed the
    # DAG file yet (`airflow dags trigger` would answer DagNotFound).
    fix = re.search(r"fix: run zoho_accounts first: (airflow dags test zoho_accounts) ", out)
    assert fix, out
    airflow(env, *shlex.split(fix.group(1))[1:])
    loads = ListLoads(StateStore.sqlite(tmp_path / "home" / "ml_connector" / "state.db"))
    assert loads.read_at("accounts") is not None


def test_zoho_authorize_writes_a_working_connection(sandbox, tmp_path):
    """The consent URL (opened here by a client that follows Zoho's redirect as a browser
    would), the pasted answer, the code exchanged at the data center it names, and the
    connection written to Airflow's database: its hook then reads the organization."""
    import httpx

    from ..airflow_env import sandbox_connections

    connections = sandbox_connections(sandbox.base_url, sandbox.sandbox.config)
    del connections["AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT"]  # the command writes it
    env = airflow_env(tmp_path / "home", tmp_path / "dags", connections)
    migrate(env)
    zoho = sandbox.sandbox.config.zoho
    env["ML_CONNECTOR_ZOHO_CLIENT_SECRET"] = zoho.client_secret
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "ml-connector"), "zoho", "authorize",
         "--client-id", zoho.client_id, "--endpoint", sandbox.base_url,
         "--organization-id", "10234695", "--flows", str(ROOT / "dags" / "flows.yaml")],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    assert proc.stdout is not None and proc.stdin is not None
    url = ""
    while not url.startswith("http"):
        url = proc.stdout.readline().strip()
    assert "access_type=offline" in url and "prompt=consent" in url
    assert "ZohoBooks.bills.READ" in url and "ZohoBooks.settings.READ" in url
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302
    out, err = proc.communicate(answer.headers["location"] + "\n", timeout=300)
    assert proc.returncode == 0, out + err
    assert "connection 'zoho_books_default' written: region us, organization 10234695" in out
    assert zoho.client_secret not in out + err
    tested = in_python(env, "from ml_connector.hooks.zoho_books import ZohoBooksHook; "
                       "print(ZohoBooksHook().test_connection())")
    assert "Connected to Zoho Books (us)" in tested and "Zillum Inc" in tested


def test_anaplan_authorize_writes_an_oauth_connection(sandbox, tmp_path):
    """The device grant (the sandbox approves at once), the connection written to Airflow's
    database, and its hook then lists the model's imports with the OAuth token."""
    from ..airflow_env import sandbox_connections
    from ..conftest import MODEL, WORKSPACE

    connections = sandbox_connections(sandbox.base_url, sandbox.sandbox.config)
    del connections["AIRFLOW_CONN_ANAPLAN_DEFAULT"]  # the command writes it
    env = airflow_env(tmp_path / "home", tmp_path / "dags", connections)
    migrate(env)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ml-connector"), "anaplan", "authorize",
         "--client-id", "sandbox-oauth-client", "--workspace-id", WORKSPACE, "--model-id",
         MODEL, "--endpoint", sandbox.base_url], env=env, capture_output=True, text=True,
        timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "and enter the code" in done.stdout
    assert f"connection 'anaplan_default' written: OAuth client sandbox-oauth-client, model " \
        f"{MODEL}" in done.stdout
    sandbox.sandbox.anaplan.reset_stats()
    listed = in_python(env, "from ml_connector.hooks.anaplan import AnaplanHook; "
                       "print(len(AnaplanHook().client.imports()))")
    assert int(listed.strip().splitlines()[-1]) > 0
    assert sandbox.sandbox.anaplan.stats()["tokens_issued"] == {"oauth_refresh": 1}


def test_init_and_doctor_on_an_unmigrated_airflow_say_to_migrate_first(tmp_path):
    """Airflow installed, its database never migrated: init writes the files and says the
    pools wait for ``airflow db migrate``; doctor fails the pools check with that fix."""
    dags = tmp_path / "dags"
    env = airflow_env(tmp_path / "home", dags, {})
    cli = str(Path(sys.executable).parent / "ml-connector")
    done = subprocess.run([cli, "init", str(dags)], env=env, capture_output=True, text=True,
                          check=True)
    assert "Airflow's database is not migrated yet: run `airflow db migrate` first" in \
        done.stdout
    done = subprocess.run([cli, "doctor", "--flows", str(dags / "ml_connector" / "flows.yaml")],
                          env=env, capture_output=True, text=True, timeout=600)
    pools = [line for line in done.stdout.splitlines() if "pools:" in line]
    assert done.returncode == 1
    assert any(line.startswith("[FAIL] pools: Airflow's database is not migrated yet")
               for line in pools), done.stdout
    assert "airflow db migrate" in done.stdout
    assert "AIRFLOW_HOME set" not in done.stdout
    # The connections live in that database: not "missing" but not readable yet.
    assert "[FAIL] zoho: the Airflow connection 'zoho_books_default' does not exist: " \
        "Airflow's database, where connections added with the UI or the CLI are kept, is " \
        "not migrated yet" in done.stdout, done.stdout
    assert "fix: airflow db migrate, then doctor again" in done.stdout


def test_the_connections_sandbox_up_prints_work_as_pasted(tmp_path):
    """`sandbox up` ends with an `airflow connections add` command per connection: pasted
    into a shell, they give doctor a working Zoho token, organization (each of the group's)
    and Anaplan model."""
    dags = tmp_path / "dags"
    env = airflow_env(tmp_path / "home", dags, {})
    migrate(env)
    cli = str(Path(sys.executable).parent / "ml-connector")
    subprocess.run([cli, "init", str(dags)], env=env, check=True, capture_output=True)
    sandbox = subprocess.Popen([cli, "sandbox", "up", "--port", "0", "--exit-after", "300"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        adds = []
        while not (line := sandbox.stdout.readline()).startswith("ready:"):
            assert line, "sandbox up ended before printing the connections"
            if line.strip().startswith("airflow connections add"):
                adds.append(line.strip())
        # Zoho's US login, the group's EU and Indian logins, Anaplan.
        assert len(adds) == 4, adds
        for command in adds:  # as a shell would split the pasted line
            subprocess.run(shlex.split(command), env=env, check=True, capture_output=True)
        done = subprocess.run([cli, "doctor", "--flows",
                               str(dags / "ml_connector" / "flows.yaml")],
                              env=env, capture_output=True, text=True, timeout=600)
    finally:
        sandbox.terminate()
        sandbox.wait(15)
    assert "[ok  ] zoho: token obtained; organization 10234695" in done.stdout, done.stdout
    assert "[ok  ] anaplan: invoice_actuals:" in done.stdout, done.stdout
    assert not [line for line in done.stdout.splitlines()
                if line.startswith("[FAIL] zoho") or line.startswith("[FAIL] anaplan")]
