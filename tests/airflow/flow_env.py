"""What the flow tests share: an Airflow home wired to a sandbox, and the model's cells."""

from __future__ import annotations

from pathlib import Path

from ml_connector.state.audit import AuditLog
from ml_connector.state.store import StateStore

from ..airflow_env import (
    airflow_env,
    create_pools,
    migrate,
    sandbox_connections,
)
from ..cells import ORG, account_cells
from ..conftest import ROOMY

__all__ = ["ORG", "SMALL", "account_cells", "audit_of", "flow_env"]

ROOT = Path(__file__).resolve().parents[2]
#: A smaller Zillum Inc: the first, whole read of a flow takes seconds.
SMALL = {**ROOMY, "zoho": {**ROOMY["zoho"], "organizations": [{
    "organization_id": ORG, "name": "Zillum Inc", "region": "us", "currency_code": "USD",
    "foreign_currencies": ["EUR"], "invoices": 240, "bills": 40, "purchaseorders": 10,
    "creditnotes": 12, "vendorcredits": 4, "customers": 20, "vendors": 10}]}}


def flow_env(sandbox, home: Path, zoho_extra: dict | None = None, dags: Path = ROOT / "dags",
             **settings: str) -> dict[str, str]:
    """A migrated Airflow home running the flows of ``dags`` (default: the shipped ones)
    against ``sandbox``, with the pools of its flows.yaml and deferrable operators."""
    env = airflow_env(home, dags,
                      sandbox_connections(sandbox.base_url, sandbox.sandbox.config,
                                          requests_per_minute=100_000,
                                          zoho_extra=zoho_extra),
                      operators__default_deferrable="True", **settings)
    migrate(env)
    create_pools(env, dags / "flows.yaml")
    return env


def audit_of(home: Path) -> AuditLog:
    return AuditLog(StateStore.sqlite(home / "ml_connector" / "state.db"))
