"""``ml-connector doctor`` and a flow's extract, each its own process, on one machine's
default state store (SQLite in ``AIRFLOW_HOME``) and no ``rate_limit_file``: back to back
and at the same time, together they keep to one budget of the organization's per-minute
window. The emulator answers no 429 and sees no minute above the budget.

Zoho's minute is shortened to seconds, in the emulator and in the budget of both processes,
so that waiting out a full window takes seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ml_connector.flows.spec import load_flows, read_modules
from ml_connector_sandbox.core import SandboxConfig

from ..airflow_env import sandbox_connections
from ..cells import ORG
from ..conftest import ROOMY

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "dags" / "flows.yaml"
FLOW = "invoice_actuals"  # its extract: invoices and credit notes with their line items
#: The clients' budget (the connection's requests_per_minute) and Zoho's limit, per window.
BUDGET, ZOHO_LIMIT = 20, 25
#: Zoho's minute, shortened, and the budget's window: longer, as 62 s are to Zoho's 60, so
#: that a request slowed between the budget and the emulator still lands inside the budget.
ZOHO_MINUTE, BUDGET_WINDOW = 3.0, 4.0

#: Both processes build their Zoho client from the Airflow connection, as tasks and doctor
#: do; only the budget's window is set to the shortened one (a connection cannot set it).
SHORT_WINDOW = f"""
import sys
from ml_connector.zoho import settings
config = settings.ZohoConfig
settings.ZohoConfig = lambda **fields: config(rate_window={BUDGET_WINDOW}, **fields)
"""

#: The ``ml-connector`` command's entry point.
DOCTOR = SHORT_WINDOW + """
from ml_connector.cli import main
sys.exit(main())
"""

#: A flow's extract step as its task runs it (the hook's client, the connection's state
#: store, ``stage_read``), a day at a time from 2026-01-01: it starts once ``go`` exists and
#: reads until ``stop`` exists (at least one day).
EXTRACT = SHORT_WINDOW + """
import json
import time
from datetime import date, timedelta
from pathlib import Path

from ml_connector.flows.reads import flow_reads, stage_read
from ml_connector.flows.spec import load_flows
from ml_connector.hooks.state import state_store, state_url
from ml_connector.hooks.zoho_books import ZohoBooksHook

flows, flow_id, folder = sys.argv[1:]
folder = Path(folder)
spec = load_flows(flows)
flow = next(f for f in spec.flows if f.id == flow_id)
read = flow_reads(flow, spec.defaults)[-1]
store, client = state_store(state_url()), ZohoBooksHook().client
(folder / "ready").touch()
while not (folder / "go").exists():
    time.sleep(0.01)
day, reads = date(2026, 1, 1), []
while True:
    end = day + timedelta(days=1)
    manifest = stage_read(client, store, read, folder / f"{day}.jsonl",
                          windows=[[day.isoformat(), end.isoformat()]])
    reads.append({"count": manifest.count, "requests": manifest.requests})
    day = end
    if (folder / "stop").exists():
        break
print("READS " + json.dumps(reads), flush=True)
"""


def environment(running, home: Path) -> dict[str, str]:
    """The processes' environment: the sandbox's connections (the budget in the Zoho one,
    no ``rate_limit_file``) and no state store setting, so both use
    ``$AIRFLOW_HOME/ml_connector/state.db``."""
    connections = sandbox_connections(running.base_url, running.sandbox.config,
                                      requests_per_minute=BUDGET)
    zoho = json.loads(connections["AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT"])
    assert "rate_limit_file" not in zoho["extra"]
    env = {k: v for k, v in os.environ.items()
           if k != "ML_CONNECTOR_STATE_URL" and not k.startswith("AIRFLOW_CONN_")}
    return {**env, **connections, "AIRFLOW_HOME": str(home)}


def start_extract(env: dict[str, str], folder: Path) -> subprocess.Popen:
    """The extract's process; what it says goes to ``folder/said.txt``."""
    folder.mkdir()
    with (folder / "said.txt").open("w") as said:
        return subprocess.Popen([sys.executable, "-c", EXTRACT, str(FLOWS), FLOW, str(folder)],
                                env=env, stdout=said, stderr=subprocess.STDOUT)


def wait_ready(extract: subprocess.Popen, folder: Path) -> None:
    """Until the extract's process has its client (Airflow imported, the store migrated)."""
    deadline = time.monotonic() + 120
    while not (folder / "ready").exists():
        assert extract.poll() is None and time.monotonic() < deadline, \
            (folder / "said.txt").read_text()
        time.sleep(0.05)


def run_doctor(env: dict[str, str]) -> str:
    """What ``ml-connector doctor`` printed, its Anaplan checks (no Zoho request) skipped.
    It fails on the pools and lists this Airflow home lacks (exit status 1), not on an error
    it could not explain (2) or a crash."""
    doctor = subprocess.run([sys.executable, "-c", DOCTOR, "doctor", "--flows", str(FLOWS),
                             "--skip-anaplan"], env=env, capture_output=True, text=True,
                            timeout=240, check=False)
    assert doctor.returncode in (0, 1), doctor.stdout + doctor.stderr
    return doctor.stdout


@pytest.mark.parametrize("order", ["back to back", "at the same time"])
def test_doctor_and_an_extract_share_one_budget(sandbox_factory, tmp_path, order):
    """Back to back, the extract starts reading the moment doctor exits, while doctor's
    requests are still in the window; at the same time, it starts reading as doctor starts
    and goes on until doctor has exited. Kept to the budget each on its own, the two would
    send more than Zoho allows in a window (the budget and doctor's requests)."""
    config = SandboxConfig.model_validate(ROOMY)
    config.zoho.limits.per_minute = ZOHO_LIMIT
    config.zoho.limits.minute_window = ZOHO_MINUTE
    running = sandbox_factory(config)
    home, folder = tmp_path / "airflow", tmp_path / "extract"
    env = environment(running, home)

    extract = start_extract(env, folder)
    try:
        wait_ready(extract, folder)
        if order == "back to back":
            (folder / "stop").touch()  # one day
            said = run_doctor(env)
            (folder / "go").touch()
        else:
            (folder / "go").touch()
            said = run_doctor(env)
            (folder / "stop").touch()
        code = extract.wait(240)
    finally:
        if extract.poll() is None:
            extract.kill()
            extract.wait()
    extract_said = (folder / "said.txt").read_text()

    # No 429, and no window of Zoho's minute above the budget.
    stats = running.sandbox.zoho.stats()
    org = stats["organizations"][ORG]
    assert stats["rate_limited"] == [], stats["rate_limited"]
    assert set(org["by_status"]) == {"200"}, org["by_status"]
    assert org["max_per_minute"] <= BUDGET, org["max_per_minute"]
    # doctor ran its Zoho checks: a token, the organization, a request per module the flows
    # read.
    modules = sorted(read_modules([f for f in load_flows(FLOWS).flows if f.enabled]))
    assert f"[ok  ] zoho: token obtained; organization {ORG}" in said, said
    for module in modules:
        assert f"[ok  ] zoho: {module}: readable" in said, said
    assert "[FAIL] zoho" not in said, said
    # The extract read records.
    assert code == 0, extract_said
    reads = json.loads(extract_said.split("READS ", 1)[1])
    assert sum(r["count"] for r in reads) > 0
    # Between them more requests than Zoho allows in a window: all of them to the emulator.
    # ... and of its exchange rates, which a shipped flow reads from this organization.
    assert "[ok  ] zoho: settings/currencies: readable" in said, said
    assert org["total"] == len(modules) + 1 + sum(r["requests"] for r in reads) > ZOHO_LIMIT
    # The window they shared: the file beside the default state store.
    assert (home / "ml_connector" / "zoho-rate.sqlite").exists()
