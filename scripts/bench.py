"""`make bench`: the Zoho request budget of the shipped flows (scripts/budget.py), Zoho
extraction (requests, throughput, client memory), Anaplan uploads and task polling, the
build step (scripts/buildbench.py), a year's backfill through the ledger against the
document flows (scripts/ledgerbench.py) and a backfill on the compose topology with one
Celery worker and with two (scripts/topologybench.py), against the sandbox, and the Month-end
page's render time over a year of runs (scripts/pagebench.py).

The sandbox runs in its own process (`ml-connector-sandbox up`), so the figures are the
client's alone: memory is the peak of Python allocations while streaming an extract to disk.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

import httpx
import yaml

from ml_connector.transport.retry import RetryPolicy
from ml_connector.zoho import ExtractWindow, ZohoBooksClient, ZohoConfig, ZohoCredentials
from ml_connector.zoho.extract import extract_to

SIZES = [10_000, 100_000]
START, END = date(2026, 1, 1), date(2026, 4, 1)


def start_sandbox(config_path: Path) -> tuple[subprocess.Popen, str]:
    port = 18000 + os.getpid() % 1000
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "ml-connector-sandbox"), "up", "--port",
         str(port), "--config", str(config_path), "--exit-after", "1800"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{base}/_sandbox/health", timeout=1).raise_for_status()
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the sandbox did not start")


def sandbox_config(sizes: list[int]) -> dict:
    orgs = [
        {"organization_id": str(30000000 + n), "name": f"Bench {n}", "region": "us",
         "currency_code": "USD", "time_zone": "PST", "utc_offset": "-0800",
         "invoices": n, "bills": 10, "purchaseorders": 10, "customers": 200, "vendors": 50,
         "start_date": START.isoformat(), "end_date": "2026-03-31"}
        for n in sizes
    ]
    return {"zoho": {"organizations": orgs,
                     "limits": {"per_minute": 1_000_000, "per_day": 10_000_000}},
            "anaplan": {"rate_per_minute": 1_000_000}}


def run(base: str, org: str, line_items: bool, limit_days: int | None = None) -> dict:
    creds = ZohoCredentials("1000.SANDBOXCLIENT", "sandbox-client-secret",
                            "1000.sandbox-refresh-us")
    config = ZohoConfig(region="us", organization_id=org, endpoint_base=base,
                        requests_per_minute=1_000_000, retry=RetryPolicy(initial_delay=0.05))
    end = END if limit_days is None else date.fromordinal(START.toordinal() + limit_days)
    window = ExtractWindow(start=START, end=end)
    with ZohoBooksClient(creds, config) as client, tempfile.TemporaryFile("w+") as sink:
        client.organizations()  # token and org check outside the measurement
        tracemalloc.start()
        began = time.perf_counter()
        summary = extract_to(client, "invoices", window, sink, line_items=line_items)
        seconds = time.perf_counter() - began
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {"records": summary.count, "requests": summary.requests, "seconds": seconds,
            "peak_mib": peak / 2**20}


ANAPLAN_MODEL = "75A40874E6B64FA3AE0743278996850F"
ACTUALS_IMPORT, ACTUALS_FILE = "112000000006", "113000000005"


def anaplan_client(base: str):
    from ml_connector.anaplan.auth import BasicMethod
    from ml_connector.anaplan.client import AnaplanClient
    from ml_connector.anaplan.config import AnaplanConfig

    return AnaplanClient(BasicMethod("integration@zillum.example", "sandbox-password"),
                         AnaplanConfig("8a81b09d5e8c6f27015ed3b6e5c01b2a", ANAPLAN_MODEL,
                                       endpoint_base=base))


def write_csv(path: Path, megabytes: int) -> int:
    """A CSV of realistic entropy: 16 different 1 MiB blocks of random rows, cycled (gzip's
    32 KiB window cannot see the repetition)."""
    import random

    rng = random.Random(1)
    months = ["Jan 26", "Feb 26", "Mar 26"]
    blocks = []
    for _ in range(16):
        rows, size = [], 0
        while size < 2**20:
            row = (f"INV-{rng.randrange(10**6):06d}-{rng.randrange(9)},{rng.randrange(4000, 6000)},"
                   f"{rng.choice(months)},{rng.random() * 10**5:.2f}\n").encode()
            rows.append(row)
            size += len(row)
        blocks.append(b"".join(rows))
    with path.open("wb") as handle:
        handle.write(b"Line,Account,Period,Amount\n")
        for i in range(megabytes):
            handle.write(blocks[i % 16])
    return path.stat().st_size


def bench_upload(base: str, tmp: Path, megabytes: int = 200) -> dict:
    import gzip

    from ml_connector.anaplan.upload import read_chunks

    path = tmp / "upload.csv"
    size = write_csv(path, megabytes)
    with anaplan_client(base) as client:
        chunk = client.config.chunk_size
        began = time.perf_counter()
        with path.open("rb") as stream:
            compressed = sum(len(gzip.compress(c, 6)) for c in read_chunks(stream, chunk))
        gzip_seconds = time.perf_counter() - began
        result = client.upload(ACTUALS_FILE, path)
    return {"bytes": size, "chunks": result.chunks, "gzip_s": gzip_seconds,
            "upload_s": result.seconds, "sent": result.sent_bytes, "compressed": compressed}


def bench_polls(base: str, minutes: float = 10) -> dict:
    httpx.post(f"{base}/_sandbox/anaplan/task-duration",
               json={"queue_seconds": 0, "base_seconds": minutes * 60, "per_row_seconds": 0})
    data = b"Account,Period,Amount\n"
    with anaplan_client(base) as client:
        client.upload(ACTUALS_FILE, io.BytesIO(data), len(data))
        task_id = client.start_task(ACTUALS_IMPORT)

        def advance(seconds: float) -> None:
            httpx.post(f"{base}/_sandbox/clock/advance", json={"seconds": seconds})

        status = client.wait(ACTUALS_IMPORT, task_id, sleep=advance)
    stats = httpx.get(f"{base}/_sandbox/anaplan/stats").json()
    return {"state": status.state, "polls": stats["status_polls"][task_id],
            "min_interval": stats["min_poll_interval"][task_id]}


def main() -> int:
    import budget  # scripts/budget.py: the Zoho request budget of the shipped flows
    import buildbench  # scripts/buildbench.py: the build step against reading its input
    import changebench  # scripts/changebench.py: what noticing changes costs
    import ledgerbench  # scripts/ledgerbench.py: a year's backfill, ledger against documents
    import pagebench  # scripts/pagebench.py: the Month-end page over a year of runs
    import topologybench  # scripts/topologybench.py: one worker against two

    print("Zoho request budget of the shipped flows (sandbox clock; takes a while)...")
    budget_lines = budget.main()
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "sandbox.yaml"
        config_path.write_text(yaml.safe_dump(sandbox_config(SIZES)))
        proc, base = start_sandbox(config_path)
        try:
            rows = []
            for n in SIZES:
                rows.append((f"{n:,} invoices, headers only", run(base, str(30000000 + n), False)))
            # About 1,000 invoices with line items: the first ~9 days of the 10k org's quarter.
            rows.append(("~1,000 invoices with line items",
                         run(base, str(30000000 + SIZES[0]), True, limit_days=9)))
            upload = bench_upload(base, Path(tmp))
            polls = bench_polls(base)
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"\n{'scenario':<34} {'records':>9} {'requests':>9} {'seconds':>8} "
          f"{'records/s':>10} {'client peak MiB':>16}")
    for name, r in rows:
        print(f"{name:<34} {r['records']:>9,} {r['requests']:>9,} {r['seconds']:>8.1f} "
              f"{r['records'] / r['seconds']:>10,.0f} {r['peak_mib']:>16.1f}")
    print("\nAt Zoho's 100 requests/minute, minutes needed = requests / 90 (the default budget).")
    mib = upload["bytes"] / 2**20
    print(f"\nAnaplan upload of {mib:.0f} MiB in {upload['chunks']} gzip chunks: "
          f"{upload['upload_s']:.1f}s (gzip alone: {upload['gzip_s']:.1f}s; "
          f"{upload['sent'] / 2**20:.1f} MiB sent)")
    print(f"Anaplan 10-minute import (sandbox clock): {polls['polls']} status requests, "
          f"shortest interval {polls['min_interval']:.1f}s, final state {polls['state']}")
    print("\nZoho requests the shipped flows are charged (dags/flows.yaml, all schedules):")
    print("\n".join(budget_lines))
    print("\nThe build step against a bare json.loads loop over the same staged invoices:")
    print("\n".join(buildbench.main()))
    print("\nNoticing changes: webhooks against polling, and a change's run:")
    print("\n".join(changebench.main()))
    print("\nA year's backfill: the ledger flow against the document flows (takes a while)...")
    print("\n".join(ledgerbench.main()))
    print("\nThe compose topology with one Celery worker and with two (takes a while)...")
    print("\n".join(topologybench.main()))
    print("\nThe Month-end page over a year of monthly runs of every shipped flow:")
    print("\n".join(pagebench.main()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
