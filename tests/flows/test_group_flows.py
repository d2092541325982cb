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
from ml_connector.flows.local import run_flow
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
