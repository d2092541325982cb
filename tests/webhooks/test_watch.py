"""Watchers: recorded events or Zoho's newest change become one asset event per burst."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time

import pytest

from ml_connector.state.events import Event, EventLog
from ml_connector.state.store import StateStore
from ml_connector.triggers.zoho import ZohoChangeTrigger
from ml_connector.webhooks.watch import ChangePoll, EventWatch

from .conftest import ORG, SECRET


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def burst(log: EventLog, count: int, at: float, entity: str = "invoices",
          org: str = ORG) -> None:
    for n in range(count):
        log.record(Event(org, entity, f"46{n:09d}", f"{entity}:{n}:{at}", f"sig-{at}-{n}",
                         at + n / count))


def test_a_burst_of_events_fires_once_after_it_settles(fresh_url):
    log = EventLog(StateStore(fresh_url))
    clock = Clock()
    watch = EventWatch(log, "conn.invoices", ORG, ["invoices"], settle=2, clock=clock)
    assert watch.check() is None
    burst(log, 200, clock.now)  # 200 events within one second
    burst(log, 5, clock.now, entity="bills")  # not this watcher's module
    burst(log, 5, clock.now, org="20071234")  # nor its organization
    clock.now += 1.5
    assert watch.check() is None  # the burst may still be arriving
    clock.now += 1.6
    fired = watch.check()
    assert fired is not None and fired.changes == 200 and fired.entities == ["invoices"]
    assert len(fired.records) == 10 and fired.records[0] == "46000000199"
    watch.done(fired)
    assert watch.check() is None
    clock.now += 60
    assert watch.check() is None  # nothing new: no run
    burst(log, 1, clock.now)  # a later edit (a new event id) fires again
    clock.now += 3
    again = watch.check()
    assert again is not None and again.changes == 1


def test_a_steady_stream_still_fires_within_max_wait(tmp_path):
    log = EventLog(StateStore(f"sqlite:///{tmp_path / 'state.db'}"))
    clock = Clock()
    watch = EventWatch(log, "w", ORG, ["invoices"], settle=2, max_wait=30, clock=clock)
    fired = None
    for second in range(40):
        log.record(Event(ORG, "invoices", str(second), f"e{second}", f"s{second}", clock.now))
        fired = watch.check()
        if fired:
            break
        clock.now += 1
    assert fired is not None and 30 <= second < 32


def test_polling_costs_one_request_per_module_and_fires_on_a_change(sandbox, zoho_client,
                                                                    tmp_path):
    log = EventLog(StateStore(f"sqlite:///{tmp_path / 'state.db'}"))
    client = zoho_client()
    poll = ChangePoll(client, log, "conn.poll", ["invoices", "creditnotes", "journals"])
    zoho = sandbox.sandbox.zoho
    zoho.reset_stats()
    assert poll.check() is None  # the first check sets the baseline
    assert poll.check() is None  # nothing changed since
    stats = zoho.stats()["organizations"][ORG]
    assert stats["total"] == 6
    assert stats["by_path"] == {"/books/v3/invoices": 2, "/books/v3/creditnotes": 2,
                                "/books/v3/journals": 2}
    invoice = next(zoho.documents(ORG, "invoices", "2026-03-01", "2026-04-01"))
    sandbox.sandbox.clock.advance(5)
    zoho.edit_record(ORG, "invoices", invoice["invoice_id"], {"reference_number": "R-1"})
    fired = poll.check()
    assert fired is not None and fired.entities == ["invoices"]
    assert fired.records == [invoice["invoice_id"]]
    assert log.events() == []
    poll.done(fired)
    assert poll.check() is None
    # The change is recorded as a webhook's would be, for the dimension-list guard.
    assert [(e["entity"], e["record_id"]) for e in log.events()] == [
        ("invoices", invoice["invoice_id"])]


@pytest.fixture
def webhook_env(connection_env, monkeypatch):
    """The sandbox's connections, the Zoho one with its webhook secret."""
    conn = json.loads(os.environ["AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT"])
    conn["extra"]["webhook_secret"] = SECRET
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT", json.dumps(conn))
    return connection_env


def test_the_trigger_emits_one_event_for_a_burst_and_moves_its_cursor(webhook_env, tmp_path):
    from ml_connector.hooks.state import state_url

    log = EventLog(StateStore(state_url()))
    trigger = ZohoChangeTrigger(watcher="zoho_books_default.invoices", entities=["invoices"],
                                interval=0.1, settle=0.2)
    classpath, kwargs = trigger.serialize()
    assert classpath == "ml_connector.triggers.zoho.ZohoChangeTrigger"
    assert SECRET not in json.dumps(kwargs)

    async def first_two_events() -> list:
        events = []
        runner = trigger.run()
        burst(log, 200, time.time())
        events.append(await asyncio.wait_for(runner.__anext__(), 30))
        burst(log, 3, time.time() + 1)
        events.append(await asyncio.wait_for(runner.__anext__(), 30))
        # The cursor moves once the event was taken, so a crash before repeats, never loses.
        events.append(log.cursor("zoho_books_default.invoices"))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(runner.__anext__(), 1)
        return events

    first, second, cursor = asyncio.run(first_two_events())
    assert (first.payload["changes"], second.payload["changes"]) == (200, 3)
    assert cursor == "200" and log.cursor("zoho_books_default.invoices") == "203"


def test_a_trigger_without_an_organization_logs_why_and_tries_again(connection_env,
                                                                      monkeypatch, capfd):
    conn = json.loads(os.environ["AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT"])
    del conn["extra"]["organization_id"]
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT", json.dumps(conn))
    monkeypatch.setattr("ml_connector.triggers.zoho.RETRY_SETUP", 0.2)
    trigger = ZohoChangeTrigger(watcher="w", entities=["invoices"])

    async def quiet() -> None:
        with pytest.raises(asyncio.TimeoutError):  # no event, no crash: it keeps trying
            await asyncio.wait_for(trigger.run().__anext__(), 1)

    asyncio.run(quiet())
    output = capfd.readouterr()
    errors = [line for line in (output.out + output.err).splitlines()
              if "Cannot watch" in line]
    assert len(errors) >= 2
    assert "webhooks need field organization_id" in errors[0]


def test_the_polling_trigger_fires_on_an_edit_and_charges_the_quota(connection_env, caplog):
    """``source="poll"``: the trigger asks Zoho (one request per module and check, through
    the connection's client and its daily quota) and fires once for an edit."""
    zoho = connection_env.sandbox.zoho
    trigger = ZohoChangeTrigger(watcher="zoho_books_default.poll", source="poll",
                                entities=["invoices", "bills"], interval=0.2)

    async def one_event() -> object:
        runner = trigger.run()
        pending = asyncio.ensure_future(runner.__anext__())
        for _ in range(300):  # the baseline and a quiet check, however busy the machine
            if zoho.stats()["organizations"].get(ORG, {}).get("by_path", {}).get(
                    "/books/v3/bills", 0) >= 2:
                break
            await asyncio.sleep(0.1)
        assert not pending.done()
        invoice = next(zoho.documents(ORG, "invoices", "2026-03-01", "2026-04-01"))
        connection_env.sandbox.clock.advance(5)
        zoho.edit_record(ORG, "invoices", invoice["invoice_id"], {"reference_number": "P"})
        event = await asyncio.wait_for(pending, 180)  # a guard, however busy the machine
        await runner.aclose()
        return event, invoice["invoice_id"]

    zoho.reset_stats()
    caplog.set_level(logging.INFO, logger="ml_connector.state.quota")
    event, record_id = asyncio.run(one_event())
    assert event.payload["source"] == "poll" and event.payload["records"] == [record_id]
    by_path = zoho.stats()["organizations"][ORG]["by_path"]
    assert set(by_path) == {"/books/v3/invoices", "/books/v3/bills"}
    assert by_path["/books/v3/invoices"] == by_path["/books/v3/bills"] >= 3
    # Each check is forecast against the organization's daily quota before it is made.
    checks = [r.getMessage() for r in caplog.records if "change poll of" in r.getMessage()]
    assert len(checks) >= by_path["/books/v3/invoices"]
    assert checks[0].startswith("change poll of invoices, bills") and all(
        "2 request(s) planned" in c for c in checks)
