"""When to start an incremental run: new webhook events in the state store, or (where no
webhook can be configured) Zoho's newest ``last_modified_time`` moving on.

Plain Python, called by ``ZohoChangeTrigger`` in the triggerer: ``check`` says whether a
run is due, ``done`` moves the watcher's cursor once the triggerer has the event (a crash in
between repeats a run, which finds nothing new; it never loses one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel

from ml_connector.state.events import Event, EventLog
from ml_connector.zoho.client import ZohoBooksClient
from ml_connector.zoho.entities import get_entity
from ml_connector.zoho.timefmt import parse_zoho_time


class Changed(BaseModel):
    """A watcher's verdict that a run is due (the asset event's payload)."""

    source: Literal["webhooks", "poll"]
    entities: list[str]
    changes: int
    records: list[str]
    positions: dict[str, str]  # cursor key -> its new position


class EventWatch:
    """New webhook events of ``entities`` after the cursor ``watcher``.

    A burst becomes one run: the watcher waits until no event arrived for ``settle``
    seconds, or until the oldest waiting event is ``max_wait`` seconds old (a steady stream
    still starts runs). Events are ordered by their ``seq``; one committed out of order can
    be passed over, which delays it to the next event or the cron run, never loses data:
    the run reads every change since its watermark.
    """

    def __init__(self, log: EventLog, watcher: str, organization_id: str,
                 entities: Sequence[str], *, settle: float = 2.0, max_wait: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.log, self.watcher, self.organization_id = log, watcher, organization_id
        self.entities = list(entities)
        self.settle, self.max_wait, self.clock = settle, max_wait, clock

    def check(self) -> Changed | None:
        after = int(self.log.cursor(self.watcher) or 0)
        pending = self.log.pending(self.organization_id, self.entities, after)
        if pending is None:
            return None
        now = self.clock()
        if now - pending.newest_at < self.settle and now - pending.oldest_at < self.max_wait:
            return None  # more of the burst may be on its way
        return Changed(source="webhooks", entities=self.entities, changes=pending.count,
                       records=list(pending.records),
                       positions={self.watcher: str(pending.last_seq)})

    def done(self, changed: Changed) -> None:
        for key, position in changed.positions.items():
            self.log.advance(key, position)


class ChangePoll:
    """Zoho's most recently modified record of each entity, one list request per entity
    (``sort_column=last_modified_time``, ``per_page=1``), against the cursor: a newer one
    starts a run. The first check only sets the cursors. A change found is recorded as an
    event too (as a webhook's would be), so a fact flow waits for a list flow to load
    it (``FlowRun.lists_ready``)."""

    def __init__(self, client: ZohoBooksClient, log: EventLog, watcher: str,
                 entities: Sequence[str]) -> None:
        self.client, self.log, self.watcher = client, log, watcher
        self.entities = list(entities)

    def newest(self, entity: str) -> tuple[str | None, str | None]:
        """``(last_modified_time, record id)`` of the entity's newest change (1 request)."""
        ent = get_entity(entity)
        body = self.client.get(ent.path, {"sort_column": "last_modified_time",
                                          "sort_order": "D", "per_page": 1}, scope=ent.scope)
        rows = body.get(ent.list_key) or []
        if not rows:
            return None, None
        return rows[0].get("last_modified_time"), str(rows[0].get(ent.id_field))

    def check(self) -> Changed | None:
        """``QuotaExhausted`` instead of a request that would dip into the daily reserve
        kept for the organization's other integrations."""
        if self.client.store is not None:
            self.client.quota.check(len(self.entities), "change poll of "
                                    + ", ".join(self.entities))
        positions: dict[str, str] = {}
        changed: list[str] = []
        records: list[str] = []
        for entity in self.entities:
            key = f"{self.watcher}/{entity}"
            seen = self.log.cursor(key)
            modified, record_id = self.newest(entity)
            if modified is None:
                continue
            if seen is None:
                self.log.advance(key, modified)  # the baseline: runs cover what exists
            elif parse_zoho_time(modified) > parse_zoho_time(seen):
                positions[key] = modified
                changed.append(entity)
                records.append(str(record_id))
        if not changed:
            return None
        return Changed(source="poll", entities=changed, changes=len(changed),
                       records=records, positions=positions)

    def done(self, changed: Changed) -> None:
        org = self.client.organization_id
        for entity, record_id in zip(changed.entities, changed.records, strict=True):
            modified = changed.positions[f"{self.watcher}/{entity}"]
            noticed = f"poll:{entity}:{record_id}:{modified}"
            self.log.record(Event(org, entity, record_id, noticed, noticed, time.time()))
        for key, position in changed.positions.items():
            self.log.advance(key, position)
