"""Webhook signatures: HMAC over the raw body or over ``<timestamp>.<raw body>``.

Zoho does not document how Books signs a webhook (``shared/api/zoho-books.md``,
"Webhooks"): sister products send ``X-Zoho-Webhook-Signature``, Zoho Payments signs
``"<t>.<raw body>"`` with HMAC-SHA256 in a header ``t=<ms>,v=<hex>``. So the header, the
signed string and the encoding are settings; the default is HMAC-SHA256 over the raw body,
hex, in ``X-Zoho-Webhook-Signature``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ml_connector.errors import Rejected

Signed = Literal["body", "timestamp.body"]
Encoding = Literal["hex", "base64"]
SIGNED: tuple[str, ...] = ("body", "timestamp.body")
ENCODINGS: tuple[str, ...] = ("hex", "base64")
DEFAULT_HEADER = "X-Zoho-Webhook-Signature"



@dataclass(frozen=True)
class SignatureScheme:
    """How a webhook is signed.

    ``timestamp_header``: where the signed timestamp travels; None with
    ``signed="timestamp.body"`` reads it from the signature header itself in Zoho Payments'
    form ``t=<ms>,v=<signature>``. ``tolerance``: seconds a signed timestamp may differ from
    the receiver's clock.
    """

    header: str = DEFAULT_HEADER
    signed: Signed = "body"
    encoding: Encoding = "hex"
    timestamp_header: str | None = None
    tolerance: float = 300.0

    def message(self, body: bytes, timestamp: str | None) -> bytes:
        """The bytes that are signed."""
        if self.signed == "body":
            return body
        return f"{timestamp}.".encode() + body

    def digest(self, secret: str, message: bytes) -> bytes:
        return hmac.new(secret.encode(), message, hashlib.sha256).digest()

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str:
        """The signature of a genuine request (its text, for de-duplication); ``Rejected``
        (401) when it is missing, malformed, stale or wrong. ``headers`` must look names up
        without case (Starlette's and httpx's do)."""
        value = headers.get(self.header)
        if not value or not value.strip():
            raise Rejected(401, f"no signature: the request lacks header {self.header}")
        signature, timestamp = value.strip(), None
        if self.signed == "timestamp.body":
            signature, timestamp = self._split(signature, headers)
            self._check_age(timestamp, now)
        try:
            given = (bytes.fromhex(signature) if self.encoding == "hex"
                     else base64.b64decode(signature, validate=True))
        except (ValueError, binascii.Error):
            raise Rejected(401, f"signature in {self.header} is not {self.encoding}") from None
        expected = self.digest(secret, self.message(body, timestamp))
        if not hmac.compare_digest(given, expected):
            raise Rejected(401, "signature does not match the body (wrong secret, scheme, or "
                           "a body changed on the way)")
        return value.strip()

    def _split(self, value: str, headers: Mapping[str, str]) -> tuple[str, str]:
        if self.timestamp_header:
            stamp = headers.get(self.timestamp_header)
            if not stamp or not stamp.strip():
                raise Rejected(401, f"no timestamp: the request lacks header "
                               f"{self.timestamp_header}")
            return value, stamp.strip()
        parts = dict(p.strip().partition("=")[::2] for p in value.split(","))
        if not parts.get("t") or not parts.get("v"):
            raise Rejected(401, f"header {self.header} must read t=<timestamp>,v=<signature>")
        return parts["v"], parts["t"]

    def _check_age(self, stamp: str, now: float) -> None:
        try:
            when = float(stamp)
        except ValueError:
            when = math.nan
        if not math.isfinite(when):
            raise Rejected(401, "the signed timestamp is not a number")
        if when > 1e11:  # milliseconds, as Zoho Payments sends them
            when /= 1000
        if abs(now - when) > self.tolerance:
            raise Rejected(401, f"the signed timestamp is {abs(now - when):.0f} s away from "
                           f"this receiver's clock (tolerance {self.tolerance:g} s): a replay, "
                           "or a clock that is off")
