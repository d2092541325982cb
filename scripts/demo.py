"""`make demo`: three months of Zoho Books actuals into Anaplan through real Airflow.

Starts the sandbox (Zoho Books and Anaplan emulators: a company with a few thousand invoices
and bills over January to March 2026 in three currencies) on a free loopback port, prepares
an Airflow home in .demo/ (SQLite, Fernet key, connections, deferrable operators), runs the
list flows (accounts, customers, vendors, and the Department tag's regions and
departments) and then the invoice and bill flows of dags/flows.yaml, by account and by
account and department, for each month with `airflow dags test` (deferred waits run through the
trigger code path), then the daily incremental invoice flow around a late edit of a January
invoice (its webhook verified and recorded by the receiver, ml-connector webhooks serve),
then the ledger flow pl_actuals for each month (read back through its export by its
verify step), and the consolidated flow group_pl_actuals loads the three months in one
run for the group's four companies (US and Labs on the us login, UK on the eu
data center, India on the in one) in local and group currency. It prints a report: records
read, rows imported, Anaplan task ids, rejected rows, each month's verification, a
reconciliation per account and month of the profit and loss that the Zoho emulator's own
posting rules give for its documents (sales and costs net of tax, discounts and credits;
shipping and adjustments on their own accounts; for the ledger flow journals and expenses
too; by department, its profit and loss by reporting tag) against the cells read out of
Anaplan through its Integration API exports, and each entity's consolidated cells (local
and group currency) against the sandbox's own consolidation
(``sandbox.zoho.group.consolidated``: the group company's average rates).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import shutil
import subprocess
import sys
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from ml_connector.anaplan.auth import BasicMethod
from ml_connector.anaplan.client import AnaplanClient
from ml_connector.anaplan.config import AnaplanConfig
from ml_connector.flows.spec import load_flows
from ml_connector.monthend.page import render
from ml_connector.monthend.view import month_view
from ml_connector.state.audit import AuditLog
from ml_connector.state.events import EventLog
from ml_connector.state.report import run_months, table
from ml_connector.state.store import StateStore
from ml_connector.state.verifications import VerificationLog
from ml_connector.webhooks.watch import EventWatch
from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.server import start_sandbox
from ml_connector_sandbox.zoho.group import consolidated
from ml_connector_sandbox.zoho.pnl import actuals, actuals_by, by_tag, ledger_actuals
from ml_connector_sandbox.zoho.webhooks import WebhookSpec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.airflow_env import (
    ANAPLAN_MODEL,
    ANAPLAN_PASSWORD,
    ANAPLAN_USER,
    ANAPLAN_WORKSPACE,
    airflow,
    airflow_env,
    create_pools,
    free_port,
    migrate,
    receiver,
    sandbox_connections,
)

#: Cells compare to the cent.
CENT = Decimal("0.01")

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / ".demo" / "airflow"
#: The Month-end page of the demo's February, as the Airflow UI shows it.
PAGE = ROOT / ".demo" / "month-end-2026-02.html"
LISTS = ["zoho_accounts", "zoho_customers", "zoho_vendors", "zoho_regions", "zoho_departments",
         "zoho_location_groups", "zoho_locations"]
MONTHS = {"2026-02-01": (date(2026, 1, 1), date(2026, 2, 1)),  # logical date -> month
          "2026-03-01": (date(2026, 2, 1), date(2026, 3, 1)),
          "2026-04-01": (date(2026, 3, 1), date(2026, 4, 1))}
ACTUALS = {"invoice_actuals": ["invoices", "creditnotes"],
           "bill_actuals": ["bills", "vendorcredits"],
           "invoice_actuals_by_department": ["invoices", "creditnotes"],
           "bill_actuals_by_department": ["bills", "vendorcredits"]}
#: The module each flow writes and the export that reads it back.
EXPORTS = {"invoice_actuals": ("Invoice Actuals", "Invoice Actuals.csv"),
           "bill_actuals": ("Bill Actuals", "Bill Actuals.csv"),
           "invoice_actuals_by_department": ("Invoice Actuals by Department",
                                             "Invoice Actuals by Department.csv"),
           "bill_actuals_by_department": ("Bill Actuals by Department",
                                          "Bill Actuals by Department.csv"),
           "pl_actuals": ("GL Actuals", "GL Actuals.csv")}
#: The Department member of an untagged line and of a document's charges (dags/flows.yaml).
UNASSIGNED = "Unassigned"
#: The daily flows run around the late edit.
DAILY = ["zoho_invoice_actuals_daily", "zoho_invoice_actuals_by_department_daily",
         "zoho_bill_actuals_by_department_daily"]
#: Line items need one request per document; the demo's sandbox allows 12,000 requests a
#: minute (Zoho allows 100) and each process budgets 5,000, so three months take a couple of
#: minutes instead of an hour.
DEMO_LIMITS = {"zoho": {"limits": {"per_minute": 12_000, "per_day": 100_000}}}
BUDGET = 5000
#: The demo organization's webhook secret (in Zoho Books and the Zoho connection's extra).
WEBHOOK_SECRET = "DemoWebhookSecret2026"
#: Requests per minute the connector budgets against Zoho's real 100 (the default).
REAL_BUDGET = 90
ORGANIZATION = "10234695"
#: The consolidated flow: its entities' organizations (dags/flows.yaml), the group company
#: whose rates translate them, and the months of its one run.
GROUP_FLOW = "group_pl_actuals"
ENTITIES = {"US": ORGANIZATION, "LABS": "10234696", "UK": "20088123", "IN": "30045678"}
GROUP_MONTHS = ["2026-01", "2026-02", "2026-03"]
CACHE_HITS = re.compile(r"\((\d+) details from the cache\)")


def zoho_totals(running) -> dict[str, dict]:
    """Profit and loss per (account, month), or (account, department, month), from the
    sandbox's Zoho documents by Zoho's posting rules (``sandbox.zoho.pnl``: not the
    connector's code, not Airflow)."""
    start, end = date(2026, 1, 1), date(2026, 4, 1)
    department = by_tag("Department", untagged=UNASSIGNED, charges=UNASSIGNED)
    totals: dict[str, dict] = {
        flow: actuals_by(running.sandbox.zoho, ORGANIZATION, kinds, start, end, department)
        if flow.endswith("_by_department") else
        actuals(running.sandbox.zoho, ORGANIZATION, kinds, start, end)
        for flow, kinds in ACTUALS.items()}
    totals["pl_actuals"] = ledger_actuals(running.sandbox.zoho, ORGANIZATION, start, end)
    return totals


def exported(running, export: str) -> dict:
    """The Actual cells of a module, read through its Anaplan export (Integration API)."""
    config = AnaplanConfig(ANAPLAN_WORKSPACE, ANAPLAN_MODEL, endpoint_base=running.base_url)
    with AnaplanClient(BasicMethod(ANAPLAN_USER, ANAPLAN_PASSWORD), config) as client:
        export_id = client.find_export(export).id
        text = client.run_export(export_id, sleep=running.sandbox.clock.advance)
    rows = list(csv.DictReader(io.StringIO(text.decode())))
    return {(r["Accounts"], *([r["Departments"]] if "Departments" in r else []), r["Time"]):
            Decimal(r["Amount"] or 0).quantize(CENT)
            for r in rows if r.get("Versions", "Actual") == "Actual"}


def zoho_requests(running, organization: str = ORGANIZATION) -> int:
    return running.sandbox.zoho.stats()["organizations"].get(organization, {}).get("total", 0)


def consolidation(running) -> dict[tuple[str, str, str], tuple[str, Decimal, Decimal]]:
    """(entity, account, month label) -> (currency, local, group) of every non-zero cell
    of the group's months, from the sandbox's own consolidation of its organizations'
    documents at the group company's average rates (not the connector's code)."""
    found = consolidated(running.sandbox.zoho, ENTITIES, ORGANIZATION, GROUP_MONTHS,
                         "average")
    return {(e, a, datetime.strptime(m, "%Y-%m").strftime("%b %y")):
            (c.currency, c.local.quantize(CENT), c.group.quantize(CENT))
            for (e, a, m), c in found.items() if c.local}


def consolidated_cells(running) -> dict[tuple[str, str, str], tuple[str, Decimal, Decimal]]:
    """The same cells as Anaplan holds them, read through the flow's export (an empty cell
    is no cell)."""
    config = AnaplanConfig(ANAPLAN_WORKSPACE, ANAPLAN_MODEL, endpoint_base=running.base_url)
    with AnaplanClient(BasicMethod(ANAPLAN_USER, ANAPLAN_PASSWORD), config) as client:
        export_id = client.find_export("Consolidated Actuals Export").id
        text = client.run_export(export_id, sleep=running.sandbox.clock.advance)
    return {(r["Entity"], r["Account"], r["Period"]):
            (r["Currency"], Decimal(r["Local Amount"] or 0).quantize(CENT),
             Decimal(r["Group Amount"] or 0).quantize(CENT))
            for r in csv.DictReader(io.StringIO(text.decode()))
            if Decimal(r["Local Amount"] or 0) or Decimal(r["Group Amount"] or 0)}


def group_reconciliation(running) -> tuple[int, int]:
    """Each entity's cells in Anaplan against the sandbox's consolidation, printed per
    entity (cells, local and group totals); returns (cells compared, mismatches)."""
    books, held = consolidation(running), consolidated_cells(running)
    print(f"{'entity':<7} {'currency':<8} {'cells':>6} {'local total':>16} "
          f"{'group total (USD)':>18} {'mismatches':>11}")
    compared = wrong = 0
    for entity in ENTITIES:
        keys = sorted(k for k in set(books) | set(held) if k[0] == entity)
        bad = [k for k in keys if books.get(k) != held.get(k)]
        for key in bad[:5]:
            print(f"  MISMATCH {' / '.join(key)}: sandbox {books.get(key)}, Anaplan "
                  f"{held.get(key)}")
        currency = next((books[k][0] for k in keys if k in books), "?")
        local = sum((held[k][1] for k in keys if k in held), Decimal(0))
        group = sum((held[k][2] for k in keys if k in held), Decimal(0))
        print(f"{entity:<7} {currency:<8} {len(keys):>6} {local:>16,} {group:>18,} "
              f"{len(bad):>11}")
        compared += len(keys)
        wrong += len(bad)
    return compared, wrong


def run(env, running, dag_id: str, logical_date: str, conf: dict | None = None,
        label: str | None = None) -> float:
    """One flow run through ``airflow dags test`` (``conf``: its params); prints its Zoho
    requests, the details it took from the cache and the minutes the same requests take
    at Zoho's real limit."""
    began, before = time.monotonic(), zoho_requests(running)
    try:
        done = airflow(env, "dags", "test", dag_id, logical_date,
                       *(["--conf", json.dumps(conf)] if conf else []))
        with (HOME / "last-run.log").open("a") as log:
            log.write(done.stdout + done.stderr)
    except RuntimeError as exc:
        with (HOME / "last-run.log").open("a") as log:
            log.write(str(exc))
        print(f"  {dag_id} {logical_date}: FAILED (see .demo/airflow/last-run.log)")
        return -1
    seconds = time.monotonic() - began
    requests = zoho_requests(running) - before
    hits = sum(int(n) for n in CACHE_HITS.findall(done.stdout + done.stderr))
    print(f"  {dag_id:<29} {label or logical_date[:10]:<10}  {seconds:5.1f}s  {requests:>6,} "
          f"{hits:>7,}  {requests / REAL_BUDGET:>8.1f}")
    return seconds


def webhook_arrival(running, store: StateStore, record_id: str) -> int:
    """The edit's webhook as it arrives: the emulator's delivery, the event the receiver
    recorded, and the invoices watcher's verdict; the number of events recorded for it."""
    zoho = running.sandbox.zoho
    deadline = time.monotonic() + 60
    while not (sent := [d for d in zoho.webhooks.snapshot(ORGANIZATION)
                        if d["state"] != "pending"]):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for delivery in sent:
        print(f"  Zoho sent its webhook ({delivery['trigger']} {delivery['entity']} "
              f"{delivery['record_id']}): {delivery['state']}, HTTP "
              f"{delivery['attempts'][-1].get('status')}")
    events = EventLog(store)
    recorded = [e for e in events.events(ORGANIZATION) if e["record_id"] == record_id]
    for event in recorded:
        print(f"  ml-connector webhooks serve verified it and recorded event {event['seq']} "
              f"({event['event_id']})")
    watch = EventWatch(events, "zoho_books_default.invoices", ORGANIZATION, ["invoices"],
                       settle=0)
    changed = watch.check()
    if changed is not None:
        print(f"  The invoices watcher fires: {changed.changes} change(s) -> asset "
              "zoho_books.zoho_books_default.invoices -> a run of zoho_invoice_actuals_daily "
              "(run here with airflow dags test; in a deployment the triggerer starts it)")
        watch.done(changed)
    return len(recorded) if changed is not None else 0


def late_edit(env, running, audit: AuditLog) -> tuple[list[float], tuple[str, str], int]:
    """Keep the Invoice Actuals current with the daily incremental flows (by account and by
    department), then correct a January invoice in Zoho, whose webhook reaches the
    receiver: ``ml-connector plan`` names the one cell a run would change, and the next
    daily run rebuilds January (the reconciliation below includes the corrected cell)."""
    results = [run(env, running, dag, "2026-04-02") for dag in DAILY]
    zoho = running.sandbox.zoho
    invoice = next(r for r in audit.query(flow="invoice_actuals", status="imported", limit=5000)
                   if r["window_start"].startswith("2026-01") and r["entity"] == "invoices")
    record = zoho.record(ORGANIZATION, "invoices", invoice["record_id"])
    line = record["line_items"][0]
    fixed = round(line["item_total"] + 1234.56, 2)
    zoho.edit_record(ORGANIZATION, "invoices", record["invoice_id"],
                     {"line_items": [{**line, "item_total": fixed}, *record["line_items"][1:]]})
    print(f"  Late edit in Zoho: invoice {record['invoice_number']} of {record['date']}, "
          f"line 1 {line['item_total']:.2f} -> {fixed:.2f}")
    arrived = webhook_arrival(running, audit.store, record["invoice_id"])
    account = zoho.record(ORGANIZATION, "chartofaccounts", line["account_id"])["account_code"]
    cell = f"{account} / {datetime.strptime(record['date'], '%Y-%m-%d'):%b %y}"
    planned = subprocess.run(
        [str(Path(sys.executable).parent / "ml-connector"), "plan", "invoice_actuals",
         "--month", "2026-01", "--flows", str(ROOT / "dags" / "flows.yaml")], env=env,
        capture_output=True, text=True)
    print("  ml-connector plan invoice_actuals --month 2026-01 (what a run would change, "
          "nothing sent):")
    print("\n".join(f"    {x}" for x in planned.stdout.splitlines())
          or planned.stderr[-2000:])
    cells = [x for x in planned.stdout.splitlines()
             if x.split()[:1] in (["added"], ["changed"], ["zeroed"])]
    if planned.returncode or len(cells) != 1 or cell not in cells[0]:
        arrived = -1  # the plan must name the edited cell and nothing else
    results += [run(env, running, dag, "2026-04-03") for dag in DAILY]
    rows = audit.query(flow="invoice_actuals_daily", limit=1_000_000)
    last = max(r["run_id"] for r in rows)  # run ids carry their start time
    months = sorted({r["window_start"][:7] for r in rows if r["run_id"] == last})
    print(f"  The second daily run rebuilt {', '.join(months)} (January, plus the months of "
          "invoices re-read in the 10-minute overlap)")
    return results, (account, datetime.strptime(record["date"], "%Y-%m-%d").strftime(
        "%b %y")), arrived


def main() -> int:
    started = time.monotonic()
    logging.getLogger("ml_connector").setLevel(logging.ERROR)  # retries are in the Airflow log
    config = SandboxConfig.model_validate(DEMO_LIMITS)
    with start_sandbox(config) as running:
        print(f"Sandbox (Zoho Books + Anaplan emulators) on {running.base_url}")
        shutil.rmtree(HOME, ignore_errors=True)
        env = airflow_env(
            HOME, ROOT / "dags",
            sandbox_connections(running.base_url, config, requests_per_minute=BUDGET,
                                zoho_extra={"webhook_secret": WEBHOOK_SECRET}),
            operators__default_deferrable="True",
        )
        print("Preparing Airflow (SQLite metadata database in .demo/airflow)...")
        migrate(env)
        create_pools(env, ROOT / "dags" / "flows.yaml")
        print("Running flows through Airflow. The demo's sandbox allows 12,000 Zoho requests "
              "a minute\n(Zoho allows 100); the last column is what each run would take at "
              f"Zoho's real limit ({REAL_BUDGET}/min).")
        print(f"  {'flow':<29} {'month':<10}  {'time':>6}  {'Zoho':>6} {'cached':>7}  "
              f"{'real min':>8}")
        results = [run(env, running, dag, "2026-04-01") for dag in LISTS]
        for logical in MONTHS:
            results += [run(env, running, f"zoho_{flow}", logical) for flow in ACTUALS]
        audit = AuditLog(StateStore.sqlite(HOME / "ml_connector" / "state.db"))
        port = free_port()
        with receiver(env, port, HOME / "webhooks.log") as hooks:
            print(f"Webhook receiver (ml-connector webhooks serve) on {hooks}; the Zoho "
                  "emulator sends the organization's webhooks there")
            running.sandbox.zoho.webhooks.configure(WebhookSpec(
                organization_id=ORGANIZATION, url=f"{hooks}/zoho/{ORGANIZATION}",
                secret=WEBHOOK_SECRET))
            edits, edited, arrived = late_edit(env, running, audit)
        results += edits
        for logical in MONTHS:  # the ledger flow, each month read back by its verify step
            results.append(run(env, running, "zoho_pl_actuals", logical))
        # The group's three months in one run (each account of each company read once),
        # after the late edit: its January holds the corrected invoice too.
        before = {e: zoho_requests(running, o) for e, o in ENTITIES.items()}
        results.append(run(env, running, f"zoho_{GROUP_FLOW}", "2026-04-01",
                           {"months": f"{GROUP_MONTHS[0]}..{GROUP_MONTHS[-1]}"},
                           label="Jan-Mar 26"))
        print("    " + "; ".join(f"{e} {zoho_requests(running, o) - before[e]:,}"
                                 for e, o in ENTITIES.items())
              + " Zoho requests, each organization's own (US's include the group's rates)")

        print("\nml-connector runs, for each flow (the audit trail, the reads and the "
              "verifications):")
        for n, flow in enumerate([*(dag.removeprefix("zoho_") for dag in LISTS), *ACTUALS,
                                  "invoice_actuals_daily", "pl_actuals"]):
            lines = table(run_months(audit.store, flow, limit=100), reasons=1)
            print("\n".join(lines if n == 0 else lines[1:]))
        print("\n".join(table(run_months(audit.store, GROUP_FLOW, limit=100), reasons=1)))
        rejected = audit.query(status="failed", limit=20)
        print(f"\nRejected rows: {len(rejected)}" + "".join(
            f"\n  {r['flow']} {r['record_id']}: {r['error']}" for r in rejected))

        checks = VerificationLog(audit.store).query(flow="pl_actuals", limit=100)
        print("\nVerification of pl_actuals (its months exported back out of Anaplan):")
        for row in sorted(checks, key=lambda r: r["window_start"]):
            print(f"  {row['window_start'][:7]}  {row['status']:<9} {row['cells']:>4} cells, "
                  f"{row['differences']} differences (export {row['export_id']})")
        unverified = 3 - sum(1 for r in checks if r["status"] == "verified")
        group_checks = VerificationLog(audit.store).query(flow=GROUP_FLOW, limit=100)
        verified = sorted((r["organization"], r["window_start"][:7]) for r in group_checks
                          if r["status"] == "verified")
        print(f"Verification of {GROUP_FLOW} (read back through its export, per entity and "
              f"month): {len(verified)} of {len(ENTITIES) * len(GROUP_MONTHS)} verified, "
              f"{sum(r['cells'] for r in group_checks):,} cells, "
              f"{sum(r['differences'] for r in group_checks)} differences")
        unverified += len(ENTITIES) * len(GROUP_MONTHS) - len(verified)
        print("\nml-connector reconcile --flow pl_actuals --month 2026-02 --against "
              "invoice_actuals (the ledger's income against the invoice flow's):")
        explained = subprocess.run(
            [str(Path(sys.executable).parent / "ml-connector"), "reconcile", "--flow",
             "pl_actuals", "--month", "2026-02", "--against", "invoice_actuals", "--flows",
             str(ROOT / "dags" / "flows.yaml")], env=env, capture_output=True, text=True)
        lines = explained.stdout.splitlines()
        print("\n".join(lines[lines.index(next(x for x in lines if "(ledger) against" in x)):]
                        if explained.returncode == 0 else [*lines, explained.stderr[-2000:]]))
        unverified += explained.returncode != 0

        print("\nml-connector align --month 2026-02 --flow invoice_actuals_by_department (the "
              "month's actuals by department\nagainst the model's Budget, as the flow's align "
              "step reported them in its task log):")
        aligned = subprocess.run(
            [str(Path(sys.executable).parent / "ml-connector"), "align", "--month", "2026-02",
             "--flow", "invoice_actuals_by_department", "--flows",
             str(ROOT / "dags" / "flows.yaml")], env=env, capture_output=True, text=True)
        print(aligned.stdout.rstrip() if aligned.returncode == 0
              else aligned.stdout + aligned.stderr[-2000:])
        shown = render(month_view(audit.store, load_flows(ROOT / "dags" / "flows.yaml").flows,
                                  "2026-02"), base=None)
        PAGE.write_text(shown, encoding="utf-8")
        print(f"\nThe Month-end page of February 2026 (every flow's run, the verifications, the "
              f"alignments and their charts):\n  {PAGE.as_uri()}\nThe demo runs no Airflow "
              "api-server, so it is written to that file; in Airflow it is Month-end in the "
              "navigation (docs/month-end.md).")

        print("\nReconciliation (profit and loss of the Zoho emulator's documents, by its own "
              "posting rules, vs the cells\nread out of Anaplan through its exports; base "
              "currency):")
        print(f"{'module':<16} {'account':>8} {'period':>7} {'Zoho':>14} {'Anaplan':>14}")
        mismatches = compared = 0
        for flow, totals in zoho_totals(running).items():
            module, export = EXPORTS[flow]
            anaplan = exported(running, export)
            split = flow.endswith("_by_department")  # cells by department: mismatches shown
            wrong = 0
            for key in sorted(set(totals) | set(anaplan),
                              key=lambda k: (datetime.strptime(k[-1], "%b %y"), k)):
                zoho, cell = totals.get(key, Decimal(0)), anaplan.get(key, Decimal(0))
                compared += 1
                wrong += zoho != cell
                flag = "" if zoho == cell else "  MISMATCH"
                flag += "  <- late edit" if module == "Invoice Actuals" and key == edited else ""
                if not split or zoho != cell:
                    print(f"{module:<16} {' / '.join(key[:-1]):>8} {key[-1]:>7} {zoho:>14} "
                          f"{cell:>14}{flag}")
            if split:
                departments = len({key[1] for key in totals})
                print(f"{module}: {len(set(totals) | set(anaplan))} cells (account x "
                      f"{departments} departments x month), {wrong} mismatches")
            mismatches += wrong
        print(f"\nConsolidation ({GROUP_FLOW}, {', '.join(GROUP_MONTHS)}): each entity's "
              "cells in Anaplan (local and group currency, read\nthrough its export) against "
              "the sandbox's own consolidation of the four organizations' documents at\n"
              "Zillum Inc's average rates:")
        group_compared, group_wrong = group_reconciliation(running)
        print(f"\n{compared} cells compared, {mismatches} mismatches; {group_compared} entity "
              f"cells in local and group currency compared, {group_wrong} mismatches; "
              f"{unverified} month(s) of pl_actuals or entity-month(s) of {GROUP_FLOW} not "
              "verified; "
              f"{sum(1 for r in results if r < 0)} failed runs; "
              f"Zoho access tokens minted: "
              f"{sum(running.sandbox.zoho.stats()['tokens_minted'].values())}; "
              f"requests other than GET sent to Zoho: {running.sandbox.zoho.stats()['writes']}; "
              f"webhook events recorded for the late edit: {arrived}")
        writes = running.sandbox.zoho.stats()["writes"]
    print(f"Demo finished in {time.monotonic() - started:.0f}s")
    ok = (compared > 0 and mismatches == 0 and all(r >= 0 for r in results) and writes == 0
          and unverified == 0 and arrived == 1 and aligned.returncode == 0
          and group_compared > 0 and group_wrong == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
