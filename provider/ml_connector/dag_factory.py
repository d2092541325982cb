"""One DAG per flow of ``flows.yaml``: extract -> build -> import -> wait -> reconcile."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
    ObjectStoragePath,
)
from airflow.sdk import DAG, CronDataIntervalTimetable, get_current_context, task

from ml_connector.flows.spec import SCHEDULES, Defaults, Flow, load_flows
from ml_connector.hooks.anaplan import AnaplanHook
from ml_connector.hooks.state import state_store, state_url
from ml_connector.hooks.zoho_books import ZohoBooksHook
from ml_connector.operators.anaplan_import import AnaplanImportOperator
from ml_connector.operators.extract_zoho import ExtractZohoOperator
from ml_connector.operators.staging import staged_path
from ml_connector.sensors.anaplan import AnaplanTaskSensor
from ml_connector.state.audit import AuditLog
from ml_connector.state.cells import CellLog
from ml_connector.transport.errors import ConnectorError
from ml_connector.zoho.extract import ExtractWindow, stage_extract

log = logging.getLogger(__name__)



def _doc(flow: Flow) -> str:
    columns = "\n".join(f"- `{name}`: {col.model_dump(exclude_none=True, exclude_defaults=True)}"
                        for name, col in flow.columns.items())
    credited = f" less `{flow.credits}`" if flow.credits else ""
    return (f"### {flow.id}\n{flow.description}\n\nZoho `{flow.entity}`{credited} "
            f"({flow.mode}, {flow.grain} grain, lines as {flow.lines}) into Anaplan import "
            f"`{flow.target.import_}`.\n\n{columns}\n")


def flow_dag(flow: Flow, defaults: Defaults) -> DAG:
    """The DAG of one flow; its id is ``zoho_<flow id>``.

    Incremental aggregate flows first read what changed (``changes``), then re-extract every
    month those records touch (``scope`` -> ``extract``), so each cell sent is whole.
    """
    zoho_pool: dict[str, Any] = {"pool": defaults.zoho_pool.name} if defaults.zoho_pool else {}
    zoho_pool["on_quota"] = defaults.on_quota
    anaplan_pool: dict[str, Any] = (
        {"pool": defaults.anaplan_pool.name} if defaults.anaplan_pool else {})
    with DAG(
        dag_id=f"zoho_{flow.id}",
        description=flow.description or f"Zoho {flow.entity} to Anaplan {flow.target.import_}",
        schedule=CronDataIntervalTimetable(SCHEDULES[flow.schedule], timezone="UTC"),
        start_date=datetime.combine(defaults.start_date, datetime.min.time(), timezone.utc),
        catchup=False,
        max_active_runs=1,
        tags=["ml-connector", "zoho-books", "anaplan", flow.entity],
        doc_md=_doc(flow),
        default_args={"owner": defaults.owner, "retries": defaults.retries,
                      "retry_delay": timedelta(minutes=2)},
    ) as dag:
        lookups = {
            entity: ExtractZohoOperator(
                task_id=f"extract_{entity}", entity=entity, mode="full",
                reuse_within=timedelta(hours=defaults.lookup_max_age_hours) or None,
                zoho_conn_id=defaults.zoho_conn_id, **zoho_pool)
            for entity in sorted(flow.lookup_entities)
        }
        changes_task = "changes" if flow.rebuilds_months else "extract"
        if flow.rebuilds_months:
            changes = ExtractZohoOperator(
                task_id="changes", entity=flow.entity, with_entities=flow.entities[1:],
                mode="incremental", watermark_key=flow.id,
                zoho_conn_id=defaults.zoho_conn_id,
                overlap=timedelta(minutes=flow.overlap_minutes), **zoho_pool)

            @task(task_id="scope")
            def scope(manifest: Any) -> list[list[str]]:
                from ml_connector.flows.steps import read_records
                from ml_connector.flows.windows import affected_months, month_window
                from ml_connector.zoho.entities import get_entity

                if not manifest["count"]:
                    raise AirflowSkipException(f"no {flow.entity} changed since the watermark")
                audit = AuditLog(state_store(state_url()))
                months = affected_months(
                    read_records(ObjectStoragePath(manifest["path"])), str(flow.period_field),
                    [get_entity(e).id_field for e in flow.entities],
                    lambda ids: audit.windows_of(flow.id, ids))
                log.info("%d changed record(s) touch %d month(s): %s", manifest["count"],
                         len(months), ", ".join(m.strftime("%b %Y") for m in months))
                return [list(month_window(m)) for m in months]

            scoped = scope(changes.output)
        reads: dict[str, Any] = (
            {"mode": "period", "windows": "{{ ti.xcom_pull(task_ids='scope') | tojson }}"}
            if flow.rebuilds_months else {"mode": flow.mode})
        extract = ExtractZohoOperator(
            task_id="extract", entity=flow.entity, with_entities=flow.entities[1:],
            zoho_conn_id=defaults.zoho_conn_id,
            line_items=flow.uses_lines, watermark_key=flow.id,
            overlap=timedelta(minutes=flow.overlap_minutes), **zoho_pool, **reads,
        )
        if flow.rebuilds_months:
            scoped >> extract

        def run_windows(context: Mapping[str, Any]) -> list[tuple[str, str]]:
            if flow.rebuilds_months:
                return [tuple(w) for w in context["ti"].xcom_pull(task_ids="scope")]
            return [(context["data_interval_start"].isoformat(),
                     context["data_interval_end"].isoformat())]

        @task(task_id="build")
        def build(manifest: Any, lookup_manifests: Any) -> dict:
            from ml_connector.flows.steps import build_step, read_records

            # (A rebuilt month with no records left still clears its cells: no skip then.)
            if flow.mode == "incremental" and not flow.rebuilds_months and not manifest["count"]:
                raise AirflowSkipException(f"no {flow.entity} changed since the watermark")
            context = get_current_context()
            out_dir = staged_path(None, context, "x").parent
            staged = ObjectStoragePath(manifest["path"])
            clear = CellLog(state_store(state_url())).cells(
                flow.id, [w[0] for w in run_windows(context)]
            ) if flow.grain == "aggregate" else ()


            def refresh(entity: str) -> Iterator[dict]:
                path = out_dir / f"lookup_{entity}.jsonl"
                with ZohoBooksHook(defaults.zoho_conn_id).client as client:
                    stage_extract(client, entity, ExtractWindow(), path)
                return read_records(path)

            built = build_step(flow, lambda: read_records(staged), lookup_manifests, out_dir,
                               ObjectStoragePath, clear=clear, refresh=refresh)
            log.info("Built %d row(s) from %d record(s); skipped %d %s; %d emptied cell(s) "
                     "sent as zero", built["rows"], built["records"], built["skipped"],
                     built["skipped_reasons"], built["cleared"])
            return built

        built = build(extract.output, {e: op.output for e, op in lookups.items()})
        params = [{"entityType": k, "entityName": v}
                  for k, v in flow.target.mapping_parameters.items()]
        start = AnaplanImportOperator(
            task_id="import", import_id=flow.target.import_,
            source="{{ ti.xcom_pull(task_ids='build')['csv'] }}",
            anaplan_conn_id=defaults.anaplan_conn_id, workspace_id=flow.target.workspace_id,
            model_id=flow.target.model_id, mapping_parameters=params or None, **anaplan_pool,
        )
        wait = AnaplanTaskSensor(
            task_id="wait", import_id="{{ ti.xcom_pull(task_ids='import')['import_id'] }}",
            anaplan_task_id="{{ ti.xcom_pull(task_ids='import', key='task_id') }}",
            anaplan_conn_id=defaults.anaplan_conn_id, workspace_id=flow.target.workspace_id,
            model_id=flow.target.model_id, allow_rejected_rows=True, **anaplan_pool,
        )

        @task(task_id="reconcile", trigger_rule="all_done")
        def reconcile() -> dict:
            from ml_connector.flows.steps import reconcile_step

            context = get_current_context()
            ti = context["ti"]
            manifest = ti.xcom_pull(task_ids=changes_task)
            if flow.mode == "incremental" and manifest and not manifest["count"]:
                log.info("Nothing changed since the watermark; nothing sent")
                return {"flow": flow.id, "counts": {}, "changed": 0}
            started, built = ti.xcom_pull(task_ids="import"), ti.xcom_pull(task_ids="build")
            if not started or not built:
                raise AirflowException("the import did not start; nothing to reconcile")
            client = AnaplanHook(defaults.anaplan_conn_id, flow.target.workspace_id,
                                 flow.target.model_id).client
            status = client.task(started["import_id"], started["task_id"])
            rejected = (client.rejected_rows(started["import_id"], status.task_id, None, status)
                        if status.failure_dump else [])
            store = state_store(state_url())
            try:
                summary = reconcile_step(
                    flow, built, run_windows(context), started["import_id"], status.as_dict(),
                    rejected, AuditLog(store), context["run_id"], ObjectStoragePath,
                    cells=CellLog(store))
            except ConnectorError as exc:
                # Rejected rows fail the same way on every retry: fail now, with the audit
                # written, and leave the watermark where it was.
                raise AirflowFailException(str(exc)) from None
            if flow.mode == "incremental" and status.ok and manifest["max_last_modified_time"]:
                store.set_watermark(flow.id, manifest["max_last_modified_time"])
                summary["watermark"] = manifest["max_last_modified_time"]
            log.info("Audit %s; watermark %s", summary["counts"],
                     summary.get("watermark", "unchanged"))
            return summary

        [built, *lookups.values()] >> start >> wait >> reconcile()
    return dag


def build_dags(path: str | Path) -> dict[str, DAG]:
    """All enabled flows of a ``flows.yaml`` as DAGs, by dag id."""
    spec = load_flows(path)
    return {f"zoho_{f.id}": flow_dag(f, spec.defaults) for f in spec.flows if f.enabled}
