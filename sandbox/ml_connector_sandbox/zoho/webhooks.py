"""Outgoing webhooks, as Zoho Books sends them from a workflow rule: when a record is
created, edited or voided, POST ``{"<module>": {...record...}}`` to the configured URL,
signed with the webhook's secret, retried on the sandbox clock while the target fails; when
one is deleted, the body of ``deleted_body`` (Zoho does not document a delete's payload, so
its shape is a setting: by default ``{"invoice": {"invoice_id": ...}, "event_type":
"deleted"}``).

Zoho documents the webhook's secret (12-50 alphanumeric characters, ``POST
/settings/webhooks``, https://www.zoho.com/books/api/v3/webhooks) but not how it signs, nor
its retry schedule (the workflows API has retry policies, https://www.zoho.com/books/api/v3/
workflows, without published defaults): both are settings here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from ml_connector_sandbox.clock import SandboxClock

log = logging.getLogger(__name__)

Trigger = Literal["created", "edited", "voided", "deleted"]
TRIGGERS: tuple[Trigger, ...] = ("created", "edited", "voided", "deleted")
#: The body of a "Deleted" event: every string (key or value) is formatted with ``module``
#: (``invoices``), ``key`` (``invoice``), ``id_field`` (``invoice_id``), ``id``, ``number``
#: (the document's number, empty without one) and ``event`` (``deleted``).
DELETED_BODY: dict[str, Any] = {"{key}": {"{id_field}": "{id}"}, "event_type": "{event}"}


def fill(template: Any, values: dict[str, str]) -> Any:
    """``template`` with every string of it (keys included) formatted with ``values``."""
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, dict):
        return {fill(k, values): fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


class WebhookSpec(BaseModel):
    """One organization's webhook, attached to "created or edited" rules of ``entities``."""

    model_config = ConfigDict(extra="forbid")

    organization_id: str = Field(pattern=r"^\d{4,19}$")
    url: str
    secret: str = Field(pattern=r"^[A-Za-z0-9]{12,50}$")
    entities: list[str] = Field(
        default_factory=lambda: ["invoices", "bills", "purchaseorders", "creditnotes",
                                 "vendorcredits", "contacts", "expenses", "journals",
                                 "customerpayments", "vendorpayments", "chartofaccounts"])
    events: list[Trigger] = Field(default_factory=lambda: list(TRIGGERS))
    header: str = "X-Zoho-Webhook-Signature"
    signed: Literal["body", "timestamp.body"] = "body"
    encoding: Literal["hex", "base64"] = "hex"
    timestamp_header: str | None = Field(
        default=None, description="with signed timestamp.body: the timestamp's own header; "
        "None sends 't=<ms>,v=<signature>' in the signature header (Zoho Payments' form)")
    deleted_body: dict[str, Any] = Field(
        default_factory=lambda: dict(DELETED_BODY),
        description="the JSON body of a Deleted event; strings are formatted with {module}, "
        "{key}, {id_field}, {id}, {number} and {event}")
    retry_delays: list[float] = Field(
        default_factory=lambda: [60.0, 300.0, 900.0, 1800.0, 3600.0],
        description="sandbox-clock seconds before each retry of a failed delivery")
    timeout: float = Field(default=10.0, gt=0)


class Delivery(BaseModel):
    """One event and its delivery attempts."""

    id: int
    organization_id: str
    entity: str
    record_id: str
    trigger: Trigger
    state: Literal["pending", "delivered", "failed", "refused"] = "pending"
    due: float
    attempts: list[dict[str, Any]] = Field(default_factory=list)


def sign(spec: WebhookSpec, body: bytes, now_ms: int) -> dict[str, str]:
    """The signature headers of ``body`` under ``spec``'s scheme."""
    stamp = str(now_ms)
    message = body if spec.signed == "body" else f"{stamp}.".encode() + body
    raw = hmac.new(spec.secret.encode(), message, hashlib.sha256).digest()
    signature = raw.hex() if spec.encoding == "hex" else base64.b64encode(raw).decode()
    if spec.signed == "body":
        return {spec.header: signature}
    if spec.timestamp_header:
        return {spec.header: signature, spec.timestamp_header: stamp}
    return {spec.header: f"t={stamp},v={signature}"}


class Webhooks:
    """The webhooks of every organization and a sender thread that delivers in order."""

    def __init__(self, clock: SandboxClock, specs: list[WebhookSpec] | None = None) -> None:
        self.clock = clock
        self.specs: dict[str, WebhookSpec] = {s.organization_id: s for s in specs or []}
        self.deliveries: list[Delivery] = []
        self._bodies: dict[int, bytes] = {}
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def configure(self, spec: WebhookSpec) -> None:
        with self._lock:
            self.specs[spec.organization_id] = spec

    def remove(self, organization_id: str) -> bool:
        with self._lock:
            return self.specs.pop(organization_id, None) is not None

    def emit(self, organization_id: str, entity: str, key: str, id_field: str,
             record: dict, trigger: Trigger) -> None:
        """Queue the event of ``record`` if a webhook of its organization wants it."""
        spec = self.specs.get(organization_id)
        if spec is None or entity not in spec.entities or trigger not in spec.events:
            return
        payload: Any = {key: record}
        if trigger == "deleted":
            number = next((str(v) for f, v in record.items()
                           if f.endswith("_number") and isinstance(v, str)), "")
            payload = fill(spec.deleted_body, {
                "module": entity, "key": key, "id_field": id_field,
                "id": str(record.get(id_field)), "number": number, "event": trigger})
        body = json.dumps(payload, separators=(",", ":")).encode()
        with self._lock:
            delivery = Delivery(id=len(self.deliveries) + 1, organization_id=organization_id,
                                entity=entity, record_id=str(record.get(id_field)),
                                trigger=trigger, due=self.clock.now())
            self.deliveries.append(delivery)
            self._bodies[delivery.id] = body
            self._lock.notify_all()
        self._start()

    def snapshot(self, organization_id: str | None = None) -> list[dict]:
        with self._lock:
            return [d.model_dump() for d in self.deliveries
                    if organization_id in (None, d.organization_id)]

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(10)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="zoho-webhooks",
                                                daemon=True)
                self._thread.start()

    def _next(self) -> Delivery | None:
        """The oldest pending delivery that is due (waiting for one, a little at a time)."""
        with self._lock:
            pending = [d for d in self.deliveries if d.state == "pending"]
            due = [d for d in pending if d.due <= self.clock.now()]
            if not due:
                self._lock.wait(0.05 if pending else 0.5)
                return None
            return due[0]

    def _run(self) -> None:
        with httpx.Client() as client:
            while not self._stop.is_set():
                delivery = self._next()
                if delivery is not None:
                    self._deliver(client, delivery)

    def _deliver(self, client: httpx.Client, delivery: Delivery) -> None:
        spec = self.specs.get(delivery.organization_id)
        if spec is None:  # the webhook was removed: nothing is sent any more
            delivery.state = "failed"
            return
        body = self._bodies[delivery.id]
        headers = {"content-type": "application/json", **sign(spec, body, self.clock.now_ms())}
        attempt: dict[str, Any] = {"at": self.clock.now()}
        try:
            status = client.post(spec.url, content=body, headers=headers,
                                 timeout=spec.timeout).status_code
            attempt["status"] = status
        except httpx.HTTPError as exc:
            status = None
            attempt["error"] = type(exc).__name__
        with self._lock:
            delivery.attempts.append(attempt)
            if status is not None and 200 <= status < 300:
                delivery.state = "delivered"
            elif status is not None and 400 <= status < 500 and status not in (408, 429):
                delivery.state = "refused"  # the target said the request itself is wrong
            elif len(delivery.attempts) > len(spec.retry_delays):
                delivery.state = "failed"
            else:
                delivery.due = self.clock.now() + spec.retry_delays[len(delivery.attempts) - 1]
        log.info("webhook %s %s %s: %s", delivery.entity, delivery.record_id,
                 delivery.trigger, attempt)
