"""Serve a sandbox over HTTP on loopback, in a background thread or in the foreground."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn

from ml_connector_sandbox.core import Sandbox, SandboxConfig


@dataclass
class RunningSandbox:
    """A sandbox being served; ``base_url`` is ``http://127.0.0.1:<port>``."""

    base_url: str
    sandbox: Sandbox
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.sandbox.zoho.webhooks.stop()
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def serve_app(app: Any, host: str = "127.0.0.1", port: int = 0, *,
              date_header: bool = True) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Serve an ASGI ``app`` in a daemon thread (a free loopback port by default) and wait
    until it answers: its base URL, server and thread (``server.should_exit`` stops it).
    ``date_header=False``: the app dates its responses itself (the sandbox, on its clock)."""
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                       date_header=date_header)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="ml-connector-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    return f"http://{host}:{bound_port}", server, thread


def start_sandbox(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningSandbox:
    """Start a sandbox in a daemon thread on a free loopback port and wait until it answers."""
    from ml_connector_sandbox.app import build_app

    sandbox = Sandbox(config or SandboxConfig())
    url, server, thread = serve_app(build_app(sandbox), host, port, date_header=False)
    return RunningSandbox(url, sandbox, server, thread)


#: The line ``up`` prints once it serves (and has written Airflow's connections when asked).
READY = "ready: serving"


def serve_forever(
    config: SandboxConfig, host: str, port: int, exit_after: float | None = None,
    on_ready: Callable[[RunningSandbox], None] | None = None,
) -> None:
    """Run in the foreground until SIGINT or SIGTERM (handled whatever the process
    inherited: a job started with ``&`` ignores SIGINT) or ``exit_after`` seconds; once
    serving, call ``on_ready`` and print ``READY``."""
    stopping: list[int] = []  # a handler only appends: it takes no lock a wait might hold
    previous = {sig: signal.signal(sig, lambda signum, _: stopping.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    running = start_sandbox(config, host, port)
    try:
        print(running.sandbox.describe(running.base_url), flush=True)
        if on_ready is not None:
            on_ready(running)
        print(f"{READY} {running.base_url} (pid {os.getpid()})", flush=True)
        deadline = None if exit_after is None else time.monotonic() + exit_after
        while running.thread.is_alive() and not stopping:
            left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if left <= 0:
                break
            time.sleep(left)
    finally:
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
