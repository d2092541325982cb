"""`make demo`: run the connector's DAG through real Airflow against the local sandbox.

Starts the sandbox on a free loopback port, prepares an Airflow home in .demo/ (SQLite,
Fernet key, connections), runs the monthly extract for January 2026 with
`airflow dags test`, and prints what was read. Everything stops when the script ends.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from ml_connector.sandbox.airflow_env import airflow, airflow_env, migrate, sandbox_connections
from ml_connector.sandbox.core import SandboxConfig
from ml_connector.sandbox.server import start_sandbox

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / ".demo" / "airflow"
MONTH = "2026-02-01"  # the run whose data interval is January 2026


def print_report(report: dict) -> None:
    print(f"\n{'entity':<10} {'records':>8} {'requests':>9} {'first':>11} {'last':>11}"
          f"  {'base-currency total':>20}  statuses")
    for entity, summary in report.items():
        statuses = ", ".join(f"{k} {v}" for k, v in summary["statuses"].items())
        print(f"{entity:<10} {summary['count']:>8} {summary['requests']:>9} "
              f"{summary['first_date']:>11} {summary['last_date']:>11}"
              f"  {summary['total_in_base_currency']:>20}  {statuses}")
        totals = ", ".join(f"{c} {t}" for c, t in summary["totals_by_currency"].items())
        print(f"{'':<10} by currency: {totals}")


def main() -> int:
    started = time.monotonic()
    config = SandboxConfig()
    with start_sandbox(config) as running:
        print(f"Sandbox serving on {running.base_url}")
        shutil.rmtree(HOME / "staging", ignore_errors=True)
        env = airflow_env(HOME, ROOT / "dags", sandbox_connections(running.base_url, config))
        print("Preparing Airflow (SQLite metadata database in .demo/airflow)...")
        migrate(env)
        print(f"Running zoho_books_extract for January 2026 (airflow dags test ... {MONTH})...")
        done = airflow(env, "dags", "test", "zoho_books_extract", MONTH)
        (HOME / "last-run.log").write_text(done.stdout + done.stderr)
        reports = sorted((HOME / "staging" / "zoho_books_extract").glob("*/report.json"))
        if not reports:
            print("The DAG ran but wrote no report; see .demo/airflow/last-run.log")
            return 1
        print_report(json.loads(reports[-1].read_text()))
        stats = running.sandbox.zoho.stats()
        minted = sum(stats["tokens_minted"].values())
        print(f"\nZoho access tokens minted: {minted}; task log: .demo/airflow/last-run.log")
    print(f"Demo finished in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
