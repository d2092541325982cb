"""Monthly actuals: Zoho Books invoices and bills into Anaplan, per account and month.

For each run's month: the chart of accounts goes to the ``Accounts`` list, then invoice and
bill line items (void and draft left out), converted to the base currency, are summed per
account and month and imported into ``Invoice Actuals`` and ``Bill Actuals``. Imports wait
in the triggerer (deferrable). Connections: ``zoho_books_default``, ``anaplan_default``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, CronDataIntervalTimetable, ObjectStoragePath, get_current_context, task

from ml_connector.flows.build import account_month_totals, account_rows, write_csv
from ml_connector.operators.anaplan_import import AnaplanImportOperator
from ml_connector.operators.extract_zoho import ExtractZohoOperator
from ml_connector.operators.staging import staged_path
from ml_connector.sensors.anaplan import AnaplanTaskSensor
from ml_connector.zoho.report import read_jsonl

ACTUALS = {
    "invoices": ("invoice_id", "Invoice Actuals by Account and Month"),
    "bills": ("bill_id", "Bill Actuals by Account and Month"),
}


def _records(manifest: dict):
    with ObjectStoragePath(manifest["path"]).open("r", encoding="utf-8") as staged:
        yield from read_jsonl(staged)


with DAG(
    dag_id="zoho_books_to_anaplan",
    description="Zoho Books invoices and bills to Anaplan actuals by account and month",
    schedule=CronDataIntervalTimetable("0 0 1 * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["ml-connector", "zoho-books", "anaplan"],
    doc_md=__doc__,
    default_args={"owner": "finance-data", "retries": 2, "retry_delay": timedelta(minutes=1)},
) as dag:
    accounts = ExtractZohoOperator(task_id="extract_accounts", entity="chartofaccounts",
                                   mode="all")

    @task
    def build_accounts(manifest: dict) -> dict:
        path = staged_path(None, get_current_context(), "accounts.csv")
        with path.open("w", encoding="utf-8") as out:
            rows = write_csv(out, ["Code", "Name", "Type"], account_rows(_records(manifest)))
        return {"path": str(path), "rows": rows}

    @task
    def build_actuals(accounts_manifest: dict, manifest: dict, id_field: str) -> dict:
        codes = {str(a["account_id"]): str(a["account_code"])
                 for a in _records(accounts_manifest) if a.get("account_code")}
        totals = account_month_totals(_records(manifest), codes, id_field=id_field)
        path = staged_path(None, get_current_context(), f"{manifest['entity']}_actuals.csv")
        with path.open("w", encoding="utf-8") as out:
            rows = write_csv(out, ["Account", "Period", "Amount"],
                             ([code, period, str(amount)]
                              for (code, period), amount in sorted(totals.items())))
        return {"path": str(path), "rows": rows, "records": manifest["count"],
                "totals": {f"{code}|{period}": str(v) for (code, period), v in totals.items()}}

    accounts_file = build_accounts(accounts.output)
    import_accounts = AnaplanImportOperator(
        task_id="import_accounts", import_id="Accounts from Zoho",
        source="{{ ti.xcom_pull(task_ids='build_accounts')['path'] }}",
        wait_for_completion=True,
    )
    accounts_file >> import_accounts

    results = []
    for entity, (id_field, import_name) in ACTUALS.items():
        extract = ExtractZohoOperator(task_id=f"extract_{entity}", entity=entity, line_items=True)
        built = build_actuals.override(task_id=f"build_{entity}")(
            accounts.output, extract.output, id_field)
        start = AnaplanImportOperator(
            task_id=f"import_{entity}", import_id=import_name,
            source=f"{{{{ ti.xcom_pull(task_ids='build_{entity}')['path'] }}}}",
        )
        wait = AnaplanTaskSensor(
            task_id=f"wait_{entity}",
            import_id=f"{{{{ ti.xcom_pull(task_ids='import_{entity}')['import_id'] }}}}",
            anaplan_task_id=f"{{{{ ti.xcom_pull(task_ids='import_{entity}', key='task_id') }}}}",
        )
        [built, import_accounts] >> start >> wait
        results.append(wait)

    @task
    def report() -> dict:
        """Collect what each step did into ``report.json`` beside the staged files."""
        ti = get_current_context()["ti"]
        summary = {}
        for entity in ACTUALS:
            built = ti.xcom_pull(task_ids=f"build_{entity}")
            summary[entity] = {
                "records": built["records"], "rows": built["rows"], "totals": built["totals"],
                "anaplan_task": ti.xcom_pull(task_ids=f"wait_{entity}"),
            }
        summary["accounts"] = {"rows": ti.xcom_pull(task_ids="build_accounts")["rows"],
                               "anaplan_task": ti.xcom_pull(task_ids="import_accounts")}
        out = staged_path(None, get_current_context(), "report.json")
        with out.open("w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=2)
        return {entity: {k: v for k, v in s.items() if k != "totals"}
                for entity, s in summary.items()}

    results >> report()
