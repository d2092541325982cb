"""A state store holding flow runs as the flows record them, through the real log classes
(audit trail, reads, verifications, alignments): what the Month-end page reads. Shared by
its unit, Airflow and browser tests and by scripts/pagebench.py."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ml_connector.flows.align import RoutedValue, align
from ml_connector.flows.spec import Flow, dag_id
from ml_connector.state.alignments import AlignmentLog
from ml_connector.state.anaplan_requests import AnaplanRequests
from ml_connector.state.audit import AuditLog
from ml_connector.state.reads import ReadLog
from ml_connector.state.store import StateStore
from ml_connector.state.units import UnitOutcomes
from ml_connector.state.verifications import VerificationLog
from ml_connector.window import Window
from ml_connector.zoho.extract import ExtractManifest

D = Decimal


def month_window(month: str) -> Window:
    """``yyyy-mm`` as the data window of a period run."""
    year, number = int(month[:4]), int(month[5:])
    after = f"{year + number // 12:04d}-{number % 12 + 1:02d}"
    return Window.of(f"{month}-01", f"{after}-01")


@dataclass
class Run:
    """One run's month of one flow, as the oracle of what the page must show."""

    flow: str
    run_id: str
    month: str
    imported: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> records
    failed: dict[str, int] = field(default_factory=dict)
    task_id: str = "20000000000000000000000000000001"
    requests: int = 0
    anaplan: dict[str, int] = field(default_factory=lambda: {"import": 4, "wait": 3})
    verification: tuple[int, int, str | None] | None = None  # cells, differences, detail
    window: Window | None = None
    organization: str = ""  # a flow of several: the organization's entity

    @property
    def records(self) -> int:
        return self.imported + sum(self.skipped.values()) + sum(self.failed.values())


def record_run(store: StateStore, run: Run, entity: str = "invoices") -> None:
    """Write ``run`` as a flow run does: its audit rows, its read and its verification (an
    organization's: in its rows, its read as a task of its group)."""
    window = run.window or month_window(run.month)
    org = run.organization
    group = f"{org.lower()}." if org else ""
    base = {"entity": entity, "import_id": "112000000006", "task_id": run.task_id}
    rows: list[dict] = [{**base, "record_id": f"{run.run_id}-i{n}", "status": "imported",
                         "error": None}
                        for n in range(run.imported)]
    for status, reasons in (("skipped", run.skipped), ("failed", run.failed)):
        rows += [{**base, "record_id": f"{run.run_id}-{status[0]}{reason}{n}",
                  "status": status, "error": reason}
                 for reason, count in reasons.items() for n in range(count)]
    AuditLog(store).replace_run(run.flow, run.run_id, [window], rows, organization=org)
    ReadLog(store).record(dag_id(run.flow), run.run_id, f"{group}extract", ExtractManifest(
        entity=entity, organization_id="10234695", window={"start": window.start},
        count=run.records, requests=run.requests))
    for task, requests in run.anaplan.items():
        AnaplanRequests(store).add(dag_id(run.flow), run.run_id, task, requests)
    if run.verification is not None:
        VerificationLog(store).record(run.flow, run.run_id, "116000000001",
                                      {window.start: run.verification}, organization=org)


def left_out(store: StateStore, flow: str, run_id: str, entity: str, why: str,
             state: str = "failed") -> None:
    """Record that run ``run_id`` of ``flow`` left organization ``entity`` out, as its
    steps do: ``failed`` (a step of its failed) or ``skipped``, ``why`` naming the step."""
    UnitOutcomes(store).record(dag_id(flow), run_id, entity, state, why)


#: What the page must show: January's last runs (February's and an older one must not count).
JANUARY = [
    Run("invoice_actuals", "scheduled__2026-02-01T00:00:00+00:00", "2026-01", imported=40,
        skipped={"skipped: status void": 3}, requests=57, verification=(40, 0, None)),
    Run("invoice_actuals_by_department", "manual__2026-02-03T09:00:00+00:00", "2026-01",
        imported=30, failed={"line 4: Department 'Ops' is not in Departments": 5,
                             "line 9: Account '4999' is not in Accounts": 1},
        requests=61, verification=(90, 2, "Accounts 4000 / Sales: sent 10.00, Anaplan 12.00")),
    Run("accounts", "manual__2026-01-20T08:00:00+00:00", "2026-01", imported=32, requests=1,
        window=Window.of("2026-01-19", "2026-01-20")),
]


def fill_january(store: StateStore) -> None:
    """January 2026 of three flows (and February of one): the runs of ``JANUARY``, an
    older run of the department flow on half the month, an alignment against Budget."""
    # An older run of the department flow, on the first half of January only.
    record_run(store, Run("invoice_actuals_by_department", "manual__2026-02-02T09:00:00+00:00",
                          "2026-01", imported=11,
                          window=Window.of("2026-01-01", "2026-01-16")))
    for run in JANUARY:
        record_run(store, run)
    record_run(store, Run("invoice_actuals", "scheduled__2026-03-01T00:00:00+00:00",
                          "2026-02", imported=50, requests=70))
    record_alignment(
        store, "invoice_actuals_by_department", "2026-01", JANUARY[1].run_id,
        columns=["Account", "Department"],
        actual={("4000", "Sales"): D("1200.00"), ("4000", "Ops"): D("-50.00"),
                ("4100", "Sales"): D("75.10")},
        plan={("4000", "Sales"): D("1000.00"), ("4100", "R&D"): D("300.00")},
        routed=[RoutedValue(column="Department", value="Ops", member="Unassigned", lines=2)])


def record_alignment(store: StateStore, flow: str, month: str, run_id: str, *,
                     actual: Mapping[tuple[str, ...], Decimal],
                     plan: Mapping[tuple[str, ...], Decimal], columns: Sequence[str],
                     version: str = "Budget", routed: Iterable[RoutedValue] = (),
                     variance_above_percent: Decimal | None = Decimal(10)) -> None:
    """Keep ``align``'s report of ``actual`` against ``plan`` as the flow's for ``month``."""
    alignment = align(actual, plan, columns=columns, version=version, routed=routed,
                      variance_above_percent=variance_above_percent)
    AlignmentLog(store).record(flow, month, alignment, run_id=run_id,
                               export_id="116000000002", anaplan_requests=3)


DEPARTMENTS = ("Sales", "Marketing", "R&D", "Operations", "Unassigned")
ACCOUNTS = tuple(str(code) for code in range(4000, 4100, 10))


def fill_months(store: StateStore, flows: Sequence[Flow], months: Sequence[str], *,
                records: int = 3000, seed: int = 1) -> int:
    """A monthly run of every flow (of each of its organizations, for a flow of several)
    for each of ``months``, as a year of scheduled runs
    leaves the store: about ``records`` audited records per fact flow and month (a tenth
    for list flows), a few skipped and failed, a verification where the flow verifies, and
    an alignment of about 50 rows (accounts x departments) against Budget for the flows by
    a dimension. Returns the audit rows written."""
    rng = random.Random(seed)
    written = 0
    for month in months:
        year, number = int(month[:4]), int(month[5:])
        after = f"{year + number // 12:04d}-{number % 12 + 1:02d}"
        run_id = f"scheduled__{after}-01T00:00:00+00:00"
        for flow in flows:
            n = max(1, records // 10 if flow.mode == "full" else
                    int(records * rng.uniform(0.8, 1.2)))
            failed = {"line 12: Department 'Ops' is not in Departments": rng.randrange(4)} \
                if rng.random() < 0.3 else {}
            task_id = f"{rng.getrandbits(128):032X}"
            for k, org in enumerate([o.entity for o in flow.organizations or []] or [""]):
                run = Run(flow.id, run_id, month, imported=n - 2 - sum(failed.values()),
                          skipped={"skipped: status void": 2}, failed=failed, task_id=task_id,
                          requests=n // 25 + 3, organization=org,
                          anaplan={"import": 4, "wait": 3} if k == 0 else {},
                          verification=(n // 5, 0, None) if flow.verify else None)
                record_run(store, run, flow.entity or "journals")
                written += run.records
            if flow.dimensional and flow.grain == "aggregate":
                actual = {(a, d): D(rng.randrange(-5_000, 400_000)) / 100
                          for a in ACCOUNTS for d in DEPARTMENTS if rng.random() < 0.9}
                plan = {k: (v * D(rng.uniform(0.85, 1.15))).quantize(D("0.01"))
                        for k, v in actual.items() if rng.random() < 0.9}
                record_alignment(store, flow.id, month, run_id, actual=actual, plan=plan,
                                 columns=["Account", "Department"], routed=[RoutedValue(
                                     column="Department", value=None, member="Unassigned",
                                     lines=rng.randrange(1, 30))])
    return written
