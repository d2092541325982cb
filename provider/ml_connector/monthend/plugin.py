"""The Airflow plugin (entry point ``airflow.plugins``): the Month-end app in the
api-server, and "Month-end" in the UI's navigation, shown in the UI's frame."""

from __future__ import annotations

from urllib.parse import urlparse

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

from ml_connector.monthend.app import URL_PREFIX, app


def ui_path(path: str) -> str:
    """``path`` under the UI's ``[api] base_url`` (a full URL or a path; default /)."""
    base = conf.get("api", "base_url", fallback="/") or "/"
    if base.startswith(("http://", "https://")):
        base = urlparse(base).path
    return base.rstrip("/") + path


class MonthEndPlugin(AirflowPlugin):
    name = "ml_connector_month_end"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "ml-connector Month-end"}]
    external_views = [{"name": "Month-end", "href": ui_path(URL_PREFIX + "/"),
                       "destination": "nav", "url_route": "month-end",
                       "nav_top_level": True}]
