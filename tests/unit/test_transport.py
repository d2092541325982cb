"""Transport helpers: Retry-After parsing, Zoho timestamps, windows and plans."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from ml_connector.errors import ApiError, ConfigError
from ml_connector.transport.sync import parse_retry_after
from ml_connector.zoho import ExtractWindow, get_entity
from ml_connector.zoho.auth import expires_in_seconds
from ml_connector.zoho.plan import plan_window
from ml_connector.zoho.timefmt import format_zoho_time, parse_zoho_time


def test_retry_after_in_seconds_and_http_date():
    assert parse_retry_after("7", now=0) == 7.0
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_api_error_drops_query_strings():
    err = ApiError("nope", service="X", status=400, method="POST",
                   url="https://h/oauth/v2/token/revoke?token=SECRET123")
    assert "SECRET123" not in str(err) and err.path == "/oauth/v2/token/revoke"


def test_zoho_timestamps_round_trip_with_offsets():
    moment = parse_zoho_time("2018-11-18T02:02:51-0800")
    assert moment.utcoffset() == timedelta(hours=-8)
    assert format_zoho_time(moment) == "2018-11-18T02:02:51-0800"
    assert parse_zoho_time("2018-11-18T02:02:51+05:30").utcoffset() == timedelta(hours=5.5)
    with pytest.raises(ConfigError, match="not a Zoho timestamp"):
        parse_zoho_time("18/11/2018")


def test_token_lifetime_in_seconds_or_milliseconds():
    assert expires_in_seconds({"expires_in": 3600}) == 3600
    assert expires_in_seconds({"expires_in": 3600000}) == 3600
    assert expires_in_seconds({"expires_in": 3600000, "expires_in_sec": 3600}) == 3600


def test_window_params_make_the_end_inclusive_for_zoho():
    window = ExtractWindow(start=date(2026, 1, 1), end=date(2026, 2, 1))
    assert window.params(get_entity("invoices")) == {
        "date_start": "2026-01-01", "date_end": "2026-01-31"}
    since = datetime(2026, 1, 5, 8, 0, tzinfo=timezone(timedelta(hours=-8)))
    params = ExtractWindow(modified_after=since).params(get_entity("bills"))
    assert params == {"last_modified_time": "2026-01-05T08:00:00-0800"}
    # /journals: last_modified_time matches equal dates only, so read by date instead
    assert ExtractWindow(modified_after=since).params(get_entity("journals")) == {
        "date_after": "2026-01-04"}


def test_plan_window_from_interval_watermark_or_explicit_bounds():
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    end = datetime(2026, 2, 1, tzinfo=timezone.utc)
    assert plan_window("window", interval_start=start, interval_end=end) == ExtractWindow(
        start=date(2026, 1, 1), end=date(2026, 2, 1))
    assert plan_window("window", window_start="2025-12-01", window_end="2026-01-01",
                       interval_start=start, interval_end=end).start == date(2025, 12, 1)
    with pytest.raises(ConfigError, match="data interval has no width"):
        plan_window("window", interval_start=start, interval_end=start)
    inc = plan_window("incremental", watermark="2026-01-31T10:00:00+0100",
                      overlap=timedelta(minutes=10))
    assert format_zoho_time(inc.modified_after) == "2026-01-31T09:50:00+0100"
    assert plan_window("incremental") == ExtractWindow()
    with pytest.raises(ConfigError, match="window_start must be a date"):
        plan_window("window", window_start="January", window_end="2026-02-01")
    with pytest.raises(ConfigError, match="mode must be"):
        plan_window("sometimes")
