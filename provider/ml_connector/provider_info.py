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
    "daily_limit": {
        "label": "Daily request cap",
        "description": "The plan's cap (free 1000, standard 2000, professional 5000, premium "
        "10000) until Zoho reports it on the first response",
        "schema": {"type": ["integer", "null"], "minimum": 1},
    },
    "daily_reserve": {
        "label": "Daily reserve (%)",
        "description": "Percent of the daily cap left for the organization's other "
        "integrations; an extract that would dip into it does not start",
        "schema": {"type": ["number", "null"], "default": 20, "minimum": 0, "maximum": 99},
    },
    "webhook_secret": {
        "label": "Webhook secret",
        "description": "The secret (12-50 letters and digits) of the organization's webhooks "
        "in Zoho Books; the receiver (ml-connector webhooks serve) checks each signature",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "webhook_signature_header": {
        "label": "Webhook signature header",
        "schema": {"type": ["string", "null"], "default": "X-Zoho-Webhook-Signature"},
    },
    "webhook_signed": {
        "label": "Webhook signed string",
        "description": "body: HMAC-SHA256 of the raw body; timestamp.body: of "
        "'<timestamp>.<raw body>' (header t=<ms>,v=<signature>, or the timestamp header)",
        "schema": {"type": ["string", "null"], "enum": ["body", "timestamp.body"],
                   "default": "body"},
    },
    "webhook_encoding": {
        "label": "Webhook signature encoding",
        "schema": {"type": ["string", "null"], "enum": ["hex", "base64"], "default": "hex"},
    },
}


ANAPLAN_UI_FIELD_BEHAVIOUR = {
    "hidden-fields": ["schema", "port", "extra"],
    "relabeling": {
        "login": "User (basic) or client id (oauth)",
        "password": "Password (basic) or private-key passphrase (certificate)",
        "host": "Endpoint override (sandbox base URL; leave empty for Anaplan)",
    },
    "placeholders": {"login": "integration@example.com"},
}

ANAPLAN_CONN_FIELDS = {
    "auth_method": {
        "label": "Authentication",
        "schema": {"type": ["string", "null"], "enum": ["basic", "certificate", "oauth"],
                   "default": "basic"},
    },
    "workspace_id": {
        "label": "Default workspace id",
        "schema": {"type": ["string", "null"], "pattern": "^[0-9a-fA-F]{32}$"},
    },
    "model_id": {
        "label": "Default model id",
        "schema": {"type": ["string", "null"], "pattern": "^[0-9a-fA-F]{32}$"},
    },
    "certificate": {
        "label": "CA certificate (PEM)",
        "schema": {"type": ["string", "null"], "format": "multiline"},
    },
    "private_key": {
        "label": "Private key (PEM)",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "payload_format": {
        "label": "Certificate payload format",
        "schema": {"type": ["string", "null"], "enum": ["v2", "v1"], "default": "v2"},
    },
    "refresh_token": {
        "label": "OAuth refresh token",
        "description": "Initial refresh token; rotated tokens are kept in the state store",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "model_page_url": {
        "label": "Model page URL",
        "description": "The model in your tenant's web UI, with {workspace_id} and "
        "{model_id}, for the task's link (default: the modelUrl Anaplan lists)",
        "schema": {"type": ["string", "null"]},
    },
    "requests_per_minute": {
        "label": "Requests per minute",
        "description": "Share of the tenant-wide 600 requests/minute",
        "schema": {"type": ["integer", "null"], "default": 600, "minimum": 1},
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
            {
                "integration-name": "Anaplan",
                "external-doc-url": "https://anaplanbulkapi20.docs.apiary.io/",
                "tags": ["service"],
            },
        ],
        "hooks": [
            {"integration-name": "Zoho Books",
             "python-modules": ["ml_connector.hooks.zoho_books"]},
            {"integration-name": "Anaplan", "python-modules": ["ml_connector.hooks.anaplan"]},
        ],
        "operators": [
            {"integration-name": "Zoho Books",
             "python-modules": ["ml_connector.operators.extract_zoho"]},
            {"integration-name": "Anaplan",
             "python-modules": ["ml_connector.operators.anaplan_import"]},
        ],
        "sensors": [
            {"integration-name": "Anaplan", "python-modules": ["ml_connector.sensors.anaplan"]},
        ],
        "triggers": [
            {"integration-name": "Anaplan", "python-modules": ["ml_connector.triggers.anaplan"]},
            {"integration-name": "Zoho Books", "python-modules": ["ml_connector.triggers.zoho"]},
        ],
        "extra-links": ["ml_connector.operators.anaplan_import.AnaplanTaskLink"],
        "config": {
            "ml_connector": {
                "description": "Options of the ml-connector provider.",
                "options": {
                    "staging_base": {
                        "description": "Where tasks stage extracts and import files (an "
                        "ObjectStoragePath URL every worker reaches, e.g. s3://bucket/mlc or "
                        "file:///shared/mlc); files go to <base>/<dag_id>/<run_id>/. Empty: "
                        "file://$AIRFLOW_HOME/ml_connector/staging (one machine only).",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "s3://finance-data/ml-connector",
                        "default": "",
                    },
                },
            },
        },
        "connection-types": [
            {
                "hook-class-name": "ml_connector.hooks.zoho_books.ZohoBooksHook",
                "hook-name": "Zoho Books",
                "connection-type": "zoho_books",
                "ui-field-behaviour": ZOHO_UI_FIELD_BEHAVIOUR,
                "conn-fields": ZOHO_CONN_FIELDS,
            },
            {
                "hook-class-name": "ml_connector.hooks.anaplan.AnaplanHook",
                "hook-name": "Anaplan",
                "connection-type": "anaplan",
                "ui-field-behaviour": ANAPLAN_UI_FIELD_BEHAVIOUR,
                "conn-fields": ANAPLAN_CONN_FIELDS,
            },
        ],
    }
