"""The Zoho emulator sends webhooks as Zoho would: on create, edit, void and delete, signed,
and retried on the sandbox clock while the receiver is down."""

from __future__ import annotations

import time

import httpx
import pytest

from ml_connector.errors import ConfigError
from ml_connector.state.deletes import DeleteLog
from ml_connector.webhooks.config import endpoint_from_fields
from ml_connector.webhooks.signature import SignatureScheme
from tests.servers import free_port

from .conftest import ORG, SECRET


def configure(sandbox, url: str, **options) -> None:
    httpx.put(f"{sandbox.base_url}/_sandbox/zoho/orgs/{ORG}/webhook",
              json={"organization_id": ORG, "url": url, "secret": SECRET, **options}
              ).raise_for_status()


def deliveries(sandbox) -> list[dict]:
    return httpx.get(f"{sandbox.base_url}/_sandbox/zoho/orgs/{ORG}/webhook/deliveries").json()


def settled(sandbox, count: int, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        done = deliveries(sandbox)
        if len(done) >= count and all(d["state"] != "pending" for d in done):
            return done
        assert time.monotonic() < deadline, done
        time.sleep(0.05)


def wait_for(predicate, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return found


def edit(sandbox, entity: str, record_id: str, changes: dict) -> dict:
    return httpx.post(f"{sandbox.base_url}/_sandbox/zoho/orgs/{ORG}/{entity}/{record_id}/edit",
                      json={"changes": changes}).raise_for_status().json()


def test_created_edited_and_voided_records_arrive_signed(sandbox, receiver_factory):
    receiver = receiver_factory(SignatureScheme(signed="timestamp.body", encoding="base64"))
    configure(sandbox, receiver.endpoint(), signed="timestamp.body", encoding="base64")
    invoice = next(sandbox.sandbox.zoho.documents(ORG, "invoices", "2026-02-01", "2026-03-01"))
    bill = next(sandbox.sandbox.zoho.documents(ORG, "bills", "2026-02-01", "2026-03-01"))
    edit(sandbox, "invoices", invoice["invoice_id"], {"reference_number": "PO-77"})
    edit(sandbox, "bills", bill["bill_id"], {"status": "void"})
    created = httpx.post(f"{sandbox.base_url}/_sandbox/zoho/orgs/{ORG}/creditnotes",
                         json={"fields": {}}).raise_for_status().json()
    done = settled(sandbox, 3)
    assert [(d["entity"], d["trigger"], d["state"]) for d in done] == [
        ("invoices", "edited", "delivered"), ("bills", "voided", "delivered"),
        ("creditnotes", "created", "delivered")]
    rows = sorted(receiver.log.events(), key=lambda r: r["seq"])
    assert [(r["entity"], r["record_id"]) for r in rows] == [
        ("invoices", invoice["invoice_id"]), ("bills", bill["bill_id"]),
        ("creditnotes", created["creditnote_id"])]


def test_a_receiver_that_was_down_gets_the_event_on_zohos_retry(sandbox, receiver_factory):
    port = free_port()
    configure(sandbox, f"http://127.0.0.1:{port}/zoho/{ORG}", retry_delays=[60, 300])
    invoice = next(sandbox.sandbox.zoho.documents(ORG, "invoices", "2026-01-01", "2026-02-01"))
    edit(sandbox, "invoices", invoice["invoice_id"], {"reference_number": "late"})
    first = wait_for(lambda: [d for d in deliveries(sandbox) if d["attempts"]])[0]
    assert first["state"] == "pending" and "error" in first["attempts"][0]
    receiver = receiver_factory(port=port)
    time.sleep(0.3)
    assert deliveries(sandbox)[0]["attempts"] == first["attempts"]  # not before it is due
    httpx.post(f"{sandbox.base_url}/_sandbox/clock/advance", json={"seconds": 61})
    done = settled(sandbox, 1)
    assert done[0]["state"] == "delivered" and len(done[0]["attempts"]) == 2
    assert [r["record_id"] for r in receiver.log.events()] == [invoice["invoice_id"]]


def test_a_refusal_is_not_retried(sandbox, receiver_factory):
    receiver = receiver_factory()
    configure(sandbox, receiver.endpoint(), secret="Wr0ngWr0ngWr0ng")
    invoice = next(sandbox.sandbox.zoho.documents(ORG, "invoices", "2026-01-01", "2026-02-01"))
    edit(sandbox, "invoices", invoice["invoice_id"], {"reference_number": "forged"})
    done = settled(sandbox, 1)
    assert done[0]["state"] == "refused" and done[0]["attempts"][0]["status"] == 401
    assert receiver.log.events() == []


def delete(sandbox, entity: str, record_id: str) -> None:
    httpx.delete(f"{sandbox.base_url}/_sandbox/zoho/orgs/{ORG}/{entity}/{record_id}"
                 ).raise_for_status()


def test_a_deleted_invoice_arrives_as_a_delete_in_the_default_shape(sandbox,
                                                                   receiver_factory):
    receiver = receiver_factory()
    configure(sandbox, receiver.endpoint())
    invoice = next(sandbox.sandbox.zoho.documents(ORG, "invoices", "2026-03-01", "2026-04-01"))
    delete(sandbox, "invoices", invoice["invoice_id"])
    done = settled(sandbox, 1)
    assert [(d["trigger"], d["state"]) for d in done] == [("deleted", "delivered")]
    rows = receiver.log.events()
    assert [(r["entity"], r["record_id"], r["event_id"]) for r in rows] == [
        ("invoices", invoice["invoice_id"], f"invoices:{invoice['invoice_id']}:deleted")]
    found = DeleteLog(receiver.log.store).rows(ORG)
    assert [(r["entity"], r["record_id"], r["source"]) for r in found] == [
        ("invoices", invoice["invoice_id"], "webhook")]


def test_a_delete_in_a_custom_shape_is_read_where_the_connection_says(sandbox,
                                                                     receiver_factory):
    shape = endpoint_from_fields({
        "organization_id": ORG, "webhook_secret": SECRET, "webhook_module_field": "module",
        "webhook_id_field": "data.id", "webhook_event_field": "action",
        "webhook_deleted_values": "Deleted,Removed"}, "zoho_books_default").payload
    receiver = receiver_factory(payload=shape)
    configure(sandbox, receiver.endpoint(), entities=["creditnotes"],
              deleted_body={"module": "{module}", "data": {"id": "{id}",
                                                           "number": "{number}"},
                            "action": "Removed"})
    note = next(sandbox.sandbox.zoho.documents(ORG, "creditnotes", "2026-02-01"))
    delete(sandbox, "creditnotes", note["creditnote_id"])
    assert [d["state"] for d in settled(sandbox, 1)] == ["delivered"]
    found = DeleteLog(receiver.log.store).rows(ORG)
    assert [(r["entity"], r["record_id"]) for r in found] == [
        ("creditnotes", note["creditnote_id"])]
    with pytest.raises(ConfigError, match="webhook_id_field must be a dotted path"):
        endpoint_from_fields({"organization_id": ORG, "webhook_secret": SECRET,
                              "webhook_id_field": "data[0].id"}, "zoho_books_default")
