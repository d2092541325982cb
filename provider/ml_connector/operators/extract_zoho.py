"""ExtractZohoOperator: stream one Zoho Books entity for a window to a staged JSONL file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator, Context
from airflow.providers.standard.triggers.temporal import DateTimeTrigger

from ml_connector.errors import QuotaExhausted
from ml_connector.flows.closed import closed_rows, note_left_out
from ml_connector.flows.reads import Read, stage_read
from ml_connector.flows.spec import Defaults, Flow
from ml_connector.flows.windows import one_month
from ml_connector.hooks.state import DEFAULT_STATE_CONN_ID, state_store, state_url
from ml_connector.hooks.zoho_books import ZohoBooksHook
from ml_connector.operators.failures import fail_fast
from ml_connector.operators.lineage import file_dataset, operator_lineage, zoho_dataset
from ml_connector.operators.staging import staged_path
from ml_connector.state.units import UnitOutcomes
from ml_connector.zoho.entities import get_entity
from ml_connector.zoho.plan import Mode


class ExtractZohoOperator(BaseOperator):
    """Read one Zoho Books entity and stage it as JSON Lines; return a small manifest.

    :param entity: invoices, bills, purchaseorders, contacts, chartofaccounts, ...
    :param mode: as in ``flows.yaml``: ``period`` (documents dated in the run's data
        interval, or in ``[window_start, window_end)``), ``incremental`` (modified after
        ``modified_after`` or the flow's watermark less ``overlap``) or ``full``.
    :param with_entities: further modules read the same way into the same file, after
        ``entity`` (the credit notes of an invoice flow); records tell apart by id field.
    :param line_items: fetch each record's detail (with line items): one request per record.
    :param staging_base: base ``ObjectStoragePath`` URL for staged files (default
        ``[ml_connector] staging_base`` or ``file://$AIRFLOW_HOME/ml_connector/staging``).
    :param watermark_key: state-store key of the watermark read in incremental mode
        (default ``<dag_id>.<task_id>``).
    :param month: ``period`` mode: the documents dated in this month (``yyyy-mm``, templated;
        empty: the run's data interval), instead of ``window_start``/``window_end``.
    :param windows: several document-date windows read in turn, ``[[start, end], ...]`` or
        its JSON text (templated); replaces the single window of ``period`` mode.
    :param reuse_within: in ``full`` mode, reuse the organization's last full read of this
        list when it is younger than this (lookup lists such as the chart of accounts);
        every ``full`` read is kept for such reuse.
    :param on_quota: when the organization's daily Zoho quota (less its reserve) cannot carry
        the extract: ``fail`` at once (no retry), or fetch what fits today, ``wait`` in the
        triggerer until the quota resets and then run again (what was fetched is cached, so
        nothing is fetched twice and a job larger than a day advances every day).
    :param progress_every: seconds between progress lines in the task log.
    :param hint: a line said after the forecast of a detail read longer than a minute (a
        flow's: where a ledger flow reads the same month cheaper).
    :param requires: list flows whose Anaplan lists must have loaded (``mlc_list_loads``)
        before anything is read, each with the error while one has not (a fact flow's: its
        list flows' first loads); a missing one fails the task at once, without a Zoho
        request.
    :param tags: with ``entity="tagoptions"``, only these reporting tags' options (names or
        ids): one request a tag read instead of one for every tag of the organization.
    :param closed_of: ``(flow, defaults)`` of a record-grain incremental flow's read: the
        listed documents dated into months closed for the flow (Zoho's transaction locks,
        ``closed_before``) are left out before their details, kept in the manifest
        (``left_out``) and logged (``CLOSED MONTH CHANGED``), unless ``reopen``.
    :param reopen: with ``closed_of``, read closed months too (templated, e.g.
        ``"{{ params.reopen }}"``).
    :param organization: another organization of the connection's login than its
        ``organization_id``: an id, or a name found through ``GET /organizations``.
    :param unit: in a flow of several organizations, the entity key of the one read: its
        watermark is its own, and a failure is noted for the step that combines them.

    The manifest (XCom) holds the staged path, record count, window, request count and the
    newest ``last_modified_time`` seen; never the records themselves.
    """

    template_fields: Sequence[str] = (
        "entity", "window_start", "window_end", "modified_after", "staging_base", "windows",
        "month", "reopen",
    )
    ui_color = "#e8f1ff"

    def __init__(
        self,
        *,
        entity: str,
        zoho_conn_id: str = ZohoBooksHook.default_conn_name,
        mode: Mode = "period",
        window_start: str | None = None,
        window_end: str | None = None,
        month: str | None = None,
        modified_after: str | None = None,
        line_items: bool = False,
        overlap: timedelta = timedelta(minutes=10),
        staging_base: str | None = None,
        watermark_key: str | None = None,
        state_conn_id: str = DEFAULT_STATE_CONN_ID,
        windows: str | list | None = None,
        reuse_within: timedelta | None = None,
        on_quota: Literal["fail", "wait"] = "fail",
        progress_every: float = 30.0,
        hint: str = "",
        with_entities: Sequence[str] = (),
        requires: Mapping[str, str] | None = None,
        tags: Sequence[str] = (),
        closed_of: tuple[Flow, Defaults] | None = None,
        reopen: bool | str = False,
        organization: str | None = None,
        unit: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for name in (entity, *with_entities):
            if "{{" not in name:
                get_entity(name)  # fail at parse time on a typo, not at run time
        self.entity = entity
        self.with_entities = list(with_entities)
        self.zoho_conn_id = zoho_conn_id
        self.mode = mode
        self.window_start = window_start
        self.window_end = window_end
        self.month = month
        self.modified_after = modified_after
        self.line_items = line_items
        self.overlap = overlap
        self.staging_base = staging_base
        self.watermark_key = watermark_key
        self.state_conn_id = state_conn_id
        self.windows = windows
        if on_quota not in ("fail", "wait"):
            raise ValueError(f"on_quota must be 'fail' or 'wait', got {on_quota!r}")
        self.reuse_within = reuse_within
        self.on_quota = on_quota
        self.progress_every = progress_every
        self.hint = hint
        self.requires = dict(requires or {})
        self.tags = list(tags)
        self.closed_of = closed_of
        self.reopen = reopen
        self.organization = organization
        self.unit = unit

    @classmethod
    def of_read(cls, read: Read, **kwargs: Any) -> ExtractZohoOperator:
        """The operator of a flow's ``Read`` (its task id, modules, mode and watermark)."""
        return cls(task_id=read.task_id, entity=read.entities[0],
                   with_entities=read.entities[1:], mode=read.mode, line_items=read.line_items,
                   watermark_key=read.watermark_key, overlap=read.overlap,
                   reuse_within=timedelta(hours=read.reuse_hours) if read.reuse_hours else None,
                   hint=read.hint, tags=read.tags, unit=read.organization, **kwargs)

    @property
    def read(self) -> Read:
        """What this operator reads, as a flow's read step describes it."""
        return Read(kind="extract", task_id=self.task_id,
                    entities=[self.entity, *self.with_entities], mode=self.mode,
                    line_items=self.line_items,
                    watermark_key=self.watermark_key or f"{self.dag_id}.{self.task_id}",
                    overlap_minutes=self.overlap.total_seconds() / 60,
                    reuse_hours=self.reuse_within.total_seconds() / 3600
                    if self.reuse_within else None, hint=self.hint, tags=self.tags,
                    organization=self.unit)

    @fail_fast()
    def execute(self, context: Context, event: Any = None) -> dict[str, Any]:
        store = state_store(state_url(self.state_conn_id))
        client = ZohoBooksHook(self.zoho_conn_id, self.state_conn_id,
                               organization=self.organization).client
        path = staged_path(self.staging_base, context, f"{self.task_id}.jsonl")
        start, end = one_month(self.month) if self.month else (self.window_start,
                                                                 self.window_end)
        bounds: dict[str, Any] = {k: v for k, v in (("window_start", start),
                                    ("window_end", end),
                                    ("modified_after", self.modified_after)) if v}
        recorded_as = (context["ti"].dag_id, context["run_id"])
        try:
            left = closed_rows(*self.closed_of, client, store, recorded_as,
                               reopen=str(self.reopen).lower() in ("true", "1")) \
                if self.closed_of is not None else None
            summary = stage_read(
                client, store, self.read, path,
                interval=(context.get("data_interval_start"), context.get("data_interval_end")),
                windows=self.windows or None, requires=self.requires,
                recorded_as=recorded_as, progress=self.log.info,
                progress_every=self.progress_every, partial=self.on_quota == "wait",
                leave=left, **bounds)
            if self.closed_of is not None:
                note_left_out(self.closed_of[0], store, left, summary, self.log)
        except Exception as exc:
            if self.unit and not (isinstance(exc, QuotaExhausted) and self.on_quota == "wait"):
                UnitOutcomes(store).record(context["ti"].dag_id, context["run_id"], self.unit,
                                           "failed", f"{self.task_id}: {exc}")
            if not isinstance(exc, QuotaExhausted):
                raise
            if self.on_quota == "wait" and exc.resets_at is not None:
                resume = datetime.fromtimestamp(exc.resets_at + 60, timezone.utc)
                self.log.warning("%s Waiting in the triggerer until %s.", exc, resume.isoformat())
                self.defer(trigger=DateTimeTrigger(moment=resume), method_name="execute")
            raise AirflowFailException(str(exc)) from None
        finally:
            client.close()
        self._lineage = ([zoho_dataset(client.datacenter.region, summary.organization_id, e)
                          for e in [self.entity, *self.with_entities]], [file_dataset(
                              str(summary.path or path))])
        return summary.model_dump(mode="json")

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Inputs: the Zoho modules read; output: the staged file (OpenLineage provider)."""
        inputs, outputs = getattr(self, "_lineage", ([], []))
        return operator_lineage(inputs, outputs)
