"""Uploads, imports, dumps, cancellation, queueing, 429s and polling against the sandbox."""

from __future__ import annotations

import io
import random
import time

import httpx
import pytest

from ml_connector.anaplan.auth import BasicMethod
from ml_connector.anaplan.client import AnaplanClient
from ml_connector.anaplan.columns import check_header
from ml_connector.anaplan.config import MB, AnaplanConfig
from ml_connector.errors import ConfigError
from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.faults import Fault

from ..conftest import FAST_RETRY, MODEL, PASSWORD, USER, WORKSPACE

ACCOUNTS, ACTUALS = "112000000001", "112000000006"
ACCOUNTS_FILE, ACTUALS_FILE = "113000000001", "113000000005"


def csv_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def run_import(client, sandbox, import_id, file_id, data: bytes):
    client.upload(file_id, io.BytesIO(data), len(data))
    task_id = client.start_task(import_id)
    return client.wait(import_id, task_id, sleep=sandbox.sandbox.clock.advance), task_id


def load_accounts(client, sandbox, codes=("4000", "4100", "5000")):
    rows = [[c, f"Account {c}", "Income"] for c in codes]
    status, _ = run_import(client, sandbox, ACCOUNTS, ACCOUNTS_FILE,
                           csv_bytes(["Code", "Name", "Type"], rows))
    assert status.ok, status.summary


def cells(sandbox, module="Invoice Actuals") -> dict[tuple[str, str], float]:
    return {(c["dimensions"]["Accounts"], c["dimensions"]["Time"]): c["values"]["Amount"]
            for c in sandbox.sandbox.anaplan.module_cells(MODEL, module)}


def test_multi_chunk_gzip_upload_is_reassembled_byte_exactly(anaplan_client, sandbox):
    client = anaplan_client(chunk_size=1 * MB)
    rng = random.Random(5)
    rows = [[f"{rng.randrange(4000, 4999)}", "Jan 26", f"{rng.random() * 1e6:.2f}"]
            for _ in range(150_000)]
    data = csv_bytes(["Account", "Period", "Amount"], rows)
    assert len(data) > 3 * MB
    result = client.upload(ACTUALS_FILE, io.BytesIO(data), len(data))
    assert result.chunks == -(-len(data) // MB) and result.bytes == len(data)
    assert result.sent_bytes < len(data), "chunks were sent gzip-compressed"
    assert sandbox.sandbox.anaplan.file_bytes(MODEL, ACTUALS_FILE) == data


def test_upload_to_an_unknown_file_or_of_an_empty_one_is_refused(anaplan_client, sandbox):
    with pytest.raises(ConfigError, match="file 113000000099 does not exist"):
        anaplan_client().upload("113000000099", io.BytesIO(b"a\n"), 2)
    with pytest.raises(ConfigError, match="empty file"):
        anaplan_client().upload(ACTUALS_FILE, io.BytesIO(b""), 0)
    posts = [p for p in sandbox.sandbox.anaplan.stats()["by_path"] if p.startswith("POST")]
    assert not any("/files/" in p for p in posts), "nothing was posted to any file"


def test_import_applies_rows_and_a_second_import_overwrites_cells(anaplan_client, sandbox):
    client = anaplan_client()
    load_accounts(client, sandbox)
    assert {i["code"] for i in sandbox.sandbox.anaplan.list_items(MODEL, "Accounts")} >= {
        "4000", "4100", "5000"}
    header = ["Account", "Period", "Amount"]
    status, _ = run_import(client, sandbox, ACTUALS, ACTUALS_FILE, csv_bytes(
        header, [["4000", "Jan 26", "100.50"], ["4100", "Jan 26", "7.25"]]))
    assert status.ok and status.counts["successRowCount"] == 2
    assert cells(sandbox) == {("4000", "Jan 26"): 100.5, ("4100", "Jan 26"): 7.25}
    status, _ = run_import(client, sandbox, ACTUALS, ACTUALS_FILE,
                           csv_bytes(header, [["4000", "Jan 26", "90.00"]]))
    assert cells(sandbox)[("4000", "Jan 26")] == 90.0, "cells are overwritten, not added to"


def test_partly_failing_import_reports_rejected_rows_from_the_dump(anaplan_client, sandbox):
    client = anaplan_client()
    load_accounts(client, sandbox)
    data = csv_bytes(["Account", "Period", "Amount"], [
        ["4000", "Feb 26", "10.00"], ["9999", "Feb 26", "5.00"], ["4100", "Febr 26", "1"],
        ["5000", "Feb 26", "abc"]])
    status, task_id = run_import(client, sandbox, ACTUALS, ACTUALS_FILE, data)
    assert status.state == "COMPLETE" and status.failure_dump
    assert status.counts["failedCount"] == 3 and status.counts["successRowCount"] == 1
    rejected = client.rejected_rows(ACTUALS, task_id)
    assert [r.values["Account"] for r in rejected] == ["9999", "4100", "5000"]
    assert all(r.errors and r.line for r in rejected)
    assert cells(sandbox) == {("4000", "Feb 26"): 10.0}


def test_cancelled_import_applies_nothing(anaplan_client, sandbox):
    client = anaplan_client()
    load_accounts(client, sandbox)
    sandbox.sandbox.anaplan.set_task_duration(base_seconds=600)
    client.upload(ACTUALS_FILE, io.BytesIO(d := csv_bytes(["Account", "Period", "Amount"],
                                                           [["4000", "Mar 26", "1"]])), len(d))
    task_id = client.start_task(ACTUALS)
    assert client.cancel(ACTUALS, task_id).state in ("CANCELLING", "CANCELLED")
    final = client.wait(ACTUALS, task_id, sleep=sandbox.sandbox.clock.advance)
    assert final.state == "CANCELLED" and not final.ok
    assert ("4000", "Mar 26") not in cells(sandbox)


def test_second_import_waits_behind_a_running_one(anaplan_client, sandbox):
    client = anaplan_client()
    load_accounts(client, sandbox)
    sandbox.sandbox.anaplan.set_task_duration(base_seconds=60)
    data = csv_bytes(["Account", "Period", "Amount"], [["4000", "Apr 26", "3"]])
    client.upload(ACTUALS_FILE, io.BytesIO(data), len(data))
    first = client.start_task(ACTUALS)
    second = client.start_task(ACCOUNTS)
    sandbox.sandbox.clock.advance(1)
    assert client.task(ACTUALS, first).state == "IN_PROGRESS"
    assert client.task(ACCOUNTS, second).state == "NOT_STARTED", "queued behind the lock"
    locked = httpx.get(f"{sandbox.base_url}/anaplan/2/0/models/{MODEL}",
                       headers={"Authorization": f"AnaplanAuthToken {client.auth.token()}"})
    assert locked.status_code in (409, 423)
    assert client.wait(ACTUALS, first, sleep=sandbox.sandbox.clock.advance).ok
    assert client.wait(ACCOUNTS, second, sleep=sandbox.sandbox.clock.advance).state == "COMPLETE"


def test_ten_minute_import_is_polled_sparingly(anaplan_client, sandbox):
    client = anaplan_client()
    load_accounts(client, sandbox)
    sandbox.sandbox.anaplan.set_task_duration(queue_seconds=0, base_seconds=600,
                                              per_row_seconds=0)
    data = csv_bytes(["Account", "Period", "Amount"], [["4000", "May 26", "3"]])
    client.upload(ACTUALS_FILE, io.BytesIO(data), len(data))
    task_id = client.start_task(ACTUALS)
    status = client.wait(ACTUALS, task_id, sleep=sandbox.sandbox.clock.advance)
    assert status.ok
    stats = sandbox.sandbox.anaplan.stats()
    polls = stats["status_polls"][task_id]
    assert polls <= 20, polls
    assert stats["min_poll_interval"][task_id] >= 5.0


def test_token_expiring_in_the_middle_of_polling(anaplan_client, sandbox):
    client = anaplan_client()  # real clock, so only the 401 tells it the token died
    load_accounts(client, sandbox)
    sandbox.sandbox.anaplan.set_task_duration(base_seconds=3 * 3600)
    data = csv_bytes(["Account", "Period", "Amount"], [["4000", "Jun 26", "3"]])
    client.upload(ACTUALS_FILE, io.BytesIO(data), len(data))
    task_id = client.start_task(ACTUALS)
    status = client.wait(ACTUALS, task_id, sleep=sandbox.sandbox.clock.advance, timeout=4 * 3600)
    assert status.ok
    assert client.book.issued >= 2, "a new token was obtained after the old one expired"


@pytest.mark.parametrize("retry_after", ["1", None], ids=["retry-after", "backoff"])
def test_429_is_retried_with_or_without_retry_after(anaplan_client, sandbox, retry_after):
    client = anaplan_client()
    client.imports()
    sandbox.sandbox.faults.arm(Fault(kind="rate_limit", api="anaplan", count=2,
                                     path="/imports", retry_after=retry_after))
    started = time.monotonic()
    assert client.imports()
    waited = time.monotonic() - started
    assert not sandbox.sandbox.faults.armed(), "both 429s were served"
    if retry_after:
        assert waited >= 2.0, "the client waited the 1 s the server asked for, twice"
    else:
        assert waited < 1.0, "without Retry-After the (test-sized) backoff applies"


def test_tenant_rate_limit_answers_429(sandbox_factory, anaplan_client):
    running = sandbox_factory(SandboxConfig.model_validate(
        {"anaplan": {"rate_per_minute": 6, "send_retry_after": True}}))
    token = anaplan_client(running=running).auth.token()
    url = f"{running.base_url}/anaplan/2/0/workspaces/{WORKSPACE}/models/{MODEL}/imports"
    codes = [httpx.get(url, headers={"Authorization": f"AnaplanAuthToken {token}"}).status_code
             for _ in range(10)]
    assert 429 in codes
    assert running.sandbox.anaplan.stats()["rate_limited"]


def test_ids_are_normalized_and_the_sandbox_is_case_sensitive(anaplan_client, sandbox):
    client = AnaplanClient(BasicMethod(USER, PASSWORD), AnaplanConfig(
        WORKSPACE.upper(), MODEL.lower(), endpoint_base=sandbox.base_url, retry=FAST_RETRY))
    assert client.imports(), "wrong-case ids were normalized before the call"
    token = client.auth.token()
    wrong = httpx.get(f"{sandbox.base_url}/anaplan/2/0/workspaces/{WORKSPACE}/models/"
                      f"{MODEL.lower()}/imports",
                      headers={"Authorization": f"AnaplanAuthToken {token}"})
    assert wrong.status_code == 404
    client.close()


def test_malformed_ids_fail_before_any_call(sandbox):
    before = sandbox.sandbox.anaplan.stats()["total"]
    with pytest.raises(ConfigError, match="model id must be 32 hexadecimal"):
        AnaplanConfig(WORKSPACE, "75A40874-E6B6-4FA3", endpoint_base=sandbox.base_url)
    assert sandbox.sandbox.anaplan.stats()["total"] == before


def test_file_columns_are_checked_against_the_imports_header_names(anaplan_client):
    meta = anaplan_client().import_metadata(ACTUALS)
    assert meta.source is not None
    expected = meta.source.header_names
    assert expected == ["Account", "Period", "Amount"]
    with pytest.raises(ConfigError, match=r"missing columns \['Period'\].*unexpected.*'Month'"):
        check_header(["Account", "Month", "Amount"], expected)


def test_the_model_page_is_anaplans_model_url_or_the_configured_pattern(anaplan_client,
                                                                         sandbox):
    """What the operator's extra link opens: a page for a browser, never an API resource."""
    from ..conftest import MODEL, WORKSPACE

    listed = anaplan_client().model_page()
    assert listed.startswith("https://") and f"selectedModelId={MODEL}" in listed
    sandbox.sandbox.anaplan.reset_stats()
    pattern = "https://eu1.app.anaplan.com/models/{workspace_id}/{model_id}"
    page = anaplan_client(model_page=pattern).model_page()
    assert page == f"https://eu1.app.anaplan.com/models/{WORKSPACE}/{MODEL}"
    assert sandbox.sandbox.anaplan.stats()["total"] == 0  # the pattern costs no request
