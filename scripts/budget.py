"""Zoho request budget of the shipped flows (part of `make bench`).

Runs the Zoho side of every flow in `dags/flows.yaml` in-process (the same extract calls the
DAG's tasks make: lookups, changes, scope, extract) against the sandbox on its own clock, and
counts what Zoho would charge: every request the emulator answers for the organization.
The sandbox's limits are lifted so that runs never wait; minutes are computed at the
connector's default budget of 90 requests/minute, and shares against each plan's daily cap.
Anaplan is not involved: a run's import is taken as successful (watermarks move).

Scenarios, per company (the demo company and one ten times larger):
- first run of each flow on an empty state store, then a rerun right after;
- a simulated month: every schedule of flows.yaml (hourly, daily, monthly) from the 12th to
  the 1st of the next month, with documents created or edited around the clock (50 a day
  for the demo company, 500 for the larger one); an ordinary day (and its flows' id sweeps,
  which find deleted documents) and the first of the month;
- a 3-month backfill of the monthly flows, and its rerun.
A flow of several organizations (``group_pl_actuals``: the company, Zillum Labs, UK and
India) runs its Zoho steps as its DAG does (``walk`` up to ``combine``: closed-month
checks, reads, the group company's rates, builds); each organization's requests are
counted against its own daily quota, the company's rate requests on a line of their own.
One more scenario, with the plans' real daily quotas: the group flow with UK's quota used
up (429 code 45), the others read and imported as without it, UK named and retried alone.
The "no cache" column repeats a scenario with a client without a state store: every detail
read again, lookup lists read by every run, as before the detail cache existed.
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import yaml

from ml_connector.anaplan.auth import BasicMethod
from ml_connector.anaplan.client import AnaplanClient
from ml_connector.anaplan.config import AnaplanConfig
from ml_connector.errors import RunFailed
from ml_connector.flows.deletes import month_ids, open_months
from ml_connector.flows.ledger import reuse_after
from ml_connector.flows.local import run_flow, walk
from ml_connector.flows.organizations import Organization
from ml_connector.flows.plan import flow_plan
from ml_connector.flows.reads import Ledger, stage_read
from ml_connector.flows.run import FlowRun, Scope, read_records
from ml_connector.flows.spec import Flow, FlowsFile, load_flows
from ml_connector.flows.windows import affected_months, month_window
from ml_connector.state.store import StateStore
from ml_connector.state.tokens import MemoryTokenCache
from ml_connector.transport.retry import RetryPolicy
from ml_connector.zoho import ExtractWindow, ZohoBooksClient, ZohoConfig, ZohoCredentials
from ml_connector.zoho.entities import get_entity
from ml_connector.zoho.extract import ExtractManifest, extract_to
from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.server import start_sandbox
from ml_connector_sandbox.zoho.config import DAILY_CAP, ZohoSandboxConfig, default_organizations

ROOT = Path(__file__).resolve().parent.parent
DEMO_ORG = "10234695"
LARGE_ORG = "90234695"
#: Starts after the last generated modification (documents end March 31, edits trail by
#: at most 40 days), so nothing in the seed data lies in the sandbox clock's future.
MONTH_START = datetime(2026, 5, 12, tzinfo=timezone.utc)
BUDGET = 90
#: The modules of the planning dimensions' list flows (their requests on a line of their own).
DIMENSION_LISTS = frozenset({"tagoptions", "locations", "projects", "items"})
PLANS = ("free", "standard", "professional", "premium")
#: What happens to documents during a day: (entity, share of events), edits last.
EVENTS = (("invoices", 40), ("bills", 20), ("purchaseorders", 10), ("creditnotes", 4),
          ("vendorcredits", 2), ("edit", 24))
#: The flow of several organizations, and the subsidiaries it reads besides the company.
GROUP_FLOW = "group_pl_actuals"
SUBSIDIARIES = ("10234696", "20088123", "30045678")
#: The sandbox's Zoho connections as dags/flows.yaml names them: connection -> region.
CONNECTIONS = {"zoho_books_default": "us", "zoho_books_eu": "eu", "zoho_books_in": "in"}
#: The group's rate requests (the group company's currencies and exchange rates).
RATES_PATH = "/settings/currencies"


def companies() -> list[tuple[str, str, int]]:
    """(name, organization id, document events per day)."""
    return [("demo company", DEMO_ORG, 50), ("10x company", LARGE_ORG, 500)]


def sandbox_config(quotas: bool = False) -> SandboxConfig:
    """The demo company, one ten times larger and the group's subsidiaries; limits lifted
    (with ``quotas``: each organization's daily quota is its plan's)."""
    orgs = default_organizations()
    demo = next(o for o in orgs if o.organization_id == DEMO_ORG)
    large = demo.model_copy(update={
        "organization_id": LARGE_ORG, "name": "Zillum Group",
        **{k: getattr(demo, k) * 10 for k in ("invoices", "bills", "purchaseorders",
                                               "creditnotes", "vendorcredits", "customers",
                                               "vendors")}})
    group = [o for o in orgs if o.organization_id in SUBSIDIARIES]
    zoho = ZohoSandboxConfig(organizations=[demo, large, *group])
    zoho.limits.per_minute = 10_000_000
    zoho.limits.per_day = None if quotas else 100_000_000
    return SandboxConfig(start_time=MONTH_START.timestamp(), zoho=zoho)


class RemoteSandbox:
    """A sandbox in its own process (``ml-connector-sandbox up``), so that it and the
    simulated runs use both cores; driven through its admin endpoints."""

    def __init__(self, config: SandboxConfig, work: Path) -> None:
        path = work / "sandbox.yaml"
        # Key order kept: an Anaplan import's columns are in the order of its mapping.
        path.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
        self.config = config
        port = free_port()
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "ml-connector-sandbox"), "up", "--port",
             str(port), "--config", str(path), "--exit-after", "7200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base_url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.base_url, timeout=60)
        for _ in range(300):
            try:
                now = self.http.get("/_sandbox/clock").json()["now"]
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            self.close()
            raise SystemExit("the sandbox did not start")
        self.offset = now - time.time()
        #: One access token for every run, as the state store's cache gives a DAG's tasks.
        self.tokens = MemoryTokenCache()

    def now(self) -> float:
        """The sandbox clock, read locally (it only moves when ``advance`` moves it)."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.http.post("/_sandbox/clock/advance", json={"seconds": seconds}).raise_for_status()
        self.offset += seconds

    def stats(self) -> dict:
        return self.http.get("/_sandbox/zoho/stats").json()

    def add(self, org: str, entity: str) -> dict:
        reply = self.http.post(f"/_sandbox/zoho/orgs/{org}/{entity}", json={"fields": {}})
        reply.raise_for_status()
        return reply.json()

    def edit(self, org: str, entity: str, record_id: str, changes: dict) -> None:
        self.http.post(f"/_sandbox/zoho/orgs/{org}/{entity}/{record_id}/edit",
                       json={"changes": changes}).raise_for_status()

    def quota(self, org: str) -> dict:
        """The organization's daily quota and what it used today."""
        return self.http.get(f"/_sandbox/zoho/orgs/{org}/quota").json()

    def exhaust(self, org: str) -> None:
        """Use up the rest of the organization's day (as its other integrations would)."""
        self.http.post(f"/_sandbox/zoho/orgs/{org}/quota/exhaust").raise_for_status()

    def anaplan(self) -> AnaplanClient:
        """A client of the sandbox's Anaplan model, as its ``anaplan_default`` connection."""
        conn = self.config.airflow_connections(self.base_url)["anaplan_default"]
        return AnaplanClient(BasicMethod(conn["login"], conn["password"]),
                             AnaplanConfig(conn["extra"]["workspace_id"],
                                           conn["extra"]["model_id"],
                                           endpoint_base=self.base_url))

    def cells(self, module: str) -> list[dict]:
        """A module's cells in the sandbox's Anaplan model."""
        model = self.config.airflow_connections(self.base_url)["anaplan_default"]["extra"][
            "model_id"]
        reply = self.http.get(f"/_sandbox/anaplan/models/{model}/modules/{module}/cells")
        reply.raise_for_status()
        return reply.json()

    def close(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(30)

    def __enter__(self) -> RemoteSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Charge:
    """One organization's requests: those charged to its daily quota, of which the group's
    rate requests (``/settings/currencies``), and those refused (429: not charged)."""

    charged: int = 0
    rates: int = 0
    refused: int = 0

    @classmethod
    def of(cls, bucket: dict) -> Charge:
        refused = sum(n for status, n in bucket.get("by_status", {}).items()
                      if status == "429")
        rates = sum(n for path, n in bucket.get("by_path", {}).items() if RATES_PATH in path)
        return cls(bucket.get("total", 0) - refused, rates, refused)

    def __sub__(self, other: Charge) -> Charge:
        return Charge(self.charged - other.charged, self.rates - other.rates,
                      self.refused - other.refused)


@dataclass
class GroupRun:
    """A run of a flow of several organizations: each one's requests (by entity), the
    requests that name no organization (``GET /organizations``), those left out and why,
    and the run's failure."""

    at: datetime
    organizations: dict[str, str]  # entity -> organization id
    charges: dict[str, Charge]
    unscoped: int
    failed: dict[str, str]
    error: str = ""


@dataclass
class Simulator:
    """The Zoho side of flow runs for one organization, on one state store (or none); a
    flow of several organizations reads the others too (``group``)."""

    running: RemoteSandbox
    org: str
    spec: FlowsFile
    store: StateStore | None
    work: Path
    watermarks: dict[str, str] = field(default_factory=dict)
    swept: int = 0  # requests of the flows' id sweeps so far
    sent: dict[str, dict[str, str]] = field(default_factory=dict)  # flow -> record -> month
    staged: int = 0  # records of the flows' own modules read so far
    groups: list[GroupRun] = field(default_factory=list)  # runs of flows of several

    def client(self, region: str = "us", organization_id: str | None = "") -> ZohoBooksClient:
        """A client of the region's login, for ``organization_id`` (default: the company;
        None: the login's only one, as a connection without one)."""
        cfg = self.running.config.zoho
        token = next(t.token for t in cfg.refresh_tokens if t.region == region)
        creds = ZohoCredentials(cfg.client_id, cfg.client_secret, token)
        config = ZohoConfig(region=region,
                            organization_id=self.org if organization_id == "" else organization_id,
                            endpoint_base=self.running.base_url,
                            requests_per_minute=10_000_000,
                            retry=RetryPolicy(initial_delay=0.01, max_delay=0.05))
        return ZohoBooksClient(creds, config, store=self.store, token_cache=self.running.tokens,
                               clock=self.running.now)

    def zoho_for(self, org: Organization) -> Callable[[], ZohoBooksClient]:
        """The client factory of one organization of a flow: its connection's login, the
        organization it names, else the connection's own (the company's on the us login)."""
        region = CONNECTIONS[org.conn_id(self.spec.defaults.zoho_conn_id)]
        wanted = org.organization_id or (self.org if region == "us" else None)
        return lambda: self.client(region, wanted)

    def organization_of(self, org: Organization) -> str:
        """The id of the organization ``org`` reads (a login's only one: its data center's
        first in the sandbox)."""
        region = CONNECTIONS[org.conn_id(self.spec.defaults.zoho_conn_id)]
        return org.organization_id or (self.org if region == "us" else next(
            o.organization_id for o in self.running.config.zoho.organizations
            if o.region == region))

    def group(self, flow: Flow, at: datetime, *,
              anaplan: Callable[[], AnaplanClient] | None = None,
              only: list[str] | None = None) -> GroupRun:
        """One run of a flow of several organizations for the month before ``at``: its Zoho
        steps as its DAG runs them (``walk`` up to ``combine``), or with ``anaplan`` every
        step (``run_flow``); ``only``: the organizations it reads. Each organization's
        requests, from the emulator's count."""
        entities = {o.entity: self.organization_of(o)
                    for o in flow.organizations_of(self.spec.defaults)}
        n = len(self.groups)
        store = self.store or StateStore.sqlite(self.work / f"{flow.id}-{self.org}-{n}.db")
        out = self.work / f"{flow.id}-{self.org}-{id(self)}-{n}"
        out.mkdir()
        start = (at - timedelta(days=1)).replace(day=1, hour=0, minute=0, second=0,
                                                 microsecond=0)
        run = FlowRun(flow, store, f"scheduled__{at.isoformat()}__{n}",
                      (start.isoformat(), at.isoformat()), out, zoho=self.client,
                      anaplan=anaplan, sleep=self.running.advance, lock=store.lock,
                      defaults=self.spec.defaults, zoho_for=self.zoho_for, only=only)
        before = self.running.stats()
        error, failed = "", {}
        if anaplan is None:
            done = walk(run, flow_plan(flow, self.spec.defaults), through="combine")
            combined = done.outputs.get("combine")
            failed = combined.failed if combined is not None else {"all": str(done.verdict())}
        else:
            try:
                run_flow(run, self.spec.defaults)
            except RunFailed as exc:
                error = str(exc)
        after = self.running.stats()

        def charge(stats: dict, org: str) -> Charge:
            return Charge.of(stats["organizations"].get(org, {}))

        found = GroupRun(at, entities, {e: charge(after, o) - charge(before, o)
                                        for e, o in entities.items()},
                         after["unscoped"]["total"] - before["unscoped"]["total"], failed,
                         error)
        self.groups.append(found)
        return found

    def charged(self) -> int:
        return self._org().get("total", 0)

    def details(self) -> int:
        """Detail requests so far (paths ending in a record id)."""
        return sum(n for path, n in self._org().get("by_path", {}).items()
                   if path.endswith("{id}"))

    def _org(self) -> dict:
        return self.running.stats()["organizations"].get(self.org, {})

    def run(self, flow: Flow, at: datetime, months: list[date] | None = None) -> int:
        """One scheduled run of ``flow`` at ``at`` (its data interval ends there; a ledger
        flow's run may load ``months`` instead): the Zoho requests it is charged."""
        if flow.organizations_of(self.spec.defaults):  # the company's share of the run
            found = self.group(flow, at)
            return next(found.charges[e].charged for e, o in found.organizations.items()
                        if o == self.org)
        before = self.charged()
        client = self.client()
        try:
            self._run(client, flow, at, months)
        finally:
            client.close()
        return self.charged() - before

    def _run(self, client: ZohoBooksClient, flow: Flow, at: datetime,
             months_of: list[date] | None = None) -> None:
        """The read steps of the flow's plan, staged as its DAG stages them (``stage_read``);
        the months an incremental aggregate run rebuilds are scoped from what earlier runs
        sent (kept here, as the audit trail would)."""
        start = (at - timedelta(days=1)).replace(day=1, hour=0, minute=0, second=0,
                                                 microsecond=0)
        interval = (start.isoformat(), at.isoformat())
        read: dict[str, ExtractManifest] = {}
        scope: Scope | None = None
        changed_ids = [get_entity(e).id_field for e in flow.change_entities]
        ids = [f for f, _ in flow.record_ids]
        date_field = "transaction_date" if flow.is_ledger else "date"
        sent = self.sent.setdefault(flow.id, {})
        if flow.sweep is not None:  # listed as FlowRun.sweep lists (no delete happens here)
            before = client.requests
            for month in open_months(at.date(), flow.sweep.months):
                for entity in flow.change_entities:
                    month_ids(client, entity, month)
            self.swept += client.requests - before
        for planned in flow_plan(flow, self.spec.defaults):
            if (step := planned.read) is None:
                continue
            if step.kind in ("extract", "ledger") and flow.rebuilds_months:
                if not read["changes"].count:
                    return
                months = affected_months(
                    read_records(self.work / "changes.jsonl"), ["date", "journal_date"],
                    changed_ids, lambda batch: [sent[i] for i in batch if i in sent])
                scope = Scope([month_window(m) for m in months])
            elif step.kind == "ledger" and months_of is not None:
                scope = Scope([month_window(m) for m in months_of])
            path = self.work / f"{step.task_id}.jsonl"
            chart = Ledger(flow, read_records(self.work / "extract_chartofaccounts.jsonl"),
                           reuse_after(flow, read.get("changes"),
                                       self.spec.defaults.ledger_reuse_minutes)) \
                if step.kind == "ledger" else None
            read[step.task_id] = stage_read(
                client, None, step, path, interval=interval,
                windows=scope.root if scope is not None else None, ledger=chart,
                watermark=self.watermarks.get(flow.id) if step.watermark_key else None)
        if flow.rebuilds_months:
            for record in read_records(self.work / "extract.jsonl"):
                key = next(str(record[f]) for f in ids if f in record)
                sent[key] = month_window(date.fromisoformat(record[date_field][:8] + "01"))[0]
        elif flow.mode == "period" and not flow.is_ledger:
            self.staged += read["extract"].count
        newest = read.get("changes", read["extract"]).max_last_modified_time
        if flow.mode == "incremental" and newest:
            self.watermarks[flow.id] = newest


def due(flow: Flow, at: datetime) -> bool:
    if flow.schedule == "hourly":
        return True
    if flow.schedule == "daily":
        return at.hour == 0
    if flow.schedule == "weekly":
        return at.hour == 0 and at.weekday() == 0
    return at.hour == 0 and at.day == 1


class Activity:
    """Documents created or edited in the sandbox at a steady pace."""

    def __init__(self, running: RemoteSandbox, org: str, per_day: int, seed: int = 1) -> None:
        self.sandbox = running
        self.org, self.per_day = org, per_day
        self.rng = random.Random(seed)
        self.created: dict[str, list[str]] = {}

    def hour(self) -> None:
        """One hour of activity; the clock moves forward by the hour."""
        count = self.per_day // 24 + (self.rng.random() < (self.per_day % 24) / 24)
        step = 3600 / (count + 1)
        for _ in range(count):
            self.sandbox.advance(step)
            kind = self.rng.choices([k for k, _ in EVENTS], [w for _, w in EVENTS])[0]
            edits = [(e, i) for e in ("invoices", "bills") for i in self.created.get(e, [])]
            if kind == "edit" and edits:
                entity, record_id = self.rng.choice(edits)
                self.sandbox.edit(self.org, entity, record_id,
                                  {"reference_number": f"EDIT-{self.rng.randrange(10**6)}"})
                continue
            entity = "invoices" if kind == "edit" else kind
            record = self.sandbox.add(self.org, entity)
            self.created.setdefault(entity, []).append(record[get_entity(entity).id_field])
        self.sandbox.advance(3600 - step * count)


@dataclass
class Row:
    scenario: str
    requests: int
    uncached: int | None = None
    note: str = ""


def per_flow(running: RemoteSandbox, org: str, spec: FlowsFile, work: Path,
             cached: bool) -> list[tuple[str, int, int, list[GroupRun]]]:
    """(flow, first run, rerun, a flow of several organizations' two runs) with a fresh
    state store per flow (or none)."""
    out = []
    at = datetime(2026, 4, 1, tzinfo=timezone.utc)  # monthly flows: March; others: all
    for flow in spec.flows:
        store = StateStore.sqlite(work / f"{org}-{flow.id}.db") if cached else None
        sim = Simulator(running, org, spec, store, work)
        out.append((flow.id, sim.run(flow, at), sim.run(flow, at), sim.groups))
    return out


def backfill(running: RemoteSandbox, org: str, spec: FlowsFile, work: Path,
             store: StateStore | None) -> tuple[int, int, int, int, int]:
    """Of the monthly flows for January to March: (backfill requests, rerun requests, the
    rerun's detail requests and list pages, documents in the quarter)."""
    sim = Simulator(running, org, spec, store, work)
    monthly = [f for f in spec.flows if f.schedule == "monthly" and f.mode == "period"]
    ends = [datetime(2026, m, 1, tzinfo=timezone.utc) for m in (2, 3, 4)]
    first = sum(sim.run(f, at) for at in ends for f in monthly)
    details, sim.staged = sim.details(), 0
    again = sum(sim.run(f, at) for at in ends for f in monthly)
    details = sim.details() - details
    return first, again, details, again - details, sim.staged


def month(running: RemoteSandbox, org: str, per_day: int, spec: FlowsFile, work: Path,
          progress: Callable[[str], None], cached: bool = True) -> dict[str, Any]:
    """Every schedule from the sandbox clock's start (day 0: every flow's first run) to the
    end of the first of the next month. A day is charged the runs due in it, midnight's
    daily and monthly runs included."""
    store = StateStore.sqlite(work / f"month-{org}.db") if cached else None
    sim = Simulator(running, org, spec, store, work)
    activity = Activity(running, org, per_day)
    flows = [f for f in spec.flows if f.enabled]
    at = datetime.fromtimestamp(running.now(), timezone.utc)
    first_of_month = (at.replace(day=28) + timedelta(days=4)).date().replace(day=1)
    days: dict[date, int] = {}
    lists: dict[date, int] = {}  # of which the planning dimensions' list flows
    swept: dict[date, int] = {}  # of which the id sweeps
    grouped: dict[date, int] = {}  # of which flows of several organizations (the company's)

    def charge(at: datetime) -> None:
        for flow in flows:
            if due(flow, at):
                before = sim.swept
                requests = sim.run(flow, at)
                days[at.date()] = days.get(at.date(), 0) + requests
                swept[at.date()] = swept.get(at.date(), 0) + sim.swept - before
                if flow.entity in DIMENSION_LISTS:
                    lists[at.date()] = lists.get(at.date(), 0) + requests
                if flow.organizations_of(spec.defaults):
                    grouped[at.date()] = grouped.get(at.date(), 0) + requests

    charge(at)
    day0 = days[at.date()]
    while at.date() <= first_of_month:
        activity.hour()
        at += timedelta(hours=1)
        if at.date() > first_of_month:
            break
        charge(at)
        if at.hour == 23:
            progress(f"    {at.date()}: {days[at.date()]:,} requests")
    start = min(days)
    ordinary = sorted((v, lists.get(d, 0), swept.get(d, 0)) for d, v in days.items()
                      if d not in (start, first_of_month))
    median = ordinary[len(ordinary) // 2]
    return {"day0": day0, "day0_total": days[start], "median": median[0],
            "median_lists": median[1], "median_sweep": median[2], "max": ordinary[-1][0],
            "first": days[first_of_month], "first_lists": lists.get(first_of_month, 0),
            "first_group": grouped.get(first_of_month, 0),
            "group_runs": [g for g in sim.groups if g.at.date() == first_of_month],
            "days": len(ordinary)}


def pacing() -> dict[str, Any]:
    """Saturate the limiter against Zoho's per-minute limit, the window shortened to 6 s:
    the requests in an average and in the busiest full window, and the 429s."""
    window = 6.0
    config = SandboxConfig()
    config.zoho.limits.per_minute = 100
    config.zoho.limits.minute_window = window
    config.zoho.limits.per_day = 1_000_000
    stamps: list[float] = []
    with start_sandbox(config) as running:
        cfg = running.sandbox.config.zoho
        creds = ZohoCredentials(cfg.client_id, cfg.client_secret, "1000.sandbox-refresh-us")
        zc = ZohoConfig(region="us", organization_id=DEMO_ORG, endpoint_base=running.base_url,
                        requests_per_minute=BUDGET, rate_window=window)
        http = httpx.Client(event_hooks={"request": [lambda _: stamps.append(time.monotonic())]})
        with ZohoBooksClient(creds, zc, http=http) as client:
            client.organizations()
            stamps.clear()
            days = ExtractWindow(start=date(2026, 1, 1), end=date(2026, 1, 15))
            with tempfile.TemporaryFile("w+") as sink:
                extract_to(client, "invoices", days, sink, line_items=True)
        limited = [x for x in running.sandbox.zoho.stats()["rate_limited"]
                   if x["organization_id"] == DEMO_ORG]
    counts = [sum(1 for t in stamps if s <= t < s + window) for s in stamps
              if s + window <= stamps[-1]]  # every full window that starts at a request
    steady, busiest = sum(counts) / len(counts), max(counts)
    return {"requests": len(stamps), "seconds": stamps[-1] - stamps[0], "steady": steady,
            "busiest": busiest, "429s": len(limited)}


def share(requests: int) -> str:
    return " ".join(f"{requests / DAILY_CAP[p]:>6.0%}" for p in PLANS)


def company(name: str, org: str, per_day: int, spec: FlowsFile, work: Path, cached: bool,
            progress: Callable[[str], None]) -> dict[str, Any]:
    """Every scenario for one company, on a fresh sandbox; without the state store's caches
    unless ``cached``."""
    kind = "with" if cached else "without"
    with RemoteSandbox(sandbox_config(), work) as running:
        progress(f"  {name}, {kind} the cache: first run and rerun of each flow...")
        flows = per_flow(running, org, spec, work, cached=cached)
        progress(f"  {name}, {kind} the cache: 3-month backfill of the monthly flows, rerun...")
        store = StateStore.sqlite(work / f"backfill-{org}.db") if cached else None
        backfilled = backfill(running, org, spec, work, store)
        progress(f"  {name}, {kind} the cache: a month of every schedule, {per_day} "
                 "documents a day...")
        return {"flows": flows, "backfill": backfilled,
                **month(running, org, per_day, spec, work, progress, cached=cached)}


def plans() -> dict[str, str]:
    """Organization id -> its plan, in the bench's sandbox."""
    return {o.organization_id: o.plan for o in sandbox_config().zoho.organizations}


def group_lines(now: dict[str, Any], old: dict[str, Any] | None) -> list[str]:
    """The group flow's requests per organization (its first run and rerun on fresh state,
    and on the first of the simulated month, with and without the cache), each against its
    own daily quota; the company's rate requests and the requests that name no
    organization on lines of their own."""
    runs = next((g for _, _, _, g in now["flows"] if g), [])
    month, uncached = now["group_runs"], (old or {}).get("group_runs", [])
    if not runs or not month:
        return []
    columns = [("first run", runs[0]), ("rerun", runs[1]), ("1st of month", month[0]),
               ("1st, no cache", uncached[0] if uncached else None)]
    caps = plans()
    label = 7 + 13 + 7
    lines = ["", f"{GROUP_FLOW} (monthly): each organization's Zoho requests, against its "
             "own daily quota (its plan's): first run and rerun of March on a fresh state "
             "store, and the run on the first of the simulated month (May's)",
             f"{'entity':<7}{'organization':<13}{'center':<7}"
             + "".join(f"{name:>14}" for name, _ in columns)
             + f"  {'daily quota':<20}{'share on the 1st':>16}"]

    def cells(value: Callable[[GroupRun], int]) -> str:
        return "".join(f"{'' if g is None else f'{value(g):,}':>14}" for _, g in columns)

    for entity, org in runs[0].organizations.items():
        plan = caps[org]
        share = month[0].charges[entity].charged / DAILY_CAP[plan]
        center = next(o.region for o in sandbox_config().zoho.organizations
                      if o.organization_id == org)
        lines.append(f"{entity:<7}{org:<13}{center:<7}"
                     + cells(lambda g, e=entity: g.charges[e].charged)
                     + f"  {f'{DAILY_CAP[plan]:,} ({plan})':<20}{share:>16.1%}")
        if any(g is not None and g.charges[entity].rates for _, g in columns):
            lines.append(f"{'  of which the group rates':<{label}}"
                         + cells(lambda g, e=entity: g.charges[e].rates))
    lines.append(f"{'GET /organizations: no quota':<{label}}" + cells(lambda g: g.unscoped))
    return lines


def quota_lines(spec: FlowsFile, work: Path) -> list[str]:
    """One organization's daily quota used up (UK: 429 code 45), the plans' real quotas:
    the group flow's run of March, whole (Anaplan imports), against the same run with
    every quota free, each on a fresh state store; then UK's retry alone the next day."""
    flow = next(f for f in spec.flows if f.id == GROUP_FLOW)
    at = datetime(2026, 4, 1, tzinfo=timezone.utc)
    uk = next(o.entity for o in flow.organizations_of(spec.defaults)
              if o.organization_id == "20088123")
    began = time.perf_counter()
    with RemoteSandbox(sandbox_config(quotas=True), work) as running:

        def held() -> dict[str, int]:
            cells = running.cells("Consolidated Actuals")
            return {e: sum(1 for c in cells if c["dimensions"]["Entities"] == e
                           and c["values"].get("Local Amount")) for e in entities}

        def prepared(name: str) -> Simulator:
            """A simulator on a fresh state store where the accounts list flow has run
            (the group's import checks that every account is a member)."""
            store = StateStore.sqlite(work / f"{name}.db")
            sim = Simulator(running, DEMO_ORG, spec, store, work)
            accounts = next(f for f in spec.flows if f.id == "accounts")
            out = work / f"{name}-accounts"
            out.mkdir()
            run_flow(FlowRun(accounts, store, "accounts", (f"{at:%Y-%m}-01", at.isoformat()),
                             out, zoho=sim.client, anaplan=running.anaplan,
                             sleep=running.advance, defaults=spec.defaults), spec.defaults)
            return sim

        sim = prepared("exhausted")
        entities = {o.entity: sim.organization_of(o)
                    for o in flow.organizations_of(spec.defaults)}
        quotas = {e: running.quota(o)["per_day"] for e, o in entities.items()}
        running.exhaust(entities[uk])
        left_out = sim.group(flow, at, anaplan=running.anaplan)
        after_out = held()
        running.advance(86_400)  # the next day: every quota renewed
        retry = sim.group(flow, at, anaplan=running.anaplan, only=[uk])
        after_retry = held()
        whole = prepared("whole").group(flow, at, anaplan=running.anaplan)
    seconds = time.perf_counter() - began
    head = f"{'entity':<7}{'organization':<14}{'daily quota':>12}"
    lines = ["", f"{GROUP_FLOW} for March 2026 with {uk}'s daily quota used up (429 code "
             "45); each organization's requests charged to its own quota (the plans' caps),"
             " and its cells in Anaplan's Consolidated Actuals after the run (all free: the "
             "same run with every quota free, on a fresh state store):",
             head + f"{'all free':>10}{f'{uk} used up':>13}{'cells':>7}"
             f"{f'next day, {uk} alone':>21}{'cells':>7}"]
    for entity, org in entities.items():
        a, b, c = (g.charges[entity] for g in (whole, left_out, retry))
        refused = f" +{b.refused} 429" if b.refused else ""
        lines.append(f"{entity:<7}{org:<14}{quotas[entity]:>12,}{a.charged:>10,}"
                     f"{f'{b.charged:,}{refused}':>13}{after_out[entity]:>7,}"
                     f"{c.charged:>21,}{after_retry[entity]:>7,}")
    fx = flow.fx_of(spec.defaults)
    rater = fx.organization if fx is not None and fx.organization else next(iter(entities))
    lines.append(f"{f'  of which the group rates ({rater})':<33}"
                 f"{whole.charges[rater].rates:>10,}{left_out.charges[rater].rates:>13,}"
                 f"{'':>7}{retry.charges[rater].rates:>21,}")
    same = all(whole.charges[e].charged == left_out.charges[e].charged
               for e in entities if e != uk)
    lines += textwrap.wrap(f"The run with {uk} used up failed: {left_out.error}"
                           if left_out.error else f"The run with {uk} used up SUCCEEDED",
                           100, subsequent_indent="  ")
    lines.append(f"The others' requests {'equal' if same else 'DIFFER from'} those of the "
                 f"run with every quota free; the retry ({uk} alone) "
                 f"{'failed: ' + retry.error if retry.error else 'succeeded'} ({seconds:.0f}s "
                 "with the accounts list flow before each state store's first run)")
    return lines


def main(progress: Callable[[str], None] = print) -> list[str]:
    """Run every scenario; returns the printed table's lines."""
    spec = load_flows(ROOT / "dags" / "flows.yaml")
    lines = []
    head = (f"{'':<34} {'requests':>9} {'no cache':>9} {'ratio':>6} {'min@90':>7}  "
            + " ".join(f"{p[:6]:>6}" for p in PLANS))
    # A sandbox's last writes may land while the folder is removed: never lose the table.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        for name, org, per_day in companies():
            now = company(name, org, per_day, spec, work, True, progress)
            # Without the cache the larger company's month would take days of quota: measured
            # for the demo company only.
            old = company(name, org, per_day, spec, work, False, progress) \
                if org == DEMO_ORG else None
            lines += ["", f"{name} (organization {org}; {per_day} documents created or edited "
                      "a day; share of each plan's daily cap)", head]

            def row(label: str, key: Callable[[dict], int], now=now, old=old) -> str:
                n, before = key(now), key(old) if old else None
                ratio = f"{before / n:.1f}x" if before and n else ""
                return (f"{label:<34} {n:>9,} {'' if before is None else f'{before:,}':>9} "
                        f"{ratio:>6} {n / BUDGET:>7.1f}  {share(n)}")

            for i, (flow_id, _, _, grouped) in enumerate(now["flows"]):
                own = " (own org)" if grouped else ""
                lines.append(row(f"{flow_id}: first run{own}", lambda r, i=i: r["flows"][i][1]))
                lines.append(row(f"{flow_id}: rerun{own}", lambda r, i=i: r["flows"][i][2]))
            lines.append(row("day 0: first run of every flow", lambda r: r["day0"]))
            lines.append(row("day 0 with its hourly runs", lambda r: r["day0_total"]))
            lines.append(row(f"ordinary day (median of {now['days']})", lambda r: r["median"]))
            lines.append(row("  of which dimension list flows", lambda r: r["median_lists"]))
            lines.append(row("  of which id sweeps (deletes)", lambda r: r["median_sweep"]))
            lines.append(row("ordinary day (busiest)", lambda r: r["max"]))
            lines.append(row("first of the month", lambda r: r["first"]))
            lines.append(row("  of which dimension list flows", lambda r: r["first_lists"]))
            lines.append(row(f"  of which {GROUP_FLOW} (own org)",
                             lambda r: r["first_group"]))
            lines.append(row("3-month backfill (monthly flows)", lambda r: r["backfill"][0]))
            lines.append(row("its rerun", lambda r: r["backfill"][1]))
            _, _, details, pages, documents = now["backfill"]
            lines.append(f"{'':<34} rerun = {pages:,} list pages + {details:,} details "
                         f"({details / documents:.1%} of {documents:,} documents; goal 2 %)")
            if org == DEMO_ORG:
                lines += group_lines(now, old)
    progress("  group_pl_actuals with one organization's daily quota used up...")
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        lines += quota_lines(spec, Path(tmp))
    p = pacing()
    lines += ["", f"Pacing (limiter budget {BUDGET} per window against Zoho's 100; window "
              f"shortened from 60 s to 6 s): {p['requests']:,} requests in "
              f"{p['seconds']:.0f}s; {p['steady']:.0f} per window on average = "
              f"{p['steady'] / 100:.0%} of Zoho's limit ({p['steady'] / BUDGET:.0%} of the "
              f"budget); busiest window {p['busiest']}; {p['429s']} 429s"]
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
