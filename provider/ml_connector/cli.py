"""The ``ml-connector`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _sandbox_up(args: argparse.Namespace) -> int:
    from ml_connector.sandbox.core import SandboxConfig
    from ml_connector.sandbox.server import serve_forever

    config = SandboxConfig.from_yaml(args.config) if args.config else SandboxConfig()
    serve_forever(config, args.host, args.port, exit_after=args.exit_after)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ml-connector", description="Zoho Books to Anaplan: tools around the provider."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sandbox = commands.add_parser("sandbox", help="local emulators of Zoho Books and Anaplan")
    sandbox_cmds = sandbox.add_subparsers(dest="sandbox_command", required=True)
    up = sandbox_cmds.add_parser("up", help="serve the sandbox on loopback until interrupted")
    up.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    up.add_argument("--port", type=int, default=8765, help="port (0 = any free port)")
    up.add_argument("--config", help="sandbox YAML (organizations, limits, seed)")
    up.add_argument(
        "--exit-after", type=float, default=None, metavar="SECONDS",
        help="stop by itself after this many seconds",
    )
    up.set_defaults(func=_sandbox_up)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
