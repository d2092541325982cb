"""The clients of a flow's run from the Airflow connections its flows file names, as the
DAG's tasks and the commands open them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ml_connector.flows.organizations import Organization
from ml_connector.flows.spec import Defaults, Flow
from ml_connector.hooks.anaplan import AnaplanHook
from ml_connector.hooks.zoho_books import ZohoBooksHook
from ml_connector.zoho.client import ZohoBooksClient


def zoho_of(defaults: Defaults, org: Organization) -> Callable[[], ZohoBooksClient]:
    """The client factory of one organization of a flow of several."""
    return lambda: ZohoBooksHook(org.conn_id(defaults.zoho_conn_id),
                                 organization=org.wanted).client


def flow_clients(flow: Flow, defaults: Defaults) -> dict[str, Any]:
    """``FlowRun``'s ``zoho``, ``zoho_for`` and ``anaplan`` client factories."""
    target = flow.target
    return {"zoho": lambda: ZohoBooksHook(defaults.zoho_conn_id).client,
            "zoho_for": lambda org: zoho_of(defaults, org),
            "anaplan": lambda: AnaplanHook(defaults.anaplan_conn_id, target.workspace_id,
                                           target.model_id).client}
