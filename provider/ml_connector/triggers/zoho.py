"""ZohoChangeTrigger: the event trigger of an asset watcher that starts incremental runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Literal

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from ml_connector.errors import ConnectorError
from ml_connector.hooks.state import DEFAULT_STATE_CONN_ID
from ml_connector.webhooks.watch import ChangePoll, EventWatch

#: Seconds before a watcher whose connection or store cannot be used tries again.
RETRY_SETUP = 60.0


class ZohoChangeTrigger(BaseEventTrigger):
    """Fires when records of ``entities`` changed in the organization of ``zoho_conn_id``
    (or ``organization``, another of its login: an id, or a name).

    ``source="webhooks"`` reads the state store every ``interval`` seconds for events the
    receiver recorded (a burst that settles for ``settle`` seconds fires once);
    ``source="poll"`` asks Zoho every ``interval`` seconds for each entity's most recently
    modified record (one request per entity, charged to the organization's daily quota).
    Each firing is one asset event, so the flows scheduled on the asset start one run that
    reads the changes since its watermark. Only names and timings are serialized.
    """

    def __init__(self, *, watcher: str, entities: list[str],
                 source: Literal["webhooks", "poll"] = "webhooks",
                 zoho_conn_id: str = "zoho_books_default",
                 state_conn_id: str = DEFAULT_STATE_CONN_ID, interval: float = 5.0,
                 settle: float = 2.0, max_wait: float = 30.0,
                 organization: str | None = None) -> None:
        super().__init__()
        self.watcher, self.entities, self.source = watcher, list(entities), source
        self.organization = organization
        self.zoho_conn_id, self.state_conn_id = zoho_conn_id, state_conn_id
        self.interval, self.settle, self.max_wait = float(interval), float(settle), \
            float(max_wait)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}", {
            "watcher": self.watcher, "entities": self.entities, "source": self.source,
            "zoho_conn_id": self.zoho_conn_id, "state_conn_id": self.state_conn_id,
            "interval": self.interval, "settle": self.settle, "max_wait": self.max_wait,
            "organization": self.organization})

    def _watch(self) -> EventWatch | ChangePoll:
        from ml_connector.hooks.state import state_store, state_url
        from ml_connector.hooks.zoho_books import ZohoBooksHook
        from ml_connector.state.events import EventLog
        from ml_connector.transport.fields import parse_extra
        from ml_connector.webhooks.config import organization_of

        log = EventLog(state_store(state_url(self.state_conn_id)))
        hook = ZohoBooksHook(self.zoho_conn_id, self.state_conn_id,
                             organization=self.organization)
        if self.source == "poll":
            return ChangePoll(hook.client, log, self.watcher, self.entities)
        if self.organization is not None:  # another organization of the login: its id
            org = self.organization if self.organization.isdigit() else \
                hook.client.organization_id
        else:
            conn = hook.get_connection(self.zoho_conn_id)
            org = organization_of(parse_extra(conn.extra, self.zoho_conn_id),
                                  self.zoho_conn_id)
        return EventWatch(log, self.watcher, org, self.entities,
                          settle=self.settle, max_wait=self.max_wait)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from asgiref.sync import sync_to_async

        watch = None
        while watch is None:
            try:
                watch = await sync_to_async(self._watch)()
            except ConnectorError as exc:  # fixed in the connection, the watcher recovers
                self.log.error("Cannot watch %s of %s: %s; trying again in %g s",
                               ", ".join(self.entities), self.zoho_conn_id, exc,
                               RETRY_SETUP)
                await asyncio.sleep(RETRY_SETUP)
        self.log.info("Watching %s of %s for changes (%s, every %g s)",
                      ", ".join(self.entities), self.zoho_conn_id, self.source, self.interval)
        while True:
            try:
                changed = await sync_to_async(watch.check)()
            except ConnectorError as exc:  # the store or Zoho unreachable: the next round
                self.log.warning("Could not check for changes: %s", exc)
                changed = None
            if changed is not None:
                self.log.info("%d change(s) of %s (%s): records %s", changed.changes,
                              ", ".join(changed.entities), changed.source,
                              ", ".join(changed.records[:10]))
                yield TriggerEvent(changed.model_dump(mode="json"))
                await sync_to_async(watch.done)(changed)
            await asyncio.sleep(self.interval)
