"""`ml-connector sandbox up` and `ml-connector-sandbox up`: a person's entry points, run as
real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx


def test_sandbox_up_serves_both_apis_and_stops_by_itself():
    exe = Path(sys.executable).parent / "ml-connector"
    proc = subprocess.Popen([str(exe), "sandbox", "up", "--port", "0", "--exit-after", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("ml-connector sandbox on http://127.0.0.1:"), first
        base = first.split(" on ", 1)[1].strip()
        assert httpx.get(f"{base}/_sandbox/health").json()["status"] == "ok"
        token = httpx.post(f"{base}/zoho/us/accounts/oauth/v2/token", data={
            "grant_type": "refresh_token", "client_id": "1000.SANDBOXCLIENT",
            "client_secret": "sandbox-client-secret",
            "refresh_token": "1000.sandbox-refresh-us"}).json()
        assert token["api_domain"] == f"{base}/zoho/us/api"
        login = httpx.post(f"{base}/anaplan/auth/token/authenticate",
                           auth=("integration@zillum.example", "sandbox-password"))
        assert login.status_code == 201
    finally:
        proc.terminate()
        assert proc.wait(15) is not None
    rest = proc.stdout.read()
    assert "1000.sandbox-refresh-us" in rest and "integration@zillum.example" in rest


def test_the_sandbox_distributions_own_command_stops_by_itself():
    exe = Path(sys.executable).parent / "ml-connector-sandbox"
    done = subprocess.run([str(exe), "up", "--port", "0", "--exit-after", "1"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    assert done.stdout.startswith("ml-connector sandbox on http://127.0.0.1:")
    assert done.stdout.startswith("ml-connector sandbox on http://127.0.0.1:")
