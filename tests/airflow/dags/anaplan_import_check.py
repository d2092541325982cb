"""Test DAG: import staged files into the sandbox model, waiting in the triggerer."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG

from ml_connector.operators.anaplan_import import AnaplanImportOperator
from ml_connector.sensors.anaplan import AnaplanTaskSensor

with DAG(
    dag_id="anaplan_import_check",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    tags=["ml-connector", "test"],
    # Retries for what may pass on a second try; a failure that would repeat skips them.
    default_args={"retries": 2, "retry_delay": timedelta(seconds=1)},
) as dag:
    accounts = AnaplanImportOperator(
        task_id="import_accounts",
        import_id="Accounts from Zoho",
        source="{{ dag_run.conf['accounts'] }}",
        wait_for_completion=True,
        deferrable=True,
    )
    start = AnaplanImportOperator(
        task_id="start_actuals",
        import_id="112000000006",
        source="{{ dag_run.conf['actuals'] }}",
    )
    wait = AnaplanTaskSensor(
        task_id="wait_actuals",
        import_id="112000000006",
        anaplan_task_id="{{ ti.xcom_pull(task_ids='start_actuals', key='task_id') }}",
        deferrable=True,
        allow_rejected_rows=True,
    )
    accounts >> start >> wait
