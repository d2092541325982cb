"""Extraction to JSON Lines: line items, the summary, and secrets kept out of everything."""

from __future__ import annotations

import io
import json
import logging
from datetime import date
from decimal import Decimal

import pytest

from ml_connector.errors import AuthError
from ml_connector.zoho import ExtractWindow, extract_to
from ml_connector.zoho.timefmt import parse_zoho_time

from ..conftest import zoho_credentials

WEEK = ExtractWindow(start=date(2026, 1, 5), end=date(2026, 1, 12))


def test_extract_with_line_items_streams_details(zoho_client):
    client = zoho_client()
    sink = io.StringIO()
    summary = extract_to(client, "invoices", WEEK, sink, line_items=True)
    lines = sink.getvalue().splitlines()
    assert summary.count == len(lines) > 0
    pages = -(-summary.count // 200)
    assert summary.requests == pages + summary.count, "one list call per page, one per record"
    records = [json.loads(line) for line in lines]
    for record in records:
        assert "2026-01-05" <= record["date"] < "2026-01-12"
        items = record["line_items"]
        assert items, record["invoice_id"]
        # sub_total is the sum of the lines as shown; the total adds tax, shipping and
        # adjustments and takes entity-level discounts off (tests/sandbox checks the rule).
        sub_total = sum(Decimal(str(i["item_total"])) for i in items)
        assert sub_total == Decimal(str(record["sub_total"]))
    newest = max(records, key=lambda r: parse_zoho_time(r["last_modified_time"]))
    assert summary.max_last_modified_time == newest["last_modified_time"]
    assert summary.window == {"start": "2026-01-05", "end": "2026-01-12", "modified_after": None}


def test_headers_only_extract_uses_one_request_per_page(zoho_client):
    client = zoho_client()
    summary = extract_to(client, "bills", ExtractWindow(start=date(2026, 1, 1),
                                                        end=date(2026, 4, 1)), io.StringIO())
    assert summary.count > 1000
    assert summary.requests == -(-summary.count // 200)


def test_secrets_never_reach_logs_errors_or_the_summary(zoho_client, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    creds = zoho_credentials(sandbox)
    client = zoho_client()
    sink = io.StringIO()
    summary = extract_to(client, "invoices", WEEK, sink)
    access = client.tokens.cache.get(client.tokens.cache_key).access_token
    sandbox.sandbox.zoho.revoke_refresh_token(creds.refresh_token)
    sandbox.sandbox.clock.advance(3700)
    with pytest.raises(AuthError) as info:
        extract_to(client, "invoices", WEEK, io.StringIO())
    texts = [caplog.text, json.dumps(summary.model_dump()), str(info.value), repr(info.value),
             repr(creds), repr(client.tokens.cache.get(client.tokens.cache_key))]
    for secret in (creds.client_secret, creds.refresh_token, access):
        for text in texts:
            assert secret not in text
