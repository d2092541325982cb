"""Requests in flight at once (``RequestSlots``): capped per process, per machine through
slot files, across machines through the state store's rows; a killed holder frees its slots."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from ml_connector.state.store import StateStore
from ml_connector.transport.ratelimit import RequestSlots, postgres_conninfo

from ..conftest import new_database, start_holder

LIMIT = 3


def _slots(kind: str, where: str) -> RequestSlots:
    if kind == "file":
        return RequestSlots(LIMIT, name="zoho-us-1", shared_path=where, poll=0.005)
    return RequestSlots(LIMIT, name="zoho-us-1", postgres_url=postgres_conninfo(where),
                        poll=0.005)


@pytest.fixture(params=["file", "postgresql"])
def shared(request, tmp_path) -> tuple[str, str]:
    """Where slots are shared: a rate-limit file's folder, or a migrated PostgreSQL store."""
    if request.param == "file":
        return "file", str(tmp_path / "zoho-rate.sqlite")
    url = new_database(request.getfixturevalue("postgres_url"))
    StateStore(url)  # creates mlc_request_slots
    return "postgresql", url


def _hammer(kind: str, where: str, log: str, threads: int, holds: int) -> None:
    """Threads that each hold a slot ``holds`` times, appending +1/-1 lines to ``log``
    (O_APPEND writes of one line are atomic) while they hold it."""
    slots = _slots(kind, where)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def work() -> None:
        for _ in range(holds):
            with slots.hold():
                os.write(fd, b"+1\n")
                time.sleep(0.002)
                os.write(fd, b"-1\n")

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def _most_at_once(log: Path) -> tuple[int, int]:
    """The most holders at once, and how many holds there were, read off the log."""
    level = peak = holds = 0
    for line in log.read_text().split():
        level += int(line)
        peak = max(peak, level)
        holds += line == "+1"
    return peak, holds


def test_processes_share_the_slots(shared, tmp_path):
    """Three processes of four threads each, as three Airflow tasks calling one organization:
    each process alone would let four requests fly; together they never hold more than the
    limit."""
    kind, where = shared
    log = tmp_path / "holds.log"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(kind, where, str(log), 4, 15)) for _ in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0, 0, 0]
    peak, holds = _most_at_once(log)
    assert holds == 3 * 4 * 15
    assert 1 <= peak <= LIMIT


def test_one_process_never_exceeds_its_own_limit(tmp_path):
    """Without anything to share through, the cap holds between a process's threads."""
    slots = RequestSlots(LIMIT, name="local")
    level, peak, lock = [0], [0], threading.Lock()

    def work() -> None:
        for _ in range(20):
            with slots.hold():
                with lock:
                    level[0] += 1
                    peak[0] = max(peak[0], level[0])
                time.sleep(0.001)
                with lock:
                    level[0] -= 1

    workers = [threading.Thread(target=work) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert 1 <= peak[0] <= LIMIT and level[0] == 0


def _hold_all(kind: str, where: str, ready: str) -> None:
    """Take every slot and keep them until killed."""
    slots = _slots(kind, where)
    held = threading.Barrier(LIMIT + 1)

    def hold() -> None:
        with slots.hold():
            held.wait()
            time.sleep(3600)

    for _ in range(LIMIT):
        threading.Thread(target=hold, daemon=True).start()
    held.wait()
    Path(ready).write_text("held")
    time.sleep(3600)


def test_a_killed_holders_slots_are_free_again(shared, tmp_path):
    kind, where = shared
    ready = tmp_path / "ready"
    holder = start_holder(_hold_all, (kind, where, str(ready)), ready)
    try:
        waiting = _slots(kind, where)
        assert waiting._take is not None and waiting._take() is None  # all three are held
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.join()
    got = threading.Event()

    def take() -> None:
        with waiting.hold():
            got.set()

    taker = threading.Thread(target=take, daemon=True)
    taker.start()
    try:
        assert got.wait(60), "a slot of the killed process stayed held"
    finally:
        waiting.close()


def test_a_slot_limit_below_one_is_refused():
    from ml_connector.errors import ConfigError

    with pytest.raises(ConfigError, match="at least 1"):
        RequestSlots(0)
