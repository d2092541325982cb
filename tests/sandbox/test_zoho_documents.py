"""Zoho emulator documents over real HTTP: discounts, taxes, shipping, adjustments, bcy_*
amounts, write-offs, credit notes and vendor credits (rules in ``sandbox/zoho/seed.py``).

Every expectation is recomputed here from the document's own fields, in integer cents with
``Decimal``, independently of the emulator's code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.server import RunningSandbox
from ml_connector_sandbox.zoho import OrgSpec, RefreshTokenSpec, ZohoSandboxConfig
from ml_connector_sandbox.zoho.config import default_refresh_tokens

from .test_zoho_emulator import MAIN, Zoho, serve, stamp, unlimited

MONTH = {"date_start": "2026-02-01", "date_end": "2026-02-28"}
#: path -> (list key, detail key, id field, number field, party)
MODULES = {
    "invoices": ("invoices", "invoice", "invoice_id", "invoice_number", "customer"),
    "bills": ("bills", "bill", "bill_id", "bill_number", "vendor"),
    "purchaseorders": ("purchaseorders", "purchaseorder", "purchaseorder_id",
                       "purchaseorder_number", "vendor"),
    "creditnotes": ("creditnotes", "creditnote", "creditnote_id", "creditnote_number",
                    "customer"),
    "vendorcredits": ("vendor_credits", "vendor_credit", "vendor_credit_id",
                      "vendor_credit_number", "vendor"),
}
CREDIT_ROW = {"currency_id", "currency_code", "exchange_rate", "status", "date", "total",
              "balance", "reference_number", "created_time", "last_modified_time"}
EXPENSE_TYPES = {"expense", "cost_of_goods_sold"}


# -- independent arithmetic ----------------------------------------------------------------


def cents(value: float) -> int:
    """A JSON money value in cents; fails on anything that is not a whole cent."""
    exact = Decimal(str(value)) * 100
    assert exact == exact.to_integral_value(), value
    return int(exact)


def half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def shares_of(amount: int, nets: list[int]) -> list[int]:
    """Rule 3: proportional shares rounded half-up, the last line takes the remainder."""
    whole = sum(nets)
    shares = [half_up(Decimal(amount) * net / whole) for net in nets[:-1]]
    return [*shares, amount - sum(shares)]


def expected_amounts(doc: dict) -> dict:
    """The document's amounts in cents, recomputed from its lines and header flags."""
    lines = doc["line_items"]
    items, rates = [], []
    for line in lines:
        gross = cents(line["rate"]) * Decimal(str(line["quantity"]))
        discount = Decimal(str(line["discount"]))
        item = half_up(gross * (100 - discount) / 100)
        assert cents(line["discount_amount"]) == gross - item, line
        items.append(item)
        rates.append(Decimal(str(line["tax_percentage"])))
    pct = Decimal(str(doc["discount"]))
    discount, shares = 0, [0] * len(lines)
    if doc["is_inclusive_tax"]:
        taxes = [half_up(item * p / (100 + p)) for item, p in zip(items, rates, strict=True)]
        nets = [item - tax for item, tax in zip(items, taxes, strict=True)]
    else:
        nets = items
        if doc["discount_type"] == "entity_level" and doc["is_discount_before_tax"]:
            discount = half_up(sum(nets) * pct / 100)
            shares = shares_of(discount, nets)
            taxes = [half_up((net - share) * p / 100)
                     for net, share, p in zip(nets, shares, rates, strict=True)]
        else:
            taxes = [half_up(net * p / 100) for net, p in zip(nets, rates, strict=True)]
            if doc["discount_type"] == "entity_level":
                discount = half_up((sum(nets) + sum(taxes)) * pct / 100)
                shares = shares_of(discount, nets)
    shipping, adjustment = cents(doc["shipping_charge"]), cents(doc["adjustment"])
    if doc["is_inclusive_tax"]:
        total = sum(items) + shipping + adjustment
    else:
        total = sum(nets) - discount + sum(taxes) + shipping + adjustment
    by_tax: Counter[str] = Counter()
    for line, tax in zip(lines, taxes, strict=True):
        if line["tax_percentage"]:
            by_tax[line["tax_id"]] += tax
    return {"items": items, "nets": nets, "taxes": taxes,
            "shares": shares, "by_tax": by_tax, "sub_total": sum(items),
            "tax_total": sum(taxes), "discount": discount, "shipping": shipping,
            "adjustment": adjustment, "total": total}


# -- fixtures ------------------------------------------------------------------------------


def rows_of(zoho: Zoho, path: str, **params) -> list[dict]:
    key = MODULES[path][0]
    rows, page = [], 1
    while True:
        body = zoho.get(f"/{path}", page=page, per_page=200, **params).json()
        rows += body[key]
        if not body["page_context"]["has_more_page"]:
            return rows
        page += 1


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSandbox]:
    tokens = [*default_refresh_tokens(),
              *(RefreshTokenSpec(token=f"1000.{scope}-only", region="us",
                                 scopes=[f"ZohoBooks.{scope}.READ"])
                for scope in ("debitnotes", "creditnotes", "accountants", "settings"))]
    yield from serve(unlimited(tokens))


@pytest.fixture(scope="module")
def zoho(running) -> Iterator[Zoho]:
    yield from Zoho.serving(running)


@pytest.fixture(scope="module")
def chart(zoho) -> dict[str, dict]:
    rows = zoho.get("/chartofaccounts", filter_by="AccountType.All").json()["chartofaccounts"]
    return {a["account_id"]: a for a in rows}


@pytest.fixture(scope="module")
def month(zoho) -> dict[str, list[tuple[dict, dict]]]:
    """(list row, detail) of every document of February 2026 in org 10234695, per module."""
    token = zoho.token()
    found: dict[str, list[tuple[dict, dict]]] = {}
    with ThreadPoolExecutor(max_workers=6) as pool:
        for path, (_key, single, id_field, *_rest) in MODULES.items():
            rows = rows_of(zoho, path, **MONTH)

            def detail(row: dict, path: str = path, single: str = single,
                       id_field: str = id_field) -> tuple[dict, dict]:
                body = zoho.get(f"/{path}/{row[id_field]}", token=token).json()
                return row, body[single]

            found[path] = list(pool.map(detail, rows))
    return found


# -- documents -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(MODULES))
def test_every_amount_of_a_months_documents_follows_the_rules(month, path):
    documents = month[path]
    assert len(documents) >= 20
    for row, doc in documents:
        want = expected_amounts(doc)
        label = doc[MODULES[path][3]]
        assert [cents(line["item_total"]) for line in doc["line_items"]] == want["items"], label
        assert cents(doc["sub_total"]) == want["sub_total"], label
        assert cents(doc["tax_total"]) == want["tax_total"], label
        assert cents(doc["discount_amount"]) == want["discount"], label
        assert cents(doc["total"]) == want["total"], label
        assert cents(row["total"]) == want["total"], label
        assert {t["tax_id"]: cents(t["tax_amount"]) for t in doc["taxes"]} == want["by_tax"]
        assert all(t["tax_name"] for t in doc["taxes"]), label
        assert len(doc["taxes"]) == len(want["by_tax"]), "one entry per rate"
        # The P&L view: lines net of their discount share, plus tax, shipping, adjustment.
        assert all(0 <= s <= n for s, n in zip(want["shares"], want["nets"], strict=True))
        assert (sum(n - s for n, s in zip(want["nets"], want["shares"], strict=True))
                + want["tax_total"] + want["shipping"] + want["adjustment"]) == want["total"]
        rate = Decimal(str(doc["exchange_rate"]))
        for field, amount in (("bcy_sub_total", want["sub_total"]),
                              ("bcy_tax_total", want["tax_total"]),
                              ("bcy_discount_total", want["discount"]),
                              ("bcy_shipping_charge", want["shipping"]),
                              ("bcy_adjustment", want["adjustment"]),
                              ("bcy_total", want["total"])):
            assert cents(doc[field]) == half_up(amount * rate), (label, field)
        if doc["discount_type"] == "item_level":
            assert (doc["discount"], doc["discount_amount"]) == (0, 0), label
            assert doc["is_discount_before_tax"] is True, label
        else:
            assert doc["discount_type"] == "entity_level", label
            assert doc["discount"] in (5, 10) and not doc["is_inclusive_tax"], label
            assert all(line["discount"] == 0 for line in doc["line_items"]), label
        if path not in ("invoices", "creditnotes"):
            assert doc["shipping_charge"] == 0, label
        if path not in ("invoices", "bills"):
            assert (doc["adjustment"], doc["adjustment_description"]) == (0, ""), label
        elif doc["adjustment"]:
            assert -500 <= cents(doc["adjustment"]) <= 500, label
            assert doc["adjustment_description"] in ("Rounding", "Handling"), label
        else:
            assert doc["adjustment_description"] == "", label


def test_line_accounts_and_the_new_accounts(month, chart):
    for path, documents in month.items():
        wanted = {"income"} if path in ("invoices", "creditnotes") else EXPENSE_TYPES
        for _row, doc in documents:
            for line in doc["line_items"]:
                account = chart[line["account_id"]]
                assert account["account_type"] in wanted, (path, line)
                assert account["account_name"] == line["account_name"]
                assert line["tax_percentage"] in (0, 6, 8.25)
                assert line["discount"] in (0, 5, 10)
    by_id = sorted(chart.values(), key=lambda a: a["account_id"])
    assert [(a["account_name"], a["account_code"], a["account_type"]) for a in by_id[-3:]] == [
        ("Shipping Charge", "4600", "income"), ("Other Charges", "4700", "income"),
        ("Other Expenses", "6950", "expense")], "appended after the existing accounts"
    assert by_id[0]["account_name"] == "Petty Cash", "existing account ids did not move"


def test_the_big_org_shows_every_feature(month):
    docs = [doc for documents in month.values() for _row, doc in documents]
    features = Counter()
    for doc in docs:
        entity = doc["discount_type"] == "entity_level"
        features["inclusive"] += doc["is_inclusive_tax"]
        features["before tax"] += entity and doc["is_discount_before_tax"]
        features["after tax"] += entity and not doc["is_discount_before_tax"]
        features["shipping"] += doc["shipping_charge"] > 0
        features["negative adjustment"] += doc["adjustment"] < 0
        features["positive adjustment"] += doc["adjustment"] > 0
        features["write-off"] += doc.get("write_off_amount", 0) > 0
        features["several rates"] += len(doc["taxes"]) >= 2
        features["item discount"] += any(line["discount"] for line in doc["line_items"])
        features["foreign"] += doc["bcy_total"] != doc["total"]
    assert all(features[name] > 0 for name in (
        "inclusive", "before tax", "after tax", "shipping", "negative adjustment",
        "positive adjustment", "write-off", "several rates", "item discount", "foreign")), features
    assert 0.12 < features["inclusive"] / len(docs) < 0.28
    entity = features["before tax"] + features["after tax"]
    assert 0.12 < entity / len(docs) < 0.30
    assert 0.55 < features["before tax"] / entity < 0.85
    invoices = [doc for _row, doc in month["invoices"]]
    shipped = sum(doc["shipping_charge"] > 0 for doc in invoices) / len(invoices)
    adjusted = sum(doc["adjustment"] != 0 for doc in invoices) / len(invoices)
    assert 0.22 < shipped < 0.38 and 0.09 < adjusted < 0.21


def test_invoice_write_offs_and_list_fields(month):
    for row, doc in month["invoices"]:
        label = doc["invoice_number"]
        write_off = cents(doc["write_off_amount"])
        if write_off:
            assert doc["status"] == "paid" and write_off <= min(2500, cents(doc["total"]))
            assert doc["balance"] == 0, label
        assert {"due_days", "is_emailed", "last_payment_date"} <= set(row)
        assert (row["due_days"], row["is_emailed"], row["last_payment_date"]) == (
            doc["due_days"], doc["is_emailed"], doc["last_payment_date"])
        terms = (date.fromisoformat(row["due_date"]) - date.fromisoformat(row["date"])).days
        if row["status"] in ("paid", "void"):
            assert row["due_days"] == "", label
        elif row["status"] == "overdue":
            assert row["due_days"].startswith("Overdue by "), label
        else:
            assert row["due_days"] == f"Due in {terms} days", label
        if row["status"] == "draft":
            assert row["is_emailed"] is False, label
        if row["status"] in ("paid", "partially_paid"):
            assert row["date"] <= row["last_payment_date"] <= row["last_modified_time"][:10]
        else:
            assert row["last_payment_date"] == "", label
    statuses = Counter(row["status"] for row, _doc in month["invoices"])
    emailed = sum(row["is_emailed"] for row, _doc in month["invoices"])
    assert 0 < emailed < len(month["invoices"]) - statuses["draft"]
    assert all("write_off_amount" not in doc for _row, doc in month["bills"])


# -- credit notes and vendor credits -------------------------------------------------------


@pytest.mark.parametrize(("path", "count"), [("creditnotes", 150), ("vendorcredits", 80)])
def test_credits_list_with_pages_keys_and_documented_fields(zoho, path, count):
    key, single, id_field, number, party = MODULES[path]
    everything = rows_of(zoho, path)
    assert len(everything) == count
    first = zoho.get(f"/{path}", per_page=40).json()
    assert key in first and (path == key or path not in first)
    assert first["page_context"]["report_name"] == ("Credit Notes" if path == "creditnotes"
                                                     else "Vendor Credits")
    ids, page = [], 1
    while True:
        body = zoho.get(f"/{path}", page=page, per_page=40).json()
        ids += [r[id_field] for r in body[key]]
        if not body["page_context"]["has_more_page"]:
            break
        assert len(body[key]) == 40
        page += 1
    assert page == -(-count // 40)
    assert ids == [r[id_field] for r in everything] and len(set(ids)) == count
    assert set(everything[0]) == CREDIT_ROW | {id_field, number, f"{party}_id", f"{party}_name"}
    created = [stamp(r["created_time"]) for r in everything]
    assert created == sorted(created, reverse=True)
    assert all(r["date"] == r["created_time"][:10] for r in everything)
    assert {r["status"] for r in everything} == {"open", "closed", "void", "draft"}
    prefix = "CN-" if path == "creditnotes" else "DN-"
    assert all(r[number].startswith(prefix) for r in everything)
    assert {r["date"][:7] for r in everything} == {"2026-01", "2026-02", "2026-03"}
    detail = zoho.get(f"/{path}/{everything[3][id_field]}").json()
    assert (detail["code"], detail["message"]) == (0, "success")
    assert detail[single][id_field] == everything[3][id_field]
    assert detail[single]["line_items"]
    label = "Credit Note" if path == "creditnotes" else "Vendor Credit"
    missing = zoho.get(f"/{path}/{MAIN}0000000")
    assert (missing.status_code, missing.json()) == (404, {"code": 1002,
                                                           "message": f"{label} does not exist."})


@pytest.mark.parametrize("path", ["creditnotes", "vendorcredits"])
def test_credits_date_status_and_party_filters(zoho, path):
    _key, _single, id_field, _number, party = MODULES[path]
    everything = rows_of(zoho, path)
    window = rows_of(zoho, path, date_start="2026-02-10", date_end="2026-03-05")
    assert {r[id_field] for r in window} == {
        r[id_field] for r in everything if "2026-02-10" <= r["date"] <= "2026-03-05"}
    assert 0 < len(window) < len(everything)
    after = rows_of(zoho, path, date_after="2026-03-15")
    assert {r[id_field] for r in after} == {
        r[id_field] for r in everything if r["date"] > "2026-03-15"} != set()
    before = rows_of(zoho, path, date_before="2026-01-10")
    assert {r[id_field] for r in before} == {
        r[id_field] for r in everything if r["date"] < "2026-01-10"} != set()
    closed = rows_of(zoho, path, filter_by="Status.Closed")
    assert {r[id_field] for r in closed} == {
        r[id_field] for r in everything if r["status"] == "closed"} != set()
    assert all(r["balance"] == 0 for r in closed)
    drafts = rows_of(zoho, path, status="draft")
    assert {r[id_field] for r in drafts} == {
        r[id_field] for r in everything if r["status"] == "draft"}
    one = everything[0][f"{party}_id"]
    mine = rows_of(zoho, path, **{f"{party}_id": one})
    assert {r[id_field] for r in mine} == {
        r[id_field] for r in everything if r[f"{party}_id"] == one}
    assert zoho.get(f"/{path}", status="paid").json()["code"] == 2


@pytest.mark.parametrize(("path", "credited"), [("creditnotes", "invoices"),
                                                ("vendorcredits", "bills")])
def test_credits_point_at_earlier_documents_of_the_same_party(zoho, path, credited):
    _key, single, id_field, _number, party = MODULES[path]
    _ckey, csingle, cid, cnumber, _party = MODULES[credited]
    field = f"{credited}_credited"
    applied_somewhere = 0
    for row in rows_of(zoho, path):
        doc = zoho.get(f"/{path}/{row[id_field]}").json()[single]
        entries = doc[field]
        total, balance = cents(doc["total"]), cents(doc["balance"])
        assert balance == cents(row["balance"])
        if doc["status"] in ("draft", "void"):
            assert entries == [], doc
            assert balance == (0 if doc["status"] == "void" else total)
            continue
        applied = sum(cents(e["amount_applied"]) for e in entries)
        assert balance == total - applied
        assert (balance == 0) == (doc["status"] == "closed"), doc
        for entry in entries:
            assert set(entry) == {cid, cnumber, "amount_applied", "date"}
            target = zoho.get(f"/{credited}/{entry[cid]}").json()[csingle]
            assert target[cnumber] == entry[cnumber]
            assert target[f"{party}_id"] == doc[f"{party}_id"], "same contact"
            assert target["currency_code"] == doc["currency_code"]
            assert stamp(target["created_time"]) < stamp(doc["created_time"])
            assert target["date"] <= doc["date"]
            assert target["status"] not in ("draft", "void")
            assert 0 < cents(entry["amount_applied"]) <= min(total, cents(target["total"]))
            assert doc["date"] <= entry["date"] <= doc["last_modified_time"][:10]
            applied_somewhere += 1
    assert applied_somewhere >= 40


def test_credit_scopes_and_the_accountants_scope(zoho):
    def status(path: str, scope: str) -> int:
        response = zoho.get(path, token=zoho.token(refresh=f"1000.{scope}-only"), per_page=1)
        return response.status_code

    assert status("/vendorcredits", "debitnotes") == 200
    assert status("/creditnotes", "creditnotes") == 200
    assert status("/creditnotes", "debitnotes") == 401
    assert status("/vendorcredits", "creditnotes") == 401
    assert status("/bills", "debitnotes") == 401
    assert status("/chartofaccounts", "accountants") == 200
    assert status("/chartofaccounts", "settings") == 401
    assert status("/items", "settings") == 200
    assert status("/items", "accountants") == 401


# -- determinism and scale -----------------------------------------------------------------


def test_two_sandboxes_generate_identical_documents(sandbox_factory):
    seen = []
    for _ in range(2):
        client = Zoho(sandbox_factory())
        try:
            pages, details = {}, {}
            for path, (key, single, id_field, *_rest) in MODULES.items():
                rows = client.get(f"/{path}", per_page=30, **MONTH).json()[key]
                pages[path] = rows
                details[path] = [client.get(f"/{path}/{r[id_field]}").json()[single]
                                 for r in rows[:10]]
            seen.append((pages, details))
        finally:
            client.http.close()
    assert seen[0] == seen[1]
    assert seen[0][0]["creditnotes"] and seen[0][1]["vendorcredits"]


def test_huge_credit_tables_stay_lazy(sandbox_factory):
    big = OrgSpec(organization_id="99000002", name="Big Credits Co", region="us",
                  invoices=1_000_000, creditnotes=1_000_000, bills=10, vendorcredits=10)
    running = sandbox_factory(SandboxConfig(zoho=ZohoSandboxConfig(organizations=[big])))
    client = Zoho(running)
    try:
        body = client.get("/creditnotes", org="99000002", page=2500, per_page=200,
                          date_start="2026-02-01").json()
        rows = body["creditnotes"]
        assert len(rows) == 200 and body["page_context"]["has_more_page"] is True
        credited = 0
        for row in rows[:20]:
            doc = client.get(f"/creditnotes/{row['creditnote_id']}", org="99000002").json()
            for entry in doc["creditnote"]["invoices_credited"]:
                invoice = client.get(f"/invoices/{entry['invoice_id']}",
                                     org="99000002").json()["invoice"]
                assert invoice["customer_id"] == row["customer_id"]
                assert invoice["date"] <= row["date"]
                credited += 1
        assert credited > 0
    finally:
        client.http.close()
