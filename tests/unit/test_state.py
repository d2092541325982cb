"""The state store: cross-process locks, the encrypted token cache, watermarks."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from ml_connector.state import CachedToken, SqlTokenCache, StateStore, fernet_from
from ml_connector.transport.errors import ConnectorError


def _bump(args: tuple[str, str, int]) -> None:
    db, counter, times = args
    store = StateStore.sqlite(db)
    for _ in range(times):
        with store.lock("counter"):
            value = int(Path(counter).read_text())
            time.sleep(0.001)  # widen the race window a lock must close
            Path(counter).write_text(str(value + 1))


def test_lock_excludes_other_processes(tmp_path):
    counter = tmp_path / "counter"
    counter.write_text("0")
    args = (str(tmp_path / "state.db"), str(counter), 15)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_bump, [args] * 4)
    assert int(counter.read_text()) == 60


def test_expired_lease_is_taken_over_and_waiting_times_out(tmp_path):
    store = StateStore.sqlite(tmp_path / "s.db")
    with store.lock("k", lease=0.2), store.lock("k", wait=2):
        pass  # the second acquisition succeeded only because the first lease ran out
    waiting = pytest.raises(ConnectorError, match="waiting for lock 'k'")
    with store.lock("k", lease=30), waiting, store.lock("k", wait=0.2):
        pass


def test_token_cache_is_encrypted_and_keyed_by_credentials(tmp_path):
    store = StateStore.sqlite(tmp_path / "s.db")
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


def test_watermarks_round_trip(tmp_path):
    store = StateStore.sqlite(tmp_path / "s.db")
    assert store.get_watermark("flow") is None
    store.set_watermark("flow", "2026-01-31T10:00:00+0100")
    store.set_watermark("flow", "2026-02-28T10:00:00+0100")
    assert store.get_watermark("flow") == "2026-02-28T10:00:00+0100"
