"""The Anaplan emulator over real HTTP: auth methods, ids, uploads, imports, tasks, limits."""

from __future__ import annotations

import base64
import csv
import gzip
import io
import os
import struct
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from ml_connector_sandbox.anaplan import DEFAULT_PASSWORD, DEFAULT_USER
from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.server import RunningSandbox, start_sandbox

WS = "8a81b09d5e8c6f27015ed3b6e5c01b2a"
MODEL = "75A40874E6B64FA3AE0743278996850F"
API = "/anaplan/2/0"
AUTH = "/anaplan/auth"
M = f"{API}/workspaces/{WS}/models/{MODEL}"
ACCOUNTS, CUSTOMERS, INVOICE_ACTUALS, GL = "112000000001", "112000000002", "112000000006", \
    "112000000009"
ACCOUNTS_FILE, CUSTOMERS_FILE, LINES_FILE = "113000000001", "113000000002", "113000000004"
INVOICE_FILE, GL_FILE = "113000000005", "113000000008"
LOAD_LINES = "118000000001"
#: Deterministic timing: nothing moves unless a test advances the sandbox clock.
TIMING = {"queue_seconds": 1, "base_seconds": 10, "per_row_seconds": 0.5, "cancel_seconds": 5}
ACTUAL = [{"entityType": "Version", "entityName": "Actual"}]


def table(*rows: list) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


ACCOUNT_ROWS = table(["Code", "Name", "Type"], ["4000", "Sales", "income"],
                     ["6200", "Rent Expense", "expense"], ["1200", "Accounts Receivable",
                                                           "accounts_receivable"])


class Anaplan:
    """A bare HTTP client for the emulator, holding one token."""

    def __init__(self, running: RunningSandbox) -> None:
        self.running = running
        self.emu = running.sandbox.anaplan
        self.http = httpx.Client(base_url=running.base_url, timeout=30)
        self.token: str | None = None

    def login(self, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD) -> str:
        response = self.http.post(f"{AUTH}/token/authenticate", auth=(user, password))
        assert response.status_code == 201, response.text
        self.token = response.json()["tokenInfo"]["tokenValue"]
        return self.token

    def call(self, method: str, path: str, token: str | None = None,
             **kwargs) -> httpx.Response:
        headers = {"Authorization": f"AnaplanAuthToken {token or self.token}",
                   **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.call("GET", path, **kwargs)

    def advance(self, seconds: float) -> None:
        self.running.sandbox.clock.advance(seconds)

    def upload(self, file_id: str, data: bytes) -> None:
        assert self.call("PUT", f"{M}/files/{file_id}", content=data,
                         headers={"Content-Type": "application/octet-stream"}).status_code == 204

    def start(self, action: str, params: list | None = None, kind: str = "imports") -> str:
        body = {"localeName": "en_US", **({"mappingParameters": params} if params else {})}
        response = self.call("POST", f"{M}/{kind}/{action}/tasks", json=body)
        assert response.status_code == 200, response.text
        task = response.json()["task"]
        assert task["taskState"] == "NOT_STARTED"
        return task["taskId"]

    def status(self, action: str, task_id: str, kind: str = "imports") -> dict:
        response = self.get(f"{M}/{kind}/{action}/tasks/{task_id}")
        assert response.status_code == 200, response.text
        return response.json()["task"]

    def finish(self, action: str, task_id: str, kind: str = "imports") -> dict:
        """Advance the clock until the task is terminal; its final status."""
        for _ in range(100):
            task = self.status(action, task_id, kind)
            if task["taskState"] in ("COMPLETE", "CANCELLED"):
                return task
            self.advance(10)
        raise AssertionError(f"task {task_id} did not finish")

    def run(self, action: str, file_id: str, data: bytes, params: list | None = None) -> dict:
        self.upload(file_id, data)
        return self.finish(action, self.start(action, params))

    def cells(self, module: str) -> dict[tuple[str, ...], dict]:
        return {tuple(c["dimensions"].values()): c["values"]
                for c in self.emu.module_cells(MODEL, module)}


def counts(result: dict) -> dict[str, int]:
    values = result["details"][0]["values"]
    return {k: int(v) for k, v in zip(values[::2], values[1::2], strict=True)}


@pytest.fixture
def start() -> Iterator[Callable[..., Anaplan]]:
    """Start sandboxes with Anaplan settings overlaid on deterministic timing."""
    running: list[RunningSandbox] = []

    def make(**anaplan) -> Anaplan:
        anaplan["timing"] = {**TIMING, **anaplan.get("timing", {})}
        server = start_sandbox(SandboxConfig.model_validate({"anaplan": anaplan}))
        running.append(server)
        return Anaplan(server)

    yield make
    for server in running:
        server.stop()


@pytest.fixture
def ap(start) -> Anaplan:
    client = start()
    client.login()
    return client


# -- authentication -------------------------------------------------------------------------


def test_basic_login_expiry_refresh_and_logout(ap: Anaplan) -> None:
    now = ap.running.sandbox.clock.now()
    body = ap.http.post(f"{AUTH}/token/authenticate", auth=(DEFAULT_USER, DEFAULT_PASSWORD))
    assert body.status_code == 201
    login = body.json()
    assert login["status"] == "SUCCESS" and login["statusMessage"] == "Login successful"
    assert login["meta"]["validationUrl"].endswith("/anaplan/auth/token/validate")
    info = login["tokenInfo"]
    assert {"tokenId", "tokenValue", "expiresAt", "refreshTokenId", "refreshToken"} <= set(info)
    assert abs(info["expiresAt"] / 1000 - (now + 2100)) < 5
    token = info["tokenValue"]

    validated = ap.get(f"{AUTH}/token/validate", token=token).json()
    assert validated["statusMessage"] == "Token validated"
    assert validated["userInfo"]["userId"] == DEFAULT_USER

    ap.advance(600)
    refreshed = ap.call("POST", f"{AUTH}/token/refresh", token=token)
    assert refreshed.status_code == 201
    assert refreshed.json()["statusMessage"] == "Token refreshed"
    new = refreshed.json()["tokenInfo"]
    assert new["tokenValue"] != token and new["expiresAt"] > info["expiresAt"]
    assert ap.get(f"{API}/workspaces", token=token).status_code == 401
    assert ap.get(f"{API}/workspaces", token=new["tokenValue"]).status_code == 200

    ap.advance(2101)
    expired = ap.get(f"{API}/workspaces", token=new["tokenValue"])
    assert expired.status_code == 401 and expired.json()["status"]["code"] == 401
    refused = ap.call("POST", f"{AUTH}/token/refresh", token=new["tokenValue"])
    assert refused.status_code == 401 and refused.json()["status"] == "FAILURE_BAD_CREDENTIAL"

    token = ap.login()
    assert ap.call("POST", f"{AUTH}/token/logout", token=token).status_code == 204
    assert ap.get(f"{API}/workspaces", token=token).status_code == 401


def test_login_refusals(ap: Anaplan) -> None:
    def login(headers: dict) -> httpx.Response:
        return ap.http.post(f"{AUTH}/token/authenticate", headers=headers)

    wrong = ap.http.post(f"{AUTH}/token/authenticate", auth=(DEFAULT_USER, "nope"))
    assert wrong.status_code == 401 and wrong.json()["status"] == "FAILURE_BAD_CREDENTIAL"
    for headers in ({}, {"Authorization": "Basic !!!"}, {"Authorization": "Bearer x"},
                    {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}):
        refused = login(headers)
        assert refused.status_code == 401 and refused.json()["status"] == "FAILURE_BAD_HEADER"
    bearer = ap.http.get(f"{API}/workspaces", headers={"Authorization": f"Bearer {ap.token}"})
    assert bearer.status_code == 401


Issuer = tuple[x509.Certificate, rsa.RSAPrivateKey]


def make_certificate(subject: str, issuer: Issuer | None = None,
                     ca: bool = False) -> tuple[str, rsa.RSAPrivateKey]:
    """A PEM certificate naming ``subject`` (CN and emailAddress) and its RSA key;
    self-signed unless ``issuer`` is given."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, subject)]
    if not ca:
        attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, subject))
    name = x509.Name(attributes)
    issuer_name, signing_key = (issuer[0].subject, issuer[1]) if issuer else (name, key)
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signing_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key


def cert_login(ap: Anaplan, pem: str, key: rsa.RSAPrivateKey, data: bytes,
               v2: bool = True, tamper: bool = False) -> httpx.Response:
    signature = key.sign(data, padding.PKCS1v15(), hashes.SHA512())
    if tamper:
        signature = bytes([signature[0] ^ 1]) + signature[1:]
    body = {"encodedData": base64.b64encode(data).decode(),
            "encodedSignedData": base64.b64encode(signature).decode()}
    if v2:
        body["encodedDataFormat"] = "v2"
    header = f"CACertificate {base64.b64encode(pem.encode()).decode()}"
    return ap.http.post(f"{AUTH}/token/authenticate", json=body,
                        headers={"Authorization": header})


def v2_data(at: float) -> bytes:
    return struct.pack(">Q", int(at)) + os.urandom(92)


def test_certificate_login_v2_and_v1(start) -> None:
    pem, key = make_certificate("robot@zillum.example")
    ap = start(certificates=[{"pem": pem}])
    now = ap.running.sandbox.clock.now()

    def refused(response: httpx.Response) -> bool:
        return response.status_code == 401 and response.json()["status"].startswith("FAILURE_")

    data = v2_data(now)
    ok = cert_login(ap, pem, key, data)
    assert ok.status_code == 201, ok.text
    token = ok.json()["tokenInfo"]["tokenValue"]
    assert ap.get(f"{AUTH}/token/validate", token=token).json()["userInfo"]["userId"] == (
        "robot@zillum.example")
    assert refused(cert_login(ap, pem, key, data))  # replay
    assert refused(cert_login(ap, pem, key, v2_data(now), tamper=True))
    assert refused(cert_login(ap, pem, key, v2_data(now - 600)))
    assert refused(cert_login(ap, pem, key, os.urandom(100)))  # v2 without a timestamp
    assert cert_login(ap, pem, key, os.urandom(150), v2=False).status_code == 201
    assert refused(cert_login(ap, pem, key, os.urandom(60), v2=False))

    stranger, stranger_key = make_certificate("stranger@zillum.example")
    assert refused(cert_login(ap, stranger, stranger_key, v2_data(now)))
    trusted = ap.http.post("/_sandbox/anaplan/certificates", json={"pem": stranger})
    assert trusted.json()["user"] == "stranger@zillum.example"
    assert cert_login(ap, stranger, stranger_key, v2_data(now)).status_code == 201

    ca_pem, ca_key = make_certificate("Zillum Issuing CA", ca=True)
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    leaf, leaf_key = make_certificate(DEFAULT_USER, issuer=(ca, ca_key))
    assert refused(cert_login(ap, leaf, leaf_key, v2_data(now)))
    assert ap.emu.trust_certificate(ca_pem)["user"] is None
    assert refused(cert_login(ap, ca_pem, ca_key, v2_data(now)))  # a CA is no user
    issued = cert_login(ap, leaf, leaf_key, v2_data(now))
    assert issued.status_code == 201
    assert ap.emu.stats()["tokens_issued"]["certificate"] == 4


def test_oauth_device_grant_and_rotating_refresh_tokens(ap: Anaplan) -> None:
    client = "sandbox-oauth-client"
    device = ap.http.post(f"{AUTH}/oauth/device/code", json={"client_id": client}).json()
    grant = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
             "client_id": client, "device_code": device["device_code"]}
    tokens = ap.http.post(f"{AUTH}/oauth/token", data=grant).json()
    assert set(tokens) >= {"access_token", "refresh_token", "expires_in", "token_type"}
    assert ap.get(f"{API}/workspaces", token=tokens["access_token"]).status_code == 200
    reused = ap.http.post(f"{AUTH}/oauth/token", data=grant)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

    def refresh(token: str) -> httpx.Response:
        return ap.http.post(f"{AUTH}/oauth/token", data={
            "grant_type": "refresh_token", "client_id": client, "refresh_token": token})

    first = refresh("sandbox-oauth-refresh-token").json()
    assert first["refresh_token"] != "sandbox-oauth-refresh-token"
    old = refresh("sandbox-oauth-refresh-token")
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"
    second = refresh(first["refresh_token"])
    assert second.status_code == 200
    assert refresh(first["refresh_token"]).json()["error"] == "invalid_grant"
    assert ap.get(f"{API}/workspaces", token=second.json()["access_token"]).status_code == 200
    unknown = ap.http.post(f"{AUTH}/oauth/token", data={
        "grant_type": "refresh_token", "client_id": "nobody", "refresh_token": "x"})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    assert ap.emu.stats()["tokens_issued"] == {"basic": 1, "oauth_device": 1, "oauth_refresh": 2}


# -- ids, envelopes, metadata ----------------------------------------------------------------


def test_ids_are_case_sensitive_and_hidden_models_are_not_found(start) -> None:
    ap = start(users=[{"email": DEFAULT_USER, "password": DEFAULT_PASSWORD},
                      {"email": "viewer@zillum.example", "password": "pw", "models": []}])
    ap.login()
    lower = ap.get(f"{API}/workspaces/{WS}/models/{MODEL.lower()}/imports")
    assert lower.status_code == 404
    error = lower.json()
    assert error["status"] == {"code": 404, "message": "Not Found"}
    assert error["path"] == f"/2/0/workspaces/{WS}/models/{MODEL.lower()}/imports"
    assert error["timestamp"]
    assert ap.get(f"{API}/workspaces/{WS.upper()}/models/{MODEL}/imports").status_code == 404
    assert ap.get(f"{M}/imports").status_code == 200
    assert ap.call("PATCH", f"{M}/imports").status_code == 405

    ap.login("viewer@zillum.example", "pw")
    assert ap.get(f"{API}/workspaces").json()["workspaces"] == []
    for path in (f"{M}/imports", f"{API}/models/{MODEL}", f"{M}/files"):
        assert ap.get(path).status_code == 404


def test_envelopes_and_import_metadata(ap: Anaplan) -> None:
    models = ap.get(f"{API}/workspaces/{WS}/models").json()
    assert models["status"] == {"code": 200, "message": "Success"}
    assert models["meta"]["paging"] == {"currentPageSize": 1, "offset": 0, "totalSize": 1}
    assert models["models"][0]["id"] == MODEL
    assert ap.get(f"{API}/models/{MODEL}").json()["model"]["activeState"] == "PRODUCTION"
    imports = {i["id"]: i for i in ap.get(f"{M}/imports").json()["imports"]}
    assert imports[GL] == {"id": GL, "name": "GL Actuals by Account and Month",
                           "importDataSourceId": GL_FILE, "importType": "MODULE_DATA"}
    assert imports[ACCOUNTS]["importType"] == "HIERARCHY_DATA"
    meta = ap.get(f"{M}/imports/{GL}").json()["importMetadata"]
    assert meta["source"]["headerNames"] == ["Account", "Period", "Amount"]
    assert meta["source"]["columnCount"] == 3
    assert (meta["source"]["columnSeparator"], meta["source"]["decimalSeparator"]) == (",", ".")
    files = ap.get(f"{M}/files").json()["files"]
    assert {f["id"] for f in files} >= {ACCOUNTS_FILE, GL_FILE}
    assert set(files[0]) == {"id", "name", "chunkCount", "delimiter", "encoding",
                             "firstDataRow", "format", "headerRow", "separator"}
    process = ap.get(f"{M}/processes/{LOAD_LINES}").json()["processMetadata"]
    assert [a["id"] for a in process["actions"]] == ["112000000004", "112000000005"]
    assert ap.get(f"{API}/users/me").json()["user"]["email"] == DEFAULT_USER
    assert ap.get(f"{M}/imports", params={"offset": 2, "limit": 3}).json()["meta"]["paging"] == {
        "currentPageSize": 3, "offset": 2, "totalSize": len(imports)}
    assert len(imports) > 5, "paged: the last page is not the first"


# -- uploads ---------------------------------------------------------------------------------


def test_chunked_gzip_upload_is_reassembled_byte_exactly(ap: Anaplan) -> None:
    payload = table(["Account", "Period", "Amount"],
                    *[[f"{4000 + i % 7}", "Jan 26", f"{i * 1.25:.2f}"] for i in range(20000)])
    pieces = [payload[i:i + 90_000] for i in range(0, len(payload), 90_000)]
    url = f"{M}/files/{INVOICE_FILE}"
    started = ap.call("POST", url, json={"chunkCount": len(pieces)})
    assert started.json()["file"]["chunkCount"] == len(pieces)
    for n in reversed(range(len(pieces))):
        put = ap.call("PUT", f"{url}/chunks/{n}", content=gzip.compress(pieces[n]),
                      headers={"Content-Type": "application/x-gzip"})
        assert put.status_code == 204, put.text
    assert ap.emu.file_bytes(MODEL, INVOICE_FILE) == payload
    assert ap.http.get(f"/_sandbox/anaplan/models/{MODEL}/files/{INVOICE_FILE}").content == (
        payload)
    chunks = ap.get(f"{url}/chunks").json()["chunks"]
    assert len(chunks) == len(pieces)
    assert ap.get(f"{url}/chunks/1").content == pieces[1]

    ap.call("POST", url, json={"chunkCount": -1})
    for n, piece in enumerate(pieces[:2]):
        ap.call("PUT", f"{url}/chunks/{n}", content=piece,
                headers={"Content-Type": "application/octet-stream"})
    done = ap.call("POST", f"{url}/complete", json={"id": INVOICE_FILE})
    assert done.json()["file"]["chunkCount"] == 2
    assert ap.emu.file_bytes(MODEL, INVOICE_FILE) == pieces[0] + pieces[1]


def test_upload_limits_and_unknown_file_ids(ap: Anaplan) -> None:
    url = f"{M}/files/{GL_FILE}"
    assert ap.call("POST", url, json={"chunkCount": 1001}).status_code == 400
    ap.call("POST", url, json={"chunkCount": -1})
    assert ap.call("PUT", f"{url}/chunks/1000", content=b"x").status_code == 400
    bomb = gzip.compress(b"0" * (50 * 1024 * 1024 + 1))
    too_big = ap.call("PUT", f"{url}/chunks/0", content=bomb,
                      headers={"Content-Type": "application/x-gzip"})
    assert too_big.status_code == 400 and too_big.json()["status"]["code"] == 400
    assert ap.call("PUT", f"{url}/chunks/0", content=b"not gzip",
                   headers={"Content-Type": "application/x-gzip"}).status_code == 400
    assert ap.call("PUT", url, content=b"x" * (1024 * 1024)).status_code == 400
    assert ap.call("PUT", url, content=gzip.compress(b"a,b\n"),
                   headers={"Content-Type": "application/x-gzip"}).status_code == 400
    assert ap.call("PUT", url, content=b"a,b\n").status_code == 204

    created = ap.call("POST", f"{M}/files/113000000099", json={"chunkCount": 1})
    assert created.status_code == 200
    assert "113000000099" in {f["id"] for f in ap.get(f"{M}/files").json()["files"]}


# -- imports ---------------------------------------------------------------------------------


def test_imports_write_lists_and_cells_and_a_second_import_overwrites(ap: Anaplan) -> None:
    task = ap.run(ACCOUNTS, ACCOUNTS_FILE, ACCOUNT_ROWS)
    assert task["result"]["successful"] and not task["result"]["failureDumpAvailable"]
    assert task["result"]["objectId"] == ACCOUNTS
    assert counts(task["result"]) == {"successRowCount": 3, "failedCount": 0, "ignoredCount": 0,
                            "totalRowCount": 3}
    items = {i["code"]: i for i in ap.emu.list_items(MODEL, "Accounts")}
    assert items["6200"]["name"] == "Rent Expense"
    assert items["6200"]["properties"] == {"Type": "expense"}

    first = table(["Account", "Period", "Amount"], ["4000", "Jan 26", "100.5"],
                  ["6200", "Jan 26", "20"], ["Sales", "Feb 26", "7"])
    assert ap.run(GL, GL_FILE, first, ACTUAL)["result"]["successful"]
    assert ap.cells("GL Actuals") == {("4000", "Actual", "Jan 26"): {"Amount": 100.5},
                                      ("6200", "Actual", "Jan 26"): {"Amount": 20.0},
                                      ("4000", "Actual", "Feb 26"): {"Amount": 7.0}}
    second = table(["Period", "Account", "Amount"], ["Jan 26", "4000", "250"])
    ap.run(GL, GL_FILE, second, [{"entityType": "Version", "entityName": "Forecast"}])
    ap.run(GL, GL_FILE, second, ACTUAL)
    cells = ap.cells("GL Actuals")
    assert cells[("4000", "Actual", "Jan 26")] == {"Amount": 250.0}
    assert cells[("4000", "Forecast", "Jan 26")] == {"Amount": 250.0}
    assert cells[("6200", "Actual", "Jan 26")] == {"Amount": 20.0}
    view = ap.get(f"{M}/views/102000000005/data").text.splitlines()
    assert view[0] == "Accounts,Versions,Time,Amount" and "4000,Actual,Jan 26,250.0" in view

    assert ap.call("POST", f"{M}/imports/{GL}/tasks", json={"localeName": "en_US"}
                   ).status_code == 400
    wrong = [{"entityType": "Version", "entityName": "Plan"}]
    assert ap.call("POST", f"{M}/imports/{GL}/tasks", json={"mappingParameters": wrong}
                   ).status_code == 400


def test_partly_failing_import_and_its_dump(start) -> None:
    ap = start(dump_chunk_bytes=64)
    ap.login()
    ap.run(ACCOUNTS, ACCOUNTS_FILE, ACCOUNT_ROWS)
    rows = table(["Account", "Period", "Amount"], ["4000", "Jan 26", "10"],
                 ["9999", "Jan 26", "5"], ["6200", "Jan 26", "12,5"], ["6200", "2026-01", "1"],
                 ["", "", ""], ["8888", "Mar 26", "abc"])
    task = ap.run(INVOICE_ACTUALS, INVOICE_FILE, rows)
    result = task["result"]
    assert result["successful"] and result["failureDumpAvailable"]
    assert counts(task["result"]) == {"successRowCount": 1, "failedCount": 4, "ignoredCount": 1,
                            "totalRowCount": 6}
    assert ap.cells("Invoice Actuals") == {("4000", "Jan 26"): {"Amount": 10.0}}

    base = f"{M}/imports/{INVOICE_ACTUALS}/tasks/{task['taskId']}/dump"
    dump = ap.get(base)
    assert dump.status_code == 200
    parsed = list(csv.DictReader(io.StringIO(dump.text)))
    assert {"_Status_", "_Line_", "_Error_1_", "_Error_2_", "Account", "Period", "Amount"} == (
        set(parsed[0]))
    by_line = {int(r["_Line_"]): r for r in parsed}
    assert sorted(by_line) == [3, 4, 5, 7]
    assert by_line[3]["Account"] == "9999" and "Accounts" in by_line[3]["_Error_1_"]
    assert "number" in by_line[4]["_Error_1_"] and "period" in by_line[5]["_Error_1_"]
    assert by_line[7]["_Error_2_"] and not by_line[3]["_Error_2_"]
    assert all(r["_Status_"] == "E" for r in parsed)
    chunks = ap.get(f"{base}/chunks").json()["chunks"]
    assert len(chunks) > 1
    assert b"".join(ap.get(f"{base}/chunks/{c['id']}").content for c in chunks) == dump.content

    failing = ap.run(INVOICE_ACTUALS, INVOICE_FILE, table(["Account", "Period", "Amount"],
                                                          ["7777", "Jan 26", "1"]))
    assert not failing["result"]["successful"] and failing["result"]["failureDumpAvailable"]
    assert ap.get(base).status_code == 404  # replaced by the user's next run

    mismatch = ap.run(INVOICE_ACTUALS, INVOICE_FILE,
                      table(["Acct", "Period", "Amount"], ["4000", "Feb 26", "3"]))
    assert not mismatch["result"]["successful"]
    assert not mismatch["result"]["failureDumpAvailable"]
    assert "Account" in mismatch["result"]["details"][0]["localMessageText"]
    assert ap.cells("Invoice Actuals") == {("4000", "Jan 26"): {"Amount": 10.0}}
    clean = ap.run(ACCOUNTS, ACCOUNTS_FILE, ACCOUNT_ROWS)
    assert ap.get(f"{M}/imports/{ACCOUNTS}/tasks/{clean['taskId']}/dump").status_code == 404


def test_process_loads_record_grain_lines(ap: Anaplan) -> None:
    ap.run(ACCOUNTS, ACCOUNTS_FILE, ACCOUNT_ROWS)
    ap.run(CUSTOMERS, CUSTOMERS_FILE, table(["Contact ID", "Name", "Currency"],
                                            ["460000000026049", "Blue River Inc", "USD"]))
    header = ["Line", "Invoice", "Customer", "Account", "Period", "Currency", "Amount"]
    lines = table(header,
                  ["INV-000001-1", "INV-000001", "460000000026049", "4000", "Jan 26", "USD", "99"],
                  ["INV-000001-2", "INV-000001", "Blue River Inc", "4000", "Jan 26", "EUR", "1"],
                  ["INV-000002-1", "INV-000002", "460000000000000", "4000", "Feb 26", "USD", "5"])
    ap.upload(LINES_FILE, lines)
    task = ap.finish(LOAD_LINES, ap.start(LOAD_LINES, kind="processes"), "processes")
    result = task["result"]
    assert result["objectId"] == LOAD_LINES and result["failureDumpAvailable"]
    nested = {r["objectId"]: r for r in result["nestedResults"]}
    assert counts(nested["112000000004"])["successRowCount"] == 3
    assert counts(nested["112000000005"])["failedCount"] == 1
    assert len(ap.emu.list_items(MODEL, "Invoice Lines")) == 3
    cells = ap.cells("Invoice Line Details")
    assert cells[("INV-000001-2",)] == {"Invoice": "INV-000001", "Customer": "460000000026049",
                                        "Account": "4000", "Period": "Jan 26",
                                        "Currency": "EUR", "Amount": 1.0}
    dump = ap.get(f"{M}/processes/{LOAD_LINES}/tasks/{task['taskId']}/dumps/112000000005")
    assert [r["Line"] for r in csv.DictReader(io.StringIO(dump.text))] == ["INV-000002-1"]


# -- task lifecycle --------------------------------------------------------------------------


def test_cancel_before_and_while_running(ap: Anaplan) -> None:
    ap.run(ACCOUNTS, ACCOUNTS_FILE, ACCOUNT_ROWS)
    ap.upload(INVOICE_FILE, table(["Account", "Period", "Amount"], ["4000", "Jan 26", "1"]))
    queued = ap.start(INVOICE_ACTUALS)
    cancel = ap.call("DELETE", f"{M}/imports/{INVOICE_ACTUALS}/tasks/{queued}")
    assert cancel.json()["task"]["taskState"] == "CANCELLING"
    ap.advance(5)
    assert ap.status(INVOICE_ACTUALS, queued)["taskState"] == "CANCELLED"

    running = ap.start(INVOICE_ACTUALS)
    ap.advance(2)
    assert ap.status(INVOICE_ACTUALS, running)["taskState"] == "IN_PROGRESS"
    ap.call("DELETE", f"{M}/imports/{INVOICE_ACTUALS}/tasks/{running}")
    ap.advance(20)  # past the time the import would have completed
    assert ap.get(f"{API}/models/{MODEL}").status_code == 200
    final = ap.status(INVOICE_ACTUALS, running)
    assert final["taskState"] == "CANCELLED" and not final["result"]["successful"]
    assert ap.cells("Invoice Actuals") == {}

    done = ap.finish(INVOICE_ACTUALS, ap.start(INVOICE_ACTUALS))
    late = ap.call("DELETE", f"{M}/imports/{INVOICE_ACTUALS}/tasks/{done['taskId']}")
    assert late.status_code == 409


def test_second_import_queues_and_locked_model_refuses_reads(ap: Anaplan) -> None:
    ap.run(ACCOUNTS, ACCOUNTS_FILE, ACCOUNT_ROWS)
    ap.upload(INVOICE_FILE, table(["Account", "Period", "Amount"], ["4000", "Jan 26", "1"]))
    ap.upload(GL_FILE, table(["Account", "Period", "Amount"], ["4000", "Jan 26", "2"]))
    first = ap.start(INVOICE_ACTUALS)
    second = ap.start(GL, ACTUAL)
    ap.advance(2)
    assert ap.status(INVOICE_ACTUALS, first)["taskState"] == "IN_PROGRESS"
    assert ap.status(GL, second)["taskState"] == "NOT_STARTED"
    locked = ap.get(f"{API}/models/{MODEL}")
    assert locked.status_code == 423 and locked.json()["status"]["code"] == 423
    assert ap.get(f"{M}/lists/101000000001/items").status_code == 423
    for path in (f"{M}/imports", f"{M}/imports/{GL}", f"{M}/imports/{GL}/tasks", f"{M}/files"):
        assert ap.get(path).status_code == 200
    # a queued import reads its file when it starts, not when it was queued
    ap.upload(GL_FILE, table(["Account", "Period", "Amount"], ["4000", "Jan 26", "3"]))

    ap.advance(10)  # the first import ends 11.5 s after it was queued
    assert ap.status(INVOICE_ACTUALS, first)["taskState"] == "COMPLETE"
    assert ap.status(GL, second)["taskState"] == "IN_PROGRESS"
    timeline = {t["taskId"]: t for t in ap.emu.tasks(MODEL)}
    assert timeline[second]["startedAt"] == timeline[first]["endsAt"]
    assert ap.finish(GL, second)["taskState"] == "COMPLETE"
    assert ap.cells("GL Actuals") == {("4000", "Actual", "Jan 26"): {"Amount": 3.0}}
    assert ap.get(f"{API}/models/{MODEL}").status_code == 200
    items = ap.get(f"{M}/lists/101000000001/items").json()["listItems"]
    assert {i["code"] for i in items} == {"4000", "6200", "1200"}


def test_task_duration_grows_with_rows_and_the_clock_finishes_it(ap: Anaplan) -> None:
    ap.run(ACCOUNTS, ACCOUNTS_FILE, ACCOUNT_ROWS)
    timing = ap.http.post("/_sandbox/anaplan/task-duration",
                          json={"queue_seconds": 0, "base_seconds": 10, "per_row_seconds": 0.5})
    assert timing.json()["per_row_seconds"] == 0.5
    header = ["Account", "Period", "Amount"]
    spans = {}
    for rows in (10, 1180):
        ap.upload(INVOICE_FILE, table(header, *[["4000", "Jan 26", str(i)] for i in range(rows)]))
        task_id = ap.start(INVOICE_ACTUALS)
        info = next(t for t in ap.emu.tasks(MODEL) if t["taskId"] == task_id)
        spans[rows] = info["endsAt"] - info["startedAt"]
        ap.advance(spans[rows] - 1)
        status = ap.status(INVOICE_ACTUALS, task_id)
        assert status["taskState"] == "IN_PROGRESS" and 0.9 < status["progress"] < 1
        ap.advance(1.5)
        assert ap.status(INVOICE_ACTUALS, task_id)["taskState"] == "COMPLETE"
    assert spans == {10: pytest.approx(15), 1180: pytest.approx(600)}
    assert ap.cells("Invoice Actuals")[("4000", "Jan 26")] == {"Amount": 1179.0}


def test_status_polls_are_counted_per_task(ap: Anaplan) -> None:
    ap.upload(ACCOUNTS_FILE, ACCOUNT_ROWS)
    task_id = ap.start(ACCOUNTS)
    for _ in range(3):
        ap.status(ACCOUNTS, task_id)
        ap.advance(6)
    stats = ap.emu.stats()
    assert stats["status_polls"][task_id] == 3
    assert stats["min_poll_interval"][task_id] >= 6
    template = f"GET {API[len('/anaplan'):]}/workspaces/{{workspaceId}}/models/{{modelId}}/imports"
    assert f"{template}/{{importId}}/tasks/{{taskId}}" in stats["by_path"]


# -- limits and faults -----------------------------------------------------------------------


@pytest.mark.parametrize("send_retry_after", [True, False])
def test_rate_limit_answers_429(start, send_retry_after: bool) -> None:
    ap = start(rate_per_minute=5, send_retry_after=send_retry_after)
    ap.login()
    answers = [ap.get(f"{API}/workspaces") for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 4 + [429]
    limited = answers[-1]
    assert limited.json()["status"]["code"] == 429
    assert ("Retry-After" in limited.headers) is send_retry_after
    if send_retry_after:
        assert 1 <= int(limited.headers["Retry-After"]) <= 12
    ap.advance(12)
    assert ap.get(f"{API}/workspaces").status_code == 200
    assert ap.emu.stats()["rate_limited"] == 1


def test_armed_faults_use_the_api_error_shape(ap: Anaplan) -> None:
    ap.http.post("/_sandbox/faults", json={"kind": "rate_limit", "api": "anaplan",
                                           "retry_after": "7"})
    limited = ap.get(f"{M}/imports")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.json()["status"] == {"code": 429, "message": "Too Many Requests"}
    ap.http.post("/_sandbox/faults", json={"kind": "server_error", "api": "anaplan",
                                           "status": 503})
    failed = ap.get(f"{M}/imports")
    assert failed.status_code == 503 and failed.json()["status"]["code"] == 503
    assert ap.get(f"{M}/imports").status_code == 200


def test_archived_model_contents_answer_422(ap: Anaplan) -> None:
    ap.http.post(f"/_sandbox/anaplan/models/{MODEL}/state", json={"activeState": "ARCHIVED"})
    assert ap.get(f"{API}/models/{MODEL}").json()["model"]["activeState"] == "ARCHIVED"
    assert ap.get(f"{M}/imports").status_code == 422


# -- model definition ------------------------------------------------------------------------

CUSTOM_MODEL = """
workspaces:
  - id: 0123456789abcdef0123456789abcdef
    name: Lab
    models:
      - id: 0123456789ABCDEF0123456789ABCDEF
        name: Tiny
        time: {first: Jan 26, last: Jun 26}
        lists: [{id: 101000000001, name: Regions, items: [{code: N}, {code: S}]}]
        modules:
          - id: 102000000001
            name: Sales
            dimensions: [Regions, Time]
            line_items: [{name: Units}]
        files: [{id: 113000000001, name: sales.txt}]
        imports:
          - id: 112000000001
            name: Sales by Region
            type: MODULE_DATA
            target: Sales
            source: 113000000001
            column_separator: ";"
            decimal_separator: ","
            columns:
              Region: {dimension: Regions}
              Month: {dimension: Time}
              Units: {line_item: Units}
"""


def test_model_definition_from_yaml(start, tmp_path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(CUSTOM_MODEL)
    ap = start(model_file=str(path))
    ap.login()
    tiny = "0123456789ABCDEF0123456789ABCDEF"
    base = f"{API}/workspaces/{tiny.lower()}/models/{tiny}"
    meta = ap.get(f"{base}/imports/112000000001").json()["importMetadata"]["source"]
    assert (meta["columnSeparator"], meta["decimalSeparator"]) == (";", ",")
    ap.call("PUT", f"{base}/files/113000000001", content=b"Region;Month;Units\nN;Feb 26;2,5\n"
                                                         b"S;Jul 26;1\nS;Mar 26;1.5\n")
    task_id = ap.call("POST", f"{base}/imports/112000000001/tasks", json={}).json()["task"]
    ap.advance(60)
    task = ap.get(f"{base}/imports/112000000001/tasks/{task_id['taskId']}").json()["task"]
    assert counts(task["result"])["failedCount"] == 2  # Jul 26 is outside the calendar; "1.5"
    cells = ap.emu.module_cells(tiny, "Sales")
    assert cells == [{"dimensions": {"Regions": "N", "Time": "Feb 26"}, "values": {"Units": 2.5}}]

    path.write_text(CUSTOM_MODEL.replace("Month: {dimension: Time}", "Month: {}"))
    with pytest.raises(ValueError, match="fix each dimension"):
        SandboxConfig.model_validate({"anaplan": {"model_file": str(path)}})
