"""The authentication service: Basic and CA-certificate logins, token refresh, validation and
logout, and OAuth2 (auto-approved device grant, rotating refresh tokens)."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from ml_connector_sandbox.anaplan import errors
from ml_connector_sandbox.anaplan.config import AnaplanSandboxConfig, OAuthClientSpec
from ml_connector_sandbox.anaplan.stats import Stats
from ml_connector_sandbox.clock import SandboxClock

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
V2_DATA_BYTES = 100


@dataclass
class User:
    email: str
    guid: str
    password: str | None = None
    first_name: str = "Sandbox"
    last_name: str = "User"
    admin: bool = True
    models: frozenset[str] | None = None

    def sees(self, model_id: str) -> bool:
        return self.models is None or model_id in self.models


@dataclass
class Token:
    value: str
    user: User
    expires_at: float
    token_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    refresh_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def info(self) -> dict:
        return {"tokenId": self.token_id, "tokenValue": self.value,
                "expiresAt": int(self.expires_at * 1000), "refreshTokenId": self.refresh_id}


@dataclass
class Trusted:
    certificate: x509.Certificate
    fingerprint: bytes
    user: str | None


def _user_guid(email: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"anaplan-sandbox:{email}").hex


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise errors.bad_credential(f"{what} is not valid base64") from None


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def subject_user(cert: x509.Certificate) -> str | None:
    """The login a certificate names: its subject's emailAddress, else its CN."""
    for oid in (NameOID.EMAIL_ADDRESS, NameOID.COMMON_NAME):
        names = cert.subject.get_attributes_for_oid(oid)
        if names:
            return str(names[0].value)
    return None


class Auth:
    """Users, live tokens, trusted certificates and OAuth grants."""

    def __init__(self, config: AnaplanSandboxConfig, clock: SandboxClock, stats: Stats) -> None:
        self.config = config
        self.clock = clock
        self.stats = stats
        self.users = {
            u.email: User(u.email, _user_guid(u.email), u.password, u.first_name, u.last_name,
                          u.workspace_admin, None if u.models is None else frozenset(u.models))
            for u in config.users
        }
        self.tokens: dict[str, Token] = {}
        self.trusted: list[Trusted] = []
        self.clients = {c.client_id: c for c in config.oauth_clients}
        self.refresh_tokens = {t: c.client_id for c in config.oauth_clients
                               for t in c.refresh_tokens}
        self.device_codes: dict[str, tuple[str, float]] = {}
        self.device_polls: dict[str, int] = {}  # device code -> pending answers left
        self._seen_v2: dict[bytes, float] = {}
        for spec in config.certificates:
            self.trust(spec.pem, spec.user)

    # -- tokens ----------------------------------------------------------------------------

    def issue(self, user: User, kind: str) -> Token:
        now = self.clock.now()
        self.tokens = {k: t for k, t in self.tokens.items() if t.expires_at > now}
        token = Token(secrets.token_urlsafe(32), user, now + self.config.token_ttl)
        self.tokens[token.value] = token
        self.stats.token(kind)
        return token

    def expire_tokens(self) -> int:
        """End every live token now (as 35 minutes passing would); how many."""
        now = self.clock.now()
        live = [t for t in self.tokens.values() if t.expires_at > now]
        for token in live:
            token.expires_at = now
        return len(live)

    def token_from(self, header: str | None) -> Token:
        """The live token of an ``AnaplanAuthToken <token>`` header (AuthError otherwise)."""
        scheme, _, value = (header or "").partition(" ")
        if scheme != "AnaplanAuthToken" or not value.strip():
            raise errors.bad_header()
        token = self.tokens.get(value.strip())
        if token is None or token.expires_at <= self.clock.now():
            raise errors.bad_credential("Token is invalid or has expired")
        return token

    def user_for(self, header: str | None) -> User:
        """The user behind an Integration API request (HTTP 401 in the API's shape)."""
        try:
            return self.token_from(header).user
        except errors.AuthError:
            raise errors.ApiError(401) from None

    # -- /token/* --------------------------------------------------------------------------

    def authenticate(self, header: str | None, body: bytes) -> Token:
        scheme, _, credential = (header or "").partition(" ")
        if scheme == "Basic":
            return self.issue(self._basic_user(credential.strip()), "basic")
        if scheme == "CACertificate":
            return self.issue(self._certificate_user(credential.strip(), body), "certificate")
        raise errors.bad_header()

    def refresh(self, header: str | None) -> Token:
        old = self.token_from(header)
        if self.config.refresh_rotates_token:
            del self.tokens[old.value]
        return self.issue(old.user, "refresh")

    def logout(self, header: str | None) -> None:
        del self.tokens[self.token_from(header).value]

    def login_body(self, token: Token, message: str, validation_url: str) -> dict:
        return {"meta": {"validationUrl": validation_url}, "status": "SUCCESS",
                "statusMessage": message, "tokenInfo": {**token.info(), "refreshToken": None}}

    def validate_body(self, token: Token, validation_url: str) -> dict:
        return {**self.login_body(token, "Token validated", validation_url),
                "userInfo": {"userGuid": token.user.guid, "userId": token.user.email,
                             "customerGuid": self.config.customer_guid}}

    def _basic_user(self, credential: str) -> User:
        try:
            email, sep, password = base64.b64decode(credential, validate=True).decode().partition(
                ":")
        except (binascii.Error, ValueError):
            raise errors.bad_header("Malformed Basic credentials") from None
        if not sep or not email:
            raise errors.bad_header("Malformed Basic credentials")
        user = self.users.get(email)
        if user is None or user.password is None or not secrets.compare_digest(
                user.password, password):
            raise errors.bad_credential("Bad credentials")
        return user

    # -- certificates ----------------------------------------------------------------------

    def trust(self, pem: str, user: str | None = None) -> dict:
        """Trust a certificate or a CA. A certificate trusted directly logs in as ``user``
        (default: the name in its subject), created as a certificate-only user if unknown;
        certificates a CA issued log in as the existing user their subject names."""
        try:
            cert = x509.load_pem_x509_certificate(pem.encode())
        except ValueError:
            raise ValueError("not a PEM certificate") from None
        login = user or (None if is_ca(cert) else subject_user(cert))
        if login is None and not is_ca(cert):
            raise ValueError("the certificate's subject names no user; pass one")
        if login is not None and login not in self.users:
            self.users[login] = User(login, _user_guid(login))
        fingerprint = cert.fingerprint(hashes.SHA256())
        self.trusted = [t for t in self.trusted if t.fingerprint != fingerprint]
        self.trusted.append(Trusted(cert, fingerprint, login))
        return {"fingerprint": fingerprint.hex(), "user": login,
                "subject": cert.subject.rfc4514_string()}

    def _certificate_user(self, credential: str, body: bytes) -> User:
        try:
            pem = base64.b64decode(credential, validate=True)
            cert = x509.load_pem_x509_certificate(pem)
        except (binascii.Error, ValueError):
            raise errors.bad_header("CACertificate must carry a base64-encoded PEM") from None
        user = self._trusted_user(cert)
        now = self.clock.now()
        moment = datetime.fromtimestamp(now, tz=timezone.utc)
        if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
            raise errors.bad_credential("Certificate is not valid at this time")
        data, signature, v2 = self._signed_payload(body)
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise errors.bad_credential("Certificate key must be RSA")
        try:
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA512())
        except InvalidSignature:
            raise errors.bad_credential("Signature does not verify") from None
        if v2:
            self._check_v2(data, now)
        elif not self.config.certificate_v1:
            raise errors.bad_credential("encodedDataFormat v2 is required")
        elif len(data) < V2_DATA_BYTES:
            raise errors.bad_credential("encodedData must hold at least 100 bytes")
        return user

    def _trusted_user(self, cert: x509.Certificate) -> User:
        fingerprint = cert.fingerprint(hashes.SHA256())
        for trusted in self.trusted:
            if trusted.fingerprint == fingerprint and trusted.user is not None:
                return self.users[trusted.user]
        for trusted in self.trusted:
            if not is_ca(trusted.certificate):
                continue
            try:
                cert.verify_directly_issued_by(trusted.certificate)
            except (ValueError, TypeError, InvalidSignature):
                continue
            user = self.users.get(subject_user(cert) or "")
            if user is not None:
                return user
        raise errors.bad_credential("Certificate is not trusted")

    @staticmethod
    def _signed_payload(body: bytes) -> tuple[bytes, bytes, bool]:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not all(
                isinstance(payload.get(k), str) for k in ("encodedData", "encodedSignedData")):
            raise errors.bad_credential("Body must give encodedData and encodedSignedData")
        fmt = payload.get("encodedDataFormat")
        if fmt not in (None, "v1", "v2"):
            raise errors.bad_credential(f"Unknown encodedDataFormat {fmt!r}")
        return (_b64(payload["encodedData"], "encodedData"),
                _b64(payload["encodedSignedData"], "encodedSignedData"), fmt == "v2")

    def _check_v2(self, data: bytes, now: float) -> None:
        if len(data) != V2_DATA_BYTES:
            raise errors.bad_credential("v2 data must be 100 bytes")
        stamp = int.from_bytes(data[:8], "big")
        skew = self.config.certificate_skew
        if abs(stamp - now) > skew:
            raise errors.bad_credential("v2 timestamp is outside the accepted window")
        self._seen_v2 = {k: t for k, t in self._seen_v2.items() if t > now - 2 * skew - 60}
        if data in self._seen_v2:
            raise errors.bad_credential("v2 data was already used")
        self._seen_v2[data] = now

    # -- OAuth -----------------------------------------------------------------------------

    def device_code(self, params: dict[str, str], verification_uri: str) -> dict:
        client = self._client(params, secret=False)
        code = secrets.token_urlsafe(24)
        user_code = "-".join("".join(secrets.choice(string.ascii_uppercase) for _ in range(4))
                             for _ in range(2))
        self.device_codes[code] = (client.client_id,
                                   self.clock.now() + client.device_code_ttl)
        self.device_polls[code] = client.approve_after_polls
        return {"device_code": code, "user_code": user_code,
                "verification_uri": verification_uri,
                "verification_uri_complete": f"{verification_uri}?user_code={user_code}",
                "expires_in": client.device_code_ttl, "interval": 5}

    def oauth_token(self, params: dict[str, str]) -> dict:
        grant = params.get("grant_type")
        if grant not in (DEVICE_GRANT, "refresh_token"):
            raise errors.OAuthError("unsupported_grant_type", f"grant_type {grant!r}")
        client = self._client(params, secret=True)
        if grant == DEVICE_GRANT:
            code = params.get("device_code", "")
            if self.device_polls.get(code, 0) > 0:  # not approved yet
                self.device_polls[code] -= 1
                raise errors.OAuthError("authorization_pending", "The user has not yet "
                                        "approved the device code")
            client_id, expires = self.device_codes.pop(code, ("", 0.0))
            if client_id != client.client_id:
                raise errors.OAuthError("invalid_grant", "Unknown or used device code")
            if expires <= self.clock.now():
                raise errors.OAuthError("expired_token", "The device code has expired")
            kind, refresh = "oauth_device", self._new_refresh_token(client)
        else:
            old = params.get("refresh_token", "")
            if self.refresh_tokens.get(old) != client.client_id:
                raise errors.OAuthError("invalid_grant", "Unknown, used or revoked refresh token")
            refresh = old
            if client.rotate_refresh_tokens:
                del self.refresh_tokens[old]
                refresh = self._new_refresh_token(client)
            kind = "oauth_refresh"
        token = self.issue(self.users[client.user], kind)
        return {"access_token": token.value, "token_type": "bearer",
                "expires_in": self.config.token_ttl, "refresh_token": refresh,
                "scope": "openid profile email offline_access"}

    def _client(self, params: dict[str, str], secret: bool) -> OAuthClientSpec:
        client = self.clients.get(params.get("client_id", ""))
        if client is None or (secret and client.client_secret is not None
                              and params.get("client_secret") != client.client_secret):
            raise errors.OAuthError("invalid_client", "Unknown client or bad secret", 401)
        return client

    def _new_refresh_token(self, client: OAuthClientSpec) -> str:
        token = secrets.token_urlsafe(32)
        self.refresh_tokens[token] = client.client_id
        return token
