"""`ml-connector sandbox up` and `ml-connector-sandbox up`: a person's entry points, run as
real processes."""

from __future__ import annotations

import signal
import socket
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


def gone(port: int) -> bool:
    """Whether nothing answers on the loopback ``port`` any more."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_a_sandbox_started_in_the_background_stops_on_sigint_and_sigterm():
    """A job started with ``&`` inherits SIGINT ignored: the sandbox stops on it all the
    same (and on SIGTERM), freeing its port."""
    exe = Path(sys.executable).parent / "ml-connector-sandbox"
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen(
            [str(exe), "up", "--port", "0"], stdout=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        try:
            while not (line := proc.stdout.readline()).startswith("ready: serving"):
                assert line, "up ended before serving"
            port = int(line.split()[2].rsplit(":", 1)[1])
            proc.send_signal(sig)
            assert proc.wait(60) == 0  # a bound for a hung process, not a speed check
        finally:
            proc.kill()
        assert gone(port)


def test_up_detach_returns_once_serving_and_down_stops_it():
    exe = str(Path(sys.executable).parent / "ml-connector")
    done = subprocess.run([exe, "sandbox", "up", "--detach", "--port", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ready = next(line for line in done.stdout.splitlines() if line.startswith("ready: "))
    base = ready.split()[2]
    port = int(base.rsplit(":", 1)[1])
    assert httpx.get(f"{base}/_sandbox/health").json()["status"] == "ok"
    assert f"stop it with: ml-connector sandbox down --port {port}" in done.stdout
    stopped = subprocess.run([exe, "sandbox", "down", "--port", str(port)],
                             capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0 and f"stopped the sandbox on port {port}" in stopped.stdout
    assert gone(port)
    again = subprocess.run([exe, "sandbox", "down", "--port", str(port)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "no sandbox started with --detach" in again.stderr
