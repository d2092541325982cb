"""The webhook receiver: an ASGI app that verifies Zoho Books webhooks and records them.

It never calls Zoho and never starts work: a verified event is written to the state store
before the answer is 2xx (so Zoho's own retries cover a receiver that was down), and the
flows' watchers turn new events into runs.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ml_connector.errors import Rejected
from ml_connector.state.deletes import DeleteLog
from ml_connector.state.events import Event, EventLog
from ml_connector.webhooks.config import Endpoint
from ml_connector.webhooks.payload import parse_payload

log = logging.getLogger(__name__)
#: Bytes a webhook body may have (an invoice with a few hundred lines is well below this).
MAX_BODY = 1024 * 1024


async def _read(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Rejected(413, f"body of {declared} bytes is over the limit of {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Rejected(413, f"body is over the limit of {limit} bytes")
    return bytes(body)


def build_app(endpoints: Mapping[str, Endpoint], events: EventLog, *, max_body: int = MAX_BODY,
              clock: Callable[[], float] = time.time) -> FastAPI:
    """The receiver: ``POST /zoho/{organization_id}`` per configured organization."""
    app = FastAPI(title="ml-connector webhooks", docs_url=None, redoc_url=None,
                  openapi_url=None)

    @app.get("/healthz")
    def health() -> dict:
        return {"status": "ok", "organizations": sorted(endpoints)}

    @app.post("/zoho/{organization_id}")
    async def receive(organization_id: str, request: Request) -> JSONResponse:
        try:
            found = endpoints.get(organization_id)
            if found is None:
                raise Rejected(404, "no webhook endpoint for organization "
                               f"{organization_id[:32]!r}")
            body = await _read(request, max_body)
            signature = found.scheme.verify(found.secret, request.headers, body, clock())
            change = parse_payload(body, found.payload)
            entity, record_id = change.entity, change.record_id
            # Without an event id header: the record's version and the body's digest (a
            # retry repeats the body; a later edit changes it, even one within the same
            # second, which Zoho stamps alike); a record is deleted once.
            digest = hashlib.sha256(body).hexdigest()[:16]
            version = "deleted" if change.deleted else \
                f"{change.modified}:{digest}" if change.modified else digest
            event_id = (request.headers.get(found.event_id_header) if found.event_id_header
                        else None) or f"{entity}:{record_id}:{version}"
            now = clock()
            if change.deleted:  # before the event: the run it starts finds the delete
                await run_in_threadpool(DeleteLog(events.store).found, organization_id,
                                        entity, [record_id], "webhook", now)
            new = await run_in_threadpool(events.record, Event(
                organization_id, entity, record_id, event_id, signature, now))
        except Rejected as exc:
            log.warning("Refused a webhook for organization %s (%d): %s",
                        organization_id[:32], exc.status, exc.reason)
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        log.info("%s %s %s%s of organization %s", "Recorded" if new else "Already had",
                 entity, record_id, " (deleted)" if change.deleted else "", organization_id)
        return JSONResponse({"recorded": new, "entity": entity, "record_id": record_id,
                             "deleted": change.deleted})

    return app
