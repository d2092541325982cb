"""A month of a flow for a person (``ml-connector reconcile``, ``ml-connector plan``): the
cells as the books give them beside what Anaplan holds, and, for a ledger flow set beside a
document flow, what makes their cells differ, account by account (journals, expenses and
other transaction types the document flow does not read); or what a run would change. A
flow of several organizations is reported per entity, naming those that could not be read.

Nothing is imported and no watermark moves: the flow's reads and build run into a
scratch directory, and the target module is read through the flow's export.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ml_connector.errors import ConfigError
from ml_connector.flows.build import period_label
from ml_connector.flows.local import Walked, walk
from ml_connector.flows.plan import flow_plan
from ml_connector.flows.preview import Preview
from ml_connector.flows.run import BuildManifest, FlowRun
from ml_connector.flows.spec import TRANSACTION_MODULES, Defaults, Flow
from ml_connector.flows.verify import (
    Cells,
    Key,
    Layout,
    books_cells,
    plain_key,
)
from ml_connector.state.store import StateStore
from ml_connector.window import Window
from ml_connector.zoho.extract import ExtractManifest

ZERO = Decimal(0)
#: The ledger's transaction type of each document module.
TYPE_OF = {module: kind for kind, module in TRANSACTION_MODULES.items()}


@dataclass
class FlowMonth:
    """One flow's month: the cells its build gives and, when read, what Anaplan holds; of a
    flow of several organizations, the entities read and those left out (with why)."""

    run: FlowRun
    layout: Layout
    books: Cells
    held: Cells | None = None
    extract: ExtractManifest | None = None
    entities: list[str] | None = None
    left_out: dict[str, str] = field(default_factory=dict)

    @property
    def entity_at(self) -> int | None:
        """Where a cell's key holds its entity (a flow of several organizations)."""
        column = self.run.flow.entity_column
        return self.layout.keys.index(column) if self.entities is not None and column \
            else None


@dataclass
class MonthReport:
    """The lines to print, and how many cells differ between the books and Anaplan."""

    lines: list[str] = field(default_factory=list)
    differences: int = 0
    left_out: list[str] = field(default_factory=list)  # organizations not read


def command_run(flow: Flow, store: StateStore, defaults: Defaults, run_id: str,
                interval: Window, out: Any, months: list[date] | None = None,
                dry_run: bool = False, reopen: bool = False) -> FlowRun:
    """A run of ``flow`` for a command, its clients from the Airflow connections the
    flows file names (as its DAG's tasks open them), its files in ``out``."""
    from ml_connector.hooks.clients import flow_clients

    return FlowRun(flow, store, run_id=run_id, interval=interval, out_dir=out, months=months,
                   dry_run=dry_run, defaults=defaults, reopen=reopen,
                   **flow_clients(flow, defaults))


def walked(run: FlowRun, defaults: Defaults, through: str, *, partial: bool = False
           ) -> Walked:
    """``run``'s steps up to ``through`` (no import), raising the failure of one; with
    ``partial``, not an organization's once ``through`` gave its manifest (the
    organizations that were read are combined)."""
    assert run.zoho is not None and run.anaplan is not None
    done = walk(run, flow_plan(run.flow, defaults), through=through)
    if (failure := done.verdict()) is not None and not (partial and through in done.outputs):
        raise failure
    return done


def nothing_built(run: FlowRun, done: Walked) -> ConfigError:
    """The error of a walk that built no file (the reasons its steps were skipped)."""
    return ConfigError(f"flow {run.flow.id}: nothing was built for "
                       f"{', '.join(w.start[:7] for w in run.windows(None))}: "
                       f"{'; '.join(done.skipped.values())}")


def planned(run: FlowRun, defaults: Defaults) -> Preview:
    """What a dry run of ``run`` (``dry_run`` set) would change: its steps through the
    ``dry_run`` step, which writes the planned audit entry."""
    if run.flow.grain != "aggregate" or not run.dry_run:
        raise ConfigError(f"flow {run.flow.id} is of grain {run.flow.grain}: plan an "
                          "aggregate flow")
    run.log_plan = False  # the caller shows the table
    # A flow of several organizations plans those it could read (the others are named
    # in the log, as a run names them).
    done = walked(run, defaults, "dry_run", partial=bool(run.flow.organizations_of(defaults)))
    found = done.outputs.get("dry_run")
    if not isinstance(found, Preview):
        raise nothing_built(run, done)
    return found


def flow_month(run: FlowRun, defaults: Defaults, *, read_back: bool) -> FlowMonth:
    """Read and build ``run``'s month (no import); with ``read_back``, export what Anaplan
    holds for it through the flow's ``verify`` export."""
    flow = run.flow
    if flow.mode != "period" or flow.grain != "aggregate":
        raise ConfigError(f"flow {flow.id} is {flow.mode}/{flow.grain}: reconcile a monthly "
                          "aggregate flow (mode period, grain aggregate)")
    several = bool(flow.organizations_of(defaults))
    through = "combine" if several else "build"
    done = walked(run, defaults, through, partial=several)
    built, extract = done.outputs.get(through), done.outputs.get("extract")
    if not isinstance(built, BuildManifest) or not (
            several or isinstance(extract, ExtractManifest)):
        raise nothing_built(run, done)
    month = FlowMonth(run, Layout.of(flow), run.sent_cells(built),
                      extract=extract if isinstance(extract, ExtractManifest) else None,
                      entities=list(built.parts) if several else None,
                      left_out=dict(built.failed))
    if read_back:
        if flow.verify is None:
            raise ConfigError(f"flow {flow.id} names no export to read Anaplan through: add "
                              "verify (export, columns, where) to it in flows.yaml")
        label = period_label(run.windows(None)[0].start[:10])
        held = run.held_cells({label})[1]
        at = month.entity_at
        month.held = held if at is None else {  # the cells of an entity not read stay aside
            k: v for k, v in held.items() if k[at] in (month.entities or [])}
    return month


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def report(month: FlowMonth, against: FlowMonth | None = None) -> MonthReport:
    """The books against Anaplan, cell by cell; then, given ``against`` (a document flow of
    the same month), the ledger flow's cells explained against it."""
    out = MonthReport()
    flow, layout = month.run.flow, month.layout
    held = month.held or {}
    measures = layout.measures
    if len(measures) == 1:
        out.lines.append(f"{flow.id}: {' x '.join(layout.keys)}, {measures[0]} (base currency)")
    else:  # each cell's line names its measure
        out.lines.append(f"{flow.id}: {' x '.join(layout.keys)}; {', '.join(measures)}")
    named = f" {'measure':<16}" if len(measures) > 1 else ""
    out.lines.append(f"{' / '.join(layout.keys):<24}{named} {'books':>16} {'Anaplan':>16} "
                     f"{'difference':>14}")
    at = month.entity_at
    cells: Counter[str] = Counter()  # entity ('' for a flow of one) -> cells, differing
    differing: Counter[str] = Counter()
    keys = sorted(set(month.books) | set(held),
                  key=lambda k: (order_of(month.entities or [], k[at]), k) if at is not None
                  else ((0, ""), k))
    zero = [ZERO] * len(measures)
    for key in keys:
        books_of, held_of = month.books.get(key, zero), held.get(key, zero)
        differs = False
        for n, measure in enumerate(measures):
            books = books_of[n]
            cell = held_of[n] if month.held is not None else None
            wrong = cell is not None and cell != books
            differs |= wrong
            measure_of = f" {measure:<16}" if len(measures) > 1 else ""
            out.lines.append(
                f"{' / '.join(key):<24}{measure_of} {_money(books):>16} {_money(cell):>16} "
                f"{_money(cell - books) if wrong and cell is not None else '':>14}")
        out.differences += differs
        entity = key[at] if at is not None else ""
        cells[entity] += 1
        differing[entity] += differs
    if month.held is not None:
        out.lines += [f"{entity}: {cells[entity]} cell(s), {differing[entity]} differ from "
                      "the books" for entity in month.entities or []]
        out.lines.append(f"{len(keys)} cell(s), {out.differences} differ from the books")
    if month.left_out:
        out.left_out = list(month.left_out)
        out.lines += [f"{entity}: not read ({why}); its cells are not compared"
                      for entity, why in month.left_out.items()]
    if flow.is_ledger and month.extract is not None:
        books_again = books_cells(flow, layout, month.run.records(month.extract))
        if books_again is not None and books_again != month.books:
            out.lines.append("the postings summed again differ from the build: "
                             f"{_diff(books_again, month.books)}")
    if against is not None:
        out.lines += explain(month, against)
    return out


def order_of(entities: list[str], entity: str) -> tuple[int, str]:
    """An entity's place: the flow's order, then any other by name."""
    return (entities.index(entity), "") if entity in entities else (len(entities), entity)


def _diff(a: Cells, b: Cells) -> str:
    keys = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return ", ".join(" / ".join(k) for k in keys[:10])


def explain(ledger: FlowMonth, documents: FlowMonth) -> list[str]:
    """Per cell where the ledger flow and the document flow differ: the ledger's amount by
    transaction type, the types the document flow does not read named as the cause."""
    lflow, dflow = ledger.run.flow, documents.run.flow
    if several := [m.run.flow.id for m in (ledger, documents) if m.entities is not None]:
        raise ConfigError(f"--against compares flows of one organization; {several[0]} reads "
                          "several: reconcile it without --against")
    if not lflow.is_ledger or ledger.extract is None:
        raise ConfigError(f"--against compares a ledger flow with a document flow; "
                          f"{lflow.id} is not a ledger flow")
    if dflow.is_ledger or documents.layout.keys != ledger.layout.keys:
        raise ConfigError(f"--against {dflow.id}: needs a document flow with the same columns "
                          f"({', '.join(ledger.layout.keys)})")
    read = {TYPE_OF[m] for m in dflow.entities if m in TYPE_OF}
    by_type: dict[Key, dict[str, Decimal]] = {}
    for key, kind, amount in _typed(ledger):
        cell = by_type.setdefault(key, {})
        cell[kind] = cell.get(kind, ZERO) + amount
    # The accounts the document flow speaks for: those it sends, or that its types post to.
    keys = set(documents.books) | {k for k, kinds in by_type.items() if set(kinds) & read}
    lines = [f"\n{lflow.id} (ledger) against {dflow.id} (documents: "
             f"{', '.join(sorted(read))})"]
    differ = 0
    for key in sorted(keys):
        total = sum(by_type.get(key, {}).values(), ZERO)
        doc = documents.books.get(key, [ZERO])[0]
        if total == doc:
            continue
        differ += 1
        causes = {k: v for k, v in by_type.get(key, {}).items() if k not in read and v}
        left = total - doc - sum(causes.values(), ZERO)
        parts = [f"{kind} {_money(v)}" for kind, v in sorted(causes.items())]
        if left:
            parts.append(f"unexplained {_money(left)} (the same documents posted otherwise: "
                         "check the audit trail of both flows)")
        lines.append(f"  {' / '.join(key)}: ledger {_money(total)}, {dflow.id} {_money(doc)}, "
                     f"difference {_money(total - doc)} = {' + '.join(parts)}")
    lines.append(f"  {differ} of {len(keys)} cell(s) differ" + (
        "; the rest agree" if differ < len(keys) else ""))
    return lines


def _typed(month: FlowMonth) -> Iterator[tuple[Key, str, Decimal]]:
    """(cell key, transaction type, amount) of each staged posting of a ledger flow."""
    flow, layout = month.run.flow, month.layout
    key_of = plain_key(flow, layout)
    assert month.extract is not None and key_of is not None
    amount = str(flow.columns[layout.measures[0]].amount)
    for record in month.run.records(month.extract):
        yield key_of(record), str(record.get("transaction_type")), Decimal(
            str(record.get(amount)))
