"""`make demo`: Zoho Books actuals into Anaplan through real Airflow, against the sandbox.

Starts the sandbox (Zoho Books and Anaplan emulators) on a free loopback port, prepares an
Airflow home in .demo/ (SQLite, Fernet key, connections, deferrable operators), runs
`zoho_books_to_anaplan` for January 2026 with `airflow dags test` (the deferred waits run
through the trigger code path), and prints what was read, what Anaplan imported, and a
reconciliation of Zoho totals against the sandbox model per account and month.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from decimal import Decimal
from pathlib import Path

from ml_connector.flows.build import CENT
from ml_connector.sandbox.airflow_env import (
    ANAPLAN_MODEL,
    airflow,
    airflow_env,
    migrate,
    sandbox_connections,
)
from ml_connector.sandbox.core import SandboxConfig
from ml_connector.sandbox.server import start_sandbox

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / ".demo" / "airflow"
DAG_ID = "zoho_books_to_anaplan"
MONTH = "2026-02-01"  # the run whose data interval is January 2026
MODULES = {"invoices": "Invoice Actuals", "bills": "Bill Actuals"}
#: Line items need one request per document; the demo's sandbox allows 3,000 requests a
#: minute (Zoho allows 100) so the month finishes in seconds instead of twenty minutes.
DEMO_LIMITS = {"zoho": {"limits": {"per_minute": 3000}}}


def reconcile(report: dict, running) -> list[tuple[str, str, str, Decimal, Decimal]]:
    rows = []
    for entity, module in MODULES.items():
        cells = {(c["dimensions"]["Accounts"], c["dimensions"]["Time"]):
                 Decimal(repr(c["values"]["Amount"])).quantize(CENT)
                 for c in running.sandbox.anaplan.module_cells(ANAPLAN_MODEL, module)}
        for key, total in sorted(report[entity]["totals"].items()):
            code, period = key.split("|")
            rows.append((module, code, period, Decimal(total), cells.get((code, period),
                                                                         Decimal("NaN"))))
    return rows


def main() -> int:
    started = time.monotonic()
    config = SandboxConfig.model_validate(DEMO_LIMITS)
    with start_sandbox(config) as running:
        print(f"Sandbox (Zoho Books + Anaplan emulators) on {running.base_url}")
        shutil.rmtree(HOME / "staging", ignore_errors=True)
        env = airflow_env(
            HOME, ROOT / "dags",
            sandbox_connections(running.base_url, config, requests_per_minute=2500),
            operators__default_deferrable="True",
        )
        print("Preparing Airflow (SQLite metadata database in .demo/airflow)...")
        migrate(env)
        print(f"Running {DAG_ID} for January 2026 (airflow dags test {DAG_ID} {MONTH})...")
        try:
            done = airflow(env, "dags", "test", DAG_ID, MONTH)
        except RuntimeError as exc:
            (HOME / "last-run.log").write_text(str(exc))
            print("The DAG run failed; see .demo/airflow/last-run.log")
            return 1
        log = done.stdout + done.stderr
        (HOME / "last-run.log").write_text(log)
        reports = sorted((HOME / "staging" / DAG_ID).glob("*/report.json"))
        if not reports:
            print("The DAG ran but wrote no report; see .demo/airflow/last-run.log")
            return 1
        report = json.loads(reports[-1].read_text())
        print(f"\n{'step':<10} {'records read':>12} {'rows sent':>10}  Anaplan task")
        for entity in ("accounts", *MODULES):
            part = report[entity]
            task = part["anaplan_task"] or {}
            task = task.get("task", task)
            print(f"{entity:<10} {part.get('records', '-'):>12} {part['rows']:>10}  "
                  f"{task.get('summary', task)}")
        rows = reconcile(report, running)
        print(f"\n{'module':<16} {'account':>8} {'period':>7} {'Zoho total':>14} "
              f"{'Anaplan cell':>14}")
        for module, code, period, zoho, anaplan in rows:
            flag = "" if zoho == anaplan else "  MISMATCH"
            print(f"{module:<16} {code:>8} {period:>7} {zoho:>14} {anaplan:>14}{flag}")
        mismatches = sum(1 for *_, zoho, anaplan in rows if zoho != anaplan)
        zoho_sum = sum(r[3] for r in rows)
        print(f"\nReconciliation: {len(rows)} cells, {mismatches} mismatches; "
              f"Zoho total {zoho_sum} (base currency)")
        deferred = log.count("[DAG TEST] running trigger in line")
        minted = sum(running.sandbox.zoho.stats()["tokens_minted"].values())
        print(f"Deferred waits run by the trigger: {deferred}; Zoho access tokens minted: "
              f"{minted}; log: .demo/airflow/last-run.log")
    print(f"Demo finished in {time.monotonic() - started:.0f}s")
    if not rows:
        print("Nothing was reconciled: the run read no records.")
    return 0 if rows and mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
