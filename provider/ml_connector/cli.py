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


def _audit(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from ml_connector.state.audit import AuditLog
    from ml_connector.state.store import StateStore

    url = args.db or os.environ.get("ML_CONNECTOR_STATE_URL")
    if not url:
        from ml_connector.hooks.state import state_url

        url = state_url()  # the ml_connector_state connection, as the DAGs' tasks use it
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        print(f"no state store at {url}: name it with --db, $ML_CONNECTOR_STATE_URL or the "
              "ml_connector_state Airflow connection", file=sys.stderr)
        return 2
    rows = AuditLog(StateStore(url)).query(flow=args.flow, status=args.status, run_id=args.run,
                                           record_id=args.record, limit=args.limit)
    columns = ["flow", "run_id", "window_start", "entity", "record_id", "status", "task_id",
               "error"]
    print("\t".join(columns))
    for row in rows:
        print("\t".join("" if row[c] is None else str(row[c]) for c in columns))
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=sys.stderr)
    return 0


def _pools(args: argparse.Namespace) -> int:
    import json

    from ml_connector.flows.spec import load_flows

    print(json.dumps(load_flows(args.flows).defaults.pools(), indent=2))
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

    audit = commands.add_parser(
        "audit", help="show the audit trail: one row per Zoho record per flow run",
        description="Rows of the audit trail, newest first (tab-separated).")
    audit.add_argument("--flow", help="flow id, e.g. invoice_actuals")
    audit.add_argument("--status", choices=["imported", "failed", "skipped"])
    audit.add_argument("--run", help="Airflow run id")
    audit.add_argument("--record", help="Zoho record id")
    audit.add_argument("--limit", type=int, default=100)
    audit.add_argument(
        "--db", help="state store SQLAlchemy URL (default: $ML_CONNECTOR_STATE_URL, else the "
        "ml_connector_state Airflow connection, else sqlite:///$AIRFLOW_HOME/ml_connector/"
        "state.db)")
    audit.set_defaults(func=_audit)

    pools = commands.add_parser(
        "pools", help="the Airflow pools a flows file uses, for `airflow pools import`",
        description="Print the pools of flows.yaml as JSON: ml-connector pools --flows "
        "dags/flows.yaml > pools.json && airflow pools import pools.json")
    pools.add_argument("--flows", default="dags/flows.yaml", help="the flows file")
    pools.set_defaults(func=_pools)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
