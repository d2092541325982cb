"""Signature checks of each configurable scheme, against signatures made by the sandbox's
own signer (``ml_connector_sandbox.zoho.webhooks.sign``, written apart from the receiver)."""

from __future__ import annotations

import time

import httpx
import pytest

from ml_connector.errors import Rejected
from ml_connector.webhooks.signature import SignatureScheme
from ml_connector_sandbox.zoho.webhooks import WebhookSpec, sign

SECRET = "Ws3cretWs3cret42"
BODY = b'{"invoice":{"invoice_id":"46000000001","total":120.5}}'
SCHEMES = {
    "body-hex": {},
    "body-base64": {"encoding": "base64"},
    "timestamp-in-signature-header": {"signed": "timestamp.body"},
    "timestamp-header-base64": {"signed": "timestamp.body", "encoding": "base64",
                                "timestamp_header": "X-Zoho-Webhook-Timestamp"},
    "other-header": {"header": "X-Books-Signature"},
}


def pair(options: dict) -> tuple[SignatureScheme, WebhookSpec]:
    spec = WebhookSpec(organization_id="10234695", url="http://127.0.0.1:9/", secret=SECRET,
                       **options)
    return SignatureScheme(header=spec.header, signed=spec.signed, encoding=spec.encoding,
                           timestamp_header=spec.timestamp_header), spec


@pytest.mark.parametrize("name", SCHEMES)
def test_a_genuine_signature_verifies_and_a_changed_one_does_not(name):
    scheme, spec = pair(SCHEMES[name])
    now = time.time()
    headers = httpx.Headers(sign(spec, BODY, int(now * 1000)))
    assert scheme.verify(SECRET, headers, BODY, now) == headers[spec.header]
    # Header names are looked up without case, as HTTP says.
    lowered = httpx.Headers({k.lower(): v for k, v in headers.items()})
    assert scheme.verify(SECRET, lowered, BODY, now)
    with pytest.raises(Rejected, match="does not match") as wrong_secret:
        scheme.verify("An0therS3cret99", headers, BODY, now)
    with pytest.raises(Rejected, match="does not match"):
        scheme.verify(SECRET, headers, BODY.replace(b"120.5", b"999.5"), now)
    with pytest.raises(Rejected, match="no signature"):
        scheme.verify(SECRET, httpx.Headers({}), BODY, now)
    assert wrong_secret.value.status == 401
    assert SECRET not in str(wrong_secret.value)


@pytest.mark.parametrize("name", [n for n in SCHEMES if "timestamp" in n])
def test_a_stale_or_future_timestamp_is_refused_even_when_correctly_signed(name):
    scheme, spec = pair(SCHEMES[name])
    now = time.time()
    for offset in (-scheme.tolerance - 5, scheme.tolerance + 5):
        headers = httpx.Headers(sign(spec, BODY, int((now + offset) * 1000)))
        with pytest.raises(Rejected, match="timestamp") as stale:
            scheme.verify(SECRET, headers, BODY, now)
        assert stale.value.status == 401
    inside = httpx.Headers(sign(spec, BODY, int((now - scheme.tolerance + 5) * 1000)))
    assert scheme.verify(SECRET, inside, BODY, now)


def test_malformed_signature_headers_are_refused_with_the_reason():
    now = time.time()
    hexed = SignatureScheme()
    with pytest.raises(Rejected, match="not hex"):
        hexed.verify(SECRET, {"X-Zoho-Webhook-Signature": "zz-not-hex"}, BODY, now)
    stamped = SignatureScheme(signed="timestamp.body")
    with pytest.raises(Rejected, match="t=<timestamp>,v=<signature>"):
        stamped.verify(SECRET, {"X-Zoho-Webhook-Signature": "deadbeef"}, BODY, now)
    with pytest.raises(Rejected, match="not a number"):
        stamped.verify(SECRET, {"X-Zoho-Webhook-Signature": "t=soon,v=deadbeef"}, BODY, now)
    separate = SignatureScheme(signed="timestamp.body", timestamp_header="X-Timestamp")
    with pytest.raises(Rejected, match="lacks header X-Timestamp"):
        separate.verify(SECRET, {"X-Zoho-Webhook-Signature": "deadbeef"}, BODY, now)
