"""The ``ml-connector-sandbox`` command line (also reached as ``ml-connector sandbox``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _up(args: argparse.Namespace) -> int:
    from ml_connector_sandbox.core import SandboxConfig
    from ml_connector_sandbox.server import serve_forever
    from ml_connector_sandbox.zoho.webhooks import WebhookSpec

    config = SandboxConfig.from_yaml(args.config) if args.config else SandboxConfig()
    for target in args.webhook or []:
        org, _, url = target.partition("=")
        if not url or not args.webhook_secret:
            print("--webhook takes ORGANIZATION_ID=URL, with --webhook-secret", file=sys.stderr)
            return 2
        config.zoho.webhooks.append(WebhookSpec(organization_id=org, url=url,
                                                secret=args.webhook_secret))
    serve_forever(config, args.host, args.port, exit_after=args.exit_after)
    return 0


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
    up.set_defaults(func=_up)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "ml-connector-sandbox") -> int:
    args = build_parser(prog).parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
