"""Airflow's simple auth manager with one user limited to some DAGs, as a deployment's own
auth manager (FAB, Keycloak) limits a role: the Month-end page must show that user only
the flows of those DAGs."""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

LIMITED_USER = "clerk"
#: The only DAGs the limited user may read.
CLERK_DAGS = frozenset({"zoho_accounts", "zoho_invoice_actuals"})


class DagLimitedAuthManager(SimpleAuthManager):
    def is_authorized_dag(self, *, method: Any, user: Any, access_entity: Any = None,
                          details: Any = None) -> bool:
        if (user.get_name() == LIMITED_USER and details is not None
                and details.id not in CLERK_DAGS):
            return False
        return super().is_authorized_dag(method=method, user=user,
                                         access_entity=access_entity, details=details)
