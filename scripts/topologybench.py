"""`make bench`: the docker-compose topology as processes (tests/topology.py) with one
Celery worker and with two, the same three-month backfill of two actuals flows in each:
wall time, Zoho requests, tokens minted, 429s, the busiest minute and the most requests
in flight, side by side."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.server import start_sandbox
from tests.cells import ORG
from tests.topology import SANDBOX, topology

BACKFILLS = ["zoho_invoice_actuals", "zoho_bill_actuals"]


def backfill(workers: int) -> dict:
    """Start the topology with ``workers`` workers, load the accounts, then time the
    backfill of both flows' January to March, three months of each at once."""
    running = start_sandbox(SandboxConfig.model_validate(SANDBOX))
    try:
        with tempfile.TemporaryDirectory(prefix="mlc-topology-") as root, \
                topology(Path(root), running.base_url, workers=workers) as stack:
            stack.wait_for(lambda: "zoho_invoice_actuals" in stack.airflow("dags", "list"),
                           180, "the flows")
            stack.airflow("pools", "set", "zoho_books", "3", "Zoho Books API budget")
            stack.airflow("dags", "unpause", "zoho_accounts")
            stack.wait_for(lambda: stack.finished("zoho_accounts", 1), 300, "accounts")
            before = running.sandbox.zoho.stats()["organizations"][ORG]["total"]
            started = time.monotonic()
            for dag_id in BACKFILLS:
                stack.airflow("backfill", "create", "--dag-id", dag_id, "--from-date",
                              "2026-01-01", "--to-date", "2026-03-31", "--max-active-runs", "3")
                stack.airflow("dags", "unpause", dag_id)
            for dag_id in BACKFILLS:
                stack.wait_for(lambda d=dag_id: stack.finished(d, 3, "backfill__"), 1800,
                               f"{dag_id}'s backfill")
            wall = time.monotonic() - started
            failed = [r["run_id"] for d in BACKFILLS for r in stack.runs(d)
                      if r["state"] != "success"]
            hosts = dict(stack.query("SELECT hostname, count(*) FROM task_instance WHERE "
                                     "state = 'success' GROUP BY hostname"))
    finally:
        running.stop()
    stats = running.sandbox.zoho.stats()
    org = stats["organizations"][ORG]
    return {"wall": wall, "requests": org["total"] - before,
            "tokens": sum(stats["tokens_minted"].values()),
            "limited": len(stats["rate_limited"]), "peak": org["max_per_minute"],
            "in_flight": org["max_in_flight"], "hosts": hosts, "failed": failed}


def main() -> list[str]:
    one, two = backfill(1), backfill(2)
    lines = ["", "Backfill of Jan-Mar for two actuals flows on the compose topology as "
             "processes (Zoho: 100 requests/minute, budget 90; zoho_books pool: 3 slots)",
             f"{'workers':<9}{'wall s':>8}{'Zoho req':>10}{'tokens':>8}{'429s':>6}"
             f"{'peak/min':>10}{'in flight':>11}  successful tasks per worker"]
    for n, row in ((1, one), (2, two)):
        lines.append(f"{n:<9}{row['wall']:>8.0f}{row['requests']:>10,}{row['tokens']:>8}"
                     f"{row['limited']:>6}{row['peak']:>10}{row['in_flight']:>11}  {row['hosts']}"
                     + (f"  FAILED {row['failed']}" if row["failed"] else ""))
    lines.append(f"two workers / one: wall x{two['wall'] / one['wall']:.2f}, "
                 f"requests x{two['requests'] / max(one['requests'], 1):.2f}")
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
