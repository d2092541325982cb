"""The receiver over HTTP: only verified events are recorded, each once, before the 2xx."""

from __future__ import annotations

import json
import logging
import time

import httpx

from ml_connector.cli import main as cli
from ml_connector.webhooks.signature import SignatureScheme
from ml_connector_sandbox.zoho.webhooks import WebhookSpec, sign

from .conftest import ORG, SECRET


def payload(record_id: str = "46000000001", modified: str = "2026-02-03T10:00:00-0800",
            **fields) -> bytes:
    return json.dumps({"invoice": {"invoice_id": record_id, "last_modified_time": modified,
                                   "total": 120.5, **fields}}).encode()


def signed(body: bytes, secret: str = SECRET, at: float | None = None, **scheme) -> dict:
    spec = WebhookSpec(organization_id=ORG, url="http://127.0.0.1:9/", secret=secret,
                       **scheme)
    return {"content-type": "application/json",
            **sign(spec, body, int((time.time() if at is None else at) * 1000))}


def test_every_bad_request_is_refused_and_nothing_is_recorded(receiver_factory, caplog,
                                                               fresh_url):
    receiver = receiver_factory(url=fresh_url)
    post = receiver.endpoint()
    body = payload()
    caplog.set_level(logging.INFO)
    refused = {
        "forged": httpx.post(post, content=body, headers=signed(body, "F0rgedF0rged77")),
        "tampered": httpx.post(post, content=payload(total=999), headers=signed(body)),
        "unsigned": httpx.post(post, content=body, headers={"content-type": "application/json"}),
        "wrong organization": httpx.post(receiver.endpoint("99999999"), content=body,
                                         headers=signed(body)),
        "oversized": httpx.post(post, content=payload(notes="x" * 70_000),
                                headers=signed(payload(notes="x" * 70_000))),
        "not JSON": httpx.post(post, content=b"invoice=1", headers=signed(b"invoice=1")),
        "no known module": httpx.post(post, content=b'{"quote": {"quote_id": "1"}}',
                                      headers=signed(b'{"quote": {"quote_id": "1"}}')),
        "no record id": httpx.post(post, content=b'{"invoice": {"total": 1}}',
                                   headers=signed(b'{"invoice": {"total": 1}}')),
    }
    statuses = {name: r.status_code for name, r in refused.items()}
    assert statuses == {"forged": 401, "tampered": 401, "unsigned": 401,
                        "wrong organization": 404, "oversized": 413, "not JSON": 400,
                        "no known module": 400, "no record id": 400}
    assert "does not match" in refused["forged"].json()["error"]
    assert "X-Zoho-Webhook-Signature" in refused["unsigned"].json()["error"]
    assert receiver.log.events() == []
    # Refusals are logged with their reason, never with the secret or a signature.
    text = caplog.text + "".join(r.text for r in refused.values())
    assert "Refused a webhook" in caplog.text
    assert SECRET not in text and signed(body)["X-Zoho-Webhook-Signature"] not in text


def test_a_replay_is_accepted_but_recorded_once(receiver_factory, fresh_url):
    receiver = receiver_factory(url=fresh_url)
    body = payload()
    headers = signed(body)
    first = httpx.post(receiver.endpoint(), content=body, headers=headers)
    again = httpx.post(receiver.endpoint(), content=body, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["recorded"] is True and again.json()["recorded"] is False
    # A later edit of the same invoice is a new event.
    edited = payload(modified="2026-02-03T10:05:00-0800")
    assert httpx.post(receiver.endpoint(), content=edited,
                      headers=signed(edited)).json()["recorded"] is True
    # So is a second edit within the same second (Zoho stamps both alike): its body differs.
    again_edited = payload(modified="2026-02-03T10:05:00-0800", total=99.5)
    assert httpx.post(receiver.endpoint(), content=again_edited,
                      headers=signed(again_edited)).json()["recorded"] is True
    rows = receiver.log.events()
    assert [(r["entity"], r["record_id"]) for r in rows] == [("invoices", "46000000001")] * 3
    # A payload without last_modified_time: its body tells a retry from a later edit.
    bare = b'{"bill": {"bill_id": "7", "total": 10}}'
    changed = b'{"bill": {"bill_id": "7", "total": 12}}'
    recorded = [httpx.post(receiver.endpoint(), content=b, headers=signed(b)).json()["recorded"]
                for b in (bare, bare, changed)]
    assert recorded == [True, False, True]


def test_a_retried_delivery_with_a_fresh_timestamp_is_still_one_event(receiver_factory):
    scheme = SignatureScheme(signed="timestamp.body", tolerance=300)
    receiver = receiver_factory(scheme)
    body = payload()
    now = time.time()
    first = httpx.post(receiver.endpoint(), content=body,
                       headers=signed(body, at=now - 60, signed="timestamp.body"))
    retried = httpx.post(receiver.endpoint(), content=body,
                         headers=signed(body, at=now, signed="timestamp.body"))
    stale = httpx.post(receiver.endpoint(), content=body,
                       headers=signed(body, at=now - 3600, signed="timestamp.body"))
    assert [first.status_code, retried.status_code, stale.status_code] == [200, 200, 401]
    assert retried.json()["recorded"] is False
    assert len(receiver.log.events()) == 1


def test_the_serve_command_refuses_a_connection_without_a_usable_secret(monkeypatch, capsys,
                                                                         tmp_path):
    """``ml-connector webhooks serve`` names the connection and field, before it listens."""
    conn = {"conn_type": "zoho_books", "login": "1000.X", "password": "s",
            "extra": {"refresh_token": "r", "region": "us", "organization_id": ORG,
                      "webhook_secret": "short"}}
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT", json.dumps(conn))
    assert cli(["webhooks", "serve", "--db", f"sqlite:///{tmp_path / 's.db'}"]) == 2
    error = capsys.readouterr().err
    assert "connection 'zoho_books_default': field webhook_secret must be the 12 to 50" in error
    assert "short" not in error
