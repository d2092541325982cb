"""The per-minute budget shared through a PostgreSQL state store: clients that each keep
their own limiter, as workers on different machines do, together stay inside one budget."""

from __future__ import annotations

import io
import threading
from datetime import date

import psycopg

from ml_connector.state.store import StateStore
from ml_connector.zoho.extract import ExtractWindow, extract_to
from ml_connector_sandbox.core import SandboxConfig

from ..conftest import ROOMY

BUDGET, ZOHO_LIMIT, WINDOW = 20, 30, 2.0  # requests per window (Zoho's minute, shortened)


def test_clients_share_one_window_through_postgres(sandbox_factory, zoho_client, postgres_url):
    config = SandboxConfig.model_validate(ROOMY)
    config.zoho.limits.per_minute = ZOHO_LIMIT
    config.zoho.limits.minute_window = WINDOW
    running = sandbox_factory(config)
    halves = [ExtractWindow(start=date(2026, 1, 1), end=date(2026, 1, 3)),
              ExtractWindow(start=date(2026, 1, 3), end=date(2026, 1, 5))]
    clients = [zoho_client(running=running, store=StateStore(postgres_url),
                           requests_per_minute=BUDGET, rate_window=WINDOW) for _ in halves]
    for client in clients:
        client.organizations()  # token and organization before the measured part
    counts: list[int] = []

    def extract(client, window) -> None:
        counts.append(extract_to(client, "invoices", window, io.StringIO(),
                                 line_items=True).requests)

    threads = [threading.Thread(target=extract, args=pair)
               for pair in zip(clients, halves, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

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
