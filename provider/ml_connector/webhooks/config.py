"""A webhook endpoint from a ``zoho_books`` connection's extra: secret and signing scheme."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ml_connector.errors import ConfigError
from ml_connector.transport.fields import parse_extra, seconds
from ml_connector.webhooks.payload import PayloadShape
from ml_connector.webhooks.signature import DEFAULT_HEADER, ENCODINGS, SIGNED, SignatureScheme

#: Extra fields of a ``zoho_books`` connection that configure its webhooks.
WEBHOOK_FIELDS = {
    "webhook_secret", "webhook_signature_header", "webhook_signed", "webhook_encoding",
    "webhook_timestamp_header", "webhook_tolerance", "webhook_event_id_header",
    "webhook_module_field", "webhook_id_field", "webhook_event_field",
    "webhook_deleted_values",
}
#: Zoho accepts a webhook secret of 12 to 50 alphanumeric characters (``POST
#: /settings/webhooks``, https://www.zoho.com/books/api/v3/webhooks).
SECRET = re.compile(r"^[A-Za-z0-9]{12,50}$")


@dataclass(frozen=True)
class Endpoint:
    """Where one organization's webhooks arrive and how they are checked."""

    organization_id: str
    secret: str = field(repr=False)
    scheme: SignatureScheme = field(default_factory=SignatureScheme)
    event_id_header: str | None = None
    conn_id: str = "zoho_books_default"
    payload: PayloadShape = field(default_factory=PayloadShape)


def organization_of(extra: Mapping[str, Any], name: str) -> str:
    """The organization a connection's webhooks are recorded for (its ``organization_id``)."""
    org = str(extra.get("organization_id") or "").strip()
    if not org.isdigit():
        raise ConfigError(f"connection {name!r}: webhooks need field organization_id (the "
                          "organization whose webhooks arrive at /zoho/<organization_id>)")
    return org


def endpoint_from_fields(extra: Mapping[str, Any], name: str) -> Endpoint:
    """The endpoint a connection's extra describes; errors name the connection and field."""
    org = organization_of(extra, name)
    secret = str(extra.get("webhook_secret") or "").strip()
    if not SECRET.match(secret):
        got = "empty" if not secret else f"{len(secret)} characters, or not alphanumeric"
        raise ConfigError(f"connection {name!r}: field webhook_secret must be the 12 to 50 "
                          f"letters and digits set as the webhook's secret in Zoho Books ({got})")
    signed = str(extra.get("webhook_signed") or "body")
    if signed not in SIGNED:
        raise ConfigError(f"connection {name!r}: field webhook_signed must be one of "
                          f"{', '.join(SIGNED)}, got {signed!r}")
    encoding = str(extra.get("webhook_encoding") or "hex")
    if encoding not in ENCODINGS:
        raise ConfigError(f"connection {name!r}: field webhook_encoding must be one of "
                          f"{', '.join(ENCODINGS)}, got {encoding!r}")
    tolerance = seconds(extra, "webhook_tolerance", name)
    scheme = SignatureScheme(
        header=str(extra.get("webhook_signature_header") or DEFAULT_HEADER).strip(),
        signed=signed,  # type: ignore[arg-type]
        encoding=encoding,  # type: ignore[arg-type]
        timestamp_header=str(extra.get("webhook_timestamp_header") or "").strip() or None,
        tolerance=tolerance if tolerance is not None else 300.0)
    return Endpoint(org, secret, scheme,
                    str(extra.get("webhook_event_id_header") or "").strip() or None, name,
                    payload_shape(extra, name))


def payload_shape(extra: Mapping[str, Any], name: str) -> PayloadShape:
    """Where a connection's webhook bodies hold the module, the id and the event type."""
    def text(key: str) -> str | None:
        value = str(extra.get(key) or "").strip()
        if value and not re.fullmatch(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*", value):
            raise ConfigError(f"connection {name!r}: field {key} must be a dotted path into "
                              f"the webhook's JSON body (e.g. invoice.invoice_id), got {value!r}")
        return value or None

    deleted = tuple(v.strip().lower() for v in
                    str(extra.get("webhook_deleted_values") or "deleted").split(",")
                    if v.strip())
    return PayloadShape(module_field=text("webhook_module_field"),
                        id_field=text("webhook_id_field"),
                        event_field=text("webhook_event_field") or "event_type",
                        deleted=deleted or ("deleted",))


def endpoint(conn_id: str) -> Endpoint:
    """The endpoint of Airflow connection ``conn_id``; its secret is masked in logs."""
    from airflow.providers.common.compat.sdk import mask_secret

    from ml_connector.hooks.connections import get_connection

    conn = get_connection(conn_id)
    if conn.conn_type != "zoho_books":
        raise ConfigError(f"connection {conn_id!r} has type {conn.conn_type!r}; webhooks are "
                          "configured on a zoho_books connection")
    found = endpoint_from_fields(parse_extra(conn.extra, conn_id), conn_id)
    mask_secret(found.secret)
    return found
