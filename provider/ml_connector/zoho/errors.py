"""Zoho Books error bodies (``{"code": n, "message": "..."}``) turned into typed errors."""

from __future__ import annotations

from typing import Any

import httpx

from ml_connector.errors import ApiError, AuthError, ProtocolError
from ml_connector.transport.sync import json_body

SERVICE = "Zoho Books"

#: Codes whose meaning deserves a hint for the person reading the task log.
HINTS = {
    6: "organization_id is missing or malformed",
    6041: "check that organization_id belongs to this Zoho account and region",
    44: "the organization exceeded 100 requests per minute",
    45: "the organization's daily API call cap is used up; it resets the next day",
    1070: "too many requests in flight for this organization",
}
#: A 429 with this code (daily cap) cannot succeed today; other 429s pass with time.
DAILY_CAP = 45


def zoho_error(response: httpx.Response) -> ApiError | None:
    """The typed error of a Books API response, or ``None`` when it is a success."""
    request = response.request
    where: dict[str, Any] = {"service": SERVICE, "method": request.method, "url": str(request.url)}
    if response.status_code >= 500 and not response.content.strip().startswith(b"{"):
        return ApiError(response.reason_phrase or "server error", status=response.status_code,
                        retryable=True, **where)
    body = json_body(response, SERVICE)
    if not isinstance(body, dict):
        return ProtocolError("expected a JSON object", status=response.status_code, **where)
    code = body.get("code", 0)
    if response.status_code < 400 and code == 0:
        return None
    message = str(body.get("message") or response.reason_phrase or "unknown error")
    if code in HINTS:
        message = f"{message} ({HINTS[code]})"
    status = response.status_code
    if status == 401:
        return AuthError(message, status=status, code=code, **where)
    # A per-minute (44) or concurrency (1070) 429 passes within the minute: back off with
    # jitter. X-Rate-Limit-Reset counts down to the *daily* reset, so it is no wait hint.
    retryable = status >= 500 or status == 408 or (status == 429 and code != DAILY_CAP)
    return ApiError(message, status=status, code=code, retryable=retryable, **where)


def accounts_error(response: httpx.Response) -> ApiError | None:
    """Transport-level failures of the accounts server; OAuth errors are read by the caller
    because Zoho reports them with HTTP 200 as often as with 400."""
    if response.status_code >= 500 or response.status_code == 429:
        return ApiError(
            response.reason_phrase or "accounts server error",
            service="Zoho accounts", status=response.status_code, method=response.request.method,
            url=str(response.request.url), retryable=True,
        )
    return None

