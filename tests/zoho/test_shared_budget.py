"""The per-minute budget and the requests in flight, shared through a PostgreSQL state store:
clients that each keep their own limiter, as workers on different machines do, together stay
inside one budget."""

from __future__ import annotations

import io
import threading
from datetime import date

import psycopg
import pytest

from ml_connector.state.store import StateStore
from ml_connector.zoho.extract import ExtractWindow, extract_to
from ml_connector_sandbox.core import SandboxConfig

from ..conftest import ROOMY, new_database

BUDGET, ZOHO_LIMIT, WINDOW = 20, 30, 2.0  # requests per window (Zoho's minute, shortened)
ORG = "10234695"


#: Two halves of a few days of invoices, one per client.
HALVES = [ExtractWindow(start=date(2026, 1, 1), end=date(2026, 1, 3)),
          ExtractWindow(start=date(2026, 1, 3), end=date(2026, 1, 5))]


def limited_sandbox(sandbox_factory):
    """A sandbox whose Zoho allows ZOHO_LIMIT requests per WINDOW seconds."""
    config = SandboxConfig.model_validate(ROOMY)
    config.zoho.limits.per_minute = ZOHO_LIMIT
    config.zoho.limits.minute_window = WINDOW
    return sandbox_factory(config)


def extract_at_once(clients, windows) -> list[int]:
    """Each client reads invoices with their details for its window, all at once, as tasks
    on different workers do; the requests each sent."""
    for client in clients:
        client.organizations()  # token and organization before the measured part
    counts: list[int] = []

    def extract(client, window) -> None:
        counts.append(extract_to(client, "invoices", window, io.StringIO(),
                                 line_items=True).requests)

    threads = [threading.Thread(target=extract, args=pair)
               for pair in zip(clients, windows, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


def test_clients_share_one_window_through_postgres(sandbox_factory, zoho_client, postgres_url):
    running = limited_sandbox(sandbox_factory)
    clients = [zoho_client(running=running, store=StateStore(postgres_url),
                           requests_per_minute=BUDGET, rate_window=WINDOW) for _ in HALVES]
    counts = extract_at_once(clients, HALVES)

    # Each client alone keeps to BUDGET, so two unshared windows would send up to twice
    # BUDGET (more than Zoho's limit) per window; one shared window keeps both under it.
    assert len(counts) == 2 and sum(counts) > 2 * ZOHO_LIMIT
    limited = [x for x in running.sandbox.zoho.stats()["rate_limited"] if x["code"] == 44]
    assert limited == []
    conninfo = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        stamps = [row[0].timestamp() for row in conn.execute(
            "SELECT item_timestamp FROM ratelimit___mlc_zoho_us_10234695 ORDER BY 1")]
    assert stamps  # the window lives in PostgreSQL (old entries leak out of it)
    busiest = max(sum(1 for t in stamps if s <= t < s + WINDOW) for s in stamps)
    assert busiest <= BUDGET


@pytest.mark.parametrize("through", ["postgresql", "file"])
def test_clients_share_the_requests_in_flight(sandbox_factory, zoho_client, postgres_url,
                                              tmp_path, through):
    """Zoho counts an organization's requests in flight over all of its clients (429 code
    1070 beyond 10 on a paid plan). Three clients, each with a pool of ten threads, as three
    tasks on different workers fetch details at once: through the state store (PostgreSQL)
    or the machine's rate-limit file they keep to ten together."""
    config = SandboxConfig.model_validate(ROOMY)
    org = next(o for o in config.zoho.organizations if o.organization_id == ORG)
    org.response_delay = 0.05  # requests overlap, as over a real network
    running = sandbox_factory(config)
    limit = config.zoho.limits.max_in_flight(org.plan)
    thirds = [ExtractWindow(start=date(2026, 1, d), end=date(2026, 1, d + 2))
              for d in (1, 3, 5)]
    if through == "postgresql":
        shared = [{"store": StateStore(new_database(postgres_url))}] * 3
    else:
        shared = [{"store": StateStore.sqlite(tmp_path / f"state{i}.db"),
                   "rate_limit_file": tmp_path / "zoho-rate.sqlite"} for i in range(3)]
    clients = [zoho_client(running=running, **each) for each in shared]
    assert all(client.config.concurrency == limit for client in clients)
    counts = extract_at_once(clients, thirds)

    stats = running.sandbox.zoho.stats()
    assert len(counts) == 3 and sum(counts) > 3 * limit  # enough to overrun unshared slots
    assert [x for x in stats["rate_limited"] if x["code"] == 1070] == []
    assert stats["organizations"][ORG]["max_in_flight"] <= limit


def test_clients_of_one_sqlite_store_share_one_window_by_default(sandbox_factory, zoho_client,
                                                                  tmp_path):
    """Processes of one machine that share a SQLite state store (doctor, a watcher, the
    tasks of a worker) share the organization's per-minute window without a setting: a file
    beside the store holds it."""
    running = limited_sandbox(sandbox_factory)
    clients = [zoho_client(running=running, store=StateStore.sqlite(tmp_path / "state.db"),
                           requests_per_minute=BUDGET, rate_window=WINDOW) for _ in HALVES]
    assert all(c.config.rate_limit_file is None for c in clients), "no setting"
    counts = extract_at_once(clients, HALVES)

    assert len(counts) == 2 and sum(counts) > 2 * ZOHO_LIMIT
    assert [x for x in running.sandbox.zoho.stats()["rate_limited"] if x["code"] == 44] == []
    assert (tmp_path / "zoho-rate.sqlite").exists()
