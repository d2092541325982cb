"""Real database servers for tests, started from the machine's binaries: loopback only, a
free port, a temporary directory, stopped at the end (and with their parent process)."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path | None:
    """The directory of ``initdb`` and ``postgres`` (Debian keeps them off ``PATH``)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return Path(dirs[-1]) if dirs else None


def die_with_parent() -> None:
    """In a child before it runs: SIGKILL when the test's process dies (prctl(2)), which
    then ran no clean-up (a warm shutdown would wait for tasks that cannot finish)."""
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _as_server_user() -> list[str]:
    """PostgreSQL refuses to run as root: drop to ``nobody`` then; die with the parent
    (SIGINT: PostgreSQL's fast shutdown, which does not wait for its clients)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
            "--pdeathsig", "INT"]


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server; yields its SQLAlchemy URL (``postgresql+psycopg://``)."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found (apt install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="mlc-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "nobody")
    prefix = _as_server_user()
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust",
                    "-U", "postgres", "--no-sync"], check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [*prefix, str(bindir / "postgres"), "-D", str(data), "-p", str(port),
         "-k", str(root), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
         "-c", "max_connections=200"],
        stdout=subprocess.DEVNULL, stderr=(root / "server.log").open("w"),
        preexec_fn=die_with_parent)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    # SIGINT on the way out: a fast shutdown (SIGTERM's smart one waits for every client,
    # such as the pooled connections of the tests' state stores).
    with _serving(proc, root, "PostgreSQL", lambda: _answers(port), stop=signal.SIGINT):
        _wait_ready(url)
        yield url


def _answers(port: int, ping: bytes = b"", pong: bytes = b"") -> bool:
    """Whether a server listens on ``port`` (and answers ``ping`` with ``pong``)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            if ping:
                sock.sendall(ping)
                return sock.recv(16).startswith(pong)
            return True
    except OSError:
        return False


@contextmanager
def _serving(proc: subprocess.Popen, root: Path, what: str, ready: Callable[[], bool],
             stop: int = signal.SIGTERM) -> Iterator[None]:
    """Wait until the server ``proc`` is ``ready``; stop it and remove ``root`` after."""
    try:
        deadline = time.monotonic() + 60
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start: "
                                   + (root / "server.log").read_text()[-2000:])
            time.sleep(0.2)
        yield
    finally:
        proc.send_signal(stop)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(url: str) -> None:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(conninfo).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def redis_server() -> Iterator[str]:
    """A Redis server (Debian's ``redis-server``), nothing persisted; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found (apt install redis-server)")
    root = Path(tempfile.mkdtemp(prefix="mlc-redis-"))
    port = free_port()
    proc = subprocess.Popen(
        [*_as_server_user(), binary, "--bind", "127.0.0.1", "--port", str(port),
         "--save", "", "--appendonly", "no", "--dir", "/tmp"],
        stdout=(root / "server.log").open("w"), stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent)
    with _serving(proc, root, "Redis", lambda: _answers(port, b"PING\r\n", b"+PONG")):
        yield f"redis://127.0.0.1:{port}/0"
