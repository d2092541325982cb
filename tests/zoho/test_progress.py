"""Progress lines on a timer: records, requests, requests per minute, cache hits, time left."""

from __future__ import annotations

import io
from datetime import date

from ml_connector.state import StateStore
from ml_connector.zoho import ExtractWindow
from ml_connector.zoho.extract import extract_to

WEEK = ExtractWindow(start=date(2026, 1, 5), end=date(2026, 1, 12))


class Ticks:
    """A clock that moves one second each time it is read: time passes with work done."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_an_extract_reports_progress_every_interval(zoho_client, tmp_path):
    store = StateStore.sqlite(tmp_path / "state.db")
    lines: list[str] = []
    warm = extract_to(zoho_client(store=store), "invoices",
                      ExtractWindow(start=date(2026, 1, 5), end=date(2026, 1, 8)), io.StringIO(),
                      line_items=True)
    summary = extract_to(zoho_client(store=store), "invoices", WEEK, io.StringIO(),
                         line_items=True, progress=lines.append, progress_every=30,
                         clock=Ticks())
    assert summary.cache_hits == warm.count > 0
    assert lines, "a line at least every 30 ticks"
    listing = [line for line in lines if "(listing)" in line]
    details = [line for line in lines if "(details of" in line]
    assert listing and details
    last = details[-1]
    assert f"details of {summary.count:,}" in last
    assert "requests (" in last and "/min)" in last and f"{warm.count:,} cache hits" in last
    assert "min left (" in last
    # Lines come only once the interval has passed: never more than one per 30 ticks.
    assert len(lines) <= 2 * summary.count // 30 + 2


def test_an_extract_forecasts_its_details_before_fetching_them(zoho_client, tmp_path):
    """Before the first detail request, one line says how many details are to come and how
    long they take at the connection's budget."""
    lines: list[str] = []
    client = zoho_client(store=StateStore.sqlite(tmp_path / "state.db"),
                         requests_per_minute=6000)
    fetched: list[int] = []
    summary = extract_to(client, "invoices", WEEK, io.StringIO(), line_items=True,
                         progress=lambda line: (lines.append(line),
                                                fetched.append(client.requests)),
                         progress_every=10**9, clock=Ticks())
    forecast = [(line, at) for line, at in zip(lines, fetched, strict=True)
                if "to fetch at" in line]
    assert len(forecast) == 1
    line, at = forecast[0]
    assert (f"invoices: {summary.count:,} detail(s) of {summary.count:,} to fetch at 6,000/min"
            in line)
    assert f"about {summary.count / 6000:,.1f} min" in line
    assert at < summary.requests, "said before the details were fetched"
