"""Getting a refresh token: Zoho's authorization-code grant, for ``ml-connector zoho
authorize``.

The consent URL asks for exactly the READ scopes the flows need, ``access_type=offline``
(a refresh token) and ``prompt=consent`` (a new one even if the user consented before).
Zoho sends the browser back to the redirect URI with ``code``, ``location`` (the user's
data center) and ``accounts-server``; the code must be exchanged at that accounts server
(``shared/api/zoho-books.md``), which must be one of the eight known ones: the client
secret goes nowhere else.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from ml_connector.errors import AuthError, ConfigError
from ml_connector.flows.spec import Flow, read_modules
from ml_connector.zoho.auth import TOKEN_PATH, token_body
from ml_connector.zoho.entities import get_entity, read_scope
from ml_connector.zoho.regions import DATACENTERS, DataCenter, resolve_region

#: Zoho's authorization endpoint, on any accounts server (it sends users to their own).
AUTH_PATH = "/oauth/v2/auth"


def flow_scopes(flows: Iterable[Flow]) -> list[str]:
    """The READ scopes of every module the flows read, and settings (organizations)."""
    return sorted({get_entity(m).oauth_scope for m in read_modules(flows)}
                  | {read_scope("settings")})


@dataclass(frozen=True)
class Consent:
    """A consent request: the URL to open and what its answer must carry."""

    url: str
    redirect_uri: str
    region: str
    state: str = field(repr=False)


def consent(client_id: str, scopes: Iterable[str], redirect_uri: str, *,
            region: str = "us", table: Mapping[str, DataCenter] = DATACENTERS) -> Consent:
    """The consent URL at ``region``'s accounts server (Zoho forwards users of other data
    centers to theirs)."""
    state = secrets.token_urlsafe(16)
    query = {"scope": ",".join(scopes), "client_id": client_id, "response_type": "code",
             "access_type": "offline", "prompt": "consent", "redirect_uri": redirect_uri,
             "state": state}
    accounts = table[region].accounts_url
    return Consent(f"{accounts}{AUTH_PATH}?{urlencode(query)}", redirect_uri, region, state)


@dataclass(frozen=True)
class Granted:
    """What the grant gave: the refresh token and its data center."""

    refresh_token: str = field(repr=False)
    datacenter: DataCenter
    access_token: str = field(repr=False)


def exchange(asked: Consent, returned_url: str, client_id: str, client_secret: str, *,
             table: Mapping[str, DataCenter] = DATACENTERS,
             http: httpx.Client | None = None) -> Granted:
    """Exchange the code of the address the browser was sent back to, at the accounts
    server it names; ``ConfigError`` for an answer that is not the one asked for."""
    parts = urlsplit(returned_url.strip())
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if query.get("error"):
        raise ConfigError(f"Zoho refused the consent: {query['error']}")
    if not query.get("code"):
        raise ConfigError("the address has no code= parameter: paste the whole address the "
                          "browser was sent to after you accepted")
    if query.get("state") != asked.state:
        raise ConfigError("the address answers another consent request (its state differs): "
                          "open the URL printed by this command, not an older one")
    location, server = query.get("location"), query.get("accounts-server")
    datacenter = resolve_region(location=location, accounts_server=server, table=table,
                                region=None if location or server else asked.region)
    url = datacenter.accounts_url + TOKEN_PATH
    client = http or httpx.Client(timeout=60)
    try:
        response = client.post(url, data={
            "grant_type": "authorization_code", "client_id": client_id,
            "client_secret": client_secret, "redirect_uri": asked.redirect_uri,
            "code": query["code"]})
    finally:
        if http is None:
            client.close()
    try:
        body = token_body(response, datacenter, url)
    except AuthError as exc:
        if exc.code == "invalid_code":
            raise AuthError("the authorization code expired (Zoho's codes live two minutes) "
                            "or was used already: run the command again",
                            service="Zoho accounts", code=exc.code) from None
        raise
    if not body.get("refresh_token"):
        raise AuthError("Zoho gave no refresh token: the consent URL must carry "
                        "access_type=offline and prompt=consent", service="Zoho accounts")
    return Granted(str(body["refresh_token"]), datacenter, str(body["access_token"]))


def organizations(granted: Granted, http: httpx.Client | None = None) -> list[dict]:
    """The Books organizations the new token's user belongs to (one request)."""
    client = http or httpx.Client(timeout=60)
    try:
        response = client.get(granted.datacenter.books_base + "/organizations", headers={
            "Authorization": f"Zoho-oauthtoken {granted.access_token}"})
    finally:
        if http is None:
            client.close()
    if response.status_code != 200:
        raise AuthError(f"listing the organizations failed (HTTP {response.status_code}): "
                        "the token lacks ZohoBooks.settings.READ?", service="Zoho",
                        status=response.status_code)
    return list(response.json().get("organizations") or [])
