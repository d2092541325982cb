"""The sandbox group of organizations over real HTTP: who reads which organization, fiscal
years, per-organization limits and quotas, the group chart of accounts, the exchange-rate
endpoints, foreign-currency documents at their organization's rate, the Anaplan FX and
consolidated modules, and the consolidated oracle."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest

from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.server import RunningSandbox, start_sandbox
from ml_connector_sandbox.zoho import LimitsSpec, RefreshTokenSpec, ZohoSandboxConfig
from ml_connector_sandbox.zoho.config import (
    READ_SCOPES,
    default_organizations,
    default_refresh_tokens,
)
from ml_connector_sandbox.zoho.group import consolidated, group_rates
from ml_connector_sandbox.zoho.pnl import ledger_actuals

from . import test_zoho_emulator
from .test_anaplan_emulator import TIMING, Anaplan, M, counts, table
from .test_zoho_emulator import GMBH, LABS, MAIN, Zoho

UK, INDIA = "20088123", "30045678"
ENTITIES = {"US": MAIN, "LABS": LABS, "UK": UK, "IN": INDIA}
MONTHS = ["2026-01", "2026-02", "2026-03"]
WITHOUT_SETTINGS = [s for s in READ_SCOPES if s != "ZohoBooks.settings.READ"]
ROOMY = LimitsSpec(per_minute=1_000_000, per_day=10_000_000)
#: sha256 of every generated record of the organizations that existed before the group
#: (all but India), as served: adding organizations and rate series moved none of them.
EXISTING = {
    "10234696": "7fcd0902131b9c93c9b4bbccd33208c53d2c10314f1227d66ea51a1365e41543",
    "20071234": "20f7ca189fc2192ee62566e1cfc58bfe868089cab914938fdee35a4146f9f4ed",
    "40012345": "bae48417c1d175d436862b9826a5347f97809c0676ba716ad7fec25bf29bf1e6",
    "50023456": "5460c371b3a450b7cbdfc43fbcca99ee933d655d7081bfd8e5ba9cb38134a675",
    "60034567": "5f1a1ed943e04cf392b9b6d6f480583f13153395ba63354036819fbf49da3873",
    "70045678": "c9f767d51cb0caba18aee2f08c5e1ddcfd3f84dbdc3538a24558ab59ba992278",
    "80056789": "aef41f1052c64853457436be60d4cbcc5129989613a97b246f27fda1da2a5f13",
}


def start(config: ZohoSandboxConfig) -> RunningSandbox:
    return start_sandbox(SandboxConfig.model_validate(
        {"zoho": config.model_dump(), "anaplan": {"timing": TIMING}}))


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSandbox]:
    tokens = [*default_refresh_tokens(),
              RefreshTokenSpec(token="1000.no-settings", region="eu", scopes=WITHOUT_SETTINGS)]
    server = start(ZohoSandboxConfig(refresh_tokens=tokens, limits=ROOMY))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def zoho(running) -> Iterator[Zoho]:
    yield from Zoho.serving(running)


#: Private sandboxes for tests that change the configuration or the state.
own = test_zoho_emulator.own
REGION = {MAIN: "us", LABS: "us", GMBH: "eu", UK: "eu", INDIA: "in"}


def get(zoho: Zoho, org: str, path: str, **params) -> httpx.Response:
    return zoho.get(path, region=REGION[org], org=org, **params)


def currency_ids(zoho: Zoho, org: str) -> dict[str, str]:
    body = get(zoho, org, "/settings/currencies").json()
    return {c["currency_code"]: c["currency_id"] for c in body["currencies"]}


def served_rates(zoho: Zoho, org: str, code: str, **params) -> list[dict]:
    currency_id = currency_ids(zoho, org)[code]
    rows, page = [], 1
    while True:
        body = get(zoho, org, f"/settings/currencies/{currency_id}/exchangerates",
                   page=page, **params).json()
        rows += body["exchange_rates"]
        if not body["page_context"]["has_more_page"]:
            return rows
        page += 1


def in_effect(rates: list[dict], day: str) -> float:
    return max((r for r in rates if r["effective_date"] <= day),
               key=lambda r: r["effective_date"])["rate"]


def test_each_login_reads_its_data_centers_organizations_with_their_fiscal_years(zoho, own):
    seen = {region: {o["organization_id"]: o for o in
                     zoho.get("/organizations", region=region, org=None).json()["organizations"]}
            for region in ("us", "eu", "in")}
    assert set(seen["us"]) == {MAIN, LABS}, "one login reads two organizations"
    assert set(seen["eu"]) == {GMBH, UK} and set(seen["in"]) == {INDIA}
    uk, india = seen["eu"][UK], seen["in"][INDIA]
    assert (uk["name"], uk["currency_code"], india["currency_code"]) == (
        "Zillum UK Ltd", "GBP", "INR")
    # April, numbered from 0 for January (the default), as Zoho's example shows January.
    assert (uk["fiscal_year_start_month"], india["fiscal_year_start_month"],
            seen["us"][MAIN]["fiscal_year_start_month"]) == (3, 3, 0)
    one = get(zoho, UK, f"/organizations/{UK}").json()["organization"]
    assert (one["organization_id"], one["fiscal_year_start_month"]) == (UK, 3)
    assert zoho.get(f"/organizations/{UK}", region="us", org=None).json()["code"] == 6041
    _, numbered = own(ZohoSandboxConfig(fiscal_month_base=1, limits=ROOMY))
    rows = numbered.get("/organizations", region="eu", org=None).json()["organizations"]
    assert {o["organization_id"]: o["fiscal_year_start_month"] for o in rows} == {
        GMBH: 1, UK: 4}


def test_one_organizations_limits_leave_the_others_of_the_same_login_answering(own):
    orgs = default_organizations()
    for org in orgs:
        if org.organization_id == UK:
            org.per_day = 3
        if org.organization_id == LABS:
            org.per_minute = 2
    running, zoho = own(ZohoSandboxConfig(organizations=orgs,
                                          limits=LimitsSpec(per_minute=1_000_000)))
    statuses = [get(zoho, UK, "/invoices").status_code for _ in range(3)]
    capped = get(zoho, UK, "/invoices")
    assert statuses == [200] * 3 and (capped.status_code, capped.json()["code"]) == (429, 45)
    assert capped.headers["X-Rate-Limit-Limit"] == "3"
    assert get(zoho, GMBH, "/invoices").status_code == 200, "same login, another org"
    assert [get(zoho, LABS, "/invoices").status_code for _ in range(3)] == [200, 200, 429]
    assert get(zoho, MAIN, "/invoices").status_code == 200
    # The admin routes act on one organization: exhaust India's quota, then raise it.
    admin = httpx.Client(base_url=f"{running.base_url}/_sandbox/zoho", timeout=30)
    assert get(zoho, INDIA, "/bills").status_code == 200
    used = admin.post(f"/orgs/{INDIA}/quota/exhaust").json()
    assert used["remaining_today"] == 0 and used["per_day"] == 5000, "the professional plan"
    blocked = get(zoho, INDIA, "/bills")
    assert (blocked.status_code, blocked.json()["code"]) == (429, 45)
    assert get(zoho, UK, "/settings/currencies").status_code == 429, "UK still at its 3"
    raised = admin.put(f"/orgs/{INDIA}/limits", json={"per_day": 6000}).json()
    assert (raised["per_day"], raised["remaining_today"]) == (6000, 1000)
    assert get(zoho, INDIA, "/bills").status_code == 200
    assert admin.get(f"/orgs/{INDIA}/quota").json()["used_today"] == 5001
    assert admin.post("/orgs/99999999/quota/exhaust").status_code == 404
    admin.close()


def test_the_group_shares_account_codes_and_a_subsidiary_names_some_its_own_way(zoho):
    charts = {org: {a["account_code"]: a for a in get(zoho, org, "/chartofaccounts").json()[
        "chartofaccounts"]} for org in (MAIN, UK, INDIA)}
    assert set(charts[MAIN]) == set(charts[UK]) == set(charts[INDIA])
    assert charts[MAIN]["6200"]["account_name"] == "Rent Expense"
    assert charts[UK]["6200"]["account_name"] == "Rent and Rates"
    assert charts[INDIA]["6500"]["account_name"] == "Legal and Professional Charges"
    assert charts[UK]["4010"]["parent_account_name"] == "Turnover"
    rent = charts[UK]["6200"]["account_id"]
    lines = [line for row in get(zoho, UK, "/bills", per_page=200).json()["bills"]
             for line in get(zoho, UK, f"/bills/{row['bill_id']}").json()["bill"]["line_items"]
             if line["account_id"] == rent]
    assert lines and {line["account_name"] for line in lines} == {"Rent and Rates"}


def test_currencies_list_each_organizations_currencies_at_todays_rate(zoho):
    listed = {org: get(zoho, org, "/settings/currencies").json()["currencies"]
              for org in (MAIN, UK, INDIA)}
    assert [c["currency_code"] for c in listed[MAIN]] == ["USD", "EUR", "GBP", "INR"]
    assert [c["currency_code"] for c in listed[UK]] == ["GBP", "USD", "EUR"]
    assert [c["currency_code"] for c in listed[INDIA]] == ["INR", "USD"]
    pound = listed[UK][0]
    assert set(pound) >= {"currency_id", "currency_code", "currency_name", "currency_symbol",
                          "is_base_currency", "exchange_rate"}
    assert (pound["is_base_currency"], pound["exchange_rate"], pound["currency_symbol"]) == (
        True, 1.0, "£")
    dollar = listed[INDIA][1]
    assert dollar["is_base_currency"] is False and 70 < dollar["exchange_rate"] < 100
    today = served_rates(zoho, INDIA, "USD", is_current_date="true")
    assert [r["rate"] for r in today] == [dollar["exchange_rate"]]


def test_exchange_rates_page_newest_first_and_filter_from_a_date(zoho):
    rates = served_rates(zoho, MAIN, "GBP", per_page=25)
    days = [date.fromisoformat(r["effective_date"]) for r in rates]
    assert days == sorted(days, reverse=True), "newest first"
    assert (days[-1], days[0]) == (date(2025, 12, 1), date(2026, 3, 31))
    every = [days[-1] + timedelta(n) for n in range((days[0] - days[-1]).days + 1)]
    assert days[::-1] == [d for d in every if d.weekday() < 5], "one per business day"
    assert all(1.15 < r["rate"] < 1.40 and round(r["rate"], 6) == r["rate"] for r in rates)
    assert {r["currency_code"] for r in rates} == {"GBP"}
    assert len({r["exchange_rate_id"] for r in rates}) == len(rates)
    first = get(zoho, MAIN, f"/settings/currencies/{rates[0]['currency_id']}/exchangerates",
                per_page=25).json()
    assert first["page_context"]["has_more_page"] is True and len(first["exchange_rates"]) == 25
    since = served_rates(zoho, MAIN, "GBP", from_date="2026-03-14")
    assert [r["effective_date"] for r in since] == [
        d.isoformat() for d in days if d >= date(2026, 3, 14)]
    assert since[-1]["effective_date"] == "2026-03-16", "a Saturday: rates from Monday on"
    bad = get(zoho, MAIN, f"/settings/currencies/{rates[0]['currency_id']}/exchangerates",
              from_date="14/03/2026")
    assert (bad.status_code, bad.json()["code"]) == (400, 2)


def test_exchange_rates_need_the_settings_scope_and_a_known_currency(zoho):
    pound = currency_ids(zoho, MAIN)["GBP"]
    token = zoho.token("eu", "1000.no-settings")
    for path in ("/settings/currencies", f"/settings/currencies/{pound}/exchangerates"):
        refused = zoho.get(path, region="eu", org=UK, token=token)
        assert (refused.status_code, refused.json()["code"]) == (401, 57)
    assert zoho.get("/invoices", region="eu", org=UK, token=token).status_code == 200
    unknown = get(zoho, UK, f"/settings/currencies/{pound}/exchangerates")
    assert (unknown.status_code, unknown.json()) == (
        404, {"code": 1002, "message": "Currency does not exist."}), "Inc's id, not UK's"


def test_foreign_currency_documents_take_their_organizations_rate_on_their_date(zoho):
    checked = 0
    for org, path, base in ((UK, "invoices", "GBP"), (UK, "bills", "GBP"),
                            (INDIA, "invoices", "INR")):
        series: dict[str, list[dict]] = {}
        for row in get(zoho, org, f"/{path}", per_page=200).json()[path]:
            code = row["currency_code"]
            if code == base:
                assert row["exchange_rate"] == 1.0
                continue
            rates = series.setdefault(code, served_rates(zoho, org, code))
            assert row["exchange_rate"] == in_effect(rates, row["date"]), row
            bcy = (Decimal(str(row["total"])) * Decimal(str(row["exchange_rate"]))).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP)
            detail = get(zoho, org, f"/{path}/{row[path[:-1] + '_id']}").json()[path[:-1]]
            assert Decimal(str(detail["bcy_total"])) == bcy
            checked += 1
        assert series, f"{org} {path}: no foreign-currency document"
    assert checked > 20


def test_the_organizations_that_existed_before_are_unchanged(running):
    zoho = running.sandbox.zoho
    for org_id, fingerprint in EXISTING.items():
        org, digest = zoho.orgs[org_id], hashlib.sha256()
        for store in org.stores.values():
            for i in range(store.table.count):
                digest.update(json.dumps(store.served(i), sort_keys=True).encode())
        digest.update(json.dumps(zoho._org_row(org, False), sort_keys=True).encode())
        assert digest.hexdigest() == fingerprint, org_id


def anaplan(running: RunningSandbox) -> Anaplan:
    client = Anaplan(running)
    client.login()
    return client


def export(ap: Anaplan, export_id: str) -> list[dict]:
    ap.finish(export_id, ap.start(export_id, kind="exports"), kind="exports")
    response = ap.get(f"{M}/files/{export_id}")
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_fx_module_holds_the_group_companys_rates(running):
    ap = anaplan(running)
    rows = export(ap, "116000000012")
    assert list(rows[0]) == ["Currency", "Period", "Month End", "Average"]
    months = ["2025-12", *MONTHS]
    label = {m: date.fromisoformat(f"{m}-01").strftime("%b %y") for m in months}
    expected = {(code, label[month]): (rates.month_end, rates.average) for (code, month), rates
                in group_rates(running.sandbox.zoho, MAIN, months).items()}
    held = {(r["Currency"], r["Period"]): (Decimal(r["Month End"]), Decimal(r["Average"]))
            for r in rows}
    assert held == expected
    assert {code for code, _ in held} == {"GBP", "INR", "EUR"}
    assert ("GBP", "Dec 25") in held, "the month before the data, inside the model's time"


def test_the_consolidated_import_rejects_an_unknown_entity(running):
    ap = anaplan(running)
    entities = {i["code"]: i["name"] for i in ap.get(f"{M}/lists/101000000012/items").json()[
        "listItems"]}
    assert entities == {"US": "Zillum Inc", "LABS": "Zillum Labs", "UK": "Zillum UK Ltd",
                        "IN": "Zillum India Pvt Ltd"}
    ap.run("112000000001", "113000000001", table(["Code", "Name", "Type"],
                                                 ["4000", "Sales", "income"]))
    header = ["Entity", "Account", "Period", "Currency", "Local Amount", "Group Amount"]
    meta = ap.get(f"{M}/imports/112000000022").json()["importMetadata"]["source"]
    assert meta["headerNames"] == header
    result = ap.run("112000000022", "113000000021", table(
        header, ["UK", "4000", "Jan 26", "GBP", "100.00", "128.68"],
        ["DE", "4000", "Jan 26", "EUR", "5", "5.4"]))["result"]
    assert (counts(result)["successRowCount"], counts(result)["failedCount"]) == (1, 1)
    task = ap.get(f"{M}/imports/112000000022/tasks").json()["tasks"][-1]["taskId"]
    dump = list(csv.DictReader(io.StringIO(
        ap.get(f"{M}/imports/112000000022/tasks/{task}/dump").text)))
    assert [(r["Entity"], r["_Error_1_"]) for r in dump] == [
        ("DE", "Item not located in Entities list: 'DE'")]
    rows = export(ap, "116000000013")
    assert rows == [dict(zip(header, ["UK", "4000", "Jan 26", "GBP", "100.0", "128.68"],
                             strict=True))]


def test_the_oracle_translates_each_entitys_local_pnl(running):
    zoho = running.sandbox.zoho
    average = consolidated(zoho, ENTITIES, MAIN, MONTHS, "average")
    month_end = consolidated(zoho, ENTITIES, MAIN, MONTHS, "month_end")
    rates = group_rates(zoho, MAIN, MONTHS)
    for entity, org_id in ENTITIES.items():
        local = {(account, month): cell.local for (e, account, month), cell in average.items()
                 if e == entity}
        expected = {(account, datetime.strptime(label, "%b %y").strftime("%Y-%m")): value
                    for (account, label), value in
                    ledger_actuals(zoho, org_id, date(2026, 1, 1), date(2026, 4, 1)).items()}
        assert local == expected, entity
    uk = average[("UK", "4000", "2026-01")]
    assert (uk.currency, uk.rate) == ("GBP", rates[("GBP", "2026-01")].average)
    assert uk.group == (uk.local * uk.rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert month_end[("UK", "4000", "2026-01")].rate == rates[("GBP", "2026-01")].month_end
    assert month_end[("UK", "4000", "2026-01")].group != uk.group
    assert average[("IN", "4000", "2026-01")].currency == "INR"
    assert all(c.group == c.local and c.rate == 1 for (e, _, _), c in average.items()
               if e in ("US", "LABS"))
    with pytest.raises(KeyError, match="no average rate for INR in 2026-01"):
        consolidated(zoho, {"IN": INDIA}, UK, ["2026-01"])

