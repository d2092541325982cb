"""Provider metadata for Airflow's providers manager (entry point apache_airflow_provider)."""

from __future__ import annotations

from ml_connector import __version__
from ml_connector.zoho.regions import REGIONS

ZOHO_UI_FIELD_BEHAVIOUR = {
    "hidden-fields": ["schema", "port", "extra"],
    "relabeling": {
        "login": "Client ID",
        "password": "Client secret",
        "host": "Endpoint override (sandbox base URL; leave empty for Zoho)",
    },
    "placeholders": {"login": "1000.XXXXXXXXXXXX", "host": "http://127.0.0.1:8765"},
}

ZOHO_CONN_FIELDS = {
    "refresh_token": {
        "label": "Refresh token",
        "description": "Offline refresh token (access_type=offline) with READ scopes",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "region": {
        "label": "Region (data center)",
        "schema": {"type": ["string", "null"], "enum": list(REGIONS), "default": "us"},
    },
    "organization_id": {
        "label": "Organization ID",
        "description": "Required when the account has several organizations",
        "schema": {"type": ["string", "null"], "pattern": "^[0-9]*$"},
    },
    "plan": {
        "label": "Plan",
        "description": "free allows 5 concurrent requests, paid plans 10",
        "schema": {"type": ["string", "null"], "enum": ["free", "paid"], "default": "paid"},
    },
    "requests_per_minute": {
        "label": "Requests per minute",
        "description": "Client-side budget; Zoho allows 100 per organization",
        "schema": {"type": ["integer", "null"], "default": 90, "minimum": 1, "maximum": 100},
    },
}


def get_provider_info() -> dict:
    return {
        "package-name": "ml-connector",
        "name": "ml-connector (Zoho Books to Anaplan)",
        "description": "Loads Zoho Books invoices, bills and purchase orders into Anaplan.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Zoho Books",
                "external-doc-url": "https://www.zoho.com/books/api/v3/",
                "tags": ["service"],
            },
        ],
        "hooks": [
            {
                "integration-name": "Zoho Books",
                "python-modules": ["ml_connector.hooks.zoho_books"],
            },
        ],
        "operators": [
            {
                "integration-name": "Zoho Books",
                "python-modules": ["ml_connector.operators.extract_zoho"],
            },
        ],
        "connection-types": [
            {
                "hook-class-name": "ml_connector.hooks.zoho_books.ZohoBooksHook",
                "hook-name": "Zoho Books",
                "connection-type": "zoho_books",
                "ui-field-behaviour": ZOHO_UI_FIELD_BEHAVIOUR,
                "conn-fields": ZOHO_CONN_FIELDS,
            },
        ],
    }
