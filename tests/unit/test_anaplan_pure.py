"""Anaplan pieces that need no server: ids, chunking, task results, dumps, columns, signing."""

from __future__ import annotations

import base64
import gzip
import io
import itertools
import struct
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from ml_connector.anaplan import ids
from ml_connector.anaplan.auth import CertificateMethod
from ml_connector.anaplan.columns import check_header
from ml_connector.anaplan.config import MB, AnaplanConfig
from ml_connector.anaplan.dump import parse_dump
from ml_connector.anaplan.outcome import TaskEvent, judge
from ml_connector.anaplan.tasks import TaskStatus, parse_task, poll_delays
from ml_connector.anaplan.upload import chunk_plan, prepared_chunks
from ml_connector.errors import ConfigError

from ..certs import make_certificate

WS = "8a81b09d5e8c6f27015ed3b6e5c01b2a"
MODEL = "75A40874E6B64FA3AE0743278996850F"


def test_ids_are_normalized_and_bad_ones_named():
    config = AnaplanConfig(WS.upper(), MODEL.lower())
    assert config.workspace_id == WS and config.model_id == MODEL
    with pytest.raises(ConfigError, match="workspace id must be 32 hexadecimal.*'8a81'"):
        AnaplanConfig("8a81", MODEL)
    with pytest.raises(ConfigError, match="model id must be 32 hexadecimal"):
        AnaplanConfig(WS, "Z" * 32)
    assert ids.object_id("112000000001", "import") == "112000000001"
    with pytest.raises(ConfigError, match="import id must start with 112"):
        ids.object_id("113000000001", "import")
    with pytest.raises(ConfigError, match="file id must be 12 digits"):
        ids.object_id("113-1", "file")
    url = AnaplanConfig(WS, MODEL, endpoint_base="http://127.0.0.1:9/").task_url(
        "112000000001", "16605ae88d1d46edb88fd12dfba867a9")
    assert url == ("http://127.0.0.1:9/anaplan/2/0/workspaces/" + WS + "/models/" + MODEL
                   + "/imports/112000000001/tasks/16605AE88D1D46EDB88FD12DFBA867A9")


def test_chunk_plan_respects_the_limits():
    assert chunk_plan(25 * MB, 10 * MB) == (10 * MB, 3)
    size, count = chunk_plan(20_000 * MB, 10 * MB)  # 2,000 chunks would be too many
    assert count <= 1000 and size <= 50 * MB
    with pytest.raises(ConfigError, match="1000 chunks of 50 MB"):
        chunk_plan(60_000 * MB, 10 * MB)


def test_prepared_chunks_gzip_each_chunk_and_lose_nothing():
    data = bytes(itertools.islice(itertools.cycle(b"Invoice,Account,Jan 26,12.50\n"), 3 * MB + 7))
    parts = list(prepared_chunks(io.BytesIO(data), MB, compress=True))
    assert len(parts) == 4 and sum(raw for raw, _ in parts) == len(data)
    assert b"".join(gzip.decompress(body) for _, body in parts) == data
    plain = list(prepared_chunks(io.BytesIO(data), MB, compress=False))
    assert b"".join(body for _, body in plain) == data


def test_task_result_values_are_read_as_pairs():
    status = parse_task({
        "taskId": "16605AE88D1D46EDB88FD12DFBA867A9", "taskState": "COMPLETE", "progress": 1.0,
        "result": {"successful": True, "failureDumpAvailable": True, "objectId": "112000000009",
                   "details": [{"type": "hierarchyRowsProcessed",
                                "localMessageText": "Employees: 90 (0/90) rows successful",
                                "values": ["successRowCount", "90", "failedCount", "3",
                                           "ignoredCount", "5", "totalRowCount", "98"]}]},
        "unknownField": {"ignored": True},
    })
    assert status.terminal and not status.ok
    assert status.counts == {"successRowCount": 90, "failedCount": 3, "ignoredCount": 5,
                             "totalRowCount": 98}
    assert "failedCount 3" in status.summary


def test_dump_rows_are_matched_by_header_name():
    text = ('_Line_,Invoice,_Error_1_,Amount,_Status_,_Error_2_\n'
            '3,INV-1,Unknown item "X",12.5,E,Bad number\n')
    [row] = list(parse_dump(text))
    assert row.line == 3 and row.values == {"Invoice": "INV-1", "Amount": "12.5"}
    assert row.errors == ['Unknown item "X"', "Bad number"]
    assert "line 3" in row.describe()


def test_header_check_lists_missing_and_unexpected_columns():
    check_header(["A", "B"], ["A", "B"])
    with pytest.raises(ConfigError, match=r"missing columns \['Period'\]; unexpected .*'Month'"):
        check_header(["Account", "Month", "Amount"], ["Account", "Period", "Amount"])
    with pytest.raises(ConfigError, match="wrong order"):
        check_header(["B", "A"], ["A", "B"])


def test_poll_delays_start_at_five_and_stop_growing_at_sixty():
    delays = list(itertools.islice(poll_delays(1.0), 12))
    assert delays[0] == 5.0 and max(delays) == 60.0
    assert all(b >= a for a, b in itertools.pairwise(delays))


def test_judging_events():
    done = TaskEvent(status="done", task=TaskStatus(task_id="T", state="COMPLETE",
                                                    successful=True))
    assert judge(done) == (True, "task T COMPLETE; successful")
    partial = done.model_copy(update={
        "task": done.task.model_copy(update={"counts": {"failedCount": 2}}),
        "rejected": ["line 2: Unknown item"]})
    ok, message = judge(partial)
    assert not ok and "2 row(s) rejected" in message and "line 2: Unknown item" in message
    assert judge(partial, allow_rejected_rows=True)[0]
    cancelled = TaskEvent(status="done", task=TaskStatus(task_id="T", state="CANCELLED"))
    assert not judge(cancelled)[0]
    assert "cancelled" in judge(TaskEvent(status="timeout", cancelled=True))[1]
    # The JSON a trigger emits reads back as the same event.
    assert TaskEvent.model_validate(partial.model_dump(mode="json")) == partial


@pytest.mark.parametrize("payload_format", ["v2", "v1"])
def test_certificate_payload_is_signed_with_sha512(payload_format, tmp_path):
    cert_pem, key_pem, key = make_certificate(passphrase="pw")
    method = CertificateMethod(cert_pem, key_pem, "pw", payload_format)
    call = method.authenticate("https://auth.example")
    assert call.headers["Authorization"] == "CACertificate " + base64.b64encode(
        cert_pem.strip().encode()).decode()
    data = base64.b64decode(call.json["encodedData"])
    signature = base64.b64decode(call.json["encodedSignedData"])
    key.public_key().verify(signature, data, padding.PKCS1v15(), hashes.SHA512())
    if payload_format == "v2":
        assert call.json["encodedDataFormat"] == "v2" and len(data) == 100
        assert abs(struct.unpack(">Q", data[:8])[0] - time.time()) < 5
    else:
        assert "encodedDataFormat" not in call.json and len(data) >= 100
    with pytest.raises(ConfigError, match="wrong passphrase"):
        CertificateMethod(cert_pem, key_pem, "not-it")
