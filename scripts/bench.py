"""`make bench`: request counts, throughput and client memory of Zoho extraction.

The sandbox runs in its own process (`ml-connector sandbox up`), so the memory figures are
the client's alone: the peak of Python allocations while streaming an extract to disk.
"""

from __future__ import annotations

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
        [str(Path(sys.executable).parent / "ml-connector"), "sandbox", "up", "--port",
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
                     "limits": {"per_minute": 1_000_000, "per_day": 10_000_000}}}


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


def main() -> int:
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
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"\n{'scenario':<34} {'records':>9} {'requests':>9} {'seconds':>8} "
          f"{'records/s':>10} {'client peak MiB':>16}")
    for name, r in rows:
        print(f"{name:<34} {r['records']:>9,} {r['requests']:>9,} {r['seconds']:>8.1f} "
              f"{r['records'] / r['seconds']:>10,.0f} {r['peak_mib']:>16.1f}")
    print("\nAt Zoho's 100 requests/minute, minutes needed = requests / 90 (the default budget).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
