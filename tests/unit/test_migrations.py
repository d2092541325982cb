"""The state store's schema under Alembic, on SQLite and PostgreSQL: fresh stores, stores
created before migrations existed, and upserts and first counts that never race."""

from __future__ import annotations

import threading

from sqlalchemy import create_engine, inspect, select

from ml_connector.state import migrate, schema
from ml_connector.state.store import HEAD, StateStore


def test_the_code_knows_its_newest_revision():
    assert migrate.head() == HEAD


def test_a_new_store_is_created_at_the_newest_revision(fresh_url):
    store = StateStore(fresh_url)
    assert migrate.current(store.engine) == HEAD
    tables = set(inspect(store.engine).get_table_names())
    assert {t.name for t in schema.metadata.sorted_tables} <= tables
    assert migrate.VERSION_TABLE in tables and "alembic_version" not in tables


def test_a_store_of_the_first_revision_upgrades_in_place(fresh_url):
    from alembic import command

    first = create_engine(fresh_url)
    with first.begin() as conn:
        command.upgrade(migrate._config(conn), "0001")
    with first.begin() as conn:
        conn.execute(schema.watermarks.insert().values(flow="f", value="v1", updated_at=1.0))
        conn.exec_driver_sql("INSERT INTO mlc_locks (lock_key, holder, lease_until) "
                             "VALUES ('k', 'old', 1.0)")
    first.dispose()
    store = StateStore(fresh_url)
    assert migrate.current(store.engine) == HEAD
    assert store.get_watermark("f") == "v1"
    with store.engine.connect() as conn:
        assert conn.execute(select(schema.locks.c.holder, schema.locks.c.owner)).all() == [
            ("old", None)]
    with store.lock("k", wait=5):  # the old row's lease ran out long ago
        pass


def test_a_store_from_before_migrations_is_adopted_in_place(fresh_url):
    legacy = create_engine(fresh_url)
    schema.token_cache.create(legacy)
    schema.watermarks.create(legacy)  # some tables only, as an older version left them
    with legacy.begin() as conn:
        conn.execute(schema.watermarks.insert().values(flow="f", value="v1", updated_at=1.0))
    legacy.dispose()

    store = StateStore(fresh_url)
    assert migrate.current(store.engine) == HEAD
    assert store.get_watermark("f") == "v1", "existing rows are kept"
    assert {t.name for t in schema.metadata.sorted_tables} <= set(
        inspect(store.engine).get_table_names())
    assert migrate.current(StateStore(fresh_url).engine) == HEAD  # reopening: nothing to do


def at_once(writers: int, rounds: int, act, prepare=lambda n, i: None) -> list[BaseException]:
    """``writers`` threads run ``act(n, i)`` at the same moment, ``rounds`` times over (each
    after its own ``prepare(n, i)``); the exceptions they raised."""
    failures: list[BaseException] = []
    start = threading.Barrier(writers)

    def writer(n: int) -> None:
        for i in range(rounds):
            ready = prepare(n, i)
            start.wait()
            try:
                act(n, i, ready)
            except BaseException as exc:  # reported by the caller
                failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def test_concurrent_upserts_of_one_key_never_collide(fresh_url):
    """Four writers create the same new key at the same moment, twenty times over."""
    store = StateStore(fresh_url)
    rounds, writers = 20, 4
    assert at_once(writers, rounds,
                   lambda n, i, _: store.set_watermark(f"key-{i}", f"writer-{n}")) == []
    with store.engine.connect() as conn:
        rows = conn.execute(select(schema.watermarks.c.flow)).scalars().all()
    assert sorted(rows) == sorted(f"key-{i}" for i in range(rounds)), "one row per key"


def test_workers_first_counting_an_organization_at_once_never_collide(fresh_url):
    """Four workers each count requests of a new organization and flush at the same moment,
    twenty organizations over: every count lands in the one row of its organization."""
    from ml_connector.state.quota import DailyQuota

    store = StateStore(fresh_url)
    rounds, writers = 20, 4

    def counted(n: int, i: int) -> DailyQuota:
        quota = DailyQuota(store, f"us:org-{i}", flush_every=3600)
        for _ in range(n + 1):
            quota.record(None)
        return quota

    assert at_once(writers, rounds, lambda n, i, quota: quota.flush(), counted) == []
    with store.engine.connect() as conn:
        used = dict(conn.execute(select(schema.zoho_quota.c.org_key,
                                        schema.zoho_quota.c.used)).all())
    assert used == {f"us:org-{i}": sum(range(1, writers + 1)) for i in range(rounds)}


def test_list_loaded_markers_move_out_of_the_watermarks(fresh_url):
    """Revision 0007: a list flow's ``<flow>@loaded`` watermark becomes its record in
    ``mlc_list_loads``; other watermarks stay as they are."""
    from alembic import command

    from ml_connector.state.lists import ListLoads

    old = create_engine(fresh_url)
    with old.begin() as conn:
        command.upgrade(migrate._config(conn), "0006")
    with old.begin() as conn:
        conn.execute(schema.watermarks.insert(), [
            {"flow": "accounts@loaded", "value": repr(1_700_000_000.25), "updated_at": 5.0},
            {"flow": "invoice_actuals_daily", "value": "2026-03-31T10:00:00-0800",
             "updated_at": 6.0}])
    old.dispose()
    store = StateStore(fresh_url)
    assert migrate.current(store.engine) == HEAD
    assert ListLoads(store).read_at("accounts") == 1_700_000_000.25
    assert ListLoads(store).read_at("vendors") is None
    assert store.get_watermark("accounts@loaded") is None
    assert store.get_watermark("invoice_actuals_daily") == "2026-03-31T10:00:00-0800"
