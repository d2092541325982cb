"""A dry run of an aggregate flow (``ml-connector plan``, the DAG's ``dry_run`` param): the
cells its import file would set held against what Anaplan holds (read back through the
flow's ``verify`` export) or what the state store says was sent, cell by cell: added,
changed (old -> new), zeroed (sent before, no record feeds it now: sent as 0) and how many
stay as they are. Nothing is uploaded and no watermark moves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from ml_connector.errors import NothingChanged
from ml_connector.flows.build import period_label
from ml_connector.flows.files import SentCell, read_lines
from ml_connector.flows.spec import dag_id
from ml_connector.flows.verify import Cells, Key, Layout, number, of_entities
from ml_connector.state.anaplan_requests import AnaplanRequests
from ml_connector.state.reads import ReadLog

if TYPE_CHECKING:
    from ml_connector.flows.run import BuildManifest, FlowRun, Scope

Kind = Literal["added", "changed", "zeroed"]
KINDS: tuple[Kind, ...] = ("added", "changed", "zeroed")
ZERO = Decimal(0)


class CellChange(BaseModel):
    """One cell the run would set differently: its key, amounts before (None: no cell, or
    a cell recorded before amounts were kept) and after, as text."""

    kind: Kind
    key: list[str]
    old: list[str] | None
    new: list[str]

    def line(self) -> str:
        old = " | ".join(_money(v) for v in self.old) if self.old is not None else "-"
        new = " | ".join(_money(v) for v in self.new)
        said = new if self.kind == "added" else f"{old} -> {new}"
        return f"  {self.kind:<8} {' / '.join(self.key)}: {said}"


class Preview(BaseModel):
    """What the run would change (the ``dry_run`` step's manifest; ``planned`` False: the
    run was not a dry run and goes on to the import)."""

    flow: str
    run_id: str
    planned: bool = False
    against: str = ""  # "Anaplan export <id>" or "the state store"
    months: list[str] = Field(default_factory=list)  # month labels, as in the file
    columns: list[str] = Field(default_factory=list)  # the cell key's columns
    changes: list[CellChange] = Field(default_factory=list)
    unchanged: int = 0
    zoho_requests: int = 0
    anaplan_requests: int = 0

    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for c in self.changes if c.kind == kind) for kind in KINDS}

    def summary(self) -> str:
        """One line: what would change, against what, and that nothing was sent."""
        counts = self.counts()
        return (f"dry run of {', '.join(self.months) or 'no month'}: "
                f"{len(self.changes)} cell(s) would change ("
                + ", ".join(f"{n} {kind}" for kind, n in counts.items())
                + f"), {self.unchanged} unchanged, against {self.against}; nothing sent")

    def lines(self) -> list[str]:
        """The changes cell by cell, the summary and the requests spent."""
        head = f"{self.flow}: {' / '.join(self.columns)}"
        return [head, *(c.line() for c in self.changes), self.summary(),
                f"requests: Zoho {self.zoho_requests:,}, Anaplan {self.anaplan_requests:,}"]


def _money(text: str) -> str:
    return f"{Decimal(text):,.2f}"


def cell_changes(new: Cells, fed: Iterable[Key], old: Mapping[Key, list[Decimal] | None]
                 ) -> tuple[list[CellChange], int]:
    """(the changes, how many cells stay) when the file's cells ``new`` replace ``old``
    (a cell absent from both counts as zero; None: its amounts are not known). ``fed``:
    the cells records feed; the file's others are cells sent before, sent as zero."""
    fed = set(fed)
    changes: list[CellChange] = []
    unchanged = 0
    for key in sorted(new):
        after, before = new[key], old.get(key)
        if key not in old or before is not None:
            was = before if before is not None else [ZERO] * len(after)
            if was == after:
                unchanged += 1
                continue
        kind: Kind = ("zeroed" if key not in fed else "added"
                      if key not in old or (before is not None and not any(before))
                      else "changed")
        changes.append(CellChange(kind=kind, key=list(key), new=[str(v) for v in after],
                                  old=None if before is None else [str(v) for v in before]))
    return changes, unchanged


class Planned(NothingChanged):
    """A dry run ended before the import: ``preview`` says what it would have changed (the
    rest of the run is skipped, as when nothing changed)."""

    def __init__(self, preview: Preview) -> None:
        super().__init__(preview.summary())
        self.preview = preview


def preview(run: FlowRun, built: BuildManifest, scope: Scope | None = None) -> Preview:
    """What ``run``'s import file would change in its months: against what Anaplan holds
    (read through the flow's ``verify`` export) when the flow has one, else against the
    amounts the state store says were sent; with the Zoho and Anaplan requests the run
    spent so far (its reads', its steps' and this read-back's)."""
    flow, layout = run.flow, Layout.of(run.flow)
    before = run.anaplan_requests
    windows = built.windows if built.parts else run.windows(scope)
    months = list(dict.fromkeys(period_label(w.start[:10]) for w in windows))
    old: dict[Key, list[Decimal] | None]
    if flow.verify is not None:
        export_id, held = run.held_cells(set(months))
        old, against = dict(held), f"Anaplan export {export_id}"
    else:
        old, against = {}, "the state store"
        for month in sorted({w.start[:7] for w in windows}):
            for key, amounts in run.cells.amounts(flow.id, month).items():
                old[key] = None if amounts is None else [
                    number(a, f"state store cell {' / '.join(key)}") for a in amounts]
    old = of_entities(layout, flow.entity_column, old, built.months_of())
    fed = [tuple(c.key) for c in read_lines(run.path_of(built.cells_file), SentCell)] \
        if built.cells_file else []
    changes, unchanged = cell_changes(run.sent_cells(built), fed, old)
    dag = dag_id(flow.id)
    zoho = ReadLog(run.store).requests(dag, [run.run_id]).get(run.run_id, (0, 0))[0]
    anaplan = AnaplanRequests(run.store).totals(dag, [run.run_id]).get(run.run_id, 0)
    return Preview(flow=flow.id, run_id=run.run_id, planned=True, against=against,
                   months=months, columns=layout.keys, changes=changes, unchanged=unchanged,
                   zoho_requests=zoho,
                   anaplan_requests=anaplan + run.anaplan_requests - before)
