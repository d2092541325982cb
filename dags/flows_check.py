"""Reports the flows of flows.yaml (beside this file) that are invalid, as an Airflow import
error naming each flow, key and value. The valid flows keep their DAGs (flows.py)."""

from pathlib import Path

from ml_connector.dag_factory import check_flows

check_flows(Path(__file__).with_name("flows.yaml"))
