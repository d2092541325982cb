"""The ``ml-connector-sandbox`` command line (also reached as ``ml-connector sandbox``)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

#: How long ``up --detach`` waits for the served sandbox (and Airflow's connections).
DETACH_WAIT = 300.0


def _up(args: argparse.Namespace) -> int:
    from ml_connector_sandbox.core import SandboxConfig
    from ml_connector_sandbox.server import RunningSandbox, serve_forever
    from ml_connector_sandbox.zoho.webhooks import WebhookSpec

    if args.detach:
        return _detach(args)
    config = SandboxConfig.from_yaml(args.config) if args.config else SandboxConfig()
    for target in args.webhook or []:
        org, _, url = target.partition("=")
        if not url or not args.webhook_secret:
            print("--webhook takes ORGANIZATION_ID=URL, with --webhook-secret", file=sys.stderr)
            return 2
        config.zoho.webhooks.append(WebhookSpec(organization_id=org, url=url,
                                                secret=args.webhook_secret))

    def to_airflow(running: RunningSandbox) -> None:
        from ml_connector_sandbox.to_airflow import add_connections

        print(add_connections(config.airflow_connections(running.base_url)), flush=True)

    try:
        serve_forever(config, args.host, args.port, exit_after=args.exit_after,
                      on_ready=to_airflow if args.airflow else None)
    except RuntimeError as exc:
        print(f"sandbox up: {exc}", file=sys.stderr)
        return 2
    return 0


def run_folder() -> Path:
    """Where detached sandboxes keep their log and pid files (one folder per user)."""
    folder = Path(tempfile.gettempdir()) / f"ml-connector-sandbox-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _detach(args: argparse.Namespace) -> int:
    """Start ``up`` (without ``--detach``) as its own process, wait until it serves, print
    what it printed and leave it running."""
    from ml_connector_sandbox.server import READY

    argv = [a for a in args.argv if a not in ("--detach", "-d")]
    log_path = run_folder() / f"up-{os.getpid()}.log"
    with log_path.open("w") as log:
        child = subprocess.Popen([sys.executable, "-m", "ml_connector_sandbox.cli", *argv],
                                 stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + DETACH_WAIT
    while READY not in (text := log_path.read_text()):
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            print(text, end="")
            print("sandbox up: the sandbox did not start (its output is above)",
                  file=sys.stderr)
            return child.poll() or 1
        time.sleep(0.2)
    print(text, end="")
    port = text.split(READY, 1)[1].split()[0].rsplit(":", 1)[1]
    (run_folder() / f"{port}.pid").write_text(str(child.pid))
    down = "ml-connector sandbox down" + ("" if port == "8765" else f" --port {port}")
    print(f"The sandbox serves in the background (pid {child.pid}, log {log_path}); stop it "
          f"with: {down}", flush=True)
    return 0


def _down(args: argparse.Namespace) -> int:
    """Stop the detached sandbox serving on ``--port``."""
    pid_file = run_folder() / f"{args.port}.pid"
    if not pid_file.exists():
        print(f"sandbox down: no sandbox started with --detach serves port {args.port}",
              file=sys.stderr)
        return 2
    pid = int(pid_file.read_text())
    pid_file.unlink()
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        print(f"the sandbox on port {args.port} had stopped already")
        return 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print(f"stopped the sandbox on port {args.port} (pid {pid})")
            return 0
        time.sleep(0.1)
    print(f"sandbox down: pid {pid} did not stop within 30 s", file=sys.stderr)
    return 1


def build_parser(prog: str = "ml-connector-sandbox") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Local emulators of Zoho Books and Anaplan.")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="serve the sandbox on loopback until interrupted")
    up.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    up.add_argument("--port", type=int, default=8765, help="port (0 = any free port)")
    up.add_argument("--config", help="sandbox YAML (organizations, limits, seed)")
    up.add_argument(
        "--exit-after", type=float, default=None, metavar="SECONDS",
        help="stop by itself after this many seconds",
    )
    up.add_argument("--webhook", action="append", metavar="ORGANIZATION_ID=URL",
                    help="send the organization's webhooks (create, edit, void) to URL")
    up.add_argument("--webhook-secret", help="the webhooks' secret (12-50 letters and digits)")
    up.add_argument("--airflow", action="store_true",
                    help="write the Airflow connections zoho_books_default and "
                    "anaplan_default to this sandbox (airflow connections import --overwrite)")
    up.add_argument("-d", "--detach", action="store_true",
                    help="serve in the background: return once it serves (stop it with "
                    "`down`)")
    up.set_defaults(func=_up)
    down = commands.add_parser("down", help="stop a sandbox started with up --detach")
    down.add_argument("--port", type=int, default=8765, help="its port (default 8765)")
    down.set_defaults(func=_down)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "ml-connector-sandbox") -> int:
    args = build_parser(prog).parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
