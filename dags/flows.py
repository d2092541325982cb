"""Airflow DAGs of the flows declared in flows.yaml (beside this file): one DAG per flow."""

from pathlib import Path

from ml_connector.dag_factory import build_dags

globals().update(build_dags(Path(__file__).with_name("flows.yaml")))
