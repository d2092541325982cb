"""zoho_books_to_anaplan end to end in real Airflow: Zoho month in, Anaplan cells out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ml_connector.flows.build import CENT, account_month_totals
from ml_connector.sandbox.airflow_env import airflow, airflow_env, migrate, sandbox_connections
from ml_connector.zoho import ExtractWindow
from ml_connector.zoho.extract import iter_window

from ..conftest import MODEL

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.airflow


def test_month_of_actuals_lands_in_anaplan_to_the_cent(sandbox, zoho_client, tmp_path_factory):
    env = airflow_env(tmp_path_factory.mktemp("home"), ROOT / "dags",
                      sandbox_connections(sandbox.base_url, sandbox.sandbox.config,
                                          requests_per_minute=100_000),
                      operators__default_deferrable="True")
    migrate(env)
    done = airflow(env, "dags", "test", "zoho_books_to_anaplan", "2026-03-01")
    assert (done.stdout + done.stderr).count("[DAG TEST] running trigger in line") == 3

    client = zoho_client()
    window = ExtractWindow(start=date(2026, 2, 1), end=date(2026, 3, 1))
    codes = {a["account_id"]: a["account_code"] for a in client.iter_records("chartofaccounts")}
    for entity, id_field, module in (("invoices", "invoice_id", "Invoice Actuals"),
                                     ("bills", "bill_id", "Bill Actuals")):
        expected = account_month_totals(iter_window(client, entity, window, line_items=True),
                                        codes, id_field=id_field)
        cells = {(c["dimensions"]["Accounts"], c["dimensions"]["Time"]):
                 Decimal(repr(c["values"]["Amount"])).quantize(CENT)
                 for c in sandbox.sandbox.anaplan.module_cells(MODEL, module)}
        assert expected and {k[1] for k in expected} == {"Feb 26"}
        assert cells == expected
