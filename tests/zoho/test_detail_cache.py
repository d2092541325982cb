"""Every request earns its place: details are fetched once per last_modified_time, shared by
every run and flow through the state store, and extracts are forecast against the daily quota."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest

from ml_connector.errors import QuotaExhausted
from ml_connector.state import StateStore
from ml_connector.state.details import DetailCache
from ml_connector.zoho import ExtractWindow
from ml_connector.zoho.extract import extract_to
from ml_connector_sandbox.core import SandboxConfig

from ..conftest import ROOMY

ORG = "10234695"
JANUARY = ExtractWindow(start=date(2026, 1, 1), end=date(2026, 2, 1))
FIRST_HALF = ExtractWindow(start=date(2026, 1, 1), end=date(2026, 1, 16))


def detail_requests(running) -> int:
    return running.sandbox.zoho.stats()["organizations"].get(ORG, {}).get("by_path", {}).get(
        "/books/v3/invoices/{id}", 0)


def extract(client, window=JANUARY) -> tuple[dict, list[dict]]:
    sink = io.StringIO()
    summary = extract_to(client, "invoices", window, sink, line_items=True)
    return summary.model_dump(), [json.loads(line) for line in sink.getvalue().splitlines()]


def test_a_rerun_fetches_only_what_changed(sandbox, zoho_client, fresh_url):
    store = StateStore(fresh_url)
    first, records = extract(zoho_client(store=store))
    pages = -(-first["count"] // 200)
    assert first["requests"] == pages + first["count"] and first["cache_hits"] == 0
    assert detail_requests(sandbox) == first["count"]

    # Another flow (another client, same store) reading the same month: list pages only.
    again, cached = extract(zoho_client(store=store))
    assert (again["requests"], again["cache_hits"]) == (pages, first["count"])
    assert cached == records, "a cached detail is the same document"

    # One invoice edited in Zoho: exactly one detail request, and the new version is read.
    target = records[len(records) // 2]
    line = target["line_items"][0]
    sandbox.sandbox.zoho.edit_record(ORG, "invoices", target["invoice_id"], {
        "line_items": [{**line, "description": "corrected"}, *target["line_items"][1:]]})
    third, updated = extract(zoho_client(store=store))
    assert (third["requests"], third["cache_hits"]) == (pages + 1, first["count"] - 1)
    edited = next(r for r in updated if r["invoice_id"] == target["invoice_id"])
    assert edited["line_items"][0]["description"] == "corrected"
    assert detail_requests(sandbox) == first["count"] + 1


def test_the_cache_is_bounded_by_size(sandbox, zoho_client, tmp_path):
    store = StateStore.sqlite(tmp_path / "state.db")
    client = zoho_client(store=store)
    extract(client, FIRST_HALF)
    cache = DetailCache(store, client.org_key)
    full = cache.stats()
    assert full["entries"] > 100
    small = DetailCache(store, client.org_key, max_bytes=full["bytes"] // 2)
    assert small.prune() > 0
    kept = small.stats()
    assert 0 < kept["bytes"] <= full["bytes"] // 2 and kept["entries"] < full["entries"]


def quota_sandbox(sandbox_factory, per_day: int):
    limits = {**ROOMY["zoho"]["limits"], "per_day": per_day}
    return sandbox_factory(SandboxConfig.model_validate(
        {**ROOMY, "zoho": {"limits": limits}}))


def test_an_extract_that_cannot_fit_fails_before_fetching_details(
        sandbox_factory, zoho_client, tmp_path):
    running = quota_sandbox(sandbox_factory, per_day=600)
    store = StateStore.sqlite(tmp_path / "state.db")
    client = zoho_client(running=running, store=store)  # reserve: 20 % of 600 = 120
    with pytest.raises(QuotaExhausted) as info:
        extract(client)
    listed = running.sandbox.zoho.stats()["organizations"][ORG]["total"]
    assert detail_requests(running) == 0, "nothing fetched that the quota could not finish"
    message = str(info.value)
    assert "of the organization's 600 for today remain and 120 (20%)" in message
    assert f"{600 - listed:,} of the organization's 600" in message
    # The reset is the org's next midnight (-0800) on the sandbox clock.
    assert info.value.resets_at is not None and info.value.resets_at > running.sandbox.clock.now()


def test_a_backfill_interrupted_by_the_quota_resumes_from_the_cache(
        sandbox_factory, zoho_client, tmp_path):
    running = quota_sandbox(sandbox_factory, per_day=900)
    store = StateStore.sqlite(tmp_path / "state.db")
    clock = running.sandbox.clock.now
    half, _ = extract(zoho_client(running=running, store=store, clock=clock), FIRST_HALF)
    with pytest.raises(QuotaExhausted):  # the rest does not fit today
        extract(zoho_client(running=running, store=store, clock=clock))
    spent = running.sandbox.zoho.stats()["organizations"][ORG]["total"]
    running.sandbox.clock.advance(86400)  # the next day
    month, _ = extract(zoho_client(running=running, store=store, clock=clock))
    assert month["cache_hits"] == half["count"]
    assert month["requests"] == -(-month["count"] // 200) + month["count"] - half["count"]
    total = running.sandbox.zoho.stats()["organizations"][ORG]["total"]
    assert total - spent == month["requests"]
    assert detail_requests(running) == month["count"], "each detail fetched exactly once"


def test_a_job_larger_than_a_day_advances_every_day(sandbox_factory, zoho_client, tmp_path):
    """With partial progress (``on_quota: wait``) a month needing more details than a whole
    day's share fetches what fits each day, so it finishes on the third day instead of never."""
    running = quota_sandbox(sandbox_factory, per_day=500)  # 400 a day beyond the reserve
    store = StateStore.sqlite(tmp_path / "state.db")
    clock = running.sandbox.clock.now

    def attempt() -> dict:
        sink = io.StringIO()
        client = zoho_client(running=running, store=store, clock=clock)
        return extract_to(client, "invoices", JANUARY, sink, line_items=True,
                          partial=True).model_dump()

    days, fetched = 0, []
    while True:
        days += 1
        before = detail_requests(running)
        try:
            month = attempt()
        except QuotaExhausted as exc:
            assert "more than a whole day's share (400)" in str(exc)
            assert "Fetched" in str(exc)
            fetched.append(detail_requests(running) - before)
            running.sandbox.clock.advance(86400)
            continue
        break
    assert month["count"] > 800, "the month needs more than two days' share"
    assert days == 3 and all(0 < n <= 400 for n in fetched)
    assert detail_requests(running) == month["count"], "each detail fetched exactly once"
    limited = [x for x in running.sandbox.zoho.stats()["rate_limited"] if x["code"] == 45]
    assert limited == [], "Zoho's cap was never met"


def test_one_quota_for_every_client_of_the_organization(sandbox_factory, zoho_client,
                                                        fresh_url):
    running = quota_sandbox(sandbox_factory, per_day=1000)
    store = StateStore(fresh_url)
    clock = running.sandbox.clock.now
    first = zoho_client(running=running, store=store, clock=clock)
    second = zoho_client(running=running, store=store, clock=clock)
    for client in (first, second, first):
        client.get("/invoices", {"per_page": 1})
    first.quota.flush()  # each worker writes its counts at most every 2 s
    state = second.quota.state()
    assert (state.limit, state.remaining, state.used) == (1000, 997, 3)
    running.sandbox.clock.advance(86400)
    assert second.quota.state().remaining == 1000, "a new day starts with the whole cap"


def test_the_daily_cap_reached_mid_run_names_the_reset(sandbox_factory, zoho_client, tmp_path):
    running = quota_sandbox(sandbox_factory, per_day=2)
    client = zoho_client(running=running, store=StateStore.sqlite(tmp_path / "state.db"))
    client.get("/invoices", {"per_page": 1})
    client.get("/invoices", {"per_page": 1})
    with pytest.raises(QuotaExhausted, match="daily quota \\(2\\) is used up \\(code 45\\)"):
        client.get("/invoices", {"per_page": 1})
