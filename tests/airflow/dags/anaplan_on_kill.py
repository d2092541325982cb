"""Test DAG: two imports that run until a user marks their task failed, one waiting in the
worker, the next (after the first ends, whatever its state) in the triggerer."""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG

from ml_connector.operators.anaplan_import import AnaplanImportOperator

with DAG(
    dag_id="anaplan_on_kill",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    tags=["ml-connector", "test"],
) as dag:
    in_worker = AnaplanImportOperator(
        task_id="import_in_worker",
        import_id="Accounts from Zoho",
        source="{{ dag_run.conf['accounts'] }}",
        wait_for_completion=True,
        deferrable=False,
    )
    deferred = AnaplanImportOperator(
        task_id="import_deferred",
        import_id="Accounts from Zoho",
        source="{{ dag_run.conf['accounts'] }}",
        wait_for_completion=True,
        deferrable=True,
        trigger_rule="all_done",
    )
    in_worker >> deferred
