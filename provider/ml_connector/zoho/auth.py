"""OAuth2 for Zoho: refresh-token grant, proactive refresh and one shared access token."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ml_connector.errors import ApiError, AuthError, ConfigError
from ml_connector.state.tokens import CachedToken, MemoryTokenCache, TokenCache
from ml_connector.transport.sync import Transport, json_body
from ml_connector.zoho.regions import DataCenter

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth/v2/token"
OAUTH_ERRORS = {
    "invalid_code": "the refresh token is revoked, expired, or belongs to another data center "
    "or client; generate a new one with access_type=offline",
    "invalid_client": "the client id is unknown to this data center (wrong client id or region)",
    "invalid_client_secret": "the client secret does not match the client id",
}
#: The connection fields to fix when the accounts server refuses them (by its error).
REFUSED_FIX = {
    "invalid_code": "its Refresh token, or its Region (the data center that issued the token)",
    "invalid_client": "its Client ID, or its Region",
    "invalid_client_secret": "its Client secret",
}
THROTTLE_HINT = (
    "Zoho allows 10 access tokens per refresh token per 10 minutes and then blocks it for "
    "15-30 minutes; wait, and check that no other system refreshes this token"
)


def token_body(response: Any, datacenter: DataCenter, url: str) -> dict:
    """The JSON of an accounts server's token answer (either grant), refusals as
    ``AuthError`` naming the cause, and one issued for another data center's API refused."""
    body = json_body(response, "Zoho accounts")
    where: dict[str, Any] = {"service": "Zoho accounts", "method": "POST", "url": url}
    if not isinstance(body, dict):
        raise AuthError("token response is not a JSON object", **where)
    error = body.get("error")
    if error == "Access Denied":
        raise AuthError(f"{body.get('error_description', error)} ({THROTTLE_HINT})",
                        status=response.status_code, code=error, **where)
    if error:
        reason = OAUTH_ERRORS.get(str(error), "see Zoho's OAuth documentation")
        raise AuthError(f"the {datacenter.region!r} accounts server refused the credentials: "
                        f"{error} ({reason})", status=response.status_code, code=error, **where)
    if "access_token" not in body:
        raise AuthError("token response has no access_token", **where)
    api_domain = body.get("api_domain")
    if api_domain and api_domain.rstrip("/") != datacenter.api_domain.rstrip("/"):
        raise ApiError(f"token was issued for api_domain {api_domain!r}, which is not the "
                       f"{datacenter.region!r} data center's API; refusing to use it", **where)
    return body


@dataclass(frozen=True)
class ZohoCredentials:
    """An OAuth client and a refresh token issued to it (``access_type=offline``)."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("client_id", "client_secret", "refresh_token"):
            if not str(getattr(self, name) or "").strip():
                raise ConfigError(f"Zoho credentials: '{name}' is empty")


def expires_in_seconds(body: dict) -> float:
    """Token lifetime in seconds; older responses give ``expires_in`` in milliseconds."""
    if "expires_in_sec" in body:
        return float(body["expires_in_sec"])
    value = float(body.get("expires_in", 3600))
    return value / 1000 if value > 86400 else value


class ZohoTokenManager:
    """Hands out one access token per credentials, shared through ``cache``.

    A token is refreshed ``refresh_after`` seconds after it was obtained (55 minutes by default,
    Zoho's tokens live an hour) or when the server refuses it. Refreshes happen under the cache's
    lock and re-check the cache first, so concurrent tasks mint one token, not one each.
    """

    def __init__(
        self,
        credentials: ZohoCredentials,
        datacenter: DataCenter,
        transport: Transport,
        *,
        cache: TokenCache | None = None,
        clock: Callable[[], float] = time.time,
        refresh_after: float = 55 * 60,
        expiry_margin: float = 60.0,
    ) -> None:
        self.credentials = credentials
        self.datacenter = datacenter
        self.transport = transport
        self.cache: TokenCache = cache or MemoryTokenCache()
        self.clock = clock
        self.refresh_after = refresh_after
        self.expiry_margin = expiry_margin
        self.minted = 0
        self.on_token: Callable[[str], object] | None = None
        #: The Airflow connection the credentials come from (a hook's), named by a refusal.
        self.connection: str | None = None
        digest = hashlib.sha256(
            "\0".join(
                [datacenter.accounts_url, credentials.client_id, credentials.refresh_token]
            ).encode()
        )
        self.cache_key = "zoho:" + digest.hexdigest()[:40]

    def _fresh(self, token: CachedToken | None) -> bool:
        now = self.clock()
        return (
            token is not None
            and now < token.obtained_at + self.refresh_after
            and now < token.expires_at - self.expiry_margin
        )

    def token(self) -> str:
        """A valid access token, refreshed if it is due."""
        cached = self.cache.get(self.cache_key)
        if cached is not None and self._fresh(cached):
            return cached.access_token
        with self.cache.lock(self.cache_key):
            cached = self.cache.get(self.cache_key)
            if cached is not None and self._fresh(cached):
                return cached.access_token
            token = self._mint()
            self.cache.put(self.cache_key, token)
            return token.access_token

    def invalidate(self, access_token: str) -> None:
        """Forget ``access_token`` (the API refused it) unless another task replaced it already."""
        with self.cache.lock(self.cache_key):
            self.cache.discard(self.cache_key, access_token)

    def _mint(self) -> CachedToken:
        creds = self.credentials
        url = self.datacenter.accounts_url + TOKEN_PATH
        response = self.transport.request(
            "POST",
            url,
            data={
                "grant_type": "refresh_token",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
                "refresh_token": creds.refresh_token,
            },
        )
        try:
            body = token_body(response, self.datacenter, url)
        except AuthError as exc:
            if self.connection is None:
                raise
            fix = REFUSED_FIX.get(str(exc.code))
            raise exc.hinted(f"the Airflow connection {self.connection!r}"
                             + (f": fix {fix}" if fix else "")) from None
        api_domain = body.get("api_domain")
        if self.on_token is not None:
            self.on_token(body["access_token"])
        now = self.clock()
        self.minted += 1
        log.info("obtained a new Zoho access token (region %s)", self.datacenter.region)
        return CachedToken(
            access_token=body["access_token"],
            obtained_at=now,
            expires_at=now + expires_in_seconds(body),
            api_domain=api_domain,
        )
