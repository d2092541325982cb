"""Planning dimensions in the Zoho emulator over real HTTP: reporting tags (both tag-list
shapes, line tags in details only, untagged lines, a hierarchy, a renamed and an inactive
option), locations, projects, items, salespersons, their scopes, the P&L by tag option and
by location, and the fingerprint of every value that existed before dimensions did."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest

from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.server import RunningSandbox, start_sandbox
from ml_connector_sandbox.zoho import LimitsSpec, OrgSpec, RefreshTokenSpec, ZohoSandboxConfig
from ml_connector_sandbox.zoho.config import (
    READ_SCOPES,
    DimensionsSpec,
    ReportingTagSpec,
    TagOptionSpec,
    default_refresh_tokens,
)
from ml_connector_sandbox.zoho.pnl import (
    account_pnl,
    account_pnl_by,
    actuals,
    actuals_by,
    by_location,
    by_project,
    by_tag,
    profit_and_loss,
    profit_and_loss_by,
)

from .test_zoho_emulator import MAIN, Zoho, serve, unlimited

#: sha256 of January 2026's invoice, bill and credit-note details of the demo company as
#: they were before dimensions existed (the new fields removed): every generated value
#: (counts, ids, dates, amounts, statuses, accounts) is unchanged.
JANUARY_FINGERPRINT = "e4ea7bc93b2204879c0fbb8f2b016d2a34742ab8eedb5a6f3d487bbf70c74ba3"
NEW_HEADER_FIELDS = {"salesperson_id", "location_id", "location_name", "project_id", "tags"}
NEW_LINE_FIELDS = {"tags", "location_id", "location_name", "project_id", "project_name", "sku"}
DETAIL = {"invoices": "invoice", "bills": "bill", "creditnotes": "creditnote",
          "vendorcredits": "vendor_credit", "purchaseorders": "purchaseorder",
          "expenses": "expense", "journals": "journal"}
LIST_KEY = {**{k: k for k in DETAIL}, "vendorcredits": "vendor_credits"}
ID_FIELD = {"invoices": "invoice_id", "bills": "bill_id", "creditnotes": "creditnote_id",
            "vendorcredits": "vendor_credit_id", "purchaseorders": "purchaseorder_id",
            "expenses": "expense_id", "journals": "journal_id"}
JANUARY = {"date_start": "2026-01-01", "date_end": "2026-01-31"}
TAG_FIELDS = {"tag_id", "tag_name", "tag_option_id", "tag_option_name", "is_tag_mandatory"}
WITHOUT_SETTINGS = [s for s in READ_SCOPES if s != "ZohoBooks.settings.READ"]
WITHOUT_PROJECTS = [s for s in READ_SCOPES if s != "ZohoBooks.projects.READ"]


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSandbox]:
    tokens = [*default_refresh_tokens(),
              RefreshTokenSpec(token="1000.no-settings", region="us", scopes=WITHOUT_SETTINGS),
              RefreshTokenSpec(token="1000.no-projects", region="us", scopes=WITHOUT_PROJECTS)]
    yield from serve(unlimited(tokens))


@pytest.fixture(scope="module")
def zoho(running) -> Iterator[Zoho]:
    yield from Zoho.serving(running)


@pytest.fixture
def own() -> Iterator:
    """Start private sandboxes (for tests that change state or the configuration)."""
    started: list[tuple[RunningSandbox, Zoho]] = []

    def start(config: ZohoSandboxConfig | None = None) -> tuple[RunningSandbox, Zoho]:
        config = config or ZohoSandboxConfig()
        config.limits = LimitsSpec(per_minute=1_000_000, per_day=10_000_000)
        running = start_sandbox(SandboxConfig(zoho=config))
        started.append((running, Zoho(running)))
        return started[-1]

    yield start
    for running, client in started:
        client.http.close()
        running.stop()


def rows_of(zoho: Zoho, path: str, **params) -> list[dict]:
    rows, page = [], 1
    while True:
        body = zoho.get(f"/{path}", page=page, per_page=200, **params).json()
        rows += body[LIST_KEY[path]]
        if not body["page_context"]["has_more_page"]:
            return rows
        page += 1


def details(zoho: Zoho, path: str, rows: list[dict]) -> list[dict]:
    token = zoho.token()

    def one(row: dict) -> dict:
        return zoho.get(f"/{path}/{row[ID_FIELD[path]]}", token=token).json()[DETAIL[path]]

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, rows))


@pytest.fixture(scope="module")
def january(zoho) -> dict[str, list[tuple[dict, dict]]]:
    """(list row, detail) of every posting document of January 2026, per module."""
    found = {}
    for path in ("invoices", "bills", "creditnotes", "vendorcredits", "purchaseorders",
                 "expenses", "journals"):
        rows = rows_of(zoho, path, **JANUARY)
        found[path] = list(zip(rows, details(zoho, path, rows), strict=True))
    return found


@pytest.fixture(scope="module")
def options(zoho) -> dict[str, dict]:
    """Department's options by name, as /reportingtags/{id}/options/all lists them."""
    tags = {t["tag_name"]: t for t in zoho.get("/reportingtags").json()["tags"]}
    body = zoho.get(f"/reportingtags/{tags['Department']['tag_id']}/options/all").json()
    return {o["option_name"]: o for o in body["results"]}


def without_new_fields(doc: dict) -> dict:
    lines = [{k: v for k, v in line.items() if k not in NEW_LINE_FIELDS}
             for line in doc["line_items"]]
    return {**{k: v for k, v in doc.items() if k not in NEW_HEADER_FIELDS},
            "line_items": lines}


def department(line: dict) -> str | None:
    return next((t["tag_option_name"] for t in line.get("tags", [])
                 if t["tag_name"] == "Department"), None)


# -- existing data -----------------------------------------------------------------------------


def test_every_value_generated_before_dimensions_is_unchanged(january):
    digest = hashlib.sha256()
    for path in ("invoices", "bills", "creditnotes"):
        docs = sorted((doc for _row, doc in january[path]), key=lambda d: d[ID_FIELD[path]])
        for doc in docs:
            digest.update(json.dumps(without_new_fields(doc), sort_keys=True).encode())
    assert digest.hexdigest() == JANUARY_FINGERPRINT
    invoice = january["invoices"][0][1]
    assert {"salesperson_id", "location_id"} <= set(invoice), "the new fields are there"
    assert all("tags" in line for line in invoice["line_items"])


# -- reporting tags ----------------------------------------------------------------------------


def test_reportingtags_lists_tags_and_options_in_their_hierarchy(zoho, options):
    tags = zoho.get("/reportingtags").json()
    assert [(t["tag_name"], t["is_active"]) for t in tags["tags"]] == [
        ("Department", True), ("Channel", True)]
    assert tags["code"] == 0 and all(t["tag_id"].isdigit() for t in tags["tags"])
    assert list(options) == ["Americas", "Sales", "Marketing", "Customer Success", "EMEA",
                             "Engineering", "Operations", "Events", "Untagged"]
    assert [o["depth"] for o in options.values()] == [0, 1, 1, 1, 0, 1, 1, 1, 0]
    regions = {options["Americas"]["option_id"]: "Americas",
               options["EMEA"]["option_id"]: "EMEA"}
    assert {name: regions.get(o["parent_option_id"]) for name, o in options.items()} == {
        "Americas": None, "Sales": "Americas", "Marketing": "Americas",
        "Customer Success": "Americas", "EMEA": None, "Engineering": "EMEA",
        "Operations": "EMEA", "Events": "EMEA", "Untagged": None}
    assert [n for n, o in options.items() if not o["is_active"]] == ["Events"]
    assert options["Untagged"]["option_id"] == "untagged"
    assert "Support" not in options, "the renamed option has its new name"
    # The older shape answers as an unknown URL; these are GET-only resources.
    for path in ("/settings/tags", f"/settings/tags/{tags['tags'][0]['tag_id']}"):
        refused = zoho.get(path)
        assert (refused.status_code, refused.json()["code"]) == (404, 5)
    posted = zoho.http.post(f"/zoho/us/api/books/v3/reportingtags?organization_id={MAIN}",
                            headers={"Authorization": f"Zoho-oauthtoken {zoho.token()}"})
    assert (posted.status_code, posted.json()["code"]) == (405, 37)
    missing = zoho.get("/reportingtags/123/options/all")
    assert (missing.status_code, missing.json()["code"]) == (404, 1002)


def test_tags_are_on_the_lines_of_details_only(zoho, january, options):
    for path, documents in january.items():
        for row, doc in documents:
            assert "line_items" not in row and "tags" not in row
            if path == "expenses":
                assert "line_items" not in doc and "tags" not in doc
                continue
            for line in doc["line_items"]:
                assert isinstance(line["tags"], list), (path, line)
                for entry in line["tags"]:
                    assert set(entry) == TAG_FIELDS and entry["is_tag_mandatory"] is False
    lines = [line for path in ("invoices", "bills", "vendorcredits", "purchaseorders",
                               "journals", "creditnotes")
             for _row, doc in january[path] for line in doc["line_items"]]
    tagged = Counter(department(line) for line in lines)
    share = 1 - tagged[None] / len(lines)
    assert 0.78 < share < 0.92, "most lines carry a department, some none"
    leaves = {"Sales", "Marketing", "Customer Success", "Engineering", "Operations", "Events"}
    assert set(tagged) - {None} == leaves, "regions group departments; lines never carry one"
    for line in lines:
        for entry in line["tags"]:
            if entry["tag_name"] == "Department":
                assert options[entry["tag_option_name"]]["option_id"] == entry["tag_option_id"]
    partly = [doc for _row, doc in january["invoices"]
              if len({department(line) is None for line in doc["line_items"]}) == 2]
    untagged = [doc for _row, doc in january["invoices"]
                if all(department(line) is None for line in doc["line_items"])]
    assert partly and untagged, "documents tagged in part and not at all"
    channels = {path for path, documents in january.items() for _row, doc in documents
                for line in doc.get("line_items", []) for entry in line["tags"]
                if entry["tag_name"] == "Channel"}
    assert channels == {"invoices", "creditnotes"}


def test_the_inactive_option_is_on_documents_from_before_it_was_retired(zoho, january):
    used = [doc["date"] for _row, doc in january["invoices"] + january["bills"]
            if any(department(line) == "Events" for line in doc["line_items"])]
    assert used and max(used) <= "2026-01-31"
    march = rows_of(zoho, "invoices", date_start="2026-03-01", date_end="2026-03-10")
    assert not any(department(line) == "Events" for doc in details(zoho, "invoices", march)
                   for line in doc["line_items"])


def test_a_renamed_option_shows_its_current_name_and_an_edit_changes_no_document(own):
    running, zoho = own()
    main = running.sandbox.zoho
    tag_id = zoho.get("/reportingtags").json()["tags"][0]["tag_id"]
    found = {o["option_name"]: o for o in
             zoho.get(f"/reportingtags/{tag_id}/options/all").json()["results"]}
    rows = rows_of(zoho, "invoices", date_start="2026-01-01", date_end="2026-01-05")
    before = details(zoho, "invoices", rows)
    carriers = [doc for doc in before
                if any(department(line) == "Customer Success" for line in doc["line_items"])]
    assert carriers and not any(department(line) == "Support" for doc in before
                                for line in doc["line_items"])
    option = found["Customer Success"]["option_id"]
    admin = f"/_sandbox/zoho/orgs/{MAIN}/reportingtags/{tag_id}/options/{option}/edit"
    renamed = zoho.http.post(admin, json={"changes": {"option_name": "Client Success",
                                                      "is_active": False}})
    assert renamed.json()["option_name"] == "Client Success", renamed.text
    after = details(zoho, "invoices", rows)
    for old, new in zip(before, after, strict=True):
        assert old["last_modified_time"] == new["last_modified_time"]
        assert [department(line) for line in new["line_items"]] == [
            "Client Success" if name == "Customer Success" else name
            for name in (department(line) for line in old["line_items"])]
    again = {o["option_name"]: o for o in
             zoho.get(f"/reportingtags/{tag_id}/options/all").json()["results"]}
    assert again["Client Success"]["option_id"] == option
    assert again["Client Success"]["is_active"] is False
    taken = zoho.http.post(admin, json={"changes": {"option_name": "Sales"}})
    assert taken.status_code == 400
    added = main.add_tag_option(MAIN, tag_id, {"option_name": "Legal",
                                               "parent_option_id": found["EMEA"]["option_id"]})
    assert (added["depth"], added["parent_option_id"]) == (1, found["EMEA"]["option_id"])
    location = zoho.http.post(f"/_sandbox/zoho/orgs/{MAIN}/locations", json={"fields": {
        "location_name": "Austin", "parent_location_id": main.dimensions(MAIN).locations[0]
        .location_id}})
    assert location.status_code == 200, location.text
    listed = {x["location_name"]: x for x in zoho.get("/locations").json()["locations"]}
    assert listed["Austin"]["parent_location_id"] == listed["North America"]["location_id"]


def test_the_older_tag_shape_and_original_option_names(own):
    settings = DimensionsSpec(tag_endpoints="settings", option_names_on_documents="original",
                              creditnote_tags=False)
    _running, zoho = own(ZohoSandboxConfig(dimensions=settings))
    tags = zoho.get("/settings/tags").json()["reporting_tags"]
    assert [(t["tag_name"], t["tag_options"]) for t in tags] == [
        ("Department", "Americas,Sales,Marketing,Customer Success,EMEA,Engineering,"
                       "Operations,Events"), ("Channel", "Direct,Partner,Online")]
    one = zoho.get(f"/settings/tags/{tags[0]['tag_id']}").json()["reporting_tag"]
    assert [set(o) for o in one["tag_options"]] == [{"tag_option_id", "tag_option_name"}] * 8
    assert one["tag_options"][3]["tag_option_name"] == "Customer Success"
    for path in ("/reportingtags", f"/reportingtags/{tags[0]['tag_id']}/options/all"):
        assert zoho.get(path).json()["code"] == 5
    rows = rows_of(zoho, "invoices", date_start="2026-01-01", date_end="2026-01-05")
    names = {department(line) for doc in details(zoho, "invoices", rows)
             for line in doc["line_items"]}
    assert "Support" in names and "Customer Success" not in names, "the name of its time"
    credits = rows_of(zoho, "creditnotes", **JANUARY)
    assert all("tags" not in line for doc in details(zoho, "creditnotes", credits)
               for line in doc["line_items"])


def test_null_names_serve_an_option_and_a_location_without_a_name(own):
    """``dimensions.null_names``: the lists serve those options and locations with a null
    name; every other name as configured, spaces included."""
    _running, zoho = own(ZohoSandboxConfig(dimensions=DimensionsSpec(
        null_names=["Marketing", "London"])))
    tags = {t["tag_name"]: t for t in zoho.get("/reportingtags").json()["tags"]}
    tag_id = tags["Department"]["tag_id"]
    served = [o["option_name"] for o in
              zoho.get(f"/reportingtags/{tag_id}/options/all").json()["results"]]
    assert None in served and "Marketing" not in served and "Sales" in served
    locations = [x["location_name"] for x in zoho.get("/locations").json()["locations"]]
    assert None in locations and "London" not in locations and "New York" in locations


def test_a_document_level_tag_is_one_header_entry_that_charges_follow_too(own):
    org = OrgSpec(organization_id="1234", name="Header Tags", region="us", invoices=60,
                  reporting_tags=[ReportingTagSpec(
                      name="Cost Center", level="document", tagged_share=0.7,
                      kinds=["invoices"], options=[TagOptionSpec(name="CC-1"),
                                                   TagOptionSpec(name="CC-2")])])
    settings = DimensionsSpec(document_tag_field="transaction_tags")
    _running, zoho = own(ZohoSandboxConfig(organizations=[org], dimensions=settings))
    rows = rows_of_org(zoho, "invoices", "1234")
    docs = [zoho.get(f"/invoices/{r['invoice_id']}", org="1234").json()["invoice"]
            for r in rows]
    tagged = [d for d in docs if d["transaction_tags"]]
    assert 0 < len(tagged) < len(docs) and all(len(d["transaction_tags"]) <= 1 for d in docs)
    assert all("tags" not in line for d in docs for line in d["line_items"])
    shipped = next(d for d in tagged if d["shipping_charge"])
    chart = zoho.get("/chartofaccounts", org="1234").json()["chartofaccounts"]
    split = profit_and_loss_by({"invoices": [shipped]}, chart, by_tag(
        "Cost Center", document_field="transaction_tags"))
    option = shipped["transaction_tags"][0]["tag_option_id"]
    assert {member for _code, member, _month in split} == {option}, "shipping too"


def rows_of_org(zoho: Zoho, path: str, org: str) -> list[dict]:
    return zoho.get(f"/{path}", org=org, per_page=200).json()[LIST_KEY[path]]


def test_tag_limits_are_enforced_by_the_configuration():
    options = [TagOptionSpec(name=f"Option {n}") for n in range(501)]
    with pytest.raises(ValueError, match="at most 500"):
        ReportingTagSpec(name="Big", options=options)
    with pytest.raises(ValueError, match="at most 10"):
        ZohoSandboxConfig.model_validate({"organizations": [{
            "organization_id": "1234", "name": "Tags", "region": "us",
            "reporting_tags": [{"name": f"Tag {n}"} for n in range(11)]}]})
    with pytest.raises(ValueError, match="unknown parent"):
        ReportingTagSpec(name="T", options=[TagOptionSpec(name="A", parent="B")])
    deep = [TagOptionSpec(name="L0")] + [TagOptionSpec(name=f"L{n}", parent=f"L{n - 1}")
                                         for n in range(1, 6)]
    with pytest.raises(ValueError, match="more than 5 levels"):
        ReportingTagSpec(name="T", options=deep)


# -- locations, projects, items, salespersons --------------------------------------------------


def test_locations_with_their_parents_on_headers_lines_and_rows(zoho, january):
    body = zoho.get("/locations").json()
    locations = {x["location_name"]: x for x in body["locations"]}
    assert set(body["locations"][0]) == {"location_id", "location_name", "type",
                                         "parent_location_id", "is_primary", "status"}
    parent = {name: next((p for p, y in locations.items()
                          if y["location_id"] == x["parent_location_id"]), None)
              for name, x in locations.items()}
    assert parent == {"North America": None, "San Francisco": "North America",
                      "New York": "North America", "Oakland Warehouse": "North America",
                      "Europe": None, "London": "Europe"}
    assert [n for n, x in locations.items() if x["is_primary"]] == ["San Francisco"]
    assert locations["Oakland Warehouse"]["type"] == "line_item_only"
    ids = {x["location_id"]: n for n, x in locations.items()}
    for path in ("invoices", "bills", "expenses"):
        for row, doc in january[path]:
            assert (row["location_id"], row["location_name"]) == (
                doc["location_id"], doc["location_name"])
            assert ids[doc["location_id"]] == doc["location_name"]
            assert doc["location_name"] in ("San Francisco", "New York", "London")
    for path in ("vendorcredits", "purchaseorders"):
        assert all("location_id" not in row and "location_id" in doc
                   for row, doc in january[path])
    lines = Counter()
    for path in ("invoices", "journals"):
        for _row, doc in january[path]:
            for line in doc["line_items"]:
                assert ids[line["location_id"]] == line["location_name"]
                lines[line["location_name"]] += 1
                lines["at the header"] += line["location_id"] == doc.get("location_id")
    assert lines["Oakland Warehouse"] > 0, "line-item-only locations are on lines"
    assert all("location_id" not in line for _row, doc in january["bills"]
               for line in doc["line_items"])


def test_projects_items_and_salespersons(zoho, january):
    denied = zoho.get("/projects", token=zoho.token(refresh="1000.no-projects"))
    assert (denied.status_code, denied.json()["code"]) == (401, 57)
    body = zoho.get("/projects", per_page=3).json()
    assert body["page_context"]["has_more_page"] is True
    projects = {p["project_id"]: p for p in zoho.get("/projects").json()["projects"]}
    assert [p["project_name"] for p in projects.values()] == [
        "ERP Rollout", "Website Redesign", "Data Migration", "Support Retainer"]
    contacts = {c["contact_id"]: c["contact_name"] for c in zoho.all("contacts")}
    for project in projects.values():
        assert set(project) == {"project_id", "project_name", "customer_id", "customer_name",
                                "status", "billing_type"}
        assert contacts[project["customer_id"]] == project["customer_name"]
    on_lines = Counter()
    for path in ("invoices", "bills", "journals", "creditnotes"):
        for _row, doc in january[path]:
            for line in doc["line_items"]:
                assert ("project_name" in line) == (path != "creditnotes")
                if line["project_id"]:
                    project = projects[line["project_id"]]
                    on_lines[path] += 1
                    assert line.get("project_name", project["project_name"]) == \
                        project["project_name"]
                    assert project["status"] == "active"
                    if path in ("invoices", "creditnotes"):
                        assert project["customer_id"] == doc["customer_id"]
    assert on_lines["invoices"] and on_lines["bills"]
    assert any(doc["project_id"] for _row, doc in january["expenses"])
    items = {i["item_id"]: i for i in zoho.all("items")}
    for path in ("bills", "vendorcredits", "purchaseorders"):
        for _row, doc in january[path]:
            for line in doc["line_items"]:
                assert line["sku"] == items[line["item_id"]]["sku"]
                assert line["account_id"] == items[line["item_id"]]["purchase_account_id"]
    for _row, doc in january["invoices"]:
        for line in doc["line_items"]:
            assert "sku" not in line and line["name"] == items[line["item_id"]]["name"]
    people: dict[str, set[str]] = defaultdict(set)
    for row, doc in january["invoices"]:
        assert row["salesperson_id"] == doc["salesperson_id"]
        assert (doc["salesperson_id"] == "") == (doc["salesperson_name"] == "")
        people[doc["salesperson_name"]].add(doc["salesperson_id"])
    assert len(people) >= 4 and all(len(ids) == 1 for ids in people.values())


def test_settings_endpoints_need_the_settings_scope(zoho, options):
    token = zoho.token(refresh="1000.no-settings")
    tag_id = zoho.get("/reportingtags").json()["tags"][0]["tag_id"]
    for path in ("/reportingtags", f"/reportingtags/{tag_id}/options/all", "/locations",
                 "/items"):
        refused = zoho.get(path, token=token)
        assert (refused.status_code, refused.json()["code"]) == (401, 57), path
    assert zoho.get("/projects", token=token).status_code == 200
    assert zoho.get("/invoices", token=token, per_page=1).status_code == 200


# -- the reference P&L by dimension ------------------------------------------------------------


@pytest.fixture(scope="module")
def chart(zoho) -> list[dict]:
    return zoho.get("/chartofaccounts", filter_by="AccountType.All").json()["chartofaccounts"]


def summed(by: dict[tuple[str, str, str], int]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = defaultdict(int)
    for (code, _member, month), amount in by.items():
        out[(code, month)] += amount
    return {key: value for key, value in out.items()}


@pytest.mark.parametrize("pair", [("invoices", "creditnotes"), ("bills", "vendorcredits")])
def test_the_pnl_by_option_and_by_location_adds_up_to_the_pnl_by_account(january, chart,
                                                                         pair, options):
    documents = {path: [doc for _row, doc in january[path]] for path in pair}
    per_account = profit_and_loss(documents, chart)
    assert len(per_account) >= 5
    departments = profit_and_loss_by(documents, chart, by_tag("Department",
                                                              charges="Unassigned"))
    assert summed(departments) == per_account
    members = {member for _code, member, _month in departments}
    assert "untagged" in members and len(members) >= 6
    locations = profit_and_loss_by(documents, chart, by_location())
    assert summed(locations) == per_account
    headers = {doc["location_id"] for docs in documents.values() for doc in docs}
    on_lines = {line.get("location_id", "") for docs in documents.values() for doc in docs
                for line in doc["line_items"]} - {""}
    assert {m for _c, m, _m in locations} == headers | on_lines, "every posting located"
    projects = profit_and_loss_by(documents, chart, by_project("none", "none"))
    assert summed(projects) == per_account
    if "invoices" in pair:  # shipping and adjustments carry no line tag
        assert {m for code, m, _month in departments if code in ("4600", "4700")} == \
            {"Unassigned"}
        assert {m for code, m, _month in locations if code == "4600"} <= headers
        assert on_lines - headers, "a line-item-only location is on lines only"
    # Independently, for documents in the base currency without discounts or included tax
    # (each posting is then the line's item_total): the line's option decides.
    plain = {path: [d for d in docs if d["exchange_rate"] == 1 and not d["is_inclusive_tax"]
                    and d["discount_type"] == "item_level"] for path, docs in documents.items()}
    expected: dict[tuple[str, str, str], int] = defaultdict(int)
    codes = {a["account_id"]: a["account_code"] for a in chart}
    ids = {name: o["option_id"] for name, o in options.items()}
    for path, docs in plain.items():
        sign = -1 if path in ("creditnotes", "vendorcredits") else 1
        for doc in docs:
            if doc["status"] in ("draft", "void"):
                continue
            for line in doc["line_items"]:
                name = department(line)
                member = ids[name] if name else "untagged"
                amount = int(Decimal(str(line["item_total"])) * 100)
                expected[(codes[line["account_id"]], member, doc["date"][:7])] += sign * amount
    got = profit_and_loss_by(plain, chart, by_tag("Department", charges="Unassigned"))
    assert {k: v for k, v in got.items() if k[0] not in ("4600", "4700", "6950")} == \
        {k: v for k, v in expected.items() if v or k in got}


def test_the_ledger_pnl_by_option_includes_journals_and_expenses(january, chart, running):
    documents = {path: [doc for _row, doc in january[path]] for path in (
        "invoices", "creditnotes", "bills", "vendorcredits", "expenses", "journals")}
    per_account = account_pnl(documents, chart)
    split = account_pnl_by(documents, chart, by_tag("Department", charges="Unassigned"))
    assert summed(split) == per_account
    by_project_split = account_pnl_by(documents, chart, by_project("none"))
    assert summed(by_project_split) == per_account
    expense_projects = {doc["project_id"] for doc in documents["expenses"] if doc["project_id"]}
    assert expense_projects <= {m for _c, m, _m in by_project_split}
    # The emulator's own figure, from its store, as Anaplan cells: the same split.
    zoho = running.sandbox.zoho
    cells = actuals_by(zoho, MAIN, ("invoices", "creditnotes"), date(2026, 1, 1),
                       date(2026, 2, 1), by_tag("Department", charges="Unassigned"))
    total: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for (code, _member, month), amount in cells.items():
        total[(code, month)] += amount
    assert dict(total) == actuals(zoho, MAIN, ("invoices", "creditnotes"), date(2026, 1, 1),
                                  date(2026, 2, 1))
    assert {month for _c, _m, month in cells} == {"Jan 26"}
