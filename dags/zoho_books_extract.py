"""Monthly extract of Zoho Books invoices and bills, with a summary of what was read.

Each run reads the documents dated in its data interval (one calendar month), so a backfill
of past months reads exactly those months. Connection: ``zoho_books_default``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, CronDataIntervalTimetable, ObjectStoragePath, task

from ml_connector.operators.extract_zoho import ExtractZohoOperator
from ml_connector.zoho.report import read_jsonl, summarize_records

with DAG(
    dag_id="zoho_books_extract",
    description="Extract a month of Zoho Books invoices and bills",
    schedule=CronDataIntervalTimetable("0 0 1 * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["ml-connector", "zoho-books"],
    doc_md=__doc__,
    default_args={"owner": "finance-data", "retries": 2, "retry_delay": timedelta(minutes=1)},
) as dag:
    extracts = [
        ExtractZohoOperator(task_id=f"extract_{entity}", entity=entity)
        for entity in ("invoices", "bills")
    ]

    @task
    def report(manifests: list[dict]) -> dict:
        """Summarise each staged extract and write ``report.json`` beside them."""
        summary = {}
        for manifest in manifests:
            with ObjectStoragePath(manifest["path"]).open("r", encoding="utf-8") as staged:
                summary[manifest["entity"]] = {
                    **summarize_records(read_jsonl(staged)),
                    "requests": manifest["requests"],
                    "window": manifest["window"],
                }
        out = ObjectStoragePath(manifests[0]["path"]).parent / "report.json"
        with out.open("w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=2)
        print(json.dumps(summary, indent=2))
        return summary

    report([op.output for op in extracts])
