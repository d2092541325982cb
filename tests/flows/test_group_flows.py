"""The shipped consolidated flow (``group_pl_actuals``) against the sandbox's group of four
Zoho organizations in three data centers, over HTTP: each entity's cells in local and group
currency equal the sandbox's own consolidation (``ml_connector_sandbox.zoho.group``, no
connector code), and one organization that cannot be read (revoked login, exhausted daily
quota, a missing exchange rate) leaves the others imported and the run failed, naming it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ml_connector.errors import RunFailed
from ml_connector.flows.local import run_flow, walk
from ml_connector.flows.organizations import Organization
from ml_connector.flows.plan import flow_plan
from ml_connector.state.verifications import VerificationLog
from ml_connector_sandbox.zoho.auth import RefreshGrant
from ml_connector_sandbox.zoho.config import READ_SCOPES
from ml_connector_sandbox.zoho.group import consolidated

from ..cells import CENT
from ..conftest import MODEL, zoho_credentials

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
FLOW = "group_pl_actuals"
ENTITIES = {"US": "10234695", "LABS": "10234696", "UK": "20088123", "IN": "30045678"}


def held(sandbox) -> dict[tuple[str, str, str], tuple[str, Decimal, Decimal]]:
    """Consolidated Actuals: (entity, account, month label) -> (currency, local, group)."""
    return {(c["dimensions"]["Entities"], c["dimensions"]["Accounts"], c["dimensions"]["Time"]):
            (c["values"].get("Currency", ""),
             Decimal(repr(c["values"].get("Local Amount", 0))).quantize(CENT),
             Decimal(repr(c["values"].get("Group Amount", 0))).quantize(CENT))
            for c in sandbox.sandbox.anaplan.module_cells(MODEL, "Consolidated Actuals")}


def books(sandbox, month: date, entities=ENTITIES) -> dict:
    """The sandbox's consolidation of ``month`` in the shape of ``held`` (no zero cell)."""
    found = consolidated(sandbox.sandbox.zoho, entities, "10234695",
                         [month.strftime("%Y-%m")], "average")
    return {(e, a, date.fromisoformat(f"{m}-01").strftime("%b %y")):
            (cell.currency, cell.local.quantize(CENT), cell.group.quantize(CENT))
            for (e, a, m), cell in found.items() if cell.local}


@pytest.fixture
def group(flows):
    flows.load("accounts", start=date(2026, 1, 31), end=FEB)
    return flows


def test_four_organizations_in_three_data_centers_are_one_import(sandbox, group):
    summary = group.run(FLOW, JAN, FEB)
    expected = books(sandbox, JAN)
    assert {e for e, _, _ in expected} == set(ENTITIES)
    assert {c for c, _, _ in expected.values()} == {"USD", "GBP", "INR"}
    assert held(sandbox) == expected
    assert summary.failed == {} and summary.counts["imported"] > 0
    # Verified per entity, each in its own row of the trail.
    trail = VerificationLog(group.store).query(flow=FLOW)
    assert {(r["organization"], r["status"]) for r in trail} == {
        (e, "verified") for e in ENTITIES}
    # Every translated record names the rate it was translated at.
    audited = group.audit.query(flow=FLOW, status="imported", organization="UK", limit=5)
    assert audited and all("GBP->USD" in (r["error"] or "") for r in audited)


def test_a_revoked_login_leaves_its_organization_out_and_the_retry_reads_only_it(
        sandbox, group):
    zoho = sandbox.sandbox.zoho
    token = zoho_credentials(sandbox, "in").refresh_token
    zoho.revoke_refresh_token(token)
    with pytest.raises(RunFailed, match="not read: IN") as failed:
        group.run(FLOW, JAN, FEB)
    assert "IN (in.closed" in str(failed.value)
    others = {k: v for k, v in books(sandbox, JAN).items() if k[0] != "IN"}
    assert held(sandbox) == others  # the others are in, whole
    # A new login for India (a refresh token authorized again), then the run of the
    # organizations left out: only India is read.
    fresh = "1000.sandbox-refresh-in-again"
    zoho.accounts.refresh[fresh] = RefreshGrant(fresh, "in", READ_SCOPES, None)
    group.connections["zoho_books_in"] = ("in", fresh)
    before = {o: zoho.quota(o)["used_today"] for o in ENTITIES.values()}
    run = group.flow_run(FLOW, JAN, FEB)
    run.only = ["IN"]
    summary = run_flow(run, group.spec.defaults, sleep=sandbox.sandbox.clock.advance,
                       lock=group.store.lock)
    used = {o: zoho.quota(o)["used_today"] - before[o] for o in ENTITIES.values()}
    assert used[ENTITIES["IN"]] > 0
    # The others are not read; the group company answers only India's rates: its
    # currencies and the INR rates (one request each).
    assert {e: used[o] for e, o in ENTITIES.items() if e != "IN"} == {
        "US": 2, "LABS": 0, "UK": 0}
    assert summary.failed == {}
    assert held(sandbox) == books(sandbox, JAN)


def test_an_organization_at_its_daily_quota_is_left_out_alone(sandbox, group):
    sandbox.sandbox.zoho.exhaust_quota(ENTITIES["UK"])
    with pytest.raises(RunFailed, match=r"not read: UK \(uk\.") as failed:
        group.run(FLOW, JAN, FEB)
    assert "45" in str(failed.value) or "quota" in str(failed.value).lower()
    assert held(sandbox) == {k: v for k, v in books(sandbox, JAN).items() if k[0] != "UK"}


def test_a_missing_rate_sends_nothing_for_its_entity(sandbox, group, tmp_path):
    rates = tmp_path / "rates.csv"  # GBP's February average and no INR rate at all
    found = consolidated(sandbox.sandbox.zoho, {"UK": ENTITIES["UK"]}, "10234695",
                         ["2026-01"], "average")
    gbp = next(c.rate for c in found.values())
    rates.write_text(f"currency,month,month_end,average\nGBP,2026-01,,{gbp}\n")
    flow = next(f for f in group.spec.flows if f.id == FLOW)
    object.__setattr__(flow, "fx", flow.fx.model_copy(update={
        "source": "csv", "file": str(rates), "organization": None}))
    with pytest.raises(RunFailed, match="not read: IN") as failed:
        group.run(FLOW, JAN, FEB)
    message = str(failed.value)
    assert "no average rate of INR to USD for 2026-01" in message
    assert held(sandbox) == {k: v for k, v in books(sandbox, JAN).items() if k[0] != "IN"}


def test_each_organization_keeps_its_own_watermark_through_a_partial_run(sandbox, group):
    """An incremental consolidated flow: a run that could not read India moves the
    watermarks of the others only; the next run reads India's changes since its own."""
    zoho = sandbox.sandbox.zoho
    flow = next(f for f in group.spec.flows if f.id == FLOW)
    daily = flow.model_copy(update={"id": "group_pl_daily", "mode": "incremental",
                                    "schedule": "daily"})
    group.spec.flows.append(daily)
    APR = date(2026, 4, 1)
    group.run("group_pl_daily", APR, date(2026, 4, 2))
    first = group.store.watermarks("group_pl_daily")
    assert set(first) == set(ENTITIES)

    def quarter() -> dict:
        found: dict = {}
        for month in (JAN, FEB, MAR):
            found.update(books(sandbox, month))
        return found

    assert held(sandbox) == quarter()
    # A January bill of Zillum Inc and one of Zillum India move to March; India's login
    # is revoked before the next run.
    for org in (ENTITIES["US"], ENTITIES["IN"]):
        bill = next(d for d in zoho.documents(org, "bills", JAN.isoformat(), FEB.isoformat())
                    if d["status"] not in ("void", "draft"))
        zoho.edit_record(org, "bills", bill["bill_id"], {"date": "2026-03-15"})
    zoho.revoke_refresh_token(zoho_credentials(sandbox, "in").refresh_token)
    with pytest.raises(RunFailed, match="not read: IN"):
        group.run("group_pl_daily", date(2026, 4, 2), date(2026, 4, 3))
    second = group.store.watermarks("group_pl_daily")
    assert second["IN"] == first["IN"] and second["US"] > first["US"]
    assert second["LABS"] == first["LABS"] and second["UK"] == first["UK"]
    now = held(sandbox)
    assert {k: v for k, v in now.items() if k[0] != "IN"} == {
        k: v for k, v in quarter().items() if k[0] != "IN"}
    assert {k: v for k, v in now.items() if k[0] == "IN"} != {
        k: v for k, v in quarter().items() if k[0] == "IN"}, "India's edit is not in yet"
    # India's login is authorized again: the next run reads India's change.
    fresh = "1000.sandbox-refresh-in-again"
    zoho.accounts.refresh[fresh] = RefreshGrant(fresh, "in", READ_SCOPES, None)
    group.connections["zoho_books_in"] = ("in", fresh)
    third = group.run("group_pl_daily", date(2026, 4, 3), date(2026, 4, 4))
    after = group.store.watermarks("group_pl_daily")
    assert third.watermarks["IN"] == after["IN"] > first["IN"]
    assert {e: after[e] for e in ("US", "LABS", "UK")} == {
        e: second[e] for e in ("US", "LABS", "UK")}, "nothing new for the others"
    assert held(sandbox) == quarter()


def test_a_flow_that_names_its_organizations_keeps_what_it_kept_for_one(sandbox, group):
    """A flow run for the connection's organization, then given organizations (the
    connection's own, as before, and another): its watermark and cells become that
    organization's, so its next run does not read everything again."""
    group.run("pl_actuals_daily", date(2026, 4, 1), date(2026, 4, 2))
    kept = group.store.get_watermark("pl_actuals_daily")
    cells = group.cells_of("pl_actuals_daily")
    assert kept is not None and cells and set(group.store.watermarks("pl_actuals_daily")) == {""}
    flow = next(f for f in group.spec.flows if f.id == "pl_actuals_daily")
    named = flow.model_copy(update={"organizations": [
        Organization(entity="US"), Organization(entity="LABS", organization_id="10234696")]})
    group.spec.flows[group.spec.flows.index(flow)] = named
    group.flow_run("pl_actuals_daily", date(2026, 4, 2), date(2026, 4, 3)).unit("US")
    assert group.store.watermarks("pl_actuals_daily") == {"US": kept}
    assert group.cells_of("pl_actuals_daily", "US") == cells
    assert group.cells_of("pl_actuals_daily") == set()


def test_a_dry_run_of_the_organizations_left_out_plans_only_their_cells(sandbox, group):
    """After a run, a UK bill moves to February; a dry run reading only the UK plans the
    UK's changed cells (against what Anaplan holds) and nothing of the others'."""
    group.run(FLOW, JAN, FEB)
    zoho = sandbox.sandbox.zoho
    bill = next(d for d in zoho.documents(ENTITIES["UK"], "bills", JAN.isoformat(),
                                          FEB.isoformat())
                if d["status"] not in ("void", "draft"))
    zoho.edit_record(ENTITIES["UK"], "bills", bill["bill_id"], {"date": "2026-02-10"})
    run = group.flow_run(FLOW, JAN, FEB)
    run.dry_run, run.only = True, ["UK"]
    done = walk(run, flow_plan(run.flow, group.spec.defaults))
    planned = done.outputs["dry_run"]
    expected = books(sandbox, JAN)
    now = held(sandbox)
    changed = {tuple(c.key[:3]) for c in planned.changes}
    assert changed and {e for e, _, _ in changed} == {"UK"}
    assert changed == {k for k in set(expected) | set(now)
                       if k[0] == "UK" and expected.get(k) != now.get(k)}
    assert held(sandbox) == now, "nothing sent"
