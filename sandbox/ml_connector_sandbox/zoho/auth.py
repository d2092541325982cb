"""The accounts servers: authorization codes, refresh and access tokens, throttling, revocation.

Token errors are JSON ``{"error": ...}`` with HTTP 200, as Zoho sends them; only the
throttle answers HTTP 400 ("Access Denied").
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from ml_connector_sandbox.clock import SandboxClock
from ml_connector_sandbox.zoho import errors
from ml_connector_sandbox.zoho.config import ZohoSandboxConfig

HEADER_PREFIX = "Zoho-oauthtoken "
FULL_ACCESS = "zohobooks.fullaccess.all"


@dataclass
class RefreshGrant:
    """A refresh token and the state the accounts server keeps for it."""

    token: str
    region: str
    scopes: tuple[str, ...]
    organizations: frozenset[str] | None
    issued: bool = False
    revoked: bool = False
    blocked_until: float = 0.0
    mints: deque[float] = field(default_factory=deque)
    live: deque[str] = field(default_factory=deque)


@dataclass
class AccessGrant:
    """A live access token: what it may do, where, and until when."""

    token: str
    region: str
    scopes: tuple[str, ...]
    organizations: frozenset[str] | None
    expires_at: float
    refresh: str | None = None

    def allows(self, module: str) -> bool:
        """Scope check: full access, or ``ZohoBooks.<module>.READ|ALL``."""
        wanted = {FULL_ACCESS, f"zohobooks.{module}.read", f"zohobooks.{module}.all"}
        return any(s.lower() in wanted for s in self.scopes)

    def sees(self, organization_id: str) -> bool:
        return self.organizations is None or organization_id in self.organizations


@dataclass
class AuthCode:
    code: str
    region: str
    scopes: tuple[str, ...]
    redirect_uri: str
    offline: bool
    expires_at: float


def _new_token() -> str:
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


class Accounts:
    """All eight accounts servers; a token belongs to the region that minted it."""

    def __init__(self, config: ZohoSandboxConfig, clock: SandboxClock,
                 on_mint: Callable[[str], None]) -> None:
        self.config = config
        self.limits = config.limits
        self.clock = clock
        self.on_mint = on_mint
        self._lock = threading.Lock()
        self.refresh: dict[str, RefreshGrant] = {
            t.token: RefreshGrant(
                t.token, t.region, tuple(t.scopes),
                None if t.organizations is None else frozenset(t.organizations),
            )
            for t in config.refresh_tokens
        }
        self.access: dict[str, AccessGrant] = {}
        self.codes: dict[str, AuthCode] = {}

    # -- accounts server endpoints ---------------------------------------------------------

    def authorize(self, region: str, params: Mapping[str, str],
                  accounts_url: str) -> tuple[int, dict | str]:
        """``GET /oauth/v2/auth``: approve at once; ``(302, redirect URL)`` or an error."""
        if params.get("client_id") != self.config.client_id:
            return 400, {"error": "invalid_client"}
        redirect_uri, scope = params.get("redirect_uri", ""), params.get("scope", "")
        if not redirect_uri or params.get("response_type") != "code" or not scope.strip():
            return 400, {"error": "invalid_request"}
        scopes = tuple(s for s in scope.replace(" ", ",").split(",") if s)
        code = _new_token()
        with self._lock:
            self.codes[code] = AuthCode(
                code, region, scopes, redirect_uri, params.get("access_type") == "offline",
                self.clock.now() + self.limits.code_ttl,
            )
        answer = {"code": code, "location": region, "accounts-server": accounts_url}
        if params.get("state"):
            answer["state"] = params["state"]
        joiner = "&" if "?" in redirect_uri else "?"
        return 302, f"{redirect_uri}{joiner}{urlencode(answer)}"

    def token(self, region: str, params: Mapping[str, str],
              api_domain: str) -> tuple[int, dict]:
        """``POST /oauth/v2/token`` for the refresh-token and authorization-code grants."""
        if params.get("client_id") != self.config.client_id:
            return 200, {"error": "invalid_client"}
        if params.get("client_secret") != self.config.client_secret:
            return 200, {"error": "invalid_client_secret"}
        grant_type = params.get("grant_type")
        with self._lock:
            if grant_type == "refresh_token":
                return self._refresh(region, params.get("refresh_token", ""), api_domain)
            if grant_type == "authorization_code":
                return self._exchange(region, params, api_domain)
        return 200, {"error": "unsupported_grant_type"}

    def revoke(self, region: str, token: str) -> tuple[int, dict]:
        """``POST /oauth/v2/token/revoke``: a refresh token (with its access tokens) or an
        access token."""
        with self._lock:
            grant = self.refresh.get(token)
            if grant is not None and grant.region == region and not grant.revoked:
                self._revoke(grant)
                return 200, {"status": "success"}
            access = self.access.get(token)
            if access is not None and access.region == region:
                del self.access[token]
                return 200, {"status": "success"}
        return 200, {"error": "invalid_code"}

    # -- API side --------------------------------------------------------------------------

    def grant_for(self, region: str, authorization: str | None) -> AccessGrant:
        """The access grant behind an ``Authorization`` header, or a 401 ``ZohoError``."""
        if not authorization or not authorization.startswith(HEADER_PREFIX):
            raise errors.invalid_token()
        token = authorization[len(HEADER_PREFIX):]
        with self._lock:
            grant = self.access.get(token)
        if grant is None or grant.region != region or self.clock.now() >= grant.expires_at:
            raise errors.invalid_token()
        return grant

    def expire_access_tokens(self) -> int:
        """End every live access token now (as an hour passing would); how many."""
        now = self.clock.now()
        with self._lock:
            live = [g for g in self.access.values() if g.expires_at > now]
            for grant in live:
                grant.expires_at = now
        return len(live)

    def revoke_refresh_token(self, token: str) -> bool:
        """Revoke a refresh token in any region; its access tokens stop working at once."""
        with self._lock:
            grant = self.refresh.get(token)
            if grant is None or grant.revoked:
                return False
            self._revoke(grant)
            return True

    # -- internals -------------------------------------------------------------------------

    def _refresh(self, region: str, token: str, api_domain: str) -> tuple[int, dict]:
        grant = self.refresh.get(token)
        if grant is None or grant.revoked or grant.region != region:
            return 200, {"error": "invalid_code"}
        now = self.clock.now()
        if now < grant.blocked_until:
            return 400, dict(errors.ACCESS_DENIED)
        while grant.mints and grant.mints[0] <= now - self.limits.token_window:
            grant.mints.popleft()
        if len(grant.mints) >= self.limits.tokens_per_window:
            grant.blocked_until = now + self.limits.token_block
            return 400, dict(errors.ACCESS_DENIED)
        access = self._mint(grant, now)
        return 200, self._token_body(access, api_domain)

    def _exchange(self, region: str, params: Mapping[str, str],
                  api_domain: str) -> tuple[int, dict]:
        code = self.codes.pop(params.get("code", ""), None)
        now = self.clock.now()
        if code is None or code.region != region or now >= code.expires_at:
            return 200, {"error": "invalid_code"}
        if params.get("redirect_uri") != code.redirect_uri:
            return 200, {"error": "invalid_redirect_uri"}
        if not code.offline:
            access = AccessGrant(_new_token(), region, code.scopes, None,
                                 now + self.limits.token_ttl)
            self.access[access.token] = access
            return 200, self._token_body(access, api_domain)
        grant = RefreshGrant(_new_token(), region, code.scopes, None, issued=True)
        self.refresh[grant.token] = grant
        issued = [g for g in self.refresh.values() if g.issued and not g.revoked]
        for old in issued[: max(0, len(issued) - self.limits.max_refresh_tokens)]:
            self._revoke(old)
        access = self._mint(grant, now)
        return 200, {**self._token_body(access, api_domain), "refresh_token": grant.token}

    def _mint(self, grant: RefreshGrant, now: float) -> AccessGrant:
        grant.mints.append(now)
        for token in [t for t in grant.live
                      if t not in self.access or self.access[t].expires_at <= now]:
            grant.live.remove(token)
            self.access.pop(token, None)
        while len(grant.live) >= self.limits.max_live_tokens:
            self.access.pop(grant.live.popleft(), None)
        access = AccessGrant(_new_token(), grant.region, grant.scopes, grant.organizations,
                             now + self.limits.token_ttl, grant.token)
        self.access[access.token] = access
        grant.live.append(access.token)
        self.on_mint(grant.token)
        return access

    def _revoke(self, grant: RefreshGrant) -> None:
        grant.revoked = True
        for token in grant.live:
            self.access.pop(token, None)
        grant.live.clear()

    def _token_body(self, access: AccessGrant, api_domain: str) -> dict:
        return {
            "access_token": access.token,
            "api_domain": api_domain,
            "token_type": "Bearer",
            "expires_in": self.limits.token_ttl,
        }
