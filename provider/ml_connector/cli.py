"""The ``ml-connector`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_connector.errors import ConfigError, ConnectionMissing, ConnectorError

if TYPE_CHECKING:
    from ml_connector.anaplan.client import AnaplanClient


def _sandbox(args: argparse.Namespace) -> int:
    try:
        from ml_connector_sandbox.cli import main as sandbox
    except ImportError:
        print("the sandbox is a separate distribution, not installed here: pip install "
              "ml-connector-sandbox (the repository's sandbox/ directory)", file=sys.stderr)
        return 2
    return sandbox(args.rest, prog="ml-connector sandbox")


def _audit(args: argparse.Namespace) -> int:
    from ml_connector.state.audit import AuditLog
    from ml_connector.state.store import StateStore

    url = _state_url(args.db)
    if url is None:
        return 2
    rows = AuditLog(StateStore(url)).query(flow=args.flow, status=args.status, run_id=args.run,
                                           record_id=args.record,
                                           organization=args.organization, limit=args.limit)
    columns = ["flow", "run_id", "window_start", "entity", "record_id", "status", "task_id",
               "error"]
    if any(row["organization"] for row in rows):  # a flow of several organizations
        columns.insert(2, "organization")
    print("\t".join(columns))
    for row in rows:
        print("\t".join("" if row[c] is None else str(row[c]) for c in columns))
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=sys.stderr)
    return 0


def _runs(args: argparse.Namespace) -> int:
    from ml_connector.state.report import run_months, table
    from ml_connector.state.store import StateStore

    url = _state_url(args.db)
    if url is None:
        return 2
    store = StateStore(url)
    rows = run_months(store, args.flow, args.month, args.limit)
    print("\n".join(table(rows, args.reasons, _closure(store, args.flow, args.flows))))
    print(f"({len({r.run_id for r in rows})} run(s))", file=sys.stderr)
    return 0


def _closure(store: Any, flow_id: str, flows: str) -> Any:
    """What closes ``flow_id``'s months, from the flows file (``closed_before``) and the
    Zoho locks a run last read into ``store`` (no request); None without the flow."""
    from ml_connector.flows.closed import flow_closure, kept_locks
    from ml_connector.flows.spec import load_valid_flows

    try:
        spec, _ = load_valid_flows(flows)
    except ConfigError:
        return None
    flow = next((f for f in spec.flows if f.id == flow_id), None)
    if flow is None:
        return None
    return flow_closure(flow, kept_locks(store, spec.defaults.transaction_locks),
                        spec.defaults)


def _state_url(db: str | None, *, create: bool = False) -> str | None:
    """The state store's URL: ``--db``, $ML_CONNECTOR_STATE_URL, else the Airflow
    connection's; None (with a message) when a named SQLite file does not exist, unless
    ``create``."""
    import os
    from pathlib import Path

    url = db or os.environ.get("ML_CONNECTOR_STATE_URL")
    if not url:
        from ml_connector.hooks.state import state_url

        url = state_url()  # the ml_connector_state connection, as the DAGs' tasks use it
    if url.startswith("sqlite:///") and not create \
            and not Path(url.removeprefix("sqlite:///")).exists():
        print(f"no state store at {url}: name it with --db, $ML_CONNECTOR_STATE_URL or the "
              "ml_connector_state Airflow connection", file=sys.stderr)
        return None
    return url


def _command_flows(args: argparse.Namespace, *wanted: str | None) -> Any:
    """(flows file, state store) of a command that runs flows (``--flows``, ``--db``);
    None when the store cannot be named. Each of ``wanted`` must be a flow of the file."""
    from ml_connector.flows.spec import load_flows
    from ml_connector.state.store import StateStore

    spec = load_flows(args.flows)
    flows = [f.id for f in spec.flows]
    for flow in filter(None, wanted):
        if flow not in flows:
            raise ConfigError(f"no flow {flow!r} in {args.flows}; flows: {', '.join(flows)}")
    url = _state_url(args.db)
    return None if url is None else (spec, StateStore(url))


def _reconcile(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from ml_connector.flows.month_report import command_run, flow_month, report
    from ml_connector.flows.windows import one_month

    found = _command_flows(args, args.flow, args.against)
    if found is None:
        return 2
    spec, store = found
    flows = {f.id: f for f in spec.flows}
    interval = one_month(args.month)

    def month_of(flow_id: str, read_back: bool, work: Path):
        out = work / flow_id
        out.mkdir()
        run = command_run(flows[flow_id], store, spec.defaults,
                          f"reconcile__{flow_id}__{args.month}", interval, out,
                          reopen=args.reopen)
        return flow_month(run, spec.defaults, read_back=read_back)

    with tempfile.TemporaryDirectory() as tmp:
        month = month_of(args.flow, True, Path(tmp))
        against = month_of(args.against, False, Path(tmp)) if args.against else None
        result = report(month, against)
    print("\n".join(result.lines))
    return 1 if result.differences or result.left_out else 0


def _plan(args: argparse.Namespace) -> int:
    import tempfile
    from datetime import datetime, timezone
    from pathlib import Path

    from ml_connector.flows.month_report import command_run, planned
    from ml_connector.flows.spec import PERIODS
    from ml_connector.flows.windows import one_month, parse_months
    from ml_connector.window import Window

    found = _command_flows(args, args.flow)
    if found is None:
        return 2
    spec, store = found
    flow = next(f for f in spec.flows if f.id == args.flow)
    now = datetime.now(timezone.utc)
    if flow.mode == "period":
        if not args.month:
            raise ConfigError(f"flow {flow.id} loads a month a run: name it with --month "
                              "yyyy-mm")
        interval = one_month(args.month)
    else:  # the next run: changes since the watermark, up to now
        interval = Window.of(now - PERIODS[flow.schedule], now)
    months = parse_months(args.month) if args.month and flow.mode != "period" else None
    run_id = f"plan__{flow.id}__{args.month or 'next'}__{now:%Y%m%dT%H%M%S}"
    with tempfile.TemporaryDirectory() as tmp:
        run = command_run(flow, store, spec.defaults, run_id, interval, Path(tmp),
                          months=months, dry_run=True, reopen=args.reopen)
        print("\n".join(planned(run, spec.defaults).lines()))
    return 0


def _align(args: argparse.Namespace) -> int:
    import time

    from ml_connector.flows.plan_actual import keep_reports, read_reports, report_lines
    from ml_connector.flows.spec import load_flows
    from ml_connector.flows.windows import parse_months
    from ml_connector.hooks.clients import flow_clients
    from ml_connector.state.alignments import AlignmentLog
    from ml_connector.state.store import StateStore

    spec = load_flows(args.flows)
    aligned = [f for f in spec.flows if f.align is not None]
    if args.flow is not None:
        aligned = [f for f in spec.flows if f.id == args.flow]
        if not aligned:
            raise ConfigError(f"no flow {args.flow!r} in {args.flows}")
        if aligned[0].align is None:
            raise ConfigError(f"flow {args.flow} has no align: in {args.flows} (see "
                              "docs/flows.md, align)")
    if not aligned:
        raise ConfigError(f"no flow of {args.flows} has align:")
    months = parse_months(args.month)
    url = _state_url(args.db, create=True)
    if url is None:
        return 2
    store = StateStore(url)
    failed = 0
    for flow in aligned:
        # The Zoho values routed to a default member are the last run's (Anaplan does not
        # know them): taken from the month's stored report, if any.
        stored = {s.month: s.alignment.routed for s in AlignmentLog(store).query(flow=flow.id)}
        routed = next((stored[m] for m in (f"{m:%Y-%m}" for m in months) if m in stored), [])
        with flow_clients(flow, spec.defaults)["anaplan"]() as client:
            export_id, requests, reports = read_reports(client, flow, months, routed,
                                                        sleep=time.sleep)
        out = Path(args.csv) / flow.id if args.csv else None
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        result = keep_reports(store, flow, export_id, requests, reports, run_id="cli",
                              out_dir=out)
        print("\n".join(report_lines(flow, result, reports)))
        failed += 0 if result.ok else 1
    return 1 if failed else 0


def _webhooks_serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from ml_connector.state.events import EventLog
    from ml_connector.state.store import StateStore, safe_url
    from ml_connector.webhooks.config import Endpoint, endpoint
    from ml_connector.webhooks.receiver import build_app

    endpoints: dict[str, Endpoint] = {}
    for conn_id in args.conn or ["zoho_books_default"]:
        found = endpoint(conn_id)
        if found.organization_id in endpoints:
            raise ConfigError(f"connections {endpoints[found.organization_id].conn_id!r} and "
                              f"{conn_id!r} both configure organization "
                              f"{found.organization_id}")
        endpoints[found.organization_id] = found
    url = _state_url(args.db, create=True)
    assert url is not None
    app = build_app(endpoints, EventLog(StateStore(url)), max_body=args.max_body)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    print(f"ml-connector webhooks: http://{args.host}:{args.port}/zoho/<organization_id> for "
          f"{', '.join(sorted(endpoints))}; events to {safe_url(url)}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips)
    return 0


def _webhooks_events(args: argparse.Namespace) -> int:
    import datetime as dt

    from ml_connector.state.events import EventLog
    from ml_connector.state.store import StateStore

    url = _state_url(args.db)
    if url is None:
        return 2
    rows = EventLog(StateStore(url)).events(args.org, args.limit)
    print("seq\torganization_id\tentity\trecord_id\treceived_at\tevent_id")
    for row in rows:
        when = dt.datetime.fromtimestamp(row["received_at"], dt.timezone.utc)
        print(f"{row['seq']}\t{row['organization_id']}\t{row['entity']}\t{row['record_id']}"
              f"\t{when.isoformat(timespec='seconds')}\t{row['event_id']}")
    print(f"({len(rows)} event{'s' if len(rows) != 1 else ''})", file=sys.stderr)
    return 0


@contextmanager
def _connection_exists(conn_id: str, kind: str, command: str) -> Iterator[None]:
    """A missing Airflow connection as ``ConnectionMissing``, which says how to add it."""
    from airflow.providers.common.compat.sdk import AirflowNotFoundException

    try:
        yield
    except AirflowNotFoundException:
        raise ConnectionMissing(f"the Airflow connection {conn_id!r} does not exist: add it "
                                f"({command} writes it, or Admin -> Connections, type "
                                f"{kind})") from None


def _doctor(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ml_connector.doctor import airflow_pools, run_checks
    from ml_connector.hooks.anaplan import AnaplanHook
    from ml_connector.hooks.zoho_books import ZohoBooksHook

    url = _state_url(args.db, create=True)
    assert url is not None

    def zoho(conn_id: str, organization: str | None = None) -> object:
        with _connection_exists(conn_id, "Zoho Books", "ml-connector zoho authorize"):
            return ZohoBooksHook(conn_id, organization=organization).client

    def anaplan(conn_id: str, workspace: str | None, model: str | None) -> AnaplanClient:
        with _connection_exists(conn_id, "Anaplan", "ml-connector anaplan authorize"):
            return AnaplanHook(conn_id, workspace, model).client

    failed = unloaded = 0
    for finding in run_checks(Path(args.flows), state_url=url, pools=airflow_pools,
                              zoho=None if args.skip_zoho else zoho,
                              anaplan=None if args.skip_anaplan else anaplan):
        print(finding.line(), flush=True)
        failed += finding.status == "fail"
        unloaded += finding.check == "lists" and finding.status == "warn"
    if failed:
        print(f"{failed} problem(s) would stop a run")
    elif unloaded:
        print(f"nothing else known would stop a run once the {unloaded} list flow(s) named "
              "above have loaded their lists")
    else:
        print("nothing known would stop a run")
    return 1 if failed else 0


def _zoho_authorize(args: argparse.Namespace) -> int:
    import getpass
    import os

    from ml_connector.flows.spec import load_flows
    from ml_connector.hooks.connections import save_connection
    from ml_connector.transport.fields import check_endpoint
    from ml_connector.zoho.consent import consent, exchange, flow_scopes, organizations
    from ml_connector.zoho.regions import DATACENTERS, sandbox_datacenters

    existing, extra, client_id = _prior(args, "from Zoho's API console")
    secret = os.environ.get("ML_CONNECTOR_ZOHO_CLIENT_SECRET") or (
        existing.password if existing is not None and existing.password else None) or \
        getpass.getpass("Client secret (not shown): ")
    endpoint = args.endpoint or (existing.host if existing is not None else None) or None
    if endpoint:
        check_endpoint(endpoint, "--endpoint",
                       allow_plain_http=bool(extra.get("allow_plain_http")))
    table = sandbox_datacenters(endpoint) if endpoint else DATACENTERS
    scopes = flow_scopes(load_flows(args.flows).flows)
    asked = consent(client_id, scopes, args.redirect_uri,
                    region=args.region or str(extra.get("region") or "us"), table=table)
    print("Open this address, sign in to Zoho as a user of the organization and accept:\n"
          f"  {asked.url}\n(scopes: {', '.join(scopes)}; redirect URI {args.redirect_uri}, "
          "as registered for the client in Zoho's API console)", flush=True)
    returned = args.redirect_url or input("Paste the address your browser was sent to: ")
    granted = exchange(asked, returned, client_id, secret, table=table)
    orgs = organizations(granted)
    wanted = args.organization_id or extra.get("organization_id")
    ids = [str(o.get("organization_id")) for o in orgs]
    if wanted and str(wanted) not in ids:
        raise ConfigError(f"organization {wanted} is not among this user's: {', '.join(ids)}")
    if not wanted and len(ids) != 1:
        raise ConfigError("this user has several organizations; name one with "
                          "--organization-id: " + ", ".join(
                              f"{o.get('organization_id')} ({o.get('name')})" for o in orgs))
    extra.update(refresh_token=granted.refresh_token, region=granted.datacenter.region,
                 organization_id=str(wanted or ids[0]))
    failed = save_connection(args.conn, "zoho_books", login=client_id, password=secret,
                             host=endpoint, extra=extra)
    if failed:
        print(f"could not write connection {args.conn!r} ({failed}); the refresh token was "
              "not saved: run the command again where the airflow command works",
              file=sys.stderr)
        return 1
    print(f"connection {args.conn!r} written: region {granted.datacenter.region}, "
          f"organization {extra['organization_id']}, a refresh token with {len(scopes)} "
          "READ scope(s)")
    _overridden(args.conn)
    return 0


def _anaplan_authorize(args: argparse.Namespace) -> int:
    import os

    import httpx

    from ml_connector.anaplan.config import AnaplanConfig
    from ml_connector.anaplan.device import device_code, poll_token
    from ml_connector.hooks.connections import save_connection
    existing, extra, client_id = _prior(args, "from Anaplan's Administration, Security, "
                                        "OAuth clients")
    for key in ("workspace_id", "model_id"):
        if getattr(args, key):
            extra[key] = getattr(args, key)
    if not extra.get("workspace_id") or not extra.get("model_id"):
        raise ConfigError("--workspace-id and --model-id are needed (or a connection that "
                          "has them)")
    endpoint = args.endpoint or (existing.host if existing is not None else None) or None
    config = AnaplanConfig(str(extra["workspace_id"]), str(extra["model_id"]),
                           endpoint_base=endpoint,
                           allow_plain_http=bool(extra.get("allow_plain_http")))
    secret = os.environ.get("ML_CONNECTOR_ANAPLAN_CLIENT_SECRET") or None
    with httpx.Client(timeout=60) as http:
        code = device_code(http, config.auth_url, client_id)
        print(f"Open {code.complete_uri or code.verification_uri} and enter the code "
              f"{code.user_code} (valid {code.expires_in / 60:.0f} minutes); waiting...",
              flush=True)
        refresh = poll_token(http, config.auth_url, client_id, code, client_secret=secret)
    extra.update(auth_method="oauth", refresh_token=refresh,
                 workspace_id=config.workspace_id, model_id=config.model_id)
    failed = save_connection(args.conn, "anaplan", login=client_id, password=secret,
                             host=endpoint, extra=extra)
    if failed:
        print(f"could not write connection {args.conn!r} ({failed}); run the command again "
              "where the airflow command works", file=sys.stderr)
        return 1
    print(f"connection {args.conn!r} written: OAuth client {client_id}, model "
          f"{config.model_id} of workspace {config.workspace_id}")
    _overridden(args.conn)
    return 0


def _prior(args: argparse.Namespace, where: str) -> tuple[Any, dict, str]:
    """The connection an authorize command updates (None if new), its extra, and the
    client id (``--client-id``, else the connection's login)."""
    from ml_connector.transport.fields import parse_extra

    existing = _connection(args.conn)
    extra = parse_extra(existing.extra, args.conn) if existing is not None else {}
    client_id = args.client_id or (existing.login if existing is not None else None)
    if not client_id:
        raise ConfigError(f"--client-id is needed (the OAuth client's id, {where}), or an "
                          "existing connection that has it as login")
    return existing, extra, str(client_id)


def _overridden(conn_id: str) -> None:
    """Say so when an environment variable hides the connection just written."""
    import os

    if os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}"):
        print(f"note: $AIRFLOW_CONN_{conn_id.upper()} is set and takes precedence over the "
              "connection written to Airflow's database: unset it", file=sys.stderr)


def _connection(conn_id: str):
    """The Airflow connection ``conn_id``, or None when there is none."""
    from airflow.providers.common.compat.sdk import AirflowNotFoundException

    from ml_connector.hooks.connections import get_connection

    try:
        return get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def _init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ml_connector.airflow_cli import pools_hint
    from ml_connector.init import create_pools, write_starter

    written = write_starter(Path(args.dags_folder) if args.dags_folder else dags_folder(),
                            force=args.force)
    for path in written:
        print(f"wrote {path}")
    flows = written[0]
    print(create_pools(flows) if not args.no_pools else
          f"pools not created: {pools_hint(flows)}")
    print(f"next: to try the flows against the emulators, `ml-connector sandbox up --airflow "
          f"--detach` (needs ml-connector-sandbox); for your own Zoho Books and Anaplan, edit "
          f"{flows} (targets, columns), add the zoho_books and anaplan connections and "
          "unpause the flows' DAGs (zoho_<flow id>)")
    return 0


def _pools(args: argparse.Namespace) -> int:
    import json

    from ml_connector.flows.spec import load_flows

    print(json.dumps(load_flows(args.flows).defaults.pools(), indent=2))
    return 0


def _authorize_arguments(parser: argparse.ArgumentParser, conn_id: str) -> None:
    """What both authorize commands take: the connection, the client and an endpoint."""
    parser.add_argument("--conn", default=conn_id, help="the connection id")
    parser.add_argument("--client-id", help="the OAuth client id (default: the "
                        "connection's login)")
    parser.add_argument("--endpoint", help="a look-alike's base URL (the sandbox)")


FLOWS_HELP = ("the flows file (default: dags/flows.yaml, or where it does not exist the "
              "one ml-connector init wrote: <dags folder>/ml_connector/flows.yaml)")


def dags_folder() -> Path:
    """Airflow's ``[core] dags_folder`` as the ``airflow`` command reads it here:
    ``AIRFLOW__CORE__DAGS_FOLDER``, else ``$AIRFLOW_HOME/airflow.cfg``'s, else
    ``$AIRFLOW_HOME/dags`` (``AIRFLOW_HOME`` defaulting to ``~/airflow``)."""
    import configparser

    home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow").expanduser()
    folder = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
    if not folder and (home / "airflow.cfg").exists():
        cfg = configparser.ConfigParser(interpolation=None)
        cfg.read(home / "airflow.cfg")
        folder = cfg.get("core", "dags_folder", fallback=None)
    if not folder:
        return home / "dags"
    return Path(folder.replace("{AIRFLOW_HOME}", str(home))).expanduser()


def default_flows() -> str:
    """``dags/flows.yaml`` (a checkout of the repository), else the file ``ml-connector
    init`` wrote, ``<[core] dags_folder>/ml_connector/flows.yaml`` (the folder from the
    environment, as Airflow reads it: ``AIRFLOW__CORE__DAGS_FOLDER``, else
    ``$AIRFLOW_HOME/dags``), when it exists."""
    written = dags_folder() / "ml_connector" / "flows.yaml"
    if not Path("dags/flows.yaml").exists() and written.exists():
        return str(written)
    return "dags/flows.yaml"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ml-connector", description="Zoho Books to Anaplan: tools around the provider."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sandbox = commands.add_parser(
        "sandbox", help="local emulators of Zoho Books and Anaplan (`sandbox up --help`; "
        "needs ml-connector-sandbox)", add_help=False)
    sandbox.add_argument("rest", nargs=argparse.REMAINDER)
    sandbox.set_defaults(func=_sandbox)

    audit = commands.add_parser(
        "audit", help="show the audit trail: one row per Zoho record per flow run",
        description="Rows of the audit trail, newest first (tab-separated).")
    audit.add_argument("--flow", help="flow id, e.g. invoice_actuals")
    audit.add_argument("--status", choices=["imported", "failed", "skipped", "deleted"],
                       help="deleted: documents deleted in Zoho that a run removed from "
                       "Anaplan")
    audit.add_argument("--run", help="Airflow run id")
    audit.add_argument("--record", help="Zoho record id")
    audit.add_argument("--organization", metavar="ENTITY", help="a flow of several "
                       "organizations: only this one's rows (its entity, e.g. UK)")
    audit.add_argument("--limit", type=int, default=100)
    audit.add_argument(
        "--db", help="state store SQLAlchemy URL (default: $ML_CONNECTOR_STATE_URL, else the "
        "ml_connector_state Airflow connection, else sqlite:///$AIRFLOW_HOME/ml_connector/"
        "state.db)")
    audit.set_defaults(func=_audit)

    runs = commands.add_parser(
        "runs", help="per run and month: records, imported, skipped, failed (why), deleted, "
        "Zoho "
        "requests, verification, Anaplan task", description="The newest runs of a flow, a "
        "line per run and month, from the audit trail (tab-free table).")
    runs.add_argument("--flow", required=True, help="flow id, e.g. invoice_actuals")
    runs.add_argument("--month", help="only this month, yyyy-mm")
    runs.add_argument("--limit", type=int, default=20, help="runs shown")
    runs.add_argument("--reasons", type=int, default=3, help="reasons shown per month")
    runs.add_argument("--db", help="state store SQLAlchemy URL (as for audit)")
    runs.add_argument("--flows", default=default_flows(), help=FLOWS_HELP + "; its "
                      "closed_before, with the Zoho locks last read, marks closed months")
    runs.set_defaults(func=_runs)

    reconcile = commands.add_parser(
        "reconcile", help="a month of a flow: the books beside what Anaplan holds",
        description="Read a monthly aggregate flow's month from Zoho and build its cells (no "
        "import), read what Anaplan holds through the flow's verify export, and print both "
        "per cell; with --against, explain a ledger flow's cells against a document flow's "
        "(journals, expenses, ...). Exit status 1 when a cell differs.")
    reconcile.add_argument("--flow", required=True, help="flow id, e.g. pl_actuals")
    reconcile.add_argument("--month", required=True, help="the month, yyyy-mm")
    reconcile.add_argument("--against", help="a document flow of the same cells, e.g. "
                           "invoice_actuals")
    reconcile.add_argument("--reopen", action="store_true", help="read a month a Zoho "
                           "transaction lock or closed_before has closed (refused without)")
    reconcile.add_argument("--flows", default=default_flows(), help=FLOWS_HELP)
    reconcile.add_argument("--db", help="state store SQLAlchemy URL (as for audit)")
    reconcile.set_defaults(func=_reconcile)

    plan = commands.add_parser(
        "plan", help="what a run of an aggregate flow would change, cell by cell; sends "
        "nothing", description="Read Zoho and build the import file exactly as a run would "
        "(a monthly flow: the --month; an incremental flow: its changes since the "
        "watermark, or the --month rebuilt whole), then print each cell the import would "
        "change - added, changed (old -> new), zeroed (sent before, no record feeds it "
        "now: sent as 0) - and how many stay, against what Anaplan holds (read through the "
        "flow's verify export) or else what the state store says was sent, and the Zoho and "
        "Anaplan requests spent. Nothing is uploaded and no watermark moves; the audit "
        "trail gets one planned row per month (ml-connector runs shows it).")
    plan.add_argument("flow", help="an aggregate flow id, e.g. invoice_actuals")
    plan.add_argument("--month", help="the month, yyyy-mm (required for a monthly flow)")
    plan.add_argument("--reopen", action="store_true", help="plan a month a Zoho "
                      "transaction lock or closed_before has closed (refused without)")
    plan.add_argument("--flows", default=default_flows(), help=FLOWS_HELP)
    plan.add_argument("--db", help="state store SQLAlchemy URL (as for audit)")
    plan.set_defaults(func=_plan)

    align = commands.add_parser(
        "align", help="a month's actuals against the plan versions, per member and account",
        description="Read the target module of each flow with align: (or --flow) through "
        "its export and report, per member and account, actuals without a plan, planned "
        "members without actuals, the values routed to a default member, and actual - plan. "
        "The report is kept in the state store (the month-end page shows it). Exit code 1 "
        "when a row breaches the flow's thresholds.")
    align.add_argument("--month", required=True, help="the month (yyyy-mm) or months "
                       "(2026-01..2026-03)")
    align.add_argument("--flow", help="one flow id (default: every flow with align:)")
    align.add_argument("--csv", metavar="DIR", help="also write each report as CSV under "
                       "DIR/<flow>/")
    align.add_argument("--flows", default=default_flows(), help=FLOWS_HELP)
    align.add_argument("--db", help="state store SQLAlchemy URL (as for audit)")
    align.set_defaults(func=_align)
    webhooks = commands.add_parser(
        "webhooks", help="receive Zoho Books webhooks (`webhooks serve --help`)",
        description="The webhook receiver and the events it recorded.")
    hooks = webhooks.add_subparsers(dest="action", required=True)
    serve = hooks.add_parser(
        "serve", help="serve POST /zoho/<organization_id> for Zoho Books webhooks",
        description="Verify Zoho Books webhooks (HMAC with each connection's webhook_secret) "
        "and record them in the state store, where the flows' watchers start the runs. Put "
        "it behind a TLS reverse proxy that forwards only /zoho/; it never calls Zoho.")
    serve.add_argument("--conn", action="append", default=None, metavar="CONN_ID",
                       help="a zoho_books connection with organization_id and webhook_secret "
                       "(repeat for several organizations; default zoho_books_default)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8780, help="port to listen on")
    serve.add_argument("--max-body", type=int, default=1024 * 1024,
                       help="largest body accepted, in bytes (larger: 413)")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                       help="proxies whose X-Forwarded-* headers are trusted")
    serve.add_argument("--db", help="state store SQLAlchemy URL (as for audit)")
    serve.set_defaults(func=_webhooks_serve)
    events = hooks.add_parser("events", help="the webhook events recorded, newest first",
                              description="Rows of the webhook events (tab-separated).")
    events.add_argument("--org", help="organization id")
    events.add_argument("--limit", type=int, default=50)
    events.add_argument("--db", help="state store SQLAlchemy URL (as for audit)")
    events.set_defaults(func=_webhooks_events)

    zoho = commands.add_parser("zoho", help="Zoho Books set-up (`zoho authorize --help`)")
    zoho_actions = zoho.add_subparsers(dest="action", required=True)
    authorize = zoho_actions.add_parser(
        "authorize", help="get a refresh token with the scopes the flows need, into the "
        "Airflow connection", description="Build the consent URL (the READ scopes of the "
        "flows' modules, access_type=offline, prompt=consent), take the address the browser "
        "is sent back to, exchange its code at the data center it names and write the "
        "zoho_books connection (client id, secret, refresh token, region, organization). "
        "The client secret is read from $ML_CONNECTOR_ZOHO_CLIENT_SECRET, the existing "
        "connection, or a prompt; nothing secret is printed.")
    _authorize_arguments(authorize, "zoho_books_default")
    authorize.add_argument("--redirect-uri", default="http://localhost:8976/",
                           help="the client's redirect URI, as registered with Zoho")
    authorize.add_argument("--redirect-url", help="the address the browser was sent to "
                           "(default: asked for)")
    authorize.add_argument("--region", help="the data center to start at (Zoho forwards "
                           "users to theirs; default us)")
    authorize.add_argument("--organization-id", help="the organization, when the user has "
                           "several")
    authorize.add_argument("--flows", default=default_flows(), help=FLOWS_HELP)
    authorize.set_defaults(func=_zoho_authorize)

    anaplan = commands.add_parser("anaplan", help="Anaplan set-up (`anaplan authorize "
                                  "--help`)")
    anaplan_actions = anaplan.add_subparsers(dest="action", required=True)
    device = anaplan_actions.add_parser(
        "authorize", help="get an OAuth refresh token (device grant) into the Airflow "
        "connection", description="Ask Anaplan for a device code, print where to approve "
        "it, wait for the approval and write the anaplan connection (auth_method oauth, "
        "client id, refresh token, workspace and model). A client secret, if the client has "
        "one, is read from $ML_CONNECTOR_ANAPLAN_CLIENT_SECRET; nothing secret is printed.")
    _authorize_arguments(device, "anaplan_default")
    device.add_argument("--workspace-id", help="the workspace (default: the connection's)")
    device.add_argument("--model-id", help="the model (default: the connection's)")
    device.set_defaults(func=_anaplan_authorize)

    doctor = commands.add_parser(
        "doctor", help="check everything known to stop a first run, and say how to fix it",
        description="Check the flows file, the state store, the pools, the Zoho connection "
        "(token, organization, a scope per module: about ten requests), the Anaplan "
        "connection (each flow's import and columns, verify exports) and that the lists "
        "fact flows look up are loaded. Exit status 1 when something would fail.")
    doctor.add_argument("--flows", default=default_flows(), help=FLOWS_HELP)
    doctor.add_argument("--db", help="state store SQLAlchemy URL (as for audit)")
    doctor.add_argument("--skip-zoho", action="store_true", help="no Zoho request")
    doctor.add_argument("--skip-anaplan", action="store_true", help="no Anaplan request")
    doctor.set_defaults(func=_doctor)

    init = commands.add_parser(
        "init", help="write the starter flows file and DAG files into a DAGs folder, and "
        "create the pools", description="Write flows.yaml, flows.py and flows_check.py "
        "into DAGS_FOLDER/ml_connector and create the pools they use with `airflow pools "
        "import` (or print the command).")
    init.add_argument("dags_folder", metavar="DAGS_FOLDER", nargs="?",
                      help="the Airflow DAGs folder (default: Airflow's [core] dags_folder)")
    init.add_argument("--force", action="store_true", help="replace existing files")
    init.add_argument("--no-pools", action="store_true", help="do not create the pools")
    init.set_defaults(func=_init)

    pools = commands.add_parser(
        "pools", help="the Airflow pools a flows file uses, for `airflow pools import`",
        description="Print the pools of flows.yaml as JSON: ml-connector pools --flows "
        "dags/flows.yaml > pools.json && airflow pools import pools.json")
    pools.add_argument("--flows", default=default_flows(), help=FLOWS_HELP)
    pools.set_defaults(func=_pools)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConnectorError as exc:  # its message says what is wrong and how to fix it
        print(f"ml-connector {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
