"""The Zoho Books emulator over real HTTP: OAuth, regions, lists, filters, details, limits."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.faults import Fault
from ml_connector_sandbox.server import RunningSandbox, start_sandbox
from ml_connector_sandbox.zoho import LimitsSpec, OrgSpec, RefreshTokenSpec, ZohoSandboxConfig
from ml_connector_sandbox.zoho.config import default_refresh_tokens

CLIENT = {"client_id": "1000.SANDBOXCLIENT", "client_secret": "sandbox-client-secret"}
MAIN, LABS, GMBH = "10234695", "10234696", "20071234"
STAMP = "%Y-%m-%dT%H:%M:%S%z"
JUNE_2026 = datetime(2026, 6, 1, tzinfo=timezone.utc).timestamp()
PER_MINUTE_MESSAGE = (
    "For security reasons your organization has been blocked as it have exceeded the maximum "
    "number of requests per minute that can originate from an organization."
)
ACCESS_DENIED = {
    "error": "Access Denied",
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "status": "failure",
}


class Zoho:
    """A bare HTTP client for the emulator: mints tokens and calls the Books API."""

    def __init__(self, running: RunningSandbox) -> None:
        self.running = running
        self.http = httpx.Client(base_url=running.base_url, timeout=30)
        self._tokens: dict[str, str] = {}

    @classmethod
    def serving(cls, running: RunningSandbox) -> Iterator[Zoho]:
        """A client of ``running`` for a module's tests, closed after them."""
        client = cls(running)
        yield client
        client.http.close()

    def mint(self, region: str = "us", refresh: str | None = None, at: str | None = None,
             **extra: str) -> httpx.Response:
        form = {"grant_type": "refresh_token", **CLIENT,
                "refresh_token": refresh or f"1000.sandbox-refresh-{region}", **extra}
        return self.http.post(f"/zoho/{at or region}/accounts/oauth/v2/token", data=form)

    def token(self, region: str = "us", refresh: str | None = None) -> str:
        key = f"{region}:{refresh}"
        if key not in self._tokens:
            self._tokens[key] = self.mint(region, refresh).json()["access_token"]
        return self._tokens[key]

    def get(self, path: str, region: str = "us", token: str | None = None,
            org: str | None = MAIN, **params) -> httpx.Response:
        if org is not None:
            params["organization_id"] = org
        token = token or self.token(region)
        return self.http.get(f"/zoho/{region}/api/books/v3{path}", params=params,
                             headers={"Authorization": f"Zoho-oauthtoken {token}"})

    def all(self, entity: str, org: str = MAIN, **params) -> list[dict]:
        rows, page = [], 1
        while True:
            body = self.get(f"/{entity}", org=org, page=page, per_page=200, **params).json()
            rows += body[entity]
            if not body["page_context"]["has_more_page"]:
                return rows
            page += 1


def stamp(value: str) -> datetime:
    return datetime.strptime(value, STAMP)


def shared_config() -> SandboxConfig:
    tokens = [
        *default_refresh_tokens(),
        RefreshTokenSpec(token="1000.invoices-only", region="us",
                         scopes=["ZohoBooks.invoices.READ"]),
        RefreshTokenSpec(token="1000.labs-only", region="us", organizations=[LABS]),
    ]
    return SandboxConfig(zoho=ZohoSandboxConfig(refresh_tokens=tokens,
                                                limits=LimitsSpec(per_minute=100_000)))


def serve(config: SandboxConfig) -> Iterator[RunningSandbox]:
    """A sandbox for a module's tests, stopped after them (a fixture yields from it)."""
    running = start_sandbox(config)
    yield running
    running.stop()


def unlimited(tokens: list[RefreshTokenSpec]) -> SandboxConfig:
    """A sandbox with these refresh tokens and Zoho's limits lifted."""
    return SandboxConfig(zoho=ZohoSandboxConfig(
        refresh_tokens=tokens, limits=LimitsSpec(per_minute=1_000_000, per_day=10_000_000)))


@pytest.fixture(scope="module")
def shared() -> Iterator[RunningSandbox]:
    """One read-only sandbox for the tests that neither move the clock nor edit data."""
    yield from serve(shared_config())


@pytest.fixture(scope="module")
def zoho(shared) -> Iterator[Zoho]:
    yield from Zoho.serving(shared)


@pytest.fixture(scope="module")
def invoices(zoho) -> list[dict]:
    return zoho.all("invoices")


@pytest.fixture
def own() -> Iterator:
    """Start private sandboxes (for tests that change state); stopped after the test."""
    started: list[tuple[RunningSandbox, Zoho]] = []

    def start(zoho_config: ZohoSandboxConfig | None = None,
              start_time: float | None = JUNE_2026) -> tuple[RunningSandbox, Zoho]:
        running = start_sandbox(SandboxConfig(start_time=start_time,
                                              zoho=zoho_config or ZohoSandboxConfig()))
        started.append((running, Zoho(running)))
        return started[-1]

    yield start
    for running, client in started:
        client.http.close()
        running.stop()


# -- OAuth ---------------------------------------------------------------------------------


def test_refresh_grant_returns_a_bearer_token_for_the_regions_api_domain(zoho, shared):
    response = zoho.mint("eu")
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"access_token", "api_domain", "token_type", "expires_in"}
    assert body["api_domain"] == f"{shared.base_url}/zoho/eu/api"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    orgs = zoho.get("/organizations", region="eu", token=body["access_token"], org=None)
    assert [o["organization_id"] for o in orgs.json()["organizations"]] == [GMBH, "20088123"]


@pytest.mark.parametrize(
    ("change", "error"),
    [({"client_id": "1000.OTHER"}, "invalid_client"),
     ({"client_secret": "wrong"}, "invalid_client_secret"),
     ({"refresh_token": "1000.unknown"}, "invalid_code"),
     ({"refresh_token": "1000.sandbox-refresh-eu"}, "invalid_code")],
)
def test_token_errors_are_json_with_http_200(zoho, change, error):
    form = {"grant_type": "refresh_token", **CLIENT,
            "refresh_token": "1000.sandbox-refresh-us", **change}
    response = zoho.http.post("/zoho/us/accounts/oauth/v2/token", data=form)
    assert (response.status_code, response.json()) == (200, {"error": error})


def test_eleventh_mint_in_ten_minutes_is_denied_and_blocks_the_token(own):
    running, zoho = own()
    for _ in range(10):
        assert "access_token" in zoho.mint().json()
    denied = zoho.mint()
    assert (denied.status_code, denied.json()) == (400, ACCESS_DENIED)
    assert running.sandbox.zoho.stats()["tokens_minted"] == {"1000.sandbox-refresh-us": 10}
    running.sandbox.clock.advance(601)  # the window has passed, the block has not
    assert zoho.mint().status_code == 400
    assert "access_token" in zoho.mint("eu").json(), "other refresh tokens are not blocked"
    running.sandbox.clock.advance(300)
    assert "access_token" in zoho.mint().json()


def test_at_most_fifteen_live_tokens_per_refresh_token(own):
    _, zoho = own(ZohoSandboxConfig(limits=LimitsSpec(tokens_per_window=100)))
    tokens = [zoho.mint().json()["access_token"] for _ in range(16)]
    assert zoho.get("/invoices", token=tokens[0], per_page=1).json()["code"] == 57
    assert zoho.get("/invoices", token=tokens[1], per_page=1).status_code == 200


def test_access_token_expires_after_an_hour_on_the_sandbox_clock(own):
    running, zoho = own()
    token = zoho.token()
    running.sandbox.clock.advance(3590)
    assert zoho.get("/invoices", token=token, per_page=1).status_code == 200
    running.sandbox.clock.advance(11)
    expired = zoho.get("/invoices", token=token, per_page=1)
    # Zoho answers an expired token like a missing scope: 401, code 57.
    assert (expired.status_code, expired.json()) == (401, {
        "code": 57, "message": "You are not authorized to perform this operation"})
    by_status = running.sandbox.zoho.stats()["organizations"][MAIN]["by_status"]
    assert by_status == {"200": 1, "401": 1}


def test_authorization_code_flow_redirects_with_location_and_accounts_server(zoho, shared):
    query = {"client_id": CLIENT["client_id"], "redirect_uri": "http://localhost/cb",
             "response_type": "code", "scope": "ZohoBooks.invoices.READ,ZohoBooks.settings.READ",
             "access_type": "offline", "state": "xyz"}
    redirect = zoho.http.get("/zoho/eu/accounts/oauth/v2/auth", params=query)
    assert redirect.status_code == 302
    target = urlsplit(redirect.headers["location"])
    args = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert target.netloc == "localhost" and target.path == "/cb"
    assert args["location"] == "eu" and args["state"] == "xyz"
    assert args["accounts-server"] == f"{shared.base_url}/zoho/eu/accounts"
    exchange = {"grant_type": "authorization_code", "code": args["code"], **CLIENT,
                "redirect_uri": "http://localhost/cb"}
    at_us = zoho.http.post("/zoho/us/accounts/oauth/v2/token", data=exchange).json()
    assert at_us == {"error": "invalid_code"}, "a code is redeemed only where it was issued"
    redirect = zoho.http.get("/zoho/eu/accounts/oauth/v2/auth", params=query)
    exchange["code"] = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    body = zoho.http.post(f"{args['accounts-server']}/oauth/v2/token", data=exchange).json()
    assert body["api_domain"] == f"{shared.base_url}/zoho/eu/api"
    assert body["refresh_token"]
    again = zoho.http.post("/zoho/eu/accounts/oauth/v2/token", data=exchange).json()
    assert again == {"error": "invalid_code"}, "codes are single-use"
    token = body["access_token"]
    assert zoho.get("/invoices", region="eu", token=token, org=GMBH).status_code == 200
    bills = zoho.get("/bills", region="eu", token=token, org=GMBH)
    assert (bills.status_code, bills.json()["code"]) == (401, 57)
    refreshed = zoho.mint("eu", refresh=body["refresh_token"]).json()
    assert "access_token" in refreshed and "refresh_token" not in refreshed
    online = zoho.http.get("/zoho/eu/accounts/oauth/v2/auth",
                           params={**query, "access_type": "online"})
    exchange["code"] = parse_qs(urlsplit(online.headers["location"]).query)["code"][0]
    body = zoho.http.post("/zoho/eu/accounts/oauth/v2/token", data=exchange).json()
    assert "access_token" in body and "refresh_token" not in body


def test_revoking_a_refresh_token_kills_it_and_its_access_tokens(own):
    running, zoho = own()
    token = zoho.token()
    response = zoho.http.post("/zoho/us/accounts/oauth/v2/token/revoke",
                              params={"token": "1000.sandbox-refresh-us"})
    assert response.json() == {"status": "success"}
    assert zoho.get("/invoices", token=token).status_code == 401
    assert zoho.mint().json() == {"error": "invalid_code"}
    assert running.sandbox.zoho.revoke_refresh_token("1000.sandbox-refresh-eu") is True
    assert zoho.mint("eu").json() == {"error": "invalid_code"}


@pytest.mark.parametrize("header", ["Bearer {t}", "zoho-oauthtoken {t}", "Zoho-oauthtoken  {t}",
                                    "{t}", "Zoho-oauthtoken 1000.forged"])
def test_only_the_exact_authorization_header_is_accepted(zoho, header):
    response = zoho.http.get("/zoho/us/api/books/v3/invoices",
                             params={"organization_id": MAIN},
                             headers={"Authorization": header.format(t=zoho.token())})
    assert (response.status_code, response.json()["code"]) == (401, 57)


def test_scopes_limit_modules(zoho):
    token = zoho.token(refresh="1000.invoices-only")
    assert zoho.get("/invoices", token=token, per_page=1).status_code == 200
    for path in ("/bills", "/chartofaccounts", "/organizations"):
        response = zoho.get(path, token=token)
        assert response.status_code == 401
        assert response.json() == {"code": 57,
                                   "message": "You are not authorized to perform this operation"}


# -- regions and organizations -------------------------------------------------------------


def test_tokens_and_orgs_stay_in_their_region(zoho):
    eu_token = zoho.token("eu")
    refused = zoho.get("/invoices", region="us", token=eu_token)
    assert (refused.status_code, refused.json()["code"]) == (401, 57)
    unknown = zoho.get("/invoices", region="us", org=GMBH)
    assert unknown.status_code == 400
    assert unknown.json() == {
        "code": 6041,
        "message": f"This user is not associated with the CompanyID/CompanyName:{GMBH}.",
    }
    assert zoho.get("/invoices", region="eu", org=MAIN).json()["code"] == 6041
    assert zoho.get("/invoices", region="eu", org=GMBH).json()["code"] == 0


def test_organizations_shape(zoho):
    body = zoho.get("/organizations", org=None).json()
    assert (body["code"], body["message"]) == (0, "success")
    orgs = {o["organization_id"]: o for o in body["organizations"]}
    assert set(orgs) == {MAIN, LABS}
    main = orgs[MAIN]
    assert main["name"] == "Zillum Inc" and main["currency_code"] == "USD"
    assert main["time_zone"] == "PST" and main["fiscal_year_start_month"] == 0
    assert isinstance(main["is_default_org"], bool)
    limited = zoho.get("/organizations", token=zoho.token(refresh="1000.labs-only"), org=None)
    assert [o["organization_id"] for o in limited.json()["organizations"]] == [LABS]
    other_user = zoho.get("/invoices", token=zoho.token(refresh="1000.labs-only"))
    assert other_user.json()["code"] == 6041


def test_missing_organization_id(zoho):
    response = zoho.get("/invoices", org=None)
    assert response.status_code == 400
    assert response.json() == {"code": 6, "message": "Invalid value passed for organization_id"}


# -- lists, pagination and filters ---------------------------------------------------------


def test_pages_hold_every_record_exactly_once(zoho):
    window = {"date_start": "2026-01-01", "date_end": "2026-01-31"}
    ids, page = [], 1
    while True:
        body = zoho.get("/invoices", page=page, per_page=100, **window).json()
        context = body["page_context"]
        assert context == {"page": page, "per_page": 100,
                           "has_more_page": context["has_more_page"], "report_name": "Invoices",
                           "applied_filter": "Status.All", "sort_column": "created_time",
                           "sort_order": "D"}
        ids += [r["invoice_id"] for r in body["invoices"]]
        if not context["has_more_page"]:
            break
        assert len(body["invoices"]) == 100
        page += 1
    assert page > 5
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(r["invoice_id"] for r in zoho.all("invoices", **window))
    after = zoho.get("/invoices", page=page + 1, per_page=100, **window).json()
    assert after["invoices"] == [] and after["page_context"]["has_more_page"] is False


def test_per_page_above_200_is_clamped(zoho):
    body = zoho.get("/bills", per_page=1000).json()
    assert body["page_context"]["per_page"] == 200 and len(body["bills"]) == 200


def test_rows_have_the_documented_fields(zoho, invoices):
    assert set(invoices[0]) == {
        "invoice_id", "invoice_number", "customer_id", "customer_name", "status", "date",
        "due_date", "currency_id", "currency_code", "exchange_rate", "total", "balance",
        "reference_number", "salesperson_name", "due_days", "is_emailed", "last_payment_date",
        "created_time", "last_modified_time", "salesperson_id", "location_id", "location_name"}
    assert len(invoices) == 3000
    assert all(isinstance(r["invoice_id"], str) for r in invoices)
    created = [stamp(r["created_time"]) for r in invoices]
    assert created == sorted(created, reverse=True) and len(set(created)) == len(created)
    assert all(r["date"] == r["created_time"][:10] for r in invoices)
    assert all(r["created_time"].endswith("-0800") for r in invoices)
    assert {"draft", "void", "paid", "sent"} <= {r["status"] for r in invoices}
    rates = {(r["currency_code"], r["date"][:7]): r["exchange_rate"] for r in invoices}
    assert {c for c, _ in rates} == {"USD", "EUR", "GBP"}
    assert rates[("EUR", "2026-01")] != rates[("EUR", "2026-02")]
    assert all(v == 1.0 for (c, _), v in rates.items() if c == "USD")
    lags = [stamp(r["last_modified_time"]) - stamp(r["created_time"]) for r in invoices]
    late = sum(timedelta(days=1) <= lag for lag in lags) / len(lags)
    very_late = sum(timedelta(days=10) <= lag for lag in lags) / len(lags)
    assert 0.12 < late < 0.28 and 0.02 < very_late < 0.09
    assert max(lags) <= timedelta(days=40) and min(lags) >= timedelta(0)
    bills = zoho.get("/bills", per_page=5).json()["bills"]
    assert set(bills[0]) == {
        "bill_id", "bill_number", "vendor_id", "vendor_name", "status", "date", "due_date",
        "currency_id", "currency_code", "exchange_rate", "total", "balance",
        "reference_number", "created_time", "last_modified_time", "location_id",
        "location_name"}
    orders = zoho.get("/purchaseorders", per_page=5).json()["purchaseorders"]
    assert {"purchaseorder_id", "purchaseorder_number", "vendor_id", "vendor_name", "status",
            "date", "delivery_date", "currency_code", "exchange_rate", "total"} <= set(orders[0])


def test_date_start_and_date_end_are_inclusive(zoho, invoices):
    days = Counter(r["date"] for r in invoices)
    assert days["2026-01-31"] and days["2026-02-01"] and days["2026-02-28"] and days["2026-03-01"]
    got = zoho.all("invoices", date_start="2026-02-01", date_end="2026-02-28")
    expected = {r["invoice_id"] for r in invoices if "2026-02-01" <= r["date"] <= "2026-02-28"}
    assert {r["invoice_id"] for r in got} == expected and len(got) == len(expected)
    exclusive = zoho.all("invoices", date_after="2026-01-31", date_before="2026-03-01")
    assert {r["invoice_id"] for r in exclusive} == expected
    one_day = zoho.all("invoices", date_start="2026-03-01", date_end="2026-03-01")
    assert len(one_day) == days["2026-03-01"]


def test_last_modified_time_returns_records_modified_strictly_after(zoho):
    bills = zoho.all("bills")
    stamps = sorted(stamp(r["last_modified_time"]) for r in bills)
    cut = stamps[len(stamps) // 2]
    expected = {r["bill_id"] for r in bills if stamp(r["last_modified_time"]) > cut}
    at_cut = {r["bill_id"] for r in bills if stamp(r["last_modified_time"]) == cut}
    assert expected and at_cut and len(expected) < len(bills)
    got = zoho.all("bills", last_modified_time=cut.strftime(STAMP))
    assert {r["bill_id"] for r in got} == expected
    in_cet = cut.astimezone(timezone(timedelta(hours=1))).strftime(STAMP)
    assert in_cet.endswith("+0100")
    assert {r["bill_id"] for r in zoho.all("bills", last_modified_time=in_cet)} == expected
    raw_plus = zoho.http.get(
        f"/zoho/us/api/books/v3/bills?organization_id={MAIN}&per_page=200"
        f"&last_modified_time={in_cet}",
        headers={"Authorization": f"Zoho-oauthtoken {zoho.token()}"},
    ).json()
    assert {r["bill_id"] for r in raw_plus["bills"]} <= expected
    assert len(raw_plus["bills"]) == min(200, len(expected))


def test_status_customer_and_filter_by(zoho, invoices):
    by_status = Counter(r["status"] for r in invoices)
    drafts = zoho.all("invoices", status="draft")
    assert len(drafts) == by_status["draft"] > 0
    assert {r["status"] for r in drafts} == {"draft"}
    unpaid = zoho.all("invoices", status="unpaid")
    assert {r["status"] for r in unpaid} == {"sent", "viewed", "overdue", "partially_paid"}
    void = zoho.all("invoices", filter_by="Status.Void", date_start="2026-03-01")
    assert {r["invoice_id"] for r in void} == {
        r["invoice_id"] for r in invoices if r["status"] == "void" and r["date"] >= "2026-03-01"}
    customer = invoices[0]["customer_id"]
    mine = zoho.all("invoices", customer_id=customer)
    assert {r["invoice_id"] for r in mine} == {
        r["invoice_id"] for r in invoices if r["customer_id"] == customer}
    bad = zoho.get("/invoices", status="lost")
    assert (bad.status_code, bad.json()["code"]) == (400, 2)


def test_sort_by_total_ascending(zoho):
    body = zoho.get("/invoices", sort_column="total", sort_order="A", per_page=200,
                    date_start="2026-02-01", date_end="2026-02-10").json()
    totals = [r["total"] for r in body["invoices"]]
    assert totals == sorted(totals)
    assert body["page_context"]["sort_column"] == "total"
    assert body["page_context"]["sort_order"] == "A"


@pytest.mark.parametrize(
    "params",
    [{"date_start": "2026-13-01"}, {"date_end": "01/02/2026"},
     {"last_modified_time": "yesterday"}, {"last_modified_time": "2026-01-01"},
     {"sort_column": "colour"}, {"sort_order": "X"}, {"page": "0"}, {"per_page": "many"},
     {"filter_by": "Colour.Red"}],
)
def test_malformed_parameters_are_400_with_a_code(zoho, params):
    response = zoho.get("/invoices", **params)
    assert response.status_code == 400
    assert response.json()["code"] == 2 and response.json()["message"]


def test_other_entities_list(zoho):
    contacts = zoho.all("contacts")
    assert Counter(c["contact_type"] for c in contacts) == {"customer": 60, "vendor": 40}
    accounts = zoho.get("/chartofaccounts", filter_by="AccountType.All").json()
    rows = accounts["chartofaccounts"]
    assert len(rows) >= 25
    assert {"account_id", "account_name", "account_code", "account_type", "is_active",
            "parent_account_id"} <= set(rows[0])
    assert zoho.get("/items").json()["items"]


# -- details -------------------------------------------------------------------------------


@pytest.mark.parametrize(("entity", "key", "account_types"),
                         [("invoices", "invoice", {"income"}),
                          ("bills", "bill", {"expense", "cost_of_goods_sold"}),
                          ("purchaseorders", "purchaseorder", {"expense", "cost_of_goods_sold"})])
def test_detail_line_items_add_up_to_the_totals(zoho, entity, key, account_types):
    chart = {a["account_id"]: a for a in zoho.get("/chartofaccounts").json()["chartofaccounts"]}
    rows = zoho.get(f"/{entity}", per_page=25).json()[entity]
    id_field = f"{key}_id"
    for row in rows:
        detail = zoho.get(f"/{entity}/{row[id_field]}").json()
        assert (detail["code"], detail["message"]) == (0, "success")
        record = detail[key]
        lines = record["line_items"]
        assert 1 <= len(lines) <= 4
        assert {"line_item_id", "item_id", "name", "description", "account_id", "account_name",
                "rate", "quantity", "discount", "discount_amount", "tax_id", "tax_name",
                "tax_percentage", "item_total"} <= set(lines[0])
        cents = round(sum(line["item_total"] for line in lines) * 100)
        assert cents == round(record["sub_total"] * 100)
        # The total is not sub_total + tax_total: discount, shipping and adjustment count too.
        extras = round((record["shipping_charge"] + record["adjustment"]) * 100)
        if record["is_inclusive_tax"]:
            expected = cents + extras
        else:
            expected = (cents - round(record["discount_amount"] * 100)
                        + round(record["tax_total"] * 100) + extras)
        assert expected == round(row["total"] * 100)
        assert record["total"] == row["total"]
        for line in lines:
            assert chart[line["account_id"]]["account_type"] in account_types
            assert chart[line["account_id"]]["account_name"] == line["account_name"]


def test_unknown_record_url_and_method(zoho):
    missing = zoho.get("/invoices/4646951999999999")
    assert (missing.status_code, missing.json()) == (404, {"code": 1002,
                                                           "message": "Invoice does not exist."})
    assert zoho.get("/bills/garbage").json() == {"code": 1002, "message": "Bill does not exist."}
    url = zoho.get("/salesreceipts")
    assert (url.status_code, url.json()) == (404, {"code": 5, "message": "Invalid URL Passed"})
    method = zoho.http.delete("/zoho/us/api/books/v3/invoices",
                              params={"organization_id": MAIN},
                              headers={"Authorization": f"Zoho-oauthtoken {zoho.token()}"})
    assert (method.status_code, method.json()["code"]) == (405, 37)


# -- limits --------------------------------------------------------------------------------


def test_per_minute_limit_gives_code_44_without_a_reset_hint(own):
    running, zoho = own(ZohoSandboxConfig(limits=LimitsSpec(per_minute=5, per_day=1000)))
    for _ in range(5):
        assert zoho.get("/invoices", per_page=1).status_code == 200
    limited = zoho.get("/invoices", per_page=1)
    assert limited.status_code == 429
    assert limited.json() == {"code": 44, "message": PER_MINUTE_MESSAGE}
    assert "retry-after" not in limited.headers
    # The X-Rate-Limit-* headers still describe the day, not the minute.
    assert limited.headers["X-Rate-Limit-Limit"] == "1000"
    assert limited.headers["X-Rate-Limit-Remaining"] == "995"
    assert zoho.get("/organizations", org=None).status_code == 200, "not counted per org"
    assert zoho.get("/invoices", org=LABS).status_code == 200, "limits are per org"
    stats = running.sandbox.zoho.stats()
    assert [(r["organization_id"], r["code"]) for r in stats["rate_limited"]] == [(MAIN, 44)]
    running.sandbox.clock.advance(61)
    assert zoho.get("/invoices", per_page=1).status_code == 200


def test_every_response_carries_the_daily_quota(own):
    running, zoho = own(ZohoSandboxConfig(limits=LimitsSpec(per_day=4)))
    clock = running.sandbox.clock
    # The org's day ends at midnight in its zone (-0800): the reset counts down to it.
    local = datetime.fromtimestamp(clock.now(), timezone(timedelta(hours=-8)))
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    seen = []
    for path in ("/invoices", "/bills/garbage", "/invoices", "/contacts"):
        response = zoho.get(path, per_page=1)
        seen.append((response.status_code, response.headers["X-Rate-Limit-Limit"],
                     response.headers["X-Rate-Limit-Remaining"]))
        reset = int(response.headers["X-Rate-Limit-Reset"])
        assert abs(reset - (midnight.timestamp() - clock.now())) <= 1
    assert seen == [(200, "4", "3"), (404, "4", "2"), (200, "4", "1"), (200, "4", "0")]
    capped = zoho.get("/invoices", per_page=1)
    assert (capped.status_code, capped.json()["code"]) == (429, 45)
    assert capped.headers["X-Rate-Limit-Remaining"] == "0"


def test_paths_with_a_trailing_slash_are_accepted(zoho):
    listed = zoho.get("/invoices/", per_page=2)
    assert listed.status_code == 200 and len(listed.json()["invoices"]) == 2
    record_id = listed.json()["invoices"][0]["invoice_id"]
    detail = zoho.get(f"/invoices/{record_id}/")
    assert detail.status_code == 200 and detail.json()["invoice"]["invoice_id"] == record_id
    assert zoho.get("/organizations/", org=None).status_code == 200


def test_every_write_attempt_is_counted(zoho, shared):
    headers = {"Authorization": f"Zoho-oauthtoken {zoho.token()}"}
    before = shared.sandbox.zoho.stats()["writes"]
    for method in ("POST", "PUT", "DELETE"):
        response = zoho.http.request(method, "/zoho/us/api/books/v3/invoices/",
                                     params={"organization_id": MAIN}, headers=headers)
        assert response.status_code == 405
    zoho.get("/invoices", per_page=1)
    assert shared.sandbox.zoho.stats()["writes"] == before + 3


def test_daily_cap_gives_code_45(own):
    running, zoho = own(ZohoSandboxConfig(limits=LimitsSpec(per_day=3)))
    assert [zoho.get("/bills").status_code for _ in range(3)] == [200] * 3
    capped = zoho.get("/bills")
    assert capped.status_code == 429
    assert capped.json() == {"code": 45, "message": "The API call for this organization has "
                             "exceeded the maximum call rate limit of 3."}
    running.sandbox.clock.advance(86400)
    fresh = zoho.mint().json()["access_token"]
    assert zoho.get("/bills", token=fresh).status_code == 200


def test_concurrency_limit_gives_code_1070(own):
    orgs = [OrgSpec(organization_id="10000001", name="Slow Co", region="us",
                    response_delay=0.6)]
    running, zoho = own(ZohoSandboxConfig(organizations=orgs,
                                          limits=LimitsSpec(concurrency=2)))
    token = zoho.token()
    barrier = threading.Barrier(5)
    results: list[httpx.Response] = []

    def call() -> None:
        with httpx.Client(base_url=running.base_url, timeout=30) as http:
            barrier.wait()
            results.append(http.get(
                "/zoho/us/api/books/v3/invoices", params={"organization_id": "10000001"},
                headers={"Authorization": f"Zoho-oauthtoken {token}"}))

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = Counter(r.status_code for r in results)
    assert statuses[200] >= 2 and statuses[429] >= 1
    refused = next(r for r in results if r.status_code == 429)
    assert refused.json() == {"code": 1070, "message": "You have reached the maximum number of "
                              "in process requests allowed. Kindly try again after some time."}
    assert running.sandbox.zoho.stats()["organizations"]["10000001"]["max_in_flight"] == 2


def test_faults_render_in_zoho_error_shape(zoho, shared):
    shared.sandbox.faults.arm(Fault(kind="rate_limit", api="zoho", path="/bills"))
    limited = zoho.get("/bills")
    assert (limited.status_code, limited.json()["code"]) == (429, 44)
    shared.sandbox.faults.arm(Fault(kind="server_error", api="zoho", path="/bills", status=503))
    failed = zoho.get("/bills")
    assert (failed.status_code, failed.json()) == (503, {"code": 1000,
                                                         "message": "Internal Error"})
    assert zoho.get("/bills").status_code == 200


# -- edits, admin, determinism, scale ------------------------------------------------------


def test_edit_record_moves_last_modified_time(own):
    running, zoho = own()
    everything = zoho.all("invoices")
    newest = max(stamp(r["last_modified_time"]) for r in everything)
    since = newest.strftime(STAMP)
    assert zoho.all("invoices", last_modified_time=since) == []
    target = everything[500]["invoice_id"]
    running.sandbox.clock.advance(600)
    edited = running.sandbox.zoho.edit_record(MAIN, "invoices", target,
                                              {"reference_number": "EDITED-1"})
    now = datetime.fromtimestamp(running.sandbox.clock.now(), timezone.utc)
    assert abs(stamp(edited["last_modified_time"]) - now) < timedelta(seconds=5)
    assert edited["line_items"], "the record returned is the full record"
    changed = zoho.all("invoices", last_modified_time=since)
    assert [(r["invoice_id"], r["reference_number"]) for r in changed] == [(target, "EDITED-1")]
    admin = zoho.http.post(f"/_sandbox/zoho/orgs/{MAIN}/invoices/{target}/edit",
                           json={"changes": {"status": "void", "balance": 0.0}})
    assert admin.status_code == 200 and admin.json()["status"] == "void"
    raw = zoho.http.get(f"/_sandbox/zoho/orgs/{MAIN}/invoices/{target}").json()
    assert raw["status"] == "void" and raw["reference_number"] == "EDITED-1"
    assert raw["line_items"]
    voids = {r["invoice_id"] for r in zoho.all("invoices", status="void")}
    assert target in voids
    assert zoho.http.get(f"/_sandbox/zoho/orgs/{MAIN}/invoices/4646951999999999").status_code \
        == 404


def test_a_held_clock_dates_responses_and_edits_within_one_second(own):
    """Responses carry the sandbox clock's ``Date``; a held clock stands still (``advance``
    still moves it), and ``same_second`` keeps a record's stamp: two edits, one second."""
    running, zoho = own()
    running.sandbox.clock.advance(86400)
    target = zoho.all("invoices")[7]["invoice_id"]
    held = zoho.http.post("/_sandbox/clock/hold").json()
    assert held["held"] is True
    first = zoho.http.post(f"/_sandbox/zoho/orgs/{MAIN}/invoices/{target}/edit",
                           json={"changes": {"reference_number": "ONE"}}).json()
    time.sleep(1.1)  # real time moves on, the held clock does not
    detail = zoho.get(f"/invoices/{target}")
    served = parsedate_to_datetime(detail.headers["date"])
    assert served == stamp(first["last_modified_time"]) == datetime.fromtimestamp(
        int(held["now"]), timezone.utc)
    second = zoho.http.post(f"/_sandbox/zoho/orgs/{MAIN}/invoices/{target}/edit",
                            json={"changes": {"reference_number": "TWO"},
                                  "same_second": True}).json()
    assert second["last_modified_time"] == first["last_modified_time"]
    assert second["reference_number"] == "TWO"
    moved = zoho.http.post("/_sandbox/clock/advance", json={"seconds": 60}).json()["now"]
    assert moved == pytest.approx(held["now"] + 60)
    released = zoho.http.post("/_sandbox/clock/release").json()
    assert released["held"] is False and released["now"] >= moved
    assert len(zoho.get("/invoices", per_page=1).headers.get_list("date")) == 1
    later = zoho.http.post(f"/_sandbox/zoho/orgs/{MAIN}/invoices/{target}/edit",
                           json={"changes": {"reference_number": "THREE"}}).json()
    assert stamp(later["last_modified_time"]) >= served + timedelta(seconds=60)


def test_admin_stats_over_http(own):
    _, zoho = own()
    zoho.get("/invoices", per_page=1)
    zoho.get("/invoices/1")
    stats = zoho.http.get("/_sandbox/zoho/stats").json()
    org = stats["organizations"][MAIN]
    assert org["by_path"] == {"/books/v3/invoices": 1, "/books/v3/invoices/{id}": 1}
    assert org["by_status"] == {"200": 1, "404": 1} and org["total"] == 2
    assert stats["tokens_minted"] == {"1000.sandbox-refresh-us": 1}
    assert zoho.http.post("/_sandbox/zoho/reset-stats").status_code == 200
    assert zoho.http.get("/_sandbox/zoho/stats").json()["organizations"] == {}


def test_same_seed_gives_the_same_data(own):
    pages = []
    for seed in (7, 7, 8):
        _, zoho = own(ZohoSandboxConfig(seed=seed))
        body = zoho.get("/invoices", page=3, per_page=50, date_start="2026-02-01").json()
        first = body["invoices"][0]["invoice_id"]
        pages.append((body["invoices"], zoho.get(f"/invoices/{first}").json()))
    assert pages[0] == pages[1]
    assert pages[0] != pages[2]


def test_a_million_invoices_serve_deep_pages_exactly(own):
    big = OrgSpec(organization_id="99000001", name="Big Co", region="us", utc_offset="+0100",
                  invoices=1_000_000)
    running, zoho = own(ZohoSandboxConfig(organizations=[big]))
    table = running.sandbox.zoho.orgs["99000001"].stores["invoices"].table
    tz = timezone(timedelta(hours=1))
    start, end = date(2026, 1, 5), date(2026, 3, 25)
    low = datetime(2026, 1, 5, tzinfo=tz).timestamp()
    high = datetime(2026, 3, 26, tzinfo=tz).timestamp()
    inside = [i for i in range(table.count) if low <= table.created(i) < high]
    assert inside == list(range(inside[0], inside[-1] + 1))
    window = {"date_start": start.isoformat(), "date_end": end.isoformat(), "per_page": 200}
    for page in (1, 4000):
        body = zoho.get("/invoices", org="99000001", page=page, **window).json()
        rows = body["invoices"]
        expected = inside[::-1][(page - 1) * 200: page * 200]
        assert [r["invoice_id"] for r in rows] == [table.record_id(i) for i in expected]
        assert all(start.isoformat() <= r["date"] <= end.isoformat() for r in rows)
        assert body["page_context"]["has_more_page"] is True
    last_page = -(-len(inside) // 200)
    tail = zoho.get("/invoices", org="99000001", page=last_page, **window).json()
    assert tail["invoices"][-1]["invoice_id"] == table.record_id(inside[0])
    assert tail["page_context"]["has_more_page"] is False
    before = zoho.get(f"/invoices/{table.record_id(inside[0] - 1)}", org="99000001").json()
    after = zoho.get(f"/invoices/{table.record_id(inside[-1] + 1)}", org="99000001").json()
    assert before["invoice"]["date"] == "2026-01-04"
    assert after["invoice"]["date"] == "2026-03-26"


def test_added_record_is_the_newest_and_described(own):
    running, zoho = own()
    added = zoho.http.post(f"/_sandbox/zoho/orgs/{MAIN}/invoices",
                           json={"fields": {"status": "draft"}}).json()
    newest = zoho.get("/invoices", per_page=1).json()["invoices"][0]
    assert newest["invoice_id"] == added["invoice_id"] and newest["status"] == "draft"
    assert newest["invoice_number"] == "INV-003001"
    assert newest["date"] == "2026-05-31", "created now: 2026-06-01T00:00Z is May 31 in PST"
    assert zoho.get("/invoices", per_page=1).headers["X-Rate-Limit-Limit"] == "10000"
    text = running.sandbox.describe(running.base_url)
    for fact in (f"{running.base_url}/zoho/eu/accounts", f"{running.base_url}/zoho/jp/api",
                 "1000.SANDBOXCLIENT", "sandbox-client-secret", "1000.sandbox-refresh-sa",
                 "org 10234695", "3001 invoices", "2000 bills", "org 20071234"):
        assert fact in text


def test_a_deleted_document_is_gone_from_details_listings_and_the_pnl(own):
    from ml_connector_sandbox.zoho import pnl

    running, zoho = own()
    emu = running.sandbox.zoho
    january = [r for r in zoho.all("invoices", date_start="2026-01-01", date_end="2026-01-31")
               if r["status"] not in ("draft", "void")]
    target = january[3]["invoice_id"]
    before = pnl.actuals(emu, MAIN, ["invoices"], date(2026, 1, 1), date(2026, 2, 1))
    detail = zoho.get(f"/invoices/{target}").json()["invoice"]
    since = max(r["last_modified_time"] for r in zoho.all("invoices"))
    gone = zoho.http.delete(f"/_sandbox/zoho/orgs/{MAIN}/invoices/{target}")
    assert gone.status_code == 200 and gone.json()["deleted"]["invoice_id"] == target
    answer = zoho.get(f"/invoices/{target}")
    assert (answer.status_code, answer.json()) == (
        404, {"code": 1002, "message": "Invoice does not exist."})
    assert target not in {r["invoice_id"] for r in zoho.all("invoices")}
    assert target not in {r["invoice_id"] for r in zoho.all(
        "invoices", date_start="2026-01-01", date_end="2026-01-31")}
    assert zoho.all("invoices", last_modified_time=since) == []
    after = pnl.actuals(emu, MAIN, ["invoices"], date(2026, 1, 1), date(2026, 2, 1))
    changed = {k for k in before if before[k] != after.get(k, 0)}
    postings = pnl.document_postings("invoices", detail)
    assert changed and len(changed) <= len(postings)
    assert sum(before.values()) > sum(after.values()), "an invoice's income is gone"
    again = zoho.http.delete(f"/_sandbox/zoho/orgs/{MAIN}/invoices/{target}")
    assert again.status_code == 404
    edit = zoho.http.post(f"/_sandbox/zoho/orgs/{MAIN}/invoices/{target}/edit",
                          json={"changes": {"status": "void"}})
    assert edit.status_code == 404
