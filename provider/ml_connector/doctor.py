"""``ml-connector doctor``: what would stop a first run, each with how to fix it.

Checks, in order: the flows file; the state store; the pools; the Zoho connection (a token,
the organization, and one ``per_page=1`` request per module the flows read, so a missing
scope shows now and not in a run: about ten requests of the organization's daily quota);
the Anaplan connection (each flow's import exists and expects the flow's columns, in order;
each verify export exists; each ``list:`` column's list exists and holds the members the
flow names itself: defaults, charges, map targets, unmapped, and every value a tag or
dimension column can send as Zoho lists them now, mapped); the lists that fact flows
look members up in or send members of have been loaded by their list flows. Nothing is
written anywhere.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ml_connector.airflow_cli import MIGRATE_FIRST, pools_hint, unmigrated
from ml_connector.errors import AuthError, ConfigError, ConnectionMissing, ConnectorError

if TYPE_CHECKING:
    from ml_connector.anaplan.client import AnaplanClient
    from ml_connector.flows.members import Members
    from ml_connector.flows.spec import Column, Flow, FlowsFile
    from ml_connector.state.store import StateStore

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    """One check's verdict: ``fix`` says what to do when it is not ``ok``."""

    check: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[self.status]
        return f"[{mark}] {self.check}: {self.detail}" + (f"\n       fix: {self.fix}"
                                                          if self.fix else "")


def _flows(path: Path, spec: FlowsFile, problems: list[str]) -> Iterator[Finding]:
    for problem in problems:
        yield Finding("flows", "fail", problem, f"correct it in {path}")
    enabled = [f for f in spec.flows if f.enabled]
    yield Finding("flows", "ok" if enabled else "warn",
                  f"{len(enabled)} enabled flow(s) in {path}",
                  "" if enabled else "enable a flow (enabled: true)")


def _budget(client: object, store: object, flows: list) -> Iterator[Finding]:
    """Today's Zoho requests left beyond the reserve against a day of the scheduled flows,
    each at what its recent runs were charged (``mlc_reads``)."""
    from ml_connector.flows.spec import PERIODS, dag_id
    from ml_connector.state.reads import ReadLog

    log = ReadLog(store)  # type: ignore[arg-type]
    known = {f.id: log.typical(dag_id(f.id)) for f in flows}
    day = sum(timedelta(days=1) / PERIODS[f.schedule] * (known[f.id] or 0) for f in flows)
    unknown = sorted(f for f, n in known.items() if n is None)
    room = client.quota.room()  # type: ignore[attr-defined]
    ran = len(flows) - len(unknown)
    basis = (f"a day of the {ran} scheduled flow(s) that have run takes about {day:,.0f} "
             "request(s) at what their recent runs were charged" if ran else
             "no scheduled flow has run yet, so a day's requests cannot be estimated")
    if ran and unknown:
        basis += f" ({len(unknown)} not run yet, not counted: {', '.join(unknown)})"
    if room is None:
        yield Finding("budget", "ok", f"{basis}; today's quota is known after the first "
                      "response of the day")
    elif day > room:
        yield Finding("budget", "warn", f"{basis}, more than the {room:,} left today beyond "
                      "the reserve", "spread the flows (schedules), lower daily_reserve, or "
                      "let extracts wait for the reset (defaults.on_quota: wait)")
    else:
        yield Finding("budget", "ok", f"{basis}; {room:,} left today beyond the reserve")


def run_checks(flows_path: Path, *, state_url: str, pools: Callable[[], dict[str, int]],
               zoho: Callable[[str], object] | None,
               anaplan: Callable[[str, str | None, str | None], AnaplanClient] | None,
               ) -> Iterator[Finding]:
    """Every finding, in order. ``pools`` lists Airflow's pools (name -> slots); ``zoho``
    and ``anaplan`` open clients of the flows' connections (``zoho(conn_id)``,
    ``anaplan(conn_id, workspace_id, model_id)``); None skips them."""
    spec = yield from _flows_file(flows_path)
    if spec is None:
        return
    flows = [f for f in spec.flows if f.enabled]
    store = yield from _state_store(state_url)
    if store is None:
        return
    pooled = list(_pools(flows_path, spec, pools))
    yield from pooled
    bare = any(f.detail.startswith(MIGRATE_FIRST.split(":")[0]) for f in pooled)
    connected: list[Iterator[Finding]] = []
    if zoho is not None:
        for (conn_id, wanted), readers in zoho_units(spec).items():
            label = " ".join(["zoho", *([conn_id] if conn_id != spec.defaults.zoho_conn_id
                                        else []), *([wanted] if wanted else [])])
            connected.append(_zoho(zoho, conn_id, readers, store, wanted, label=label,
                                   fx=_fx_reader(spec, conn_id, wanted)))
    if anaplan is not None:
        values_of = _zoho_values(zoho, spec.defaults.zoho_conn_id) if zoho is not None \
            else None
        connected.append(_anaplan(anaplan, spec.defaults.anaplan_conn_id, flows, values_of))
    for finding in (f for found in connected for f in found):
        yield _unmigrated(finding) if bare else finding
    yield from _lists(flows, store)


def _unmigrated(finding: Finding) -> Finding:
    """A missing connection, said as what it is on a database never migrated: connections
    kept there cannot be read yet (those in the environment or a secrets backend can)."""
    if finding.status != "fail" or "does not exist" not in finding.detail:
        return finding
    return Finding(finding.check, "fail", f"{finding.detail.split(':')[0]}: Airflow's "
                   "database, where connections added with the UI or the CLI are kept, is "
                   "not migrated yet", "airflow db migrate, then doctor again")


def _flows_file(path: Path) -> Generator[Finding, None, FlowsFile | None]:
    """The flows file: readable and valid, with a flow enabled; None when it cannot be read."""
    from ml_connector.flows.spec import load_valid_flows

    try:
        spec, problems = load_valid_flows(path)
        yield from _flows(path, spec, problems)
    except ConnectorError as exc:
        yield Finding("flows", "fail", str(exc),
                      "`ml-connector init` writes one into the DAGs folder")
        return None
    return spec


def _state_store(url: str) -> Generator[Finding, None, StateStore | None]:
    """The state store: reachable, and shared between machines; None when it is not."""
    from ml_connector.state.store import StateStore, safe_url

    try:
        store = StateStore(url)
        store.get_watermark("doctor")
        shared = not url.startswith("sqlite")
        yield Finding("state store", "ok" if shared else "warn", safe_url(url),
                      "" if shared else "SQLite serves one machine: for workers on several "
                      "machines point the ml_connector_state connection at PostgreSQL")
    except ConnectorError as exc:
        yield Finding("state store", "fail", str(exc), "fix the ml_connector_state connection")
        return None
    return store


def _pools(flows_path: Path, spec: FlowsFile,
           pools: Callable[[], dict[str, int]]) -> Iterator[Finding]:
    """Airflow's pools: each one the flows file asks for exists."""
    try:
        have = pools()
        for name, wanted in spec.defaults.pools().items():
            if name not in have:
                yield Finding("pools", "fail", f"pool {name!r} does not exist: runs of the flows "
                              "would wait in 'queued' for ever", pools_hint(flows_path))
            else:
                yield Finding("pools", "ok", f"{name}: {have[name]} slot(s) "
                              f"(flows.yaml asks {wanted['slots']})")
    except subprocess.CalledProcessError as exc:
        said = f"{exc.stdout or ''}{exc.stderr or ''}"
        if unmigrated(said):
            yield Finding("pools", "fail", MIGRATE_FIRST.split(":")[0] + ": no run can start",
                          "airflow db migrate")
            return
        last = said.strip().splitlines()[-1:] or [f"exit status {exc.returncode}"]
        yield Finding("pools", "warn", f"could not list Airflow's pools: {last[0]}",
                      "run doctor where the airflow command works (AIRFLOW_HOME set)")
    except Exception as exc:
        yield Finding("pools", "warn", f"could not list Airflow's pools ({type(exc).__name__})",
                      "run doctor where the airflow command works (AIRFLOW_HOME set)")


def zoho_units(spec: FlowsFile) -> dict[tuple[str, str | None], list[Flow]]:
    """(connection, organization asked for: its id, name or None for the connection's
    own) -> the enabled flows that read it."""
    units: dict[tuple[str, str | None], list[Flow]] = {}
    conn = spec.defaults.zoho_conn_id
    for flow in (f for f in spec.flows if f.enabled):
        orgs = flow.organizations_of(spec.defaults)
        for key in ([(o.conn_id(conn), o.wanted) for o in orgs] or [(conn, None)]):
            units.setdefault(key, []).append(flow)
    return units


def _fx_reader(spec: FlowsFile, conn_id: str, wanted: str | None) -> bool:
    """Whether a flow reads its exchange rates from this organization's Zoho Books."""
    for flow in (f for f in spec.flows if f.enabled):
        fx = flow.fx_of(spec.defaults)
        if fx is None or fx.source != "zoho" or not flow.translated:
            continue
        org = next((o for o in flow.organizations_of(spec.defaults)
                    if o.entity == fx.organization), None)
        if org is not None and (org.conn_id(spec.defaults.zoho_conn_id), org.wanted) == \
                (conn_id, wanted):
            return True
    return False


def _zoho(zoho: Callable[..., object], conn_id: str, flows: list[Flow],
          store: StateStore, wanted: str | None = None, *, label: str = "zoho",
          fx: bool = False) -> Iterator[Finding]:
    """A Zoho organization (the connection's own, or ``wanted`` of its login), its
    findings named ``label``: a token, the organization, each module's scope (and the
    exchange rates' when ``fx``), the budget."""
    check = label
    try:
        client = zoho(conn_id) if wanted is None else zoho(conn_id, wanted)
        org = client.organization_id  # type: ignore[attr-defined]
        yield Finding(check, "ok", f"token obtained; organization {org}")
        yield from _zoho_scopes(client, flows, check, fx)
        yield from _budget(client, store, flows)
    except ConnectorError as exc:
        yield Finding(check, "fail", str(exc), "fix the zoho_books connection "
                      f"{conn_id} (ml-connector's docs/connections.md)"
                      + (" or the flow's organizations" if wanted is not None else ""))


def _zoho_scopes(client: object, flows: list[Flow], check: str = "zoho",
                 fx: bool = False) -> Iterator[Finding]:
    """One ``per_page=1`` request per module the flows read: a missing scope shows now. A
    token the accounts server refuses (revoked, another data center) is said once, as the
    connection's fault: no scope would help."""
    from ml_connector.flows.spec import read_modules
    from ml_connector.fx.zoho import CURRENCIES
    from ml_connector.zoho.entities import get_entity
    from ml_connector.zoho.tags import tags

    modules = [get_entity(m) for m in sorted(read_modules(flows))]
    for entity in modules + ([CURRENCIES] if fx else []):
        module = entity.name
        try:
            if entity.reader == "tags":  # either tag-list shape (zoho.tags)
                tags(client)
            else:
                client.get(entity.path, {"per_page": 1},  # type: ignore[attr-defined]
                           scope=entity.scope)
            yield Finding(check, "ok", f"{module}: readable ({entity.oauth_scope})")
        except AuthError as exc:
            if exc.service != "Zoho accounts":
                yield Finding(check, "fail", f"{module}: {exc}",
                              f"authorize a refresh token with {entity.oauth_scope}")
                continue
            yield Finding(check, "fail", str(exc), "fix the zoho_books connection: its "
                          "region must be the data center that issued the refresh token, or "
                          "authorize a new one (ml-connector zoho authorize)")
            return
        except ConnectorError as exc:  # not about scopes: a server error, a lost connection
            yield Finding(check, "fail", f"{module}: {exc}",
                          "fix what the error names, then run doctor again")


def _anaplan(anaplan: Callable[[str, str | None, str | None], AnaplanClient], conn_id: str,
             flows: list[Flow],
             values_of: Callable[[Column], dict[str, str] | None] | None = None
             ) -> Iterator[Finding]:
    """The Anaplan connection, flow by flow, through one client (one login) per model; a
    missing connection or a refused login is said once: many identity providers lock an
    account after a few failed logins."""
    from ml_connector.flows.spec import list_loads

    clients: dict[tuple[str | None, str | None], AnaplanClient] = {}

    def client_of(workspace: str | None, model: str | None) -> AnaplanClient:
        if (workspace, model) not in clients:
            clients[workspace, model] = anaplan(conn_id, workspace, model)
        return clients[workspace, model]

    loads = list_loads(flows)
    for flow in flows:
        try:
            yield from _anaplan_flow(client_of, flow)
            yield from _members(client_of(flow.target.workspace_id, flow.target.model_id),
                                flow, loads, values_of)
        except ConnectionMissing as exc:  # the same for every flow: said once
            yield Finding("anaplan", "fail", str(exc), "add the anaplan connection")
            break
        except AuthError as exc:
            if exc.service != "Anaplan auth":
                raise
            from ml_connector.anaplan.auth import refusal_hint

            method = next(iter(clients.values())).book.method.name if clients else "basic"
            yield Finding("anaplan", "fail", f"connection {conn_id}: the login was refused: "
                          f"{exc.message}", f"{refusal_hint(method, conn_id)}; no other "
                          "login was tried")
            break
        except ConnectorError as exc:
            yield Finding("anaplan", "fail", f"{flow.id}: {exc}",
                          "fix the anaplan connection or the flow's target")


def _anaplan_flow(client_of: Callable[[str | None, str | None], AnaplanClient],
                  flow: Flow) -> Iterator[Finding]:
    """A flow's import takes the flow's columns, in order; its verify and crosswalk exports
    exist."""
    from ml_connector.anaplan.handoff import plan_action
    from ml_connector.flows.member_maps import export_maps

    target = flow.target
    client = client_of(target.workspace_id, target.model_id)
    plan = plan_action(client, target.import_)
    try:
        plan.check_header(list(flow.columns))
        yield Finding("anaplan", "ok", f"{flow.id}: {plan.kind} {plan.name!r} "
                      f"takes the flow's columns {list(flow.columns)}")
    except ConnectorError as exc:
        yield Finding("anaplan", "fail", f"{flow.id}: {exc}",
                      "make the flow's columns in flows.yaml equal the import's")
    exports = [flow.verify.export] if flow.verify is not None else []
    exports += [m.export for m in export_maps(flow).values()]
    for export in dict.fromkeys(exports):
        client.find_export(export)
        yield Finding("anaplan", "ok", f"{flow.id}: export {export!r} exists")


def _members(client: AnaplanClient, flow: Flow, loads: dict[str, list[str]],
             values_of: Callable[[Column], dict[str, str] | None] | None = None
             ) -> Iterator[Finding]:
    """Each ``list:`` list of a flow exists and holds the members the flow names itself (a
    column's default, charges, unmapped member, map targets) and, through ``values_of``
    (a tag or dimension column's values as Zoho lists them now), every value its tag and
    dimension columns can send, mapped as the column maps it. Which values the documents
    carry is known only to a run, which checks them before its upload."""
    from ml_connector.flows.members import member_fix, read_members

    lists = client.lists() if flow.member_lists else []
    for name, columns in sorted(flow.member_lists.items()):
        try:
            members = read_members(client, [name], lists)[name]
        except ConfigError as exc:
            yield Finding("members", "fail", f"{flow.id}: {exc}", f"correct list: of column "
                          f"{columns[0]!r} (a list's name or id)")
            continue
        own = {value: f"column {column!r} {key}" for column in columns
               for value, key in flow.columns[column].own_members().items()}
        missing = sorted(v for v in own if v not in members.keys)
        if missing:
            yield Finding("members", "fail", f"{flow.id}: list {name}: not members: "
                          + ", ".join(f"{v!r} ({own[v]})" for v in missing),
                          member_fix(name, loads.get(name, []), True, only_own=True))
        zoho: dict[str, int | None] = {}
        for column in columns:
            zoho |= yield from _zoho_members(flow, name, column, members, loads, values_of)
        if not missing and None not in zoho.values():
            named = [f"{', '.join(map(repr, sorted(own)))} named in flows.yaml"] if own \
                else []
            named += [f"Zoho's {n:,} value(s) of column {c!r}" for c, n in zoho.items()]
            yield Finding("members", "ok", f"{flow.id}: list {name} ({members.count:,} "
                          f"member(s)): all members present"
                          + (f" ({'; '.join(named)})" if named else "")
                          + "; the documents' values are checked before each upload")


def _zoho_checked(flow: Flow, name: str,
                  values_of: Callable[[Column], dict[str, str] | None] | None) -> bool:
    """Whether doctor compares column ``name``'s Zoho values with its list: a tag or
    dimension column of a flow of one organization, without a crosswalk kept in Anaplan."""
    from ml_connector.flows.members import DIMENSION_LISTS
    from ml_connector.flows.spec import MapExport

    column = flow.columns[name]
    return (values_of is not None and not flow.organizations
            and (column.tag is not None or column.dimension in DIMENSION_LISTS)
            and not isinstance(column.map, MapExport))


def _zoho_members(flow: Flow, list_name: str, name: str, members: Members,
                  loads: dict[str, list[str]],
                  values_of: Callable[[Column], dict[str, str] | None] | None
                  ) -> Generator[Finding, None, dict[str, int | None]]:
    """Column ``name``'s values as Zoho lists them, against its list: ``{name: count}``
    when every one is a member, ``{name: None}`` after a warning, ``{}`` when not
    compared."""
    from ml_connector.flows.members import member_fix, zoho_not_members

    if not _zoho_checked(flow, name, values_of):
        return {}
    assert values_of is not None
    column = flow.columns[name]
    try:
        values = values_of(column)
    except ConnectorError as exc:
        yield Finding("members", "warn", f"{flow.id}: column {name!r}: Zoho's values could "
                      f"not be read to check them: {exc}", "fix what the error names (the "
                      "zoho checks above), then run doctor again")
        return {name: None}
    if values is None:
        return {}
    unmapped, absent = zoho_not_members(column, values, members)
    if unmapped:
        yield Finding("members", "warn", f"{flow.id}: column {name!r}: Zoho value(s) its map "
                      f"does not name (a run stops when a document carries one): "
                      f"{_shown(unmapped)}", "add them to the column's map, or set "
                      "unmapped: <member> to send them there")
    if absent:
        yield Finding("members", "warn", f"{flow.id}: list {list_name}: {len(absent):,} of "
                      f"Zoho's value(s) of column {name!r} are not members yet (a run stops "
                      f"before its upload when a document carries one): {_shown(absent)}",
                      member_fix(list_name, loads.get(list_name, []), False))
    return {name: None if unmapped or absent else len(values)}


def _shown(values: dict[str, str], most: int = 20) -> str:
    said = [f"{v!r} ({what})" for v, what in list(values.items())[:most]]
    more = len(values) - most
    return ", ".join(said) + (f" and {more} more" if more > 0 else "")


def _zoho_values(zoho: Callable[..., object], conn_id: str
                 ) -> Callable[[Column], dict[str, str] | None]:
    """A tag or dimension column's values as the connection's organization lists them
    (``members.zoho_values``), each source read once, through one client opened on first
    use."""
    from ml_connector.flows.members import zoho_values

    opened: list[object] = []
    read: dict[tuple[str | None, str | None, str], dict[str, str] | None] = {}

    def values_of(column: Column) -> dict[str, str] | None:
        key = (column.tag, column.dimension, column.value)
        if key not in read:
            if not opened:
                opened.append(zoho(conn_id))
            read[key] = zoho_values(opened[0], column)
        return read[key]

    return values_of


def _lists(flows: list[Flow], store: StateStore) -> Iterator[Finding]:
    """The lists fact flows look members up in or send members of (``list:`` columns):
    loaded by their list flows."""
    from ml_connector.flows.spec import list_flows, list_loads

    for module, loaders in sorted(list_flows(flows).items()):
        users = sorted(f.id for f in flows if module in f.lookup_entities)
        yield from _loaded(store, module, loaders, users, False)
    for name, loaders in sorted(list_loads(flows).items()):
        users = sorted(f.id for f in flows if name in f.member_lists)
        yield from _loaded(store, name, loaders, users, True)


def _loaded(store: StateStore, needed: str, loaders: list[str], users: list[str],
            anaplan_list: bool) -> Iterator[Finding]:
    """Whether each list flow of a list that ``users`` need has loaded it once. One that has
    not is a warning, not a failure: a deployment being set up loads its lists first, and
    until then the flows that need it stop before reading Zoho, naming the same fix."""
    from ml_connector.flows.run import not_loaded
    from ml_connector.state.lists import ListLoads

    for loader in loaders if users else []:
        if ListLoads(store).read_at(loader) is None:
            yield Finding("lists", "warn", *not_loaded(loader, needed, users,
                                                      anaplan_list=anaplan_list))
        else:
            uses = f"send members of {needed}" if anaplan_list else f"look up {needed}"
            yield Finding("lists", "ok", f"flow {loader} has loaded its list "
                          f"({', '.join(users)} {uses})")


def airflow_pools() -> dict[str, int]:
    """Airflow's pools (name -> slots), as ``airflow pools list`` prints them."""
    from ml_connector.airflow_cli import listing

    return {r["pool"]: int(r["slots"]) for r in listing("pools", "list")}
