"""One run of a flow as plain Python: scope, build, reconcile and the watermark step, over
injected clients and a state store (no Airflow import); each DAG task calls one method.

Steps hand each other typed manifests (their JSON is what XCom carries): the extracts'
``ExtractManifest``, the ``Scope`` of months to rebuild, the ``BuildManifest`` of the files
written, the import's ``Handoff``, and the run's ``RunSummary``.

Paths are anything with ``open()`` and ``/`` (``pathlib.Path``, Airflow's
``ObjectStoragePath``), so the same code runs in a task or a test.
"""

from __future__ import annotations

import csv
import logging
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from itertools import chain
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, RootModel

from ml_connector.anaplan.client import AnaplanClient
from ml_connector.anaplan.handoff import Handoff, Lock, no_lock, send_file
from ml_connector.anaplan.outcome import TaskEvent, judge
from ml_connector.anaplan.tasks import TaskStatus
from ml_connector.errors import ConfigError, ConnectorError, NothingChanged, RunFailed
from ml_connector.flows.align import routed_values
from ml_connector.flows.build import period_label
from ml_connector.flows.closed import (
    Closed,
    Closure,
    closed_months,
    closed_rows,
    flow_closure,
    months_of,
    note_left_out,
    noted_closed,
    read_closure,
    refusal,
)
from ml_connector.flows.crosscheck import cross_check
from ml_connector.flows.deletes import (
    SweepResult,
    gone_audit,
    gone_documents,
    gone_note,
    open_months,
    sweep,
    zero_rows,
)
from ml_connector.flows.files import Gone, Member, SentCell, Skipped, line_writer, read_lines
from ml_connector.flows.files import SentLines as FileLines
from ml_connector.flows.ledger import reuse_after
from ml_connector.flows.listtext import ListCheck, compare_text, record_marks, sent_rows
from ml_connector.flows.mapping import BuildResult, build_file, lookup_tables, row_keys
from ml_connector.flows.member_maps import with_export_maps
from ml_connector.flows.members import (
    MemberCheck,
    carried,
    file_values,
    missing_error,
    not_members,
    read_members,
)
from ml_connector.flows.organizations import Organization, OrgFacts
from ml_connector.flows.plan_actual import (
    Aligned,
    keep_reports,
    read_reports,
    report_lines,
    window_months,
)
from ml_connector.flows.postings import posting_accounts
from ml_connector.flows.preview import Planned, Preview, preview
from ml_connector.flows.reads import Ledger, Read, stage_read
from ml_connector.flows.reconcile import audit_rows, with_notes
from ml_connector.flows.spec import Defaults, Flow, dag_id
from ml_connector.flows.translate import Translator
from ml_connector.flows.verify import (
    SHOWN,
    Cells,
    Layout,
    Verification,
    books_cells,
    compare,
    held_cells,
    of_entities,
    sent_cells,
)
from ml_connector.flows.windows import (
    Window,
    affected_months,
    month_of,
    month_window,
    next_month,
)
from ml_connector.fx.rates import Rates
from ml_connector.fx.read import read_rates
from ml_connector.state.adopt import adopt
from ml_connector.state.audit import AuditLog
from ml_connector.state.cells import Cell, CellLog
from ml_connector.state.deletes import SentLines, SentRows
from ml_connector.state.events import EventLog
from ml_connector.state.lists import ListLoads
from ml_connector.state.reads import ReadLog
from ml_connector.state.store import StateStore
from ml_connector.state.units import UnitOutcomes
from ml_connector.state.verifications import VerificationLog
from ml_connector.zoho.client import ZohoBooksClient
from ml_connector.zoho.entities import get_entity
from ml_connector.zoho.extract import ExtractManifest, ExtractWindow, stage_extract
from ml_connector.zoho.organizations import organization_facts
from ml_connector.zoho.report import read_jsonl

log = logging.getLogger(__name__)

PathOf = Callable[[str], Any]


def not_loaded(loader: str, needed: str, users: list[str], *,
               anaplan_list: bool = False) -> tuple[str, str]:
    """What is wrong, and the fix, while list flow ``loader`` has never loaded the
    list that flows ``users`` look ``needed`` members up in (a Zoho module), or, with
    ``anaplan_list``, whose members their ``list:`` columns hold (an Anaplan list). The
    fix's command works right after ``ml-connector init``: ``airflow dags test`` parses the
    DAG file itself, where ``airflow dags trigger`` fails with DagNotFound until the
    dag-processor has parsed it."""
    dag = dag_id(loader)
    s = "s" if len(users) == 1 else ""
    uses = (f"send{s} members of the Anaplan list {needed}" if anaplan_list
            else f"look{s} up {needed}")
    return (f"flow {loader} has not loaded its list into Anaplan yet; {', '.join(users)} "
            f"{uses} and {'its' if len(users) == 1 else 'their'} members would be rejected",
            f"run {dag} first: airflow dags test {dag} (runs it now, no scheduler "
            f"needed; or airflow dags trigger {dag} once the scheduler has parsed it)")


def first_loads(flow: Flow, lists: Mapping[str, list[str]],
                loads: Mapping[str, list[str]] | None = None) -> dict[str, str]:
    """Each list flow whose list ``flow`` needs, with the error while it has never loaded:
    those of the modules it looks members up in (``lists``: module -> the flows that load
    it) and of the Anaplan lists its ``list:`` columns hold (``loads``: list -> the flows
    whose import writes it)."""
    found = {loader: ": ".join(not_loaded(loader, module, [flow.id]))
             for module in sorted(flow.lookup_entities)
             for loader in lists.get(module, []) if loader != flow.id}
    for name in sorted(flow.member_lists):
        for loader in (loads or {}).get(name, []):
            if loader != flow.id:
                found.setdefault(loader, ": ".join(not_loaded(loader, name, [flow.id],
                                                              anaplan_list=True)))
    return found


class Scope(RootModel[list[Window]]):
    """The month windows an incremental aggregate run rebuilds whole (its JSON is a list of
    ``[start, end]``, as the extract operator's ``windows`` takes it)."""

    def months(self) -> list[date]:
        return [month_of(window.start) for window in self.root]


class BuildManifest(BaseModel):
    """The files a build wrote (``path`` is the import file) and what went into them. A
    flow of several organizations imports their files combined (``parts``: each
    organization's own build, by entity; ``failed``: those whose steps did not finish, with
    why)."""

    path: str
    members_file: str
    skipped_file: str
    cells_file: str | None = None
    values_file: str | None = None
    lines_file: str | None = None
    gone_file: str | None = None
    counts: BuildResult
    watermark: str | None = Field(
        default=None, description="a part: the newest change its organization's read saw")
    windows: list[Window] = Field(default_factory=list)
    parts: dict[str, BuildManifest] = Field(default_factory=dict)
    failed: dict[str, str] = Field(default_factory=dict)

    def months_of(self) -> dict[str, set[str]]:
        """A combined import's entities -> the month labels each sent (none: one
        organization)."""
        return {key: {period_label(w.start[:10]) for w in part.windows}
                for key, part in self.parts.items()}


class RunSummary(BaseModel):
    """What a run left in the audit trail and the cell log, and where its watermark is."""

    flow: str
    run_id: str
    counts: dict[str, int] = Field(default_factory=dict)
    task_id: str | None = None
    rows: int = 0
    windows: list[Window] = Field(default_factory=list)
    cells: int | None = None
    watermark: str | None = None
    text: dict[str, int] = Field(
        default_factory=dict, description="a list flow with loads: rows checked, and the "
        "records whose text Anaplan holds differently, by kind")
    closed: list[str] = Field(
        default_factory=list, description="changes dated into closed months, not applied: "
        "one note per month")
    watermarks: dict[str, str] = Field(
        default_factory=dict, description="a flow of several organizations: each one's")
    failed: dict[str, str] = Field(
        default_factory=dict, description="a flow of several organizations: those not "
        "read (entity -> why); the others were imported")


#: The files a build writes (by ``BuildManifest`` field), named ``<flow>[.<group>]<suffix>``.
SUFFIXES = {"path": ".csv", "members_file": ".members.jsonl",
            "skipped_file": ".skipped.jsonl", "cells_file": ".cells.jsonl",
            "values_file": ".values.jsonl", "lines_file": ".lines.jsonl",
            "gone_file": ".gone.jsonl"}


def read_records(path: Any) -> Iterator[dict]:
    """The records of a staged JSON Lines file, streamed."""
    with path.open("r", encoding="utf-8") as handle:
        yield from read_jsonl(handle)


@dataclass
class FlowRun:
    """One run of ``flow`` for the data ``interval`` (ISO start and end), staging its files
    in ``out_dir``; each step of its plan (``flows.plan``) is one method. ``zoho`` and
    ``anaplan`` open clients; waits go through ``sleep`` (a sandbox's clock in tests) and
    the import's upload through ``lock``; a ``dry_run`` ends before the import; ``months``
    (a ledger flow in mode period, an incremental aggregate flow) are rebuilt whole.
    ``lists`` (module -> the list flows that load it) and ``loads`` (Anaplan list -> the
    list flows whose import writes it) name the list flows that must have loaded once
    before the run reads."""

    flow: Flow
    store: StateStore
    run_id: str
    interval: Window
    out_dir: Any
    path_of: PathOf = Path
    zoho: Callable[[], ZohoBooksClient] | None = None
    anaplan: Callable[[], AnaplanClient] | None = None
    months: list[date] | None = None
    lists: Mapping[str, list[str]] = field(default_factory=dict)
    loads: Mapping[str, list[str]] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    lock: Lock = no_lock
    defaults: Defaults = field(default_factory=Defaults)
    reopen: bool = False
    dry_run: bool = False
    #: A dry run's table of changes in the log (a DAG task's), or left to the caller to
    #: show (``ml-connector plan`` prints it).
    log_plan: bool = True
    #: The organization this run's steps read (a flow of several: one ``unit`` each).
    organization: Organization | None = None
    #: A flow of several organizations: the client factory of each.
    zoho_for: Callable[[Organization], Callable[[], ZohoBooksClient]] | None = None
    #: A flow of several organizations: read only these (entity keys; None: every one),
    #: e.g. again those a run left out.
    only: list[str] | None = None
    audit: AuditLog = field(init=False)
    cells: CellLog = field(init=False)
    _zoho_open: ZohoBooksClient | None = field(init=False, default=None, repr=False)
    _anaplan_opened: list[AnaplanClient] = field(init=False, default_factory=list, repr=False)
    _units: dict[str, FlowRun] = field(init=False, default_factory=dict, repr=False)
    _stack: ExitStack | None = field(init=False, default=None, repr=False)
    _facts: OrgFacts | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.interval = Window(*self.interval)
        self.audit, self.cells = AuditLog(self.store), CellLog(self.store)
        if self.anaplan is not None:  # every client a step opens, for its request count
            opens = self.anaplan

            def opened() -> AnaplanClient:
                client = opens()
                self._anaplan_opened.append(client)
                return client
            self.anaplan = opened
        if self.months and not ((self.flow.is_ledger and self.flow.mode == "period")
                                or self.flow.rebuilds_months):
            raise ConfigError(f"flow {self.flow.id}: months are for ledger flows in mode "
                              "'period' (one read of each account for all of them) and "
                              "incremental aggregate flows (rebuilt whole); run this flow "
                              "once per month instead")

    @property
    def org_key(self) -> str:
        """The organization's key in the state store ('' for a flow's only one)."""
        return self.organization.entity if self.organization is not None else ""

    def left_out(self, key: str | None) -> str | None:
        """Why organization ``key``'s steps do not run in this run (None: they do)."""
        if key is not None and self.only is not None and key not in self.only:
            return (f"organization {key} is not read in this run (it reads "
                    f"{', '.join(self.only) or 'none'})")
        return None

    def unit(self, key: str | None) -> FlowRun:
        """The run of one organization of the flow (``key``: its entity; None: this run):
        same run, its own Zoho client, state and files; made once per run."""
        if key is None:
            return self
        if key not in self._units:
            org = next((o for o in self.flow.organizations_of(self.defaults)
                        if o.entity == key), None)
            if org is None or self.zoho_for is None:
                raise ConfigError(f"flow {self.flow.id}: no organization {key!r} to read")
            if org.inherits(self.defaults.zoho_conn_id):  # its single-organization state
                adopt(self.store, self.flow.id, org.entity)
            unit = replace(self, organization=org, zoho=self.zoho_for(org))
            unit.anaplan = self.anaplan  # counted by this run's clients
            unit._anaplan_opened = self._anaplan_opened
            if self._stack is not None:  # a walk: one client per organization throughout
                unit._zoho_open = self._stack.enter_context(unit.zoho())  # type: ignore[misc]
            self._units[key] = unit
        return self._units[key]

    def facts(self) -> OrgFacts:
        """The organization's entity, id, name and base currency (one request for the
        organizations of its login, once per run)."""
        if self._facts is None:
            with self.zoho_client() as client:
                facts = organization_facts(client, self.organization)
            self._facts = facts
        return self._facts

    def file_name(self, suffix: str) -> str:
        """A staged file of the run (an organization's: under its group)."""
        group = f".{self.organization.group}" if self.organization is not None else ""
        return f"{self.flow.id}{group}{suffix}"

    @property
    def anaplan_requests(self) -> int:
        """The Anaplan requests this run's clients have made in this process."""
        return sum(client.requests for client in self._anaplan_opened)

    @contextmanager
    def zoho_client(self) -> Iterator[ZohoBooksClient]:
        """The Zoho client of a step: the run's open one (``one_zoho_client``), else new."""
        if self._zoho_open is not None:
            yield self._zoho_open
            return
        assert self.zoho is not None, "this step reads Zoho: the run needs a zoho client"
        with self.zoho() as client:
            yield client

    @contextmanager
    def one_zoho_client(self) -> Iterator[None]:
        """Every Zoho read of the run, until the block ends, through one client (and token)
        per organization (for a flow of several, opened when its first step runs)."""
        if self.flow.organizations_of(self.defaults):
            with ExitStack() as stack:
                self._stack = stack
                try:
                    yield
                finally:
                    self._stack = None
                    self._units.clear()
            return
        with self.zoho_client() as client:
            self._zoho_open = client
            try:
                yield
            finally:
                self._zoho_open = None

    def scoped(self, scope: Scope | None) -> Scope | None:
        """The months an incremental run rebuilds, else the ``months`` the run was given."""
        if scope is None and self.months:
            return Scope([month_window(m) for m in sorted(set(self.months))])
        return scope

    def windows(self, scope: Scope | None) -> list[Window]:
        """The data windows the run replaces: the scoped months, or the data interval."""
        scope = self.scoped(scope)
        if scope is not None:
            return list(scope.root)
        return [self.interval]

    def read(self, read: Read, lookups: Mapping[str, ExtractManifest] | None = None,
             scope: Scope | None = None,
             changes: ExtractManifest | None = None) -> ExtractManifest:
        """A Zoho read of the run, staged in ``out_dir`` (a ledger read takes the chart of
        accounts from ``lookups``; a rebuild reads the scoped months whole; a ledger read
        may take a month another ledger flow read when no document changed since: an
        incremental run's ``changes`` say so for all but its journals)."""
        scope = self.scoped(scope) if read.rebuilds else None
        ledger = Ledger(self.flow, self.records((lookups or {})["chartofaccounts"]),
                        reuse_after(self.flow, changes, self.defaults.ledger_reuse_minutes)) \
            if read.kind == "ledger" else None
        with self.zoho_client() as client:
            left = closed_rows(self.flow, self.defaults, client, self.store,
                               (dag_id(self.flow.id), self.run_id), reopen=self.reopen) \
                if read.kind == "extract" else None
            manifest = stage_read(
                client, self.store, read, self.out_dir / f"{read.task_id}.jsonl",
                interval=self.interval, windows=scope.root if scope is not None else None,
                ledger=ledger, requires=first_loads(self.flow, self.lists, self.loads),
                recorded_as=(dag_id(self.flow.id), self.run_id), progress=log.info,
                leave=left)
            note_left_out(self.flow, self.store, left, manifest)
        return manifest

    def sweep(self, changes: ExtractManifest) -> SweepResult:
        """The flow's id sweep of its open months (``sweep``), after its read of what
        changed (``changes``: ids it read anyway are not checked): deletes it confirms go to
        the state store, where ``scope`` and ``build`` find them; its requests are kept as
        the run's read ``sweep``. Once a day (by the run's data interval): the runs that
        changes start between the daily ones do not sweep again. A closed month costs no
        request."""
        assert self.flow.sweep is not None
        day, key = self.interval.end[:10], f"{self.flow.id}:sweep"
        if (self.store.get_watermark(key, organization=self.org_key) or "") >= day:
            log.info("Id sweep: done for %s already; the next is due the day after", day)
            return SweepResult()
        changed = {str(r.get(f)) for r in self.records(changes)
                   for f, _ in self.flow.record_ids if f in r} if changes.path else set()
        months = open_months(month_of(self.interval.end[:10]), self.flow.sweep.months)
        shut = closed_months(months, None if self.reopen else self.closure())
        months = [m for m in months if m not in shut]
        if not months:
            log.info("Id sweep: every open month is closed; nothing listed")
            return SweepResult()
        with self.zoho_client() as client:
            found = sweep(client, self.store, self.flow, months, self.flow.change_entities,
                          skip=lambda _entity, record_id: record_id in changed,
                          unit=self.org_key)
        ReadLog(self.store).record(dag_id(self.flow.id), self.run_id, "sweep", found)
        self.store.set_watermark(key, day, organization=self.org_key)
        return found

    def closure(self, client: ZohoBooksClient | None = None) -> Closure | None:
        """What closes this flow's months (Zoho's locks, read once a ``cache_hours``
        through ``client`` or the run's, or ``closed_before``); None when nothing does."""
        recorded_as = (dag_id(self.flow.id), self.run_id)
        if not self.defaults.transaction_locks.read:
            return flow_closure(self.flow, [], self.defaults)
        with nullcontext(client) if client is not None else self.zoho_client() as zoho:
            return read_closure(self.flow, self.defaults, zoho, self.store, recorded_as)

    def run_months(self) -> list[date]:
        """The months a period run loads: its ``months``, else those of its interval."""
        if self.months:
            return sorted(set(self.months))
        start, end = self.interval.dates()
        found, month = [], start.replace(day=1)
        while month < end:
            found.append(month)
            month = next_month(month)
        return found

    def closed(self) -> Closed:
        """Refuse (``PeriodClosed``) a period run of a closed month unless it ``reopen``s
        it; the first step, before any read of the month."""
        closure = self.closure()
        shut = closed_months(self.run_months(), closure)
        result = Closed(months=[m.strftime("%Y-%m") for m in shut], reopened=self.reopen,
                        through=closure.through if closure else None,
                        source=closure.source if closure else None)
        if shut and closure is not None:
            if not self.reopen:
                raise refusal(self.flow, shut, closure)
            log.warning("Reopened %s (%s) for this run: it re-reads and rewrites it",
                        ", ".join(result.months), closure)
        else:
            log.info("No month of the run is closed%s", f" ({closure})" if closure else "")
        return result

    def changed_months(self, changes: ExtractManifest) -> tuple[list[date], dict[date, list[str]]]:
        """The months an incremental aggregate run's changes touch (those its changed
        records fall in now, and those they were last sent in), and the changed records
        dated in each month."""
        flow = self.flow
        # A ledger flow's changed records are documents: dated by ``date`` (journals:
        # ``journal_date``), named as their postings are (``transaction_id``).
        dates = ["date", "journal_date"] if flow.is_ledger else [str(flow.period_field)]
        ids = [get_entity(e).id_field for e in flow.change_entities]
        dated: dict[date, list[str]] = defaultdict(list)

        def noted(records: Iterator[dict]) -> Iterator[dict]:
            for record in records:
                day = next((record[f] for f in dates if record.get(f)), None)
                if day:
                    dated[month_of(day)].append(str(next(
                        (record[f] for f in ids if f in record), "?")))
                yield record

        records = read_records(self.path_of(str(changes.path))) if changes.path else iter([])
        months = affected_months(noted(records), dates, ids,
                                 lambda found: self.audit.windows_of(flow.id, found,
                                                                     organization=self.org_key))
        return months, dated

    def scope(self, changes: ExtractManifest) -> Scope:
        """The months an incremental aggregate run rebuilds: those its changed records fall
        in now, and those they were last sent in (or the ``months`` it was given), less the
        closed ones (unless reopened): a change dated into a closed month is reported, not
        applied."""
        flow = self.flow
        if self.months:  # the months given, whatever changed
            return Scope([month_window(m) for m in sorted(set(self.months))])
        gone = gone_documents(self.store, flow, changes.organization_id, self.org_key) \
            if flow.sees_deletes else []
        if (not changes.count or changes.path is None) and not gone:
            raise NothingChanged(f"no {'+'.join(flow.change_entities)} changed since the "
                                 "watermark")
        months, dated = self.changed_months(changes)
        for g in gone:  # a deleted document's months are rebuilt whole, without it
            if g.window_start:
                dated[month_of(g.window_start)].append(g.record_id)
        months = sorted({*months, *(month_of(g.window_start) for g in gone if g.window_start)})
        log.info("%d changed record(s) and %d deleted touch %d month(s): %s", changes.count,
                 len(gone), len(months), ", ".join(m.strftime("%b %Y") for m in months))
        closure = None if self.reopen else self.closure()
        shut = closed_months(months, closure)
        if shut:
            noted_closed(self.flow, self.store, shut, dated, closure)
            months = [m for m in months if m not in shut]
            if not months:
                raise NothingChanged(f"every change falls in a closed month ({closure}); "
                                     "nothing read or sent")
        return Scope([month_window(m) for m in months])

    def rates(self, scope: Scope | None = None,
              scopes: Mapping[str, Scope | None] | None = None) -> Rates:
        """The exchange rates the flow's ``translate:`` columns need for the run's months
        (an incremental run's: those it rebuilds, in any organization), for the base
        currencies of its organizations, from its ``fx:`` source; a rate the source lacks is
        left out here: the build of an organization that needs it fails, naming it."""
        flow = self.flow
        fx = flow.fx_of(self.defaults)
        assert fx is not None, "plan: translated columns need fx"
        groups = {flow.columns[c].translate.to for c in flow.translated}  # type: ignore[union-attr]
        if len(groups) != 1:
            raise ConfigError(f"flow {flow.id}: translate: every column translates to one "
                              f"group currency (got {', '.join(sorted(groups))})")
        if scope is None and not scopes:  # a period run: its months
            months = [m.strftime("%Y-%m") for m in self.run_months()]
        else:  # the months any organization rebuilds
            given = [scope] if scopes is None else list(scopes.values())
            months = sorted({m.strftime("%Y-%m") for s in given if s is not None
                             for m in s.months()})
        units = [self.unit(o.entity) for o in flow.organizations_of(self.defaults)
                 if self.only is None or o.entity in self.only] or [self]
        found: set[str] = set()
        for unit in units:
            try:
                found.add(unit.facts().currency)
            except ConnectorError as exc:  # its own steps fail on it, the others go on
                log.warning("Organization %s: its base currency is unknown (%s); it gets no "
                            "rates", unit.org_key or "of the connection", exc)
        currencies = sorted(found)

        def client_of(key: str) -> Any:
            return self.unit(key if units[0] is not self else None).zoho_client()

        rates = read_rates(fx, groups.pop(), currencies, months, zoho_client=client_of,
                           read_export=lambda export: self.read_export(export)[1],
                           folder=Path("."))
        log.info("Read %s rate(s) of %s for %s from %s", sum(
            len(by_month) for by_month in rates.rates.values()), ", ".join(currencies),
            ", ".join(months) or "no month", rates.origin)
        return rates

    def build(self, extract: ExtractManifest, lookups: Mapping[str, ExtractManifest],
              scope: Scope | None = None, rates: Rates | None = None) -> BuildManifest:
        """Write the import file, its members (record -> rows), the skipped records and, for
        aggregates, the cells sent; cells sent before for the rebuilt windows and absent now
        are sent as zero; ``translate:`` columns with the ``rates`` of their month (a
        missing rate stops the build, nothing sent for the organization)."""
        flow = self.flow
        scope = self.scoped(scope)
        self.lists_ready(extract.organization_id)
        gone = self.gone(extract.organization_id, scope)
        # (A rebuilt month with no records left still clears its cells: no skip then.)
        if flow.mode == "incremental" and not flow.rebuilds_months and not extract.count \
                and not gone:
            raise NothingChanged(f"no {flow.entity} changed since the watermark" + (
                f" but in closed months ({', '.join(sorted(extract.left_out))}): not read"
                if extract.left_out else ""))
        clear = self.cells.cells(flow.id, [w.start for w in self.windows(scope)],
                                 organization=self.org_key) \
            if flow.grain == "aggregate" else set()
        if not extract.count and not clear and not gone:  # no header-only file
            raise NothingChanged(f"nothing to send: no {flow.entity} read for "
                                 f"{', '.join(w.start[:10] for w in self.windows(scope))}, no "
                                 "cell sent before to clear")
        flow = with_export_maps(flow, self._map_export)
        tables = lookup_tables(flow, {entity: self.records(m) for entity, m in lookups.items()})
        accounts = posting_accounts(flow, lambda: self.records(lookups["chartofaccounts"]))
        kinds = ["path", "members_file", "skipped_file"]
        if flow.grain == "aggregate":
            kinds.append("cells_file")
        if flow.member_lists:
            kinds.append("values_file")
        if flow.remembers_lines:
            kinds.append("lines_file")
        paths = {kind: self.out_dir / self.file_name(SUFFIXES[kind]) for kind in kinds}
        window_of = None
        period = flow.period_field
        if scope is not None and period is not None:
            def window_of(record: Mapping[str, Any]) -> Window:
                return month_window(month_of(record[period]))
        translator = None
        if flow.translated:
            if rates is None:
                raise RunFailed(f"flow {flow.id}: the rates step did not run (see its log); "
                                "nothing is sent untranslated")
            translator = Translator(flow, rates, self.facts().currency)
        handles = {kind: path.open("w", encoding="utf-8") for kind, path in paths.items()}
        try:
            result = build_file(flow, self.records(extract), tables, handles["path"],
                                handles["members_file"], handles["skipped_file"],
                                window_of=window_of, cells_out=handles.get("cells_file"),
                                clear=clear, refresh=self._refresh if self.zoho else None,
                                accounts=accounts, values_out=handles.get("values_file"),
                                lines_out=handles.get("lines_file"),
                                organization=self.facts() if flow.organization_columns
                                else None, translate=translator)
        finally:
            for handle in handles.values():
                handle.close()
        if flow.sees_deletes:
            paths["gone_file"] = self.out_dir / self.file_name(SUFFIXES["gone_file"])
            result.rows += self._write_gone(gone, paths["path"], paths["gone_file"])
        if translator is not None:
            result.translated = translator.notes()
            for column, used in result.translated.items():
                log.info("Column %r translated at %s", column, used)
        built = BuildManifest.model_validate(
            {**{k: str(v) for k, v in paths.items()}, "counts": result,
             "windows": self.windows(scope)})
        log.info("Built %d row(s) from %d record(s); skipped %d %s; %d emptied cell(s) sent "
                 "as zero", result.rows, result.records, result.skipped,
                 result.skipped_reasons, result.cleared)
        for line in result.routed_lines():
            log.info("%s", line)
        return built

    def combine(self, parts: Mapping[str, BuildManifest | None],
                changes: Mapping[str, ExtractManifest | None] | None = None) -> BuildManifest:
        """Join the files the organizations' builds wrote into one import (whole cells per
        entity); an organization without a build is named as failed, unless its steps
        found nothing to send. Raises ``NothingChanged`` when no organization has a file,
        and fails when every one failed."""
        newest = {k: m.max_last_modified_time for k, m in (changes or {}).items()
                  if m is not None}
        built = {k: b.model_copy(update={"watermark": newest.get(k)})
                 for k, b in parts.items() if b is not None}
        outcomes = UnitOutcomes(self.store).of(dag_id(self.flow.id), self.run_id)
        failed = {k: outcomes.get(k, ("failed", "its steps did not finish"))[1]
                  for k, b in parts.items() if b is None
                  and outcomes.get(k, ("failed", ""))[0] != "skipped"}
        unchanged = [k for k in parts if parts[k] is None and k not in failed]
        for key, why in failed.items():
            log.warning("Organization %s is left out of this import: %s", key, why)
        if not built:
            if failed:
                raise RunFailed(f"flow {self.flow.id}: no organization was read: "
                                + "; ".join(f"{k}: {w}" for k, w in failed.items()))
            raise NothingChanged(f"nothing to send for any organization ({', '.join(parts)})")
        first = next(iter(built.values()))
        kinds = [k for k in ("path", "members_file", "skipped_file", "cells_file",
                             "values_file") if getattr(first, k) is not None]
        paths = {kind: self.out_dir / self.file_name(SUFFIXES[kind]) for kind in kinds}
        for kind in kinds:
            with paths[kind].open("w", encoding="utf-8", newline="") as out:
                for n, part in enumerate(built.values()):
                    with self.path_of(getattr(part, kind)).open("r", encoding="utf-8",
                                                                newline="") as handle:
                        if kind == "path" and n:
                            handle.readline()  # one header (a file, not an iterator)
                        shutil.copyfileobj(handle, out)
        counts = BuildResult()
        for part in built.values():
            counts.add(part.counts)
        log.info("Combined %d organization(s) into one import of %d row(s): %s%s%s",
                 len(built), counts.rows, ", ".join(f"{k} {b.counts.rows}" for k, b in
                                                    built.items()),
                 f"; nothing changed for {', '.join(unchanged)}" if unchanged else "",
                 f"; left out (failed): {', '.join(failed)}" if failed else "")
        return BuildManifest.model_validate(
            {**{k: str(paths[k]) for k in kinds}, "counts": counts, "parts": built,
             "failed": failed, "windows": [w for b in built.values() for w in b.windows]})

    def gone(self, organization_id: str, scope: Scope | None) -> list[Gone]:
        """The deleted documents this run removes: those the flow still has in Anaplan
        (an aggregate run: those last sent in the months it rebuilds)."""
        if not self.flow.sees_deletes:
            return []
        gone = gone_documents(self.store, self.flow, organization_id, self.org_key)
        if self.flow.rebuilds_months:
            starts = {w.start for w in self.windows(scope)}
            gone = [g for g in gone if g.window_start in starts]
        return gone

    def _write_gone(self, gone: list[Gone], csv_path: Any, gone_path: Any) -> int:
        """Write the deleted documents to ``gone_path`` and, record grain, append the rows
        they last sent, as zero, to the import file; returns the rows appended."""
        appended = 0
        remembered = SentLines(self.store).of(self.flow.id, [g.record_id for g in gone],
                                              organization=self.org_key) \
            if self.flow.remembers_lines and gone else {}
        with csv_path.open("a", encoding="utf-8", newline="") as handle, \
                gone_path.open("w", encoding="utf-8") as listed:
            writer, put = csv.writer(handle, lineterminator="\n"), line_writer(listed)
            for g, rows in zero_rows(self.flow, remembered, gone):
                writer.writerows(rows)
                g.rows = len(rows)
                appended += len(rows)
                put(g)
        if gone:
            log.info("Deleted in Zoho: %d document(s) removed by this run, %d row(s) sent as "
                     "zero", len(gone), appended)
        return appended

    def lists_ready(self, organization_id: str) -> None:
        """``NothingChanged`` while a list flow (``lists``: module -> the flows that
        load it into an Anaplan list) has not yet loaded a change of a module this flow
        looks members up in that a webhook announced: the run would send members Anaplan
        does not know. The watermark stays; the list flow's asset starts this flow
        again once it has loaded them."""
        events, loads = EventLog(self.store), ListLoads(self.store)
        for entity in sorted(self.flow.lookup_entities):
            if not self.lists.get(entity):
                continue
            newest = events.newest(organization_id, entity)
            if newest is None:
                continue
            for loader in self.lists[entity]:
                loaded = loads.read_at(loader)
                if loaded is None or loaded < newest:
                    raise NothingChanged(
                        f"flow {loader} has not loaded the {entity} changed at "
                        f"{datetime.fromtimestamp(newest, timezone.utc):%Y-%m-%d %H:%M:%S} "
                        f"UTC into Anaplan yet; {self.flow.id} runs again when it has")

    def check_members(self, built: BuildManifest) -> MemberCheck:
        """Check that every value of the flow's ``list:`` columns in the import file is a
        member of its Anaplan list (each list read once); raise ``MembersMissing`` naming
        each value that is not, its documents and the fix: the import does not run."""
        flow = self.flow
        assert self.anaplan is not None, "the member check needs an anaplan client"
        with self.anaplan() as client:
            before = client.requests
            members = read_members(client, flow.member_lists)
            requests = client.requests - before
        values = file_values(flow, self.path_of(built.path))
        check = MemberCheck(lists={n: m.count for n, m in members.items()},
                            values={c: len(v) for c, v in values.items()}, requests=requests)
        log.info("Member check: %s; %s; %d Anaplan request(s)",
                 ", ".join(f"{n}: {c:,} member(s)" for n, c in check.lists.items()),
                 ", ".join(f"column {c!r}: {n:,} distinct value(s)"
                           for c, n in check.values.items()), requests)
        missing = not_members(flow, values, members)
        if missing:
            kept = carried(self.path_of(built.values_file), missing) \
                if built.values_file else {}
            raise missing_error(flow, missing, kept, self.loads)
        log.info("All members present: every value of %s is a member of its list",
                 ", ".join(check.values))
        return check

    def plan_changes(self, built: BuildManifest, scope: Scope | None = None) -> Preview:
        """In a dry run, log the cells the import would change (added, changed, zeroed),
        write a planned entry in the audit trail and end the run here (``Planned``: the
        import and the steps after it are skipped, nothing is uploaded, no watermark
        moves); otherwise nothing."""
        if not self.dry_run:
            return Preview(flow=self.flow.id, run_id=self.run_id)
        found = preview(self, built, scope)
        for line in found.lines() if self.log_plan else ():
            log.info("%s", line)
        self.audit.record_planned(self.flow.id, self.run_id, self.windows(scope),
                                  self.flow.entity, found.summary())
        raise Planned(found)

    def send(self, built: BuildManifest) -> Handoff:
        """Upload the import file to the flow's import and start its task."""
        target = self.flow.target
        assert self.anaplan is not None, "sending needs an anaplan client"
        with self.anaplan() as client:
            return send_file(client, target.import_, self.path_of(built.path), lock=self.lock,
                             mapping_parameters=target.parameters() or None, sleep=self.sleep)

    def wait(self, handoff: Handoff) -> TaskStatus:
        """Wait for the import's task; fails as the DAG's sensor does (a cancelled or
        unsuccessful task; rejected rows are left to ``reconcile``)."""
        assert self.anaplan is not None, "waiting needs an anaplan client"
        with self.anaplan() as client:
            status = client.wait(handoff.import_id, handoff.task_id, sleep=self.sleep)
        ok, message = judge(TaskEvent(status="done", task=status), allow_rejected_rows=True)
        if not ok:
            raise ConnectorError(f"Anaplan import failed: {message}")
        return status

    def reconcile(self, changes: ExtractManifest | None = None,
                  built: BuildManifest | None = None, handoff: Handoff | None = None,
                  waited: TaskStatus | None = None, scope: Scope | None = None,
                  verified: Verification | None = None, listed: ListCheck | None = None
                  ) -> RunSummary:
        """Record each record's fate in the audit trail (replacing earlier runs of the same
        windows) and, once Anaplan has taken the file, the cells sent; then move the
        watermark to the newest change read, only if the task succeeded, the wait for it
        did (``waited``: None when it failed) and, for a flow that verifies, Anaplan was
        read back holding what was sent (an incremental run given ``months`` keeps it: the
        changes of other months are the next run's); a list flow's read-back (``listed``) notes each
        record whose text Anaplan holds differently in the audit. Raises ``RunFailed`` after
        writing them when records failed, the wait failed, cells differ or (``text: fail``)
        text does: a run with a failed step fails."""
        flow = self.flow
        scope = self.scoped(scope)
        if handoff is None or built is None or self.anaplan is None:
            raise RunFailed(f"flow {flow.id}: the import did not start (an earlier step "
                            "failed); nothing to reconcile")
        with self.anaplan() as client:
            status = client.task(handoff.import_id, handoff.task_id)
            rejected = (client.rejected_rows(handoff.import_id, status.task_id, None, status)
                        if status.failure_dump else [])
        with self.path_of(built.path).open("r", encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            line_of_key = row_keys(flow, reader)
        units = [(self.unit(key), part) for key, part in built.parts.items()] \
            if built.parts else [(self, built)]
        windows = self.windows(scope) if not built.parts else built.windows
        counts: Counter[str] = Counter()
        cells: int | None = None
        for unit, part in units:
            found, sent = unit.record_part(part, part.windows or windows, handoff, status,
                                           rejected, line_of_key, listed)
            counts.update(found)
            if sent is not None:
                cells = (cells or 0) + sent
        summary = RunSummary(flow=flow.id, run_id=self.run_id, counts=dict(counts),
                             task_id=status.task_id, rows=built.counts.rows, windows=windows,
                             text=listed.counts() if listed is not None else {},
                             closed=self.left_closed(changes, scope), cells=cells,
                             failed=built.failed)
        if waited is None and not counts.get("failed"):
            raise RunFailed(
                f"flow {flow.id}: the wait for Anaplan task {status.task_id} failed (see the "
                f"wait step's log); Anaplan now reports {status.summary}. The audit is "
                "written and the watermark stays: the next run sends these records again")
        if (flow.verify or flow.crosscheck) and status.state == "COMPLETE" \
                and not counts.get("failed"):
            if verified is None:
                raise RunFailed(f"flow {flow.id}: the verify step did not run (see its log); "
                                "the watermark stays, so the next run sends these months "
                                "again")
            if not verified.ok:
                raise RunFailed(verified.message() + "\nThe watermark stays; rerun the "
                                "flow for these months once the cause is fixed.")
        if flow.loads is not None and status.state == "COMPLETE" and not counts.get("failed"):
            self._judge_text(listed)
        if counts.get("failed"):
            # The audit is written and the watermark stays: the next run reads them again.
            raise RunFailed(
                f"flow {flow.id}: {counts['failed']} record(s) failed in Anaplan task "
                f"{status.task_id} ({status.summary}); see `ml-connector audit --flow "
                f"{flow.id} --status failed`")
        if flow.mode == "full" and status.ok and changes is not None:
            ListLoads(self.store).record(flow.id, changes.read_at, self.run_id)
        if self.months and flow.rebuilds_months:  # the months given, not every change
            log.info("Rebuilt the months given (%s): the watermark stays for the changes "
                     "of other months", ", ".join(m.strftime("%Y-%m") for m in self.months))
        elif flow.mode == "incremental" and status.ok and changes and \
                changes.max_last_modified_time:
            self.store.set_watermark(flow.id, changes.max_last_modified_time)
            summary.watermark = changes.max_last_modified_time
        elif flow.mode == "incremental" and status.ok:
            for unit, part in units:  # each organization's own, as far as it was read
                if part.watermark:
                    self.store.set_watermark(flow.id, part.watermark, organization=unit.org_key)
                    summary.watermarks[unit.org_key] = part.watermark
        log.info("Audit %s; watermark %s%s", summary.counts, summary.watermark or ", ".join(
                     f"{k} {v}" for k, v in summary.watermarks.items()) or "unchanged",
                 f"; list text {summary.text}" if summary.text else "")
        if built.failed:  # the others are in; the failed ones are read again
            again = ("their watermarks stay, so the next run reads what they still lack"
                     if flow.mode == "incremental" else
                     f"run the month again with organizations: {','.join(built.failed)} "
                     "(or clear their task groups in Airflow) to read only them")
            raise RunFailed(
                f"flow {flow.id}: imported {', '.join(built.parts)}; not read: "
                + "; ".join(f"{k} ({why})" for k, why in built.failed.items())
                + f". Once the cause is fixed, {again}")
        return summary

    def record_part(self, built: BuildManifest, windows: list[Window], handoff: Handoff,
                    status: TaskStatus, rejected: list, line_of_key: Mapping[str, int],
                    listed: ListCheck | None) -> tuple[dict[str, int], int | None]:
        """Write one organization's share of the import to its audit trail (replacing
        earlier runs of its windows) and, once Anaplan has taken the file, its cells and
        the lines its documents sent; returns (audit counts, cells kept)."""
        flow = self.flow
        rows = audit_rows(
            entity=flow.entity, import_id=handoff.import_id, task=status,
            line_of_key=line_of_key, rejected=rejected,
            members=read_lines(self.path_of(built.members_file), Member),
            skipped=read_lines(self.path_of(built.skipped_file), Skipped))
        if listed is not None:
            rows = with_notes(rows, listed.by_record())
        if built.counts.translated:  # the rates each record's cells were translated at
            rows = with_notes(rows, {}, every="translated: " + "; ".join(
                f"{c} {r}" for c, r in built.counts.translated.items()))
        gone = list(read_lines(self.path_of(built.gone_file), Gone)) if built.gone_file else []
        removed = status.state == "COMPLETE" and status.successful is not False
        if gone:
            (log.info if removed else log.warning)("%s", gone_note(gone, status, removed))
        rows = chain(rows, gone_audit(gone, entity=flow.entity, import_id=handoff.import_id,
                                      task=status, removed=removed))
        counts = self.audit.replace_run(flow.id, self.run_id, windows, rows,
                                        organization=self.org_key)
        if built.lines_file and status.state == "COMPLETE":
            lines = SentLines(self.store)
            lines.remember(flow.id, (SentRows(s.record_id, s.module or flow.entity, s.month,
                                              s.rows)
                                     for s in read_lines(self.path_of(built.lines_file),
                                                         FileLines)), organization=self.org_key)
            if removed and gone:  # sent as zero once: forgotten
                lines.forget(flow.id, [g.record_id for g in gone], organization=self.org_key)
        if not built.cells_file or status.state != "COMPLETE":
            return counts, None
        sent: dict[str, set[Cell]] = defaultdict(set)
        amounts: dict[Cell, list[str]] = {}
        for cell in read_lines(self.path_of(built.cells_file), SentCell):
            sent[cell.window_start or windows[0].start].add(tuple(cell.key))
            if cell.amounts is not None:
                amounts[tuple(cell.key)] = cell.amounts
        return counts, self.cells.replace(flow.id, [w.start for w in windows], sent, amounts,
                                          organization=self.org_key)

    def left_closed(self, changes: ExtractManifest | None, scope: Scope | None) -> list[str]:
        """The notes of the closed months an incremental run left out: those an aggregate
        run's scope left out (from its staged changes), or the documents a record-grain
        read left out (from its manifest); the locks are the cached ones (no request)."""
        if changes is None or self.reopen:
            return []
        if changes.left_out:
            return noted_closed(self.flow, self.store, months_of(changes.left_out),
                                     changes.left_out, self.closure())
        if not self.flow.rebuilds_months or scope is None or not changes.count \
                or changes.path is None:
            return []
        months, dated = self.changed_months(changes)
        left = [m for m in months if m not in set(scope.months())]
        return noted_closed(self.flow, self.store, left, dated, self.closure()) if left else []

    def align(self, built: BuildManifest, summary: RunSummary) -> Aligned:
        """Hold the Actual cells of the run's months against each plan version of the
        flow's ``align`` (one export, each aligned list's members; requests counted): the
        reports go to the state store, to CSV beside the run's files and to the log; a row
        past a threshold fails the step, after all are kept."""
        assert self.anaplan is not None, "align needs an anaplan client"
        routed = routed_values(built.counts.defaulted, built.counts.unmapped,
                               self.flow.columns)
        with self.anaplan() as client:
            export_id, requests, reports = read_reports(
                client, self.flow, window_months(summary.windows), routed, sleep=self.sleep)
        aligned = keep_reports(self.store, self.flow, export_id, requests, reports,
                               run_id=self.run_id, out_dir=self.out_dir)
        for line in report_lines(self.flow, aligned, reports):
            log.info("%s", line)
        if not aligned.ok:
            raise RunFailed(aligned.message())
        return aligned

    def _judge_text(self, listed: ListCheck | None) -> None:
        """Fail a list flow whose read-back did not run, or (``text: fail``) found text
        Anaplan holds differently."""
        flow = self.flow
        if listed is None:
            raise RunFailed(f"flow {flow.id}: the verify step did not read list {flow.loads} "
                            "back (see its log), so the text Anaplan holds is unchecked")
        if flow.text == "fail" and listed.notes:
            raise RunFailed(listed.message() + "\nThe audit names each record; correct the "
                            "text in Zoho Books, or set text: report to load it as Anaplan "
                            "holds it.")

    def verify_list(self, extract: ExtractManifest, built: BuildManifest) -> ListCheck:
        """Read the list the flow loads back out of Anaplan (one request for the lists, one
        for its members) and compare each member with the code and name its record sent:
        every record whose text Anaplan holds differently, or whose name Zoho did not give,
        is logged as a warning and returned; ``reconcile`` notes them in the audit."""
        flow = self.flow
        assert flow.loads is not None and self.anaplan is not None, "read-back needs loads"
        with self.anaplan() as client:
            found = client.find_list(flow.loads)
            held = client.list_items(found.id, include_all=True)
        with self.path_of(built.path).open("r", encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            sent = sent_rows(flow, next(reader, []), reader,
                             read_lines(self.path_of(built.members_file), Member))
            missing, kept = record_marks(flow, self.records(extract), held) \
                if extract.path else (set(), [])
            checked, notes = compare_text(sent, held, missing)
        result = ListCheck(flow=flow.id, list_id=found.id, list_name=found.name,
                           code_column=flow.list_columns[0], checked=checked, notes=notes,
                           inactive=kept)
        for line in result.lines():
            log.warning("%s", line)
        if kept:
            log.info("%s: %d member(s) Zoho marks inactive, kept in the list (a list import "
                     "deletes none): %s", found.name, len(kept), ", ".join(kept[:20])
                     + (f" and {len(kept) - 20} more" if len(kept) > 20 else ""))
        log.info("Read back list %s (%d member(s)): %d row(s) compared, %d record(s) whose "
                 "text Anaplan holds differently or Zoho did not give", found.name, len(held),
                 checked, len({n.record_id for n in notes}))
        return result

    def verify(self, built: BuildManifest, handoff: Handoff, scope: Scope | None = None,
               extract: ExtractManifest | None = None) -> Verification:
        """Read the run's months back out of Anaplan through the flow's export (``verify``)
        and compare them with the import file (and, for a ledger flow, with the staged
        postings summed again), each month's result going to the verification trail; and
        hold the cells against another flow's (``crosscheck``). Differences are returned,
        not raised: ``reconcile`` fails the run on them, after the audit."""
        flow = self.flow
        windows = built.windows if built.parts else self.windows(scope)
        labels = {period_label(w.start[:10]): w.start for w in windows}
        sent = self.sent_cells(built)
        months_of = built.months_of()
        result = (self.read_back(extract, sent, labels, months_of)
                  if flow.verify is not None
                  else Verification(flow=flow.id, run_id=self.run_id))
        if flow.crosscheck is not None:
            check = flow.crosscheck
            result.crosscheck = cross_check(flow, check.other, sent, self.cells,
                                            {label: start[:7] for label, start in labels.items()})
            found = result.crosscheck
            log.info("Cross-checked %d key(s) of %s against %s: %d difference(s)%s",
                     sum(found.months.values()), ", ".join(found.months) or "no month",
                     check.flow, len(found.differences),
                     "" if found.fail else " (reported only)")
            for line in found.lines():
                log.warning("%s", line)
        return result

    def read_back(self, extract: ExtractManifest | None, sent: Cells,
                  labels: Mapping[str, str],
                  entities: Mapping[str, set[str]] | None = None) -> Verification:
        """The ``verify`` comparison of the run's months (label -> window start), kept per
        month and, for a flow of several organizations, per entity (``entities``: those
        the run imported -> the month labels each sent; the cells of other entities and
        months are not compared)."""
        flow = self.flow
        layout = Layout.of(flow)
        export_id, held = self.held_cells(set(labels))
        at = layout.keys.index(flow.entity_column) if entities and flow.entity_column \
            else None
        held = of_entities(layout, flow.entity_column, held, entities or {})
        books = books_cells(flow, layout, self.records(extract)) \
            if flow.is_ledger and extract is not None else None
        found = list(compare(layout, sent, held, books, set(labels)))
        result = Verification(flow=flow.id, run_id=self.run_id, export_id=export_id,
                              books_checked=books is not None, differences=found)
        compared = set(sent) | set(held)
        log_of = VerificationLog(self.store)
        for entity in list(entities or {}) if at is not None else [None]:
            per_month: dict[str, tuple[int, int, str | None]] = {}
            for label, start in labels.items():
                if entity is not None and label not in (entities or {})[entity]:
                    continue
                keys = [k for k in compared if layout.month_of(k) == label
                        and (at is None or k[at] == entity)]
                wrong = [d for d in found if layout.month_of(tuple(d.key)) == label
                         and (at is None or d.key[at] == entity)]
                result.months[label] = result.months.get(label, 0) + len(keys)
                per_month[start] = (len(keys), len(wrong),
                                    "; ".join(d.describe() for d in wrong[:SHOWN]) or None)
            log_of.record(flow.id, self.run_id, export_id, per_month,
                          organization=entity or "")
        log.info("Verified %d cell(s) of %s against export %s%s: %d difference(s)",
                 sum(result.months.values()), ", ".join(result.months), export_id,
                 " and the postings" if books is not None else "", len(found))
        return result

    def sent_cells(self, built: BuildManifest) -> Cells:
        """The cells of the run's import file."""
        with self.path_of(built.path).open("r", encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            return sent_cells(Layout.of(self.flow), reader, next(reader, []))

    def held_cells(self, months: set[str]) -> tuple[str, Cells]:
        """(export id, cells) of what Anaplan holds for the flow's rows in ``months``
        (month labels), read through the flow's ``verify`` export."""
        check = self.flow.verify
        assert check is not None, "read-back needs an export"
        export_id, data = self.read_export(check.export)
        return export_id, held_cells(Layout.of(self.flow), check, data, months)

    def read_export(self, export: str) -> tuple[str, bytes]:
        """(id, CSV) of an Anaplan export (by id or name), run now."""
        assert self.anaplan is not None, f"reading export {export!r} needs an anaplan client"
        with self.anaplan() as client:
            export_id = client.find_export(export).id
            return export_id, client.run_export(export_id, sleep=self.sleep)

    def _map_export(self, export: str) -> bytes:
        """A crosswalk's export (a column's ``map``), read for this build."""
        export_id, data = self.read_export(export)
        log.info("Read the crosswalk of export %s (%s): %d byte(s)", export, export_id,
                 len(data))
        return data

    def records(self, manifest: ExtractManifest) -> Iterator[dict]:
        """The records an extract staged, streamed."""
        if manifest.path is None:
            raise ConnectorError(f"the {manifest.entity} extract staged no file")
        return read_records(self.path_of(manifest.path))

    def _refresh(self, entity: str) -> Iterator[dict]:
        """A lookup list read afresh (a key was missing from the one extracted)."""
        path = self.out_dir / f"lookup_{entity}.jsonl"
        with self.zoho_client() as client:
            stage_extract(client, entity, ExtractWindow(), path)
        return read_records(path)
