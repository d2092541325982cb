"""Anaplan error bodies turned into typed errors."""

from __future__ import annotations

import time
from typing import Any

import httpx

from ml_connector.errors import ApiError, AuthError, ProtocolError
from ml_connector.transport.sync import json_body, parse_retry_after

SERVICE = "Anaplan"
AUTH_SERVICE = "Anaplan auth"
HINTS = {
    404: "check the ids (case-sensitive: workspace lowercase, model uppercase) and that the "
    "user can access the model",
    409: "the model is busy with a conflicting action",
    423: "the model is locked by a running import, export or process",
    422: "the model is archived",
}
#: Busy or locked models and rate limits pass with time; so do server errors.
RETRYABLE = {408, 409, 423, 429, 500, 502, 503, 504}


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "error"
    status = body.get("status") if isinstance(body, dict) else None
    if isinstance(status, dict):
        return str(status.get("message") or response.reason_phrase)
    if isinstance(body, dict) and body.get("statusMessage"):
        return f"{body.get('status')}: {body['statusMessage']}"
    if isinstance(body, dict) and body.get("error"):  # OAuth endpoints
        return f"{body['error']}: {body.get('error_description', '')}".rstrip(": ")
    return response.reason_phrase or "error"


def anaplan_error(response: httpx.Response, service: str = SERVICE,
                  auth_statuses: frozenset[int] = frozenset({401})) -> ApiError | None:
    """The typed error of an Anaplan response, or ``None`` for a 2xx."""
    status = response.status_code
    if status < 400:
        return None
    message = _message(response)
    if status in HINTS:
        message = f"{message} ({HINTS[status]})"
    where: dict[str, Any] = {"service": service, "status": status,
                             "method": response.request.method,
                             "url": str(response.request.url)}
    if status in auth_statuses:
        return AuthError(message, **where)
    retry_after = parse_retry_after(response.headers.get("Retry-After"), now=time.time())
    return ApiError(message, retryable=status in RETRYABLE, retry_after=retry_after, **where)


def auth_error(response: httpx.Response) -> ApiError | None:
    """Errors of the auth service; refused grants (400 invalid_grant) are auth errors too."""
    return anaplan_error(response, AUTH_SERVICE, frozenset({400, 401, 403}))


def envelope(response: httpx.Response, key: str | None = None):
    """The JSON body (or its ``key``) of a successful Integration API response."""
    body = json_body(response, SERVICE)
    if key is None:
        return body
    if not isinstance(body, dict) or key not in body:
        raise ProtocolError(f"response has no {key!r}", service=SERVICE,
                            status=response.status_code, method=response.request.method,
                            url=str(response.request.url))
    return body[key]
