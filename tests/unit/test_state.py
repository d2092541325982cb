"""The state store: cross-process locks, the encrypted token cache, watermarks."""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from ml_connector.errors import ConnectorError
from ml_connector.state import CachedToken, SqlTokenCache, StateStore, fernet_from, schema
from ml_connector.state.store import LEASE

from ..conftest import start_holder


def _bump(args: tuple[str, str, int]) -> None:
    url, counter, times = args
    store = StateStore(url)
    for _ in range(times):
        with store.lock("counter"):
            value = int(Path(counter).read_text())
            time.sleep(0.001)  # widen the race window a lock must close
            Path(counter).write_text(str(value + 1))


def test_lock_excludes_other_processes(fresh_url, tmp_path):
    counter = tmp_path / "counter"
    counter.write_text("0")
    args = (fresh_url, str(counter), 15)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_bump, [args] * 4)
    assert int(counter.read_text()) == 60


def test_processes_opening_a_new_store_at_once(tmp_path):
    """Workers that start together all create the same new SQLite store: the switch into
    WAL mode, which SQLite refuses at once while another process opens the file, is
    retried, so each of them gets a working store (this failed about one round in eight
    before)."""
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        for round_ in range(20):
            folder = tmp_path / str(round_)
            counter = folder / "counter"
            folder.mkdir()
            counter.write_text("0")
            pool.map(_bump, [(f"sqlite:///{folder / 'state.db'}", str(counter), 1)] * 6)
            assert int(counter.read_text()) == 6
            store = StateStore.sqlite(folder / "state.db")
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def _hold(url: str, key: str, ready: Path) -> None:
    """Take a lock (with the default lease, as the import operator does) and work on it
    until killed."""
    store = StateStore(url)
    with store.lock(key, purpose="a worker about to be killed"):
        ready.write_text("held")
        time.sleep(3600)


def test_a_dead_holders_lock_is_taken_over_within_its_lease(fresh_url, tmp_path, caplog):
    """A worker killed while it holds a lock (SIGKILL: no cleanup runs) stops renewing it:
    the next taker waits at most one lease (30 s, well within a minute), and its log names
    the dead holder."""
    ready = tmp_path / "ready"
    holder = start_holder(_hold, (fresh_url, "anaplan-file:w/m/113", ready), ready)
    try:
        holder.kill()
        holder.join(30)
        store = StateStore(fresh_url)
        caplog.set_level(logging.INFO, logger="ml_connector.state.store")
        began = time.time()
        with store.lock("anaplan-file:w/m/113", wait=300, poll=0.2):
            taken = time.time()
    finally:
        holder.kill()
    # Within a minute: one lease, and a bound that holds on a loaded machine.
    assert taken - began <= LEASE + 30
    waited = [r.getMessage() for r in caplog.records if "Waiting for lock" in r.getMessage()]
    assert waited, "the waiter logged whom it waited for"
    assert f"pid {holder.pid} (a worker about to be killed)" in waited[0]
    assert socket.gethostname() in waited[0]


def test_a_live_holder_keeps_its_lock_past_its_lease_and_waiting_times_out(fresh_url):
    """The holder renews its lease while it works: a waiter never takes a lock from a live
    holder, however short the lease, and gives up after its wait, naming the holder."""
    store = StateStore(fresh_url)
    waiting = pytest.raises(ConnectorError, match=r"waiting for lock 'k', held by .* pid "
                            rf"{os.getpid()} \(long import\)")
    with store.lock("k", lease=6, purpose="long import"), waiting, \
            store.lock("k", wait=15, poll=0.2):  # two and a half leases
        pass


def test_an_expired_lease_is_taken_over(fresh_url):
    """A lock row whose lease ran out (its holder stopped renewing) is taken at once."""
    store = StateStore(fresh_url)
    with store.engine.begin() as conn:
        conn.execute(schema.locks.insert().values(lock_key="k", holder="gone", owner="x",
                                                  lease_until=time.time() - 1))
    with store.lock("k", wait=0.5), store.engine.connect() as conn:
        assert conn.execute(select(schema.locks.c.holder)).scalar_one() != "gone"


def test_token_cache_is_encrypted_and_keyed_by_credentials(fresh_url):
    store = StateStore(fresh_url)
    cache = SqlTokenCache(store, fernet_from("client", "secret", "refresh"))
    token = CachedToken("1000.abcdef-live-token", obtained_at=1.0, expires_at=3601.0)
    cache.put("k", token)
    assert cache.get("k") == token
    with store.engine.connect() as conn:
        blob = conn.exec_driver_sql("select ciphertext from mlc_token_cache").scalar_one()
    assert "abcdef-live-token" not in blob
    other = SqlTokenCache(store, fernet_from("client", "secret", "another-refresh"))
    assert other.get("k") is None, "other credentials cannot read the entry"
    cache.discard("k", "some-other-token")
    assert cache.get("k") == token, "discard only removes the token it was told about"
    cache.discard("k", token.access_token)
    assert cache.get("k") is None
    assert "abcdef" not in repr(token)


def test_watermarks_round_trip(fresh_url):
    store = StateStore(fresh_url)
    assert store.get_watermark("flow") is None
    store.set_watermark("flow", "2026-01-31T10:00:00+0100")
    store.set_watermark("flow", "2026-02-28T10:00:00+0100")
    assert store.get_watermark("flow") == "2026-02-28T10:00:00+0100"


def test_anaplan_requests_add_up_per_task_and_run(fresh_url):
    """Each part of a task (the upload, then the triggerer's polls) and each try adds to
    its count; a run's total is its tasks' sum; ``ml-connector runs`` shows it."""
    from ml_connector.state.anaplan_requests import AnaplanRequests
    from ml_connector.state.audit import AuditLog
    from ml_connector.state.report import run_months, table
    from ml_connector.window import Window

    store = StateStore(fresh_url)
    spent = AnaplanRequests(store)
    spent.add("zoho_f", "r1", "import", 5)
    spent.add("zoho_f", "r1", "wait", 3)
    spent.add("zoho_f", "r1", "wait", 4)
    spent.add("zoho_f", "r1", "verify", 0)  # nothing made: no row
    spent.add("zoho_f", "r2", "import", 6)
    spent.add("zoho_g", "r1", "import", 100)
    assert spent.by_task("zoho_f", "r1") == {"import": 5, "wait": 7}
    assert spent.totals("zoho_f", ["r1", "r2", "r3"]) == {"r1": 12, "r2": 6}
    AuditLog(store).replace_run("f", "r1", [Window("2026-01-01T00:00:00+00:00",
                                                   "2026-02-01T00:00:00+00:00")],
                                [{"entity": "invoices", "record_id": "1", "import_id": "112",
                                  "task_id": "T", "status": "imported", "error": None}])
    [row] = run_months(store, "f")
    assert row.anaplan_requests == 12
    header, line = table([row])
    assert line.split()[header.split().index("Anaplan")] == "12"


def test_a_planned_row_survives_real_runs_and_never_counts_as_one(tmp_path):
    """A dry run's row: a real run of the same month neither replaces nor counts it, the
    scope of an incremental run never takes its window, ``runs`` shows it as planned and
    the Month-end page's last run of the month is the real one."""
    from ml_connector.monthend.view import last_run
    from ml_connector.state.audit import AuditLog
    from ml_connector.state.report import run_months, table
    from ml_connector.window import Window

    store = StateStore.sqlite(tmp_path / "state.db")
    audit = AuditLog(store)
    jan = Window("2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00")
    row = {"entity": "invoices", "record_id": "1", "import_id": "112", "task_id": "T",
           "status": "imported", "error": None}
    audit.replace_run("f", "real1", [jan], [row])
    audit.record_planned("f", "plan1", [jan], "invoices", "dry run of Jan 26: 1 cell(s)")
    assert audit.replace_run("f", "real2", [jan], [row]) == {
        "imported": 1, "failed": 0, "skipped": 0}
    statuses = sorted((r["run_id"], r["status"]) for r in audit.query(flow="f"))
    assert statuses == [("plan1", "planned"), ("real2", "imported")]
    audit.record_planned("f", "plan2", [Window("2026-03-01T00:00:00+00:00",
                                               "2026-04-01T00:00:00+00:00")], "invoices", "x")
    assert audit.windows_of("f", ["1", ""]) == {jan.start}
    months = {m.run_id: m for m in run_months(store, "f")}
    assert months["plan1"].planned and months["plan1"].records == 0
    assert months["real2"].planned is None and months["real2"].counts["imported"] == 1
    lines = table([months["plan1"]])
    assert "planned" in lines[1] and lines[2].strip() == "dry run of Jan 26: 1 cell(s)"
    found = last_run(store, "f", "2026-01")
    assert found is not None and found.run_id == "real2"
    assert last_run(store, "f", "2026-03") is None
