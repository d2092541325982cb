"""12-month backfill: the ledger flow against the document flows (part of `make bench`).

Four companies: the demo company and one ten times larger as the sandbox has them
(documents from January to March 2026, so the year's other months are empty), and both with
a year of documents (2026) at the same monthly rate. Each is backfilled on a fresh sandbox
and without a state store (first run, no cache: every detail read, the chart read by every
run), three ways:
- the document flows invoice_actuals and bill_actuals, one run per month (a detail request
  per invoice, credit note, bill and vendor credit);
- the ledger flow pl_actuals, one run per month (every P&L account's postings, a page per
  200, at least one page per account and month);
- pl_actuals once, for months 2026-01..2026-12 (each account read once for the year).
Requests are what the emulator charges the organization; minutes are at the connector's
default budget of 90 requests/minute; a Free plan day is 1,000 requests.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from budget import BUDGET, DEMO_ORG, RemoteSandbox, Simulator

from ml_connector.flows.spec import FlowsFile, load_flows
from ml_connector.flows.windows import next_month
from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.zoho.config import DAILY_CAP, ZohoSandboxConfig, default_organizations

ROOT = Path(__file__).resolve().parent.parent
YEAR = [date(2026, m, 1) for m in range(1, 13)]
COUNTS = ("invoices", "bills", "purchaseorders", "creditnotes", "vendorcredits", "expenses",
          "journals", "customers", "vendors")
#: (name, organization, size against the demo company, months with documents). The demo
#: company's documents cover one quarter: a year at its rate is four times that.
COMPANIES = (("demo company, Jan-Mar documents", "93234695", 1, 3),
             ("10x company, Jan-Mar documents", "94234695", 10, 3),
             ("demo company, a year of documents", "91234695", 4, 12),
             ("10x company, a year of documents", "92234695", 40, 12))
DOCUMENT_FLOWS = ("invoice_actuals", "bill_actuals")
LEDGER_FLOW = "pl_actuals"


def sandbox_config(org: str, factor: int, months: int) -> SandboxConfig:
    demo = next(o for o in default_organizations() if o.organization_id == DEMO_ORG)
    last = next_month(YEAR[months - 1]) - timedelta(days=1)
    year = demo.model_copy(update={
        "organization_id": org, "name": f"Zillum x{factor}", "end_date": last,
        **{k: getattr(demo, k) * factor for k in COUNTS}})
    zoho = ZohoSandboxConfig(organizations=[year])
    zoho.limits.per_minute = 10_000_000
    zoho.limits.per_day = 100_000_000
    return SandboxConfig(start_time=datetime(2027, 3, 1, tzinfo=timezone.utc).timestamp(),
                         zoho=zoho)


def backfill(spec: FlowsFile, org: str, factor: int, months: int, work: Path,
             progress: Callable[[str], None]) -> dict[str, int]:
    """Requests charged for each way of backfilling 2026."""
    flows = {f.id: f for f in spec.flows}
    out: dict[str, int] = {}
    with RemoteSandbox(sandbox_config(org, factor, months), work) as running:
        sim = Simulator(running, org, spec, None, work)
        ends = [datetime.combine(next_month(m), datetime.min.time(), timezone.utc)
                for m in YEAR]
        progress(f"  {org}: {LEDGER_FLOW} for the year in one run...")
        out["ledger, one run"] = sim.run(flows[LEDGER_FLOW], ends[-1], months=YEAR)
        progress(f"  {org}: {LEDGER_FLOW}, a run per month...")
        out["ledger, a run per month"] = sum(sim.run(flows[LEDGER_FLOW], at) for at in ends)
        progress(f"  {org}: {' + '.join(DOCUMENT_FLOWS)}, a run per month (a detail per "
                 "document)...")
        out["documents"] = sum(sim.run(flows[f], at) for at in ends for f in DOCUMENT_FLOWS)
        org_stats = running.stats()["organizations"][org]["by_path"]
        out["details"] = sum(n for path, n in org_stats.items() if path.endswith("{id}"))
    return out


def main(progress: Callable[[str], None] = print) -> list[str]:
    """Run both companies; returns the printed table's lines."""
    spec = load_flows(ROOT / "dags" / "flows.yaml")
    free = DAILY_CAP["free"]
    lines = [f"{'12-month backfill (first run, no cache)':<44} {'requests':>9} "
             f"{'min@90':>7} {'Free days':>9} {'vs documents':>13}"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, org, factor, months in COMPANIES:
            r = backfill(spec, org, factor, months, Path(tmp), progress)
            lines.append(f"{name} (organization {org})")
            for label in ("documents", "ledger, a run per month", "ledger, one run"):
                n = r[label]
                what = (f"{' + '.join(DOCUMENT_FLOWS)}" if label == "documents"
                        else f"{LEDGER_FLOW}: {label.removeprefix('ledger, ')}")
                ratio = "" if label == "documents" else f"{r['documents'] / n:.1f}x fewer"
                lines.append(f"  {what:<42} {n:>9,} {n / BUDGET:>7.1f} {n / free:>9.2f} "
                             f"{ratio:>13}")
            lines.append(f"  {'':<42} (documents: {r['details']:,} of their requests are "
                         "details)")
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
