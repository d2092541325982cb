"""What a person reads of the shipped consolidated flow (``group_pl_actuals``) outside
Airflow, over HTTP against the sandbox's group of organizations: ``ml-connector reconcile``
per entity (an organization that cannot be read named, its cells left aside), and after a
run that left India out, ``ml-connector runs`` and ``ml-connector audit --organization``.
The oracle is the sandbox's own consolidation (no connector code)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ml_connector.cli import main
from ml_connector.errors import RunFailed

from ..airflow_env import sandbox_connections
from ..conftest import MODEL, zoho_credentials
from .conftest import ROOT
from .test_group_flows import ENTITIES, FLOW, JAN, books, held

FEB = date(2026, 2, 1)


@pytest.fixture
def group(flows, connection_env, monkeypatch):
    """The group flow's lists loaded; the commands read the flows' state store and the
    sandbox's connections (one per data center), unpaced as the flows' own clients are."""
    monkeypatch.setenv("AIRFLOW_CONN_ML_CONNECTOR_STATE", json.dumps(
        {"conn_type": "sqlite", "host": str(flows.work / "state.db")}))
    for key, value in sandbox_connections(connection_env.base_url, connection_env.sandbox.config,
                                          requests_per_minute=100_000).items():
        monkeypatch.setenv(key, value)
    flows.load("accounts", start=date(2026, 1, 31), end=FEB)
    return flows


def command(capsys, group, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main([*args, "--db", f"sqlite:///{group.work / 'state.db'}"])
    return code, capsys.readouterr().out


def reconcile(capsys, group) -> tuple[int, str]:
    return command(capsys, group, "reconcile", "--flow", FLOW, "--month", "2026-01",
                   "--flows", str(ROOT / "dags" / "flows.yaml"))


def entity_line(out: str, entity: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(f"{entity}: "))


def test_reconcile_reports_each_entity_and_names_one_it_cannot_read(sandbox, group, capsys):
    group.run(FLOW, JAN, FEB)
    oracle = books(sandbox, JAN)
    assert held(sandbox) == oracle  # what the run sent, as the sandbox consolidates it
    per_entity = {e: sum(1 for k in oracle if k[0] == e) for e in ENTITIES}
    code, out = reconcile(capsys, group)
    assert code == 0, out
    for entity, cells in per_entity.items():
        assert entity_line(out, entity) == f"{entity}: {cells} cell(s), 0 differ from the books"
    assert f"{len(oracle)} cell(s), 0 differ from the books" in out
    # Every cell in local and group currency, as the sandbox consolidates it.
    (entity, account, label), (currency, local, group_amount) = next(iter(oracle.items()))
    key = f"{entity} / {account} / {label} / {currency}"
    lines = [line.split() for line in out.splitlines() if line.startswith(f"{key} ")]
    assert [line[8:12] for line in lines] == [
        ["Local", "Amount", f"{local:,.2f}", f"{local:,.2f}"],
        ["Group", "Amount", f"{group_amount:,.2f}", f"{group_amount:,.2f}"]]

    # India's login revoked: the others agree, India is named, the month is not reconciled.
    sandbox.sandbox.zoho.revoke_refresh_token(zoho_credentials(sandbox, "in").refresh_token)
    code, out = reconcile(capsys, group)
    assert code == 1
    india = entity_line(out, "IN")
    assert india.startswith("IN: not read (in.") and "its cells are not compared" in india
    assert "refused the credentials" in india
    assert not any(line.startswith("IN / ") for line in out.splitlines())
    assert f"{len(oracle) - per_entity['IN']} cell(s), 0 differ from the books" in out

    # A group amount changed in Anaplan: the UK's.
    uk = next(k for k in oracle if k[0] == "UK")
    module = sandbox.sandbox.anaplan.model(MODEL).module_named("Consolidated Actuals")
    module.write(uk, {"Group Amount": float(oracle[uk][2] + 1)})
    code, out = reconcile(capsys, group)
    assert code == 1
    assert entity_line(out, "UK") == f"UK: {per_entity['UK']} cell(s), 1 differ from the books"
    assert entity_line(out, "US").endswith(", 0 differ from the books")
    assert f"{len(oracle) - per_entity['IN']} cell(s), 1 differ from the books" in out
    wrong = next(line for line in out.splitlines() if line.startswith(
        f"{' / '.join(uk)} / GBP ") and "Group Amount" in line).split()
    assert wrong[-1] == "1.00"


def test_runs_and_audit_after_a_run_that_left_india_out(sandbox, group, capsys):
    sandbox.sandbox.zoho.revoke_refresh_token(zoho_credentials(sandbox, "in").refresh_token)
    with pytest.raises(RunFailed, match="not read: IN"):
        group.run(FLOW, JAN, FEB)
    code, out = command(capsys, group, "runs", "--flow", FLOW, "--flows",
                        str(ROOT / "dags" / "flows.yaml"))
    assert code == 0
    header, *lines = out.splitlines()
    assert header.split()[2] == "Org"
    rows = {line.split()[3]: line for line in lines if line.startswith(FLOW)}
    assert list(rows) == ["IN", "LABS", "UK", "US"]
    assert rows["IN"].split()[4:9] == ["-"] * 5 and "left out" in rows["IN"]
    why = lines[lines.index(rows["IN"]) + 1]
    assert why.startswith("    in.") and "refused the credentials" in why
    audited = group.audit.query(flow=FLOW, limit=100_000)
    for entity in ("US", "LABS", "UK"):
        mine = sum(1 for r in audited if r["organization"] == entity)
        assert rows[entity].split()[4] == f"{mine:,}"
    # The audit trail of one organization, with the organization's column.
    code, out = command(capsys, group, "audit", "--flow", FLOW, "--organization", "UK",
                        "--limit", "5")
    header, *lines = out.splitlines()
    assert header.split("\t")[:4] == ["flow", "run_id", "organization", "window_start"]
    assert len(lines) == 5 and all(line.split("\t")[2] == "UK" for line in lines)
    code, out = command(capsys, group, "audit", "--flow", FLOW, "--organization", "IN")
    assert out.splitlines()[1:] == []
    # A flow of one organization: no organization column.
    code, out = command(capsys, group, "audit", "--flow", "accounts", "--limit", "1")
    assert out.splitlines()[0].split("\t")[2] == "window_start"
