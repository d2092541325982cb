"""Anaplan authentication: Basic, CA certificate (v2/v1) and OAuth with rotating refresh tokens.

Token bookkeeping (``TokenBook``) is shared by the sync and async auth: it decides whether
the current token is good, due for refresh (under 5 minutes left) or must be replaced, and
produces the HTTP call that does it; ``AnaplanAuth``/``AsyncAnaplanAuth`` only execute it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import struct
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ml_connector.errors import AuthError, ConfigError
from ml_connector.transport.aio import AsyncTransport
from ml_connector.transport.sync import Transport, json_body

log = logging.getLogger(__name__)


@dataclass
class HttpCall:
    """A request to the auth service, described rather than sent."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    kind: Literal["authenticate", "refresh"] = "authenticate"

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"headers": self.headers}
        if self.json is not None:
            out["json"] = self.json
        if self.data is not None:
            out["data"] = self.data
        return out


@dataclass
class Token:
    value: str = field(repr=False)
    expires_at: float


class Method(Protocol):
    """One way of obtaining a token from the auth service."""

    name: str

    def authenticate(self, auth_url: str) -> HttpCall: ...
    def parse(self, body: dict[str, Any], now: float) -> Token: ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse_token_info(body: dict[str, Any], now: float) -> Token:
    """``tokenInfo`` of /token/authenticate and /token/refresh (``expiresAt`` in ms)."""
    info = body.get("tokenInfo") or {}
    if body.get("status") not in (None, "SUCCESS") or not info.get("tokenValue"):
        raise AuthError(str(body.get("statusMessage") or body.get("status") or "no token"),
                        service="Anaplan auth", code=body.get("status"))
    expires = float(info.get("expiresAt") or 0) / 1000 or now + 35 * 60
    return Token(info["tokenValue"], expires)


@dataclass
class BasicMethod:
    user: str
    password: str = field(repr=False)
    name: str = "basic"

    def __post_init__(self) -> None:
        if not self.user or not self.password:
            raise ConfigError("Anaplan basic auth needs both user and password")

    def authenticate(self, auth_url: str) -> HttpCall:
        creds = _b64(f"{self.user}:{self.password}".encode())
        return HttpCall("POST", f"{auth_url}/token/authenticate",
                        {"Authorization": f"Basic {creds}"})

    def parse(self, body: dict[str, Any], now: float) -> Token:
        return parse_token_info(body, now)


@dataclass
class CertificateMethod:
    """CA certificate auth: the certificate in the header, a signed random payload in the body.

    ``v2`` (default): 8-byte big-endian Unix seconds + 92 random bytes; ``v1``: 150 random
    bytes. Signature: RSA PKCS#1 v1.5 over SHA-512 with the certificate's private key.
    """

    certificate_pem: str = field(repr=False)
    private_key_pem: str = field(repr=False)
    passphrase: str | None = field(default=None, repr=False)
    payload_format: Literal["v1", "v2"] = "v2"
    clock: Callable[[], float] = time.time
    name: str = "certificate"

    def __post_init__(self) -> None:
        if self.payload_format not in ("v1", "v2"):
            raise ConfigError(f"certificate payload format must be v1 or v2, got "
                              f"{self.payload_format!r}")
        if "BEGIN CERTIFICATE" not in (self.certificate_pem or ""):
            raise ConfigError("certificate must be a PEM certificate (-----BEGIN CERTIFICATE-----)")
        try:
            key = serialization.load_pem_private_key(
                self.private_key_pem.encode(),
                password=self.passphrase.encode() if self.passphrase else None,
            )
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"private key could not be loaded: {type(exc).__name__} "
                              "(wrong passphrase or not a PEM key)") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError("private key must be an RSA key")
        self._key = key

    def payload(self) -> dict[str, str]:
        if self.payload_format == "v2":
            data = struct.pack(">Q", int(self.clock())) + os.urandom(92)
        else:
            data = os.urandom(150)
        signature = self._key.sign(data, padding.PKCS1v15(), hashes.SHA512())
        body = {"encodedData": _b64(data), "encodedSignedData": _b64(signature)}
        if self.payload_format == "v2":
            body["encodedDataFormat"] = "v2"
        return body

    def authenticate(self, auth_url: str) -> HttpCall:
        header = f"CACertificate {_b64(self.certificate_pem.strip().encode())}"
        return HttpCall("POST", f"{auth_url}/token/authenticate", {"Authorization": header},
                        json=self.payload())

    def parse(self, body: dict[str, Any], now: float) -> Token:
        return parse_token_info(body, now)


@dataclass
class OAuthMethod:
    """OAuth refresh-token grant. Refresh tokens rotate and are single-use: ``store`` must
    persist the new one (it is called before the access token is used)."""

    client_id: str
    load: Callable[[], str] = field(repr=False)
    store: Callable[[str], None] = field(repr=False)
    name: str = "oauth"
    #: Held from reading the refresh token to storing its successor: a cross-process lock
    #: where several processes share one token, so that none presents a used one.
    lock: Callable[[], AbstractContextManager[None]] = field(default=nullcontext, repr=False)

    def authenticate(self, auth_url: str) -> HttpCall:
        return HttpCall("POST", f"{auth_url}/oauth/token", data={
            "grant_type": "refresh_token", "client_id": self.client_id,
            "refresh_token": self.load(),
        })

    def parse(self, body: dict[str, Any], now: float) -> Token:
        if "access_token" not in body:
            raise AuthError(str(body.get("error_description") or body.get("error") or body),
                            service="Anaplan auth", code=body.get("error"))
        if body.get("refresh_token"):
            self.store(body["refresh_token"])
        return Token(body["access_token"], now + float(body.get("expires_in") or 2100))


#: What to fix in a connection when its auth method's login is refused.
REFUSED_FIX = {
    "basic": "its Login and Password",
    "certificate": "its certificate and private key (extra certificate, private_key)",
    "oauth": "its OAuth refresh token (ml-connector anaplan authorize)",
}


def refusal_hint(method_name: str, conn_id: str) -> str:
    """What to fix in Airflow connection ``conn_id`` when its login is refused."""
    return f"fix {REFUSED_FIX.get(method_name, 'its credentials')} in the Airflow " \
        f"connection {conn_id!r}"


class TokenBook:
    """The current token and the decision of what to do next."""

    def __init__(self, method: Method, auth_url: str, *, clock: Callable[[], float] = time.time,
                 refresh_margin: float = 300.0) -> None:
        self.method = method
        self.auth_url = auth_url.rstrip("/")
        self.clock = clock
        self.refresh_margin = refresh_margin
        self.token: Token | None = None
        self.issued = 0
        self.on_token: Callable[[str], object] | None = None
        #: What to fix where the credentials come from (a hook: its connection), added to
        #: a refused login's message.
        self.refusal_hint: str | None = None

    def refused(self, exc: AuthError) -> AuthError:
        """``exc`` of a refused login, with the ``refusal_hint``."""
        if not self.refusal_hint:
            return exc
        return exc.hinted(self.refusal_hint)

    def exclusive(self) -> AbstractContextManager[None]:
        """What a token exchange holds: the OAuth method's lock, else nothing."""
        return self.method.lock() if isinstance(self.method, OAuthMethod) else nullcontext()

    def fresh(self) -> bool:
        """Whether the current token serves without any call."""
        now = self.clock()
        return self.token is not None and now < self.token.expires_at - self.refresh_margin

    def next_call(self) -> HttpCall | None:
        """``None`` when the token is good; else the refresh or authenticate call to make."""
        now = self.clock()
        if self.token is None or now >= self.token.expires_at - 5:
            return self.method.authenticate(self.auth_url)
        if now < self.token.expires_at - self.refresh_margin:
            return None
        if self.method.name == "oauth":
            return self.method.authenticate(self.auth_url)
        return HttpCall("POST", f"{self.auth_url}/token/refresh",
                        {"Authorization": f"AnaplanAuthToken {self.token.value}"},
                        kind="refresh")

    def accept(self, body: dict[str, Any]) -> str:
        self.token = self.method.parse(body, self.clock())
        self.issued += 1
        if self.on_token is not None:
            self.on_token(self.token.value)
        return self.token.value

    def retry_after_refusal(self, call: HttpCall, attempt: int) -> bool:
        """Whether a refused ``call`` deserves one more try: a refused refresh falls back to a
        fresh login, and a refused OAuth grant reloads the refresh token, which another
        process may just have rotated."""
        if attempt > 0 or not (call.kind == "refresh" or self.method.name == "oauth"):
            return False
        self.forget()
        return True

    def forget(self, value: str | None = None) -> None:
        if self.token is not None and (value is None or self.token.value == value):
            self.token = None

    def current(self) -> str:
        """The token ``next_call`` found good."""
        assert self.token is not None
        return self.token.value

    def header(self) -> dict[str, str]:
        assert self.token is not None
        return {"Authorization": f"AnaplanAuthToken {self.token.value}"}


class AnaplanAuth:
    """Synchronous token source for the Integration API."""

    def __init__(self, book: TokenBook, transport: Transport) -> None:
        self.book = book
        self.transport = transport

    def token(self) -> str:
        if self.book.fresh():
            return self.book.current()
        with self.book.exclusive():
            for attempt in range(2):
                call = self.book.next_call()  # reads the newest refresh token, under the lock
                if call is None:
                    return self.book.current()
                try:
                    response = self.transport.request(call.method, call.url, **call.kwargs())
                except AuthError as exc:
                    if self.book.retry_after_refusal(call, attempt):
                        continue
                    raise self.book.refused(exc) from None
                return self.book.accept(json_body(response, "Anaplan auth"))
        raise AuthError("could not obtain a token", service="Anaplan auth")


class AsyncAnaplanAuth:
    """Asynchronous token source (used in triggers)."""

    def __init__(self, book: TokenBook, transport: AsyncTransport) -> None:
        self.book = book
        self.transport = transport
        # The lock and the token store are blocking (database) calls: they run off the event
        # loop, in one thread, since a lock is released by the thread that took it.
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="anaplan-auth")

    async def _off_loop(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    async def token(self) -> str:
        if self.book.fresh():
            return self.book.current()
        held = self.book.exclusive()
        await self._off_loop(held.__enter__)
        try:
            for attempt in range(2):
                call = await self._off_loop(self.book.next_call)
                if call is None:
                    return self.book.current()
                try:
                    response = await self.transport.request(call.method, call.url,
                                                            **call.kwargs())
                except AuthError as exc:
                    if self.book.retry_after_refusal(call, attempt):
                        continue
                    raise self.book.refused(exc) from None
                return await self._off_loop(self.book.accept,
                                            json_body(response, "Anaplan auth"))
        finally:
            await self._off_loop(held.__exit__, None, None, None)
        raise AuthError("could not obtain a token", service="Anaplan auth")

    def close(self) -> None:
        self._worker.shutdown(wait=False)
