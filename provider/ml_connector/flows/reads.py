"""A flow's Zoho reads: which modules each step reads and how (``Read``), and the one
function that stages a read, whoever runs it (the extract operator, a flow step, the
request budget)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from ml_connector.errors import ListNotLoaded
from ml_connector.flows.dimensions import DIMENSION_FIELDS
from ml_connector.flows.ledger import Reuse, ledger_accounts, stage_ledger
from ml_connector.flows.spec import Defaults, Flow
from ml_connector.flows.windows import next_month
from ml_connector.state.lists import ListLoads
from ml_connector.state.reads import ReadLog
from ml_connector.state.store import StateStore
from ml_connector.window import month_name
from ml_connector.zoho.client import ZohoBooksClient
from ml_connector.zoho.extract import ExtractManifest, ExtractWindow, stage_extract
from ml_connector.zoho.fields import LISTED
from ml_connector.zoho.plan import Mode, plan_extract

log = logging.getLogger(__name__)

ReadKind = Literal["lookup", "changes", "extract", "ledger"]
#: A bound of a data interval: a datetime (Airflow's), ISO text (a flow run's) or none.
Moment = date | datetime | str | None


class Read(BaseModel):
    """One Zoho read of a flow: which modules, how, and under which watermark."""

    kind: ReadKind
    task_id: str
    entities: list[str]
    mode: Mode
    line_items: bool = False
    watermark_key: str | None = None
    overlap_minutes: float = 10
    reuse_hours: float | None = None
    #: Said before a long detail read: where the same figures cost fewer requests.
    hint: str = ""
    #: Module ``tagoptions``: only these reporting tags' options (the flow's ``where:
    #: {tag_name: ...}``); empty: every tag's.
    tags: list[str] = []
    #: The organization (its entity key) of a flow of several: its watermark is its own.
    organization: str = ""

    @property
    def overlap(self) -> timedelta:
        return timedelta(minutes=self.overlap_minutes)

    @property
    def rebuilds(self) -> bool:
        """Whether the read takes the months to rebuild (a ``Scope``) as its windows."""
        return self.kind in ("extract", "ledger")


def flow_reads(flow: Flow, defaults: Defaults) -> list[Read]:
    """What a run of ``flow`` reads from Zoho, in order: the lookup lists (whole, reused
    while young), then, for an incremental aggregate flow, the records ``changes``d since the
    watermark (header lists only), then the ``extract`` of the flow's modules, or for a
    ledger flow the ``ledger`` postings of its accounts (the scoped months whole, for an
    incremental aggregate flow)."""
    reads = [Read(kind="lookup", task_id=f"extract_{entity}", entities=[entity], mode="full",
                  reuse_hours=defaults.lookup_max_age_hours or None)
             for entity in sorted(flow.lookup_entities)]
    if flow.rebuilds_months:
        reads.append(Read(kind="changes", task_id="changes", entities=flow.change_entities,
                          mode="incremental", watermark_key=flow.id,
                          overlap_minutes=flow.overlap_minutes))
    reads.append(Read(kind="ledger" if flow.is_ledger else "extract", task_id="extract",
                      entities=flow.entities,
                      mode="period" if flow.rebuilds_months else flow.mode,
                      line_items=reads_details(flow), watermark_key=flow.id,
                      overlap_minutes=flow.overlap_minutes, hint=ledger_hint(flow),
                      tags=wanted_tags(flow)))
    return reads


def wanted_tags(flow: Flow) -> list[str]:
    """The reporting tags a ``tagoptions`` flow keeps (``where: {tag_name: ...}``), read
    alone: one request a tag instead of one for every tag of the organization."""
    wanted = flow.where.get("tag_name") if flow.entity == "tagoptions" else None
    return [wanted] if isinstance(wanted, str) else list(wanted or [])


def reads_details(flow: Flow) -> bool:
    """Whether a run reads each document's detail (one request per document not in the
    detail cache): for its line items (or an expense's posting), for a reporting tag (Zoho
    serves tags in details only), or for a header field its module's list rows lack."""
    if flow.is_ledger:
        return False
    if flow.uses_lines or any(c.tag is not None for c in flow.columns.values()):
        return True
    listed = LISTED.get(flow.entity)
    return listed is not None and not header_fields(flow) <= listed


def header_fields(flow: Flow) -> set[str]:
    """The document fields a documents flow reads besides its lines: its columns' (an
    amount in the base currency reads ``exchange_rate``; a dimension its id or name), and
    those of ``where``, ``status`` and ``date``."""
    found = {"status", "date", *flow.where}
    for column in flow.columns.values():
        source = column.source_field
        if source is not None and not source.startswith("line."):
            found.add(source)
        if column.amount is not None and column.currency == "base":
            found.add("exchange_rate")
        if column.dimension is not None and column.dimension != "item":
            found.add(DIMENSION_FIELDS[column.dimension][column.value == "name"])
    return found


def ledger_hint(flow: Flow) -> str:
    """For a documents flow that sums line details per month: the ledger's way to the
    same month (one request per account and month, whatever the number of documents)."""
    if flow.is_ledger or flow.grain != "aggregate" or not flow.uses_lines or flow.dimensional:
        return ""
    return (f"{flow.id}: a month's amounts per account are also in Zoho's general ledger, "
            "where a ledger flow (source: ledger, e.g. pl_actuals) reads them in about one "
            "request per account and month however many documents the month holds, "
            "journals and expenses included (docs/flows.md, Ledger flows)")


@dataclass(frozen=True)
class Ledger:
    """What a ``ledger`` read needs besides its window: its flow and the chart of accounts
    (and when another ledger run's read of a month may stand in: ``reuse``)."""

    flow: Flow
    chart: Iterable[dict]
    reuse: Reuse | None = None


def stage_read(client: ZohoBooksClient, store: StateStore | None, read: Read, path: Any, *,
               interval: tuple[Moment, Moment] = (None, None),
               windows: str | Sequence[Sequence[str]] | None = None,
               ledger: Ledger | None = None, requires: Mapping[str, str] | None = None,
               recorded_as: tuple[str, str] | None = None, watermark: str | None = None,
               **options: Any) -> ExtractManifest:
    """Stage ``read`` into ``path``: refuse while a list it ``requires`` (list flow ->
    the error) was never loaded, take the watermark of an incremental read from ``store``
    (unless given), choose the window (``windows``, a rebuild's months, replace the data
    ``interval``; ``window_start``, ``window_end`` and ``modified_after`` in ``options``
    bound it), read, and keep the read's counts under ``recorded_as`` (dag id, run id).
    Other ``options`` go to ``stage_extract`` (``progress``, ``progress_every``, ``leave``,
    ``partial``)."""
    if requires and store is not None:
        loads = ListLoads(store)
        if missing := [why for flow, why in requires.items() if loads.read_at(flow) is None]:
            raise ListNotLoaded("; ".join(missing))
    bounds = {k: options.pop(k) for k in ("window_start", "window_end", "modified_after")
              if k in options}
    if read.mode != "incremental" or bounds.get("modified_after"):
        watermark = None
    elif watermark is None and read.watermark_key and store is not None:
        watermark = store.get_watermark(read.watermark_key, read.organization)
    window = plan_extract(read.mode, windows=windows if read.rebuilds else None,
                          interval_start=interval[0], interval_end=interval[1],
                          watermark=watermark, overlap=read.overlap, **bounds)
    windows_read = [window] if isinstance(window, ExtractWindow) else window
    emit = options.get("progress") or log.info
    emit(f"Extracting {'+'.join(read.entities)} from organization {client.organization_id}"
         f"{month_words(windows_read)}, window {describe(window)} -> {path}")
    if read.kind == "ledger":
        assert ledger is not None and ledger.flow.ledger is not None, "a ledger read needs " \
            "its flow and the chart of accounts"
        accounts = ledger_accounts(ledger.flow.ledger, ledger.chart, ledger.flow.id)
        manifest = stage_ledger(client, accounts, windows_read, path,
                                transaction_types=ledger.flow.ledger.transaction_types,
                                progress=options.get("progress"), reuse=ledger.reuse)
    else:
        entities = read.entities if len(read.entities) > 1 else read.entities[0]
        reuse = read.reuse_hours * 3600 if read.reuse_hours else None
        manifest = stage_extract(client, entities, window, path, line_items=read.line_items,
                                 reuse_within=reuse, hint=read.hint, tags=read.tags,
                                 **options)
    counted = " and ".join(f"{n} {module}" for module, n in manifest.entities.items()) \
        if manifest.entities and len(manifest.entities) > 1 else \
        f"{manifest.count} {manifest.entity}"
    if manifest.reused_from is None:
        cached = "account-month(s) from another ledger flow's read" \
            if read.kind == "ledger" else "details from the cache"
        emit(f"Read {counted} in {manifest.requests:,} requests "
             f"({manifest.cache_hits:,} {cached}); newest last_modified_time "
             f"{manifest.max_last_modified_time}")
    if recorded_as is not None and store is not None:
        ReadLog(store).record(*recorded_as, read.task_id, manifest)
    return manifest


def month_words(windows: list[ExtractWindow]) -> str:
    """`` for January 2026`` when ``windows`` are whole calendar months, else empty."""
    if not windows or not all(w.start and w.end and w.start.day == 1 and w.end.day == 1
                              and next_month(w.start) == w.end for w in windows):
        return ""
    return " for " + ", ".join(month_name(w.start) for w in windows if w.start)


def describe(window: ExtractWindow | list[ExtractWindow]
             ) -> dict[str, str | None] | list[dict[str, str | None]]:
    """A window as the task log shows it."""
    return [w.describe() for w in window] if isinstance(window, list) else window.describe()
