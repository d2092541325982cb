"""The Month-end page's render time over a year of monthly runs of every shipped flow
(part of `make bench`).

A state store holds 12 months x every flow of dags/flows.yaml as scheduled runs leave it
(about 3,000 audited records per fact flow and month, a tenth for the list flows, the
verifications, an alignment of ~50 rows per month for each flow by a dimension); each
month's page is fetched through the plugin's app (FastAPI's TestClient, signed in with a
token Airflow's auth manager issued, Airflow's metadata database migrated), 5 times. The
target: under 1 s a page.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]
RENDERS = 5
RECORDS = 3000


def main() -> list[str]:
    """Run the measurement in its own process, with its own Airflow home and database."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        state = home / "state.db"
        env = {**os.environ, "AIRFLOW_HOME": str(home),
               "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
               "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
               "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
               "AIRFLOW_CONN_ML_CONNECTOR_STATE": json.dumps({"conn_type": "sqlite",
                                                              "host": str(state)})}
        subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
                       env=env, check=True, capture_output=True)
        done = subprocess.run([sys.executable, __file__, str(state)], env=env, check=True,
                              capture_output=True, text=True)
        return json.loads(done.stdout.splitlines()[-1])  # the last line: Airflow logs first


def measure(state: Path) -> list[str]:
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    from ml_connector.flows.spec import load_valid_flows
    from ml_connector.monthend.app import app
    from ml_connector.state.store import StateStore
    from tests.monthend_data import fill_months

    flows = load_valid_flows(ROOT / "dags" / "flows.yaml")[0].flows
    began = time.perf_counter()
    written = fill_months(StateStore.sqlite(state), flows, MONTHS, records=RECORDS)
    filled = time.perf_counter() - began
    token = init_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin",
                                                                   role="admin"))
    client = TestClient(app, cookies={"_token": token})
    lines = [f"{len(flows)} flows x {len(MONTHS)} months, {written:,} audit rows "
             f"(filled in {filled:.0f} s); median of {RENDERS} renders per month; "
             "target < 1 s a page",
             f"{'month':<8} {'flows':>6} {'rows shown':>11} {'KiB':>6} {'render ms':>10}"]
    worst = (0.0, "")
    for month in MONTHS:
        times, page = [], ""
        for _ in range(RENDERS):
            start = time.perf_counter()
            answer = client.get("/", params={"month": month})
            times.append((time.perf_counter() - start) * 1000)
            answer.raise_for_status()
            page = answer.text
        median = statistics.median(times)
        worst = max(worst, (max(times), month))
        shown = page.count('<tr class="flow')
        lines.append(f"{month:<8} {shown:>6} {page.count('<tr'):>11} "
                     f"{len(page) / 1024:>6.0f} {median:>10.0f}")
    lines.append(f"worst single render: {worst[0]:.0f} ms ({worst[1]}); "
                 f"{'within' if worst[0] < 1000 else 'OVER'} the 1 s target")
    return lines


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(measure(Path(sys.argv[1]))))
    else:
        print("\n".join(main()))
