"""Test DAG: a month of invoice details that today's Zoho quota cannot carry waits in the
triggerer for the organization's midnight, then runs."""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG

from ml_connector.operators.extract_zoho import ExtractZohoOperator

with DAG(
    dag_id="zoho_quota_wait",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    tags=["ml-connector", "test"],
) as dag:
    ExtractZohoOperator(
        task_id="extract",
        entity="invoices",
        line_items=True,
        window_start="2026-01-01",
        window_end="2026-02-01",
        on_quota="wait",
        retries=0,
    )
