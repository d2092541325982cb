"""Progress lines on a timer: records, requests, requests per minute, cache hits, time left."""

from __future__ import annotations

import io
import re
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest

from ml_connector.flows.reads import Read, flow_reads, stage_read
from ml_connector.flows.spec import load_flows
from ml_connector.state import StateStore
from ml_connector.zoho import ExtractWindow
from ml_connector.zoho.extract import extract_to

ROOT = Path(__file__).resolve().parents[2]
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
                         clock=(ticks := Ticks()))
    assert summary.cache_hits == warm.count > 0
    assert lines, "a line at least every 30 ticks"
    listing = [line for line in lines if "(listing)" in line]
    details = [line for line in lines if "(details of" in line]
    assert listing and details
    last = details[-1]
    assert f"details of {summary.count:,}" in last
    assert "requests (" in last and "/min on average)" in last
    assert f"{warm.count:,} cache hits" in last and "min left (" in last
    planned = summary.count - warm.count
    fetched = [int(line.split("): ", 1)[1].split(" of ")[0].replace(",", ""))
               for line in details]
    assert all(f"of {planned:,} details fetched" in line for line in details)
    assert fetched == sorted(fetched) and 0 < fetched[-1] <= planned, "counts up to the plan"
    # Lines come only once the interval has passed: never more than one per 30 ticks.
    assert len(lines) <= ticks.now // 30 + 1


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


def test_progress_lines_come_every_30_seconds_while_details_arrive(zoho_client, tmp_path):
    """Details come in batches of 200 list rows; at Zoho's real pace (90 requests a minute
    here: 0.67 s each, on a clock that moves only as the emulator answers) a batch takes
    over two minutes, and a line still comes every 30 seconds within it."""
    client = zoho_client(store=StateStore.sqlite(tmp_path / "state.db"))
    pace = 60 / 90  # seconds per request at the documented budget

    def clock() -> float:
        return client.requests * pace

    said: list[int] = []  # the request count when each line was said
    summary = extract_to(client, "invoices", ExtractWindow(start=date(2026, 1, 1),
                                                           end=date(2026, 2, 1)),
                         io.StringIO(), line_items=True, progress_every=30, clock=clock,
                         progress=lambda line: said.append(client.requests))
    assert summary.details_planned > 200, "more details than one batch"
    gaps = [b - a for a, b in pairwise(said)]
    # 30 s is 45 requests at this pace; a line may wait for the requests in flight, and on
    # a busy machine for those the pool started while the reader waited for a core.
    assert gaps and max(gaps) <= 45 + 2 * client.config.concurrency, gaps
    assert len(said) >= summary.requests * pace // 30 - 1


class Stop(Exception):
    """Ends a read once the lines under test were said, before its detail requests."""


def test_a_long_detail_read_of_an_account_month_flow_names_the_ledger_way_once(
        zoho_client, tmp_path):
    """Invoice actuals for January 2026 at 100 requests a minute: 1,034 details, over ten
    minutes; right after the forecast, one line names the ledger flows' way."""
    client = zoho_client(store=StateStore.sqlite(tmp_path / "state.db"),
                         requests_per_minute=100)
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if len(lines) > 1 and "to fetch at" in lines[-2]:
            raise Stop  # the line after the forecast is said: stop before the details

    with pytest.raises(Stop):
        stage_read(client, None, shipped_read("invoice_actuals"), tmp_path / "staged.jsonl",
                   interval=("2026-01-01", "2026-02-01"), progress=progress,
                   progress_every=10**9)
    forecast = next(i for i, line in enumerate(lines) if "to fetch at 100/min" in line)
    assert "ledger" not in " ".join(lines[:forecast + 1])
    assert lines[forecast + 1:] == [shipped_read("invoice_actuals").hint]
    assert lines[-1].startswith("invoice_actuals: ") and "source: ledger" in lines[-1]


def test_only_account_month_flows_of_documents_carry_the_ledger_hint():
    """Invoice lines per record and the ledger flows themselves get none."""
    assert shipped_read("bill_actuals").hint
    assert not shipped_read("invoice_lines").hint
    assert not shipped_read("pl_actuals").hint


def shipped_read(flow_id: str) -> Read:
    """The read step of a flow of the shipped flows.yaml."""
    spec = load_flows(ROOT / "dags" / "flows.yaml")
    flow = next(f for f in spec.flows if f.id == flow_id)
    return next(r for r in flow_reads(flow, spec.defaults) if r.kind in ("extract", "ledger"))


def test_the_early_rate_is_taken_over_one_budget_window(zoho_client, tmp_path):
    """The budget's window lets a burst through first: within the first window, the rate a
    line shows is the requests made so far over one whole window (not extrapolated from
    seconds to a minute, which reads as more than the budget); past it, the pace kept. On
    a clock that moves with the requests, 180 a minute."""
    client = zoho_client(store=StateStore.sqlite(tmp_path / "state.db"))
    pace, window = 180, client.config.rate_window

    def clock() -> float:
        return client.requests * 60 / pace

    said: list[tuple[float, int]] = []  # (clock, rate shown)

    def progress(line: str) -> None:
        if shown := re.search(r"\((\d[\d,]*)/min on average\)", line):
            said.append((clock(), int(shown.group(1).replace(",", ""))))

    extract_to(client, "invoices", ExtractWindow(start=date(2026, 1, 1), end=date(2026, 2, 1)),
               io.StringIO(), line_items=True, progress_every=10, clock=clock,
               progress=progress)
    early = [(at, rate) for at, rate in said if at < window]
    assert early and all(rate <= min(pace * at / window + 1, pace) for at, rate in early), said
    later = [rate for at, rate in said if at >= 2 * window]
    assert later and all(abs(rate - pace) <= 2 for rate in later), said
