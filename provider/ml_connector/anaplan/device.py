"""Getting an Anaplan OAuth refresh token with the device grant, for ``ml-connector
anaplan authorize``: ``POST /oauth/device/code``, a person approves the code at the
verification address, and ``POST /oauth/token`` (``grant_type=urn:ietf:params:oauth:
grant-type:device_code``) is polled at the interval Anaplan names until it gives the
tokens (``shared/api/anaplan.md``; RFC 8628 for ``authorization_pending``/``slow_down``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ml_connector.errors import AuthError

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE = "openid profile email offline_access"


@dataclass(frozen=True)
class DeviceCode:
    """What the person must do: open ``verification_uri`` and enter ``user_code``."""

    verification_uri: str
    user_code: str
    expires_in: float
    interval: float
    device_code: str = field(repr=False)
    complete_uri: str | None = None


def _form(http: httpx.Client, url: str, data: dict[str, str]) -> dict:
    response = http.post(url, data=data)
    try:
        body = response.json()
    except ValueError:
        raise AuthError(f"the answer is not JSON (HTTP {response.status_code})",
                        service="Anaplan auth", status=response.status_code) from None
    return body if isinstance(body, dict) else {}


def device_code(http: httpx.Client, auth_url: str, client_id: str) -> DeviceCode:
    body = _form(http, f"{auth_url}/oauth/device/code", {"client_id": client_id,
                                                         "scope": SCOPE})
    if "device_code" not in body:
        raise AuthError(f"Anaplan refused the device code request: {body.get('error')} "
                        f"({body.get('error_description', 'check the client id')})",
                        service="Anaplan auth", code=body.get("error"))
    return DeviceCode(str(body["verification_uri"]), str(body["user_code"]),
                      float(body.get("expires_in") or 600), float(body.get("interval") or 5),
                      str(body["device_code"]), body.get("verification_uri_complete"))


def poll_token(http: httpx.Client, auth_url: str, client_id: str, code: DeviceCode, *,
               client_secret: str | None = None, sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], float] = time.monotonic) -> str:
    """The refresh token once the person approved; ``AuthError`` when they refused or the
    code expired."""
    data = {"grant_type": DEVICE_GRANT, "client_id": client_id,
            "device_code": code.device_code}
    if client_secret:
        data["client_secret"] = client_secret
    interval, deadline = code.interval, clock() + code.expires_in
    while True:
        body = _form(http, f"{auth_url}/oauth/token", data)
        if body.get("refresh_token"):
            return str(body["refresh_token"])
        error = body.get("error")
        if error == "slow_down":
            interval += 5
        elif error != "authorization_pending":
            raise AuthError(f"Anaplan gave no token: {error} "
                            f"({body.get('error_description', 'run the command again')})",
                            service="Anaplan auth", code=error)
        if clock() + interval > deadline:
            raise AuthError("the device code expired before it was approved: run the "
                            "command again", service="Anaplan auth", code="expired_token")
        sleep(interval)
