"""Bad input, table by table: Zoho data, connection fields, flows.yaml and staged paths.

Every case ends in a ``ConfigError`` whose message names the field (and, for data, the
document and line) at fault, never in a raw ``InvalidOperation``, ``AttributeError`` or a
value written to the import file.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ml_connector.anaplan.settings import settings_from_fields as anaplan_settings
from ml_connector.errors import ConfigError
from ml_connector.flows.mapping import build_file, lookup_tables
from ml_connector.flows.postings import posting_accounts
from ml_connector.flows.spec import load_flows, parse_flows, split_flows
from ml_connector.flows.windows import affected_months
from ml_connector.transport.fields import parse_extra
from ml_connector.zoho.settings import settings_from_fields as zoho_settings

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {f.id: f for f in load_flows(ROOT / "dags" / "flows.yaml").flows}
CHART = [{"account_id": f"a{i}", "account_code": str(4000 + i), "account_name": name}
         for i, name in enumerate(("Sales", "Product Sales", "Shipping Charge", "Other Charges"))]
INVOICE: dict[str, Any] = {
    "invoice_id": "9001", "invoice_number": "INV-9001", "customer_id": "c1", "status": "sent",
    "date": "2026-01-15", "currency_code": "EUR", "exchange_rate": 1.08,
    "is_inclusive_tax": False, "discount_type": "item_level", "discount_amount": 0.0,
    "shipping_charge": 0.0, "adjustment": 0.0,
    "last_modified_time": "2026-01-20T10:00:00-0800",
    "line_items": [
        {"line_item_id": "77", "account_id": "a0", "item_total": 100.0, "tax_percentage": 8.25},
        {"line_item_id": "78", "account_id": "a1", "item_total": 50.0, "tax_percentage": 8.25},
    ]}


def build(flow_id: str, record: dict) -> str:
    """The import file of one record through a shipped flow."""
    flow = SHIPPED[flow_id]
    out = io.StringIO()
    build_file(flow, [record], lookup_tables(flow, {"chartofaccounts": CHART}), out,
               io.StringIO(), io.StringIO(), cells_out=io.StringIO(),
               accounts=posting_accounts(flow, lambda: CHART))
    return out.getvalue()


def invoice(path: str, value: Any) -> dict:
    """The good invoice with one value replaced (``line_items.1.item_total``: line 2's);
    ``...`` removes the key."""
    record = copy.deepcopy(INVOICE)
    *parents, last = path.split(".")
    node: Any = record
    for key in parents:
        node = node[int(key) - 1] if isinstance(node, list) else node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return record


def test_the_good_invoice_builds():
    """The cases below fail because of the one value they change."""
    assert "4000,Jan 26,108.00" in build("invoice_actuals", INVOICE)
    assert "77,INV-9001,c1,4000,Jan 26,EUR,100.0" in build("invoice_lines", INVOICE)


# (flow, path of the value in the invoice, bad value, what the message must name)
DATA = [
    ("invoice_actuals", "exchange_rate", None, "invoice_id 9001 exchange_rate"),
    ("invoice_actuals", "exchange_rate", 0, "invoice_id 9001 exchange_rate"),
    ("invoice_actuals", "exchange_rate", -1.08, "invoice_id 9001 exchange_rate"),
    ("invoice_actuals", "exchange_rate", "abc", "invoice_id 9001 exchange_rate"),
    ("invoice_actuals", "exchange_rate", "NaN", "invoice_id 9001 exchange_rate"),
    ("invoice_actuals", "exchange_rate", "Infinity", "invoice_id 9001 exchange_rate"),
    ("invoice_actuals", "exchange_rate", True, "invoice_id 9001 exchange_rate"),
    ("invoice_actuals", "exchange_rate", [1.08], "invoice_id 9001 exchange_rate"),
    ("invoice_actuals", "line_items.2.item_total", None, "invoice_id 9001 line 2 item_total"),
    ("invoice_actuals", "line_items.2.item_total", ..., "invoice_id 9001 line 2 item_total"),
    ("invoice_actuals", "line_items.1.item_total", "NaN", "invoice_id 9001 line 1 item_total"),
    ("invoice_actuals", "line_items.1.item_total", float("nan"),
     "invoice_id 9001 line 1 item_total"),
    ("invoice_actuals", "line_items.1.item_total", "-Infinity",
     "invoice_id 9001 line 1 item_total"),
    ("invoice_actuals", "line_items.1.item_total", True, "invoice_id 9001 line 1 item_total"),
    ("invoice_actuals", "line_items.1.item_total", "12,50", "invoice_id 9001 line 1 item_total"),
    ("invoice_actuals", "line_items.1.item_total", "twelve",
     "invoice_id 9001 line 1 item_total"),
    ("invoice_actuals", "line_items", {"item_total": 1}, "invoice_id 9001: line_items"),
    ("invoice_actuals", "line_items", "none", "invoice_id 9001: line_items"),
    ("invoice_actuals", "line_items", [1, 2], "invoice_id 9001 line 1"),
    ("invoice_actuals", "date", "15/01/2026", "invoice_id 9001 date"),
    ("invoice_actuals", "date", None, "invoice_id 9001 date"),
    ("invoice_actuals", "date", 20260115, "invoice_id 9001 date"),
    ("invoice_actuals", "date", "2026-13-01", "invoice_id 9001 date"),
    ("invoice_actuals", "discount_type", "entity_level", None),  # with a bad amount below
    ("invoice_actuals", "shipping_charge", "abc", "invoice_id 9001 shipping_charge"),
    ("invoice_actuals", "adjustment", "Infinity", "invoice_id 9001 adjustment"),
    ("invoice_lines", "line_items.1.item_total", None, "invoice_id 9001 line 1 (line_item_id 77) "
     "item_total"),
    ("invoice_lines", "line_items.2.item_total", "NaN", "invoice_id 9001 line 2 (line_item_id 78) "
     "item_total"),
    ("invoice_lines", "line_items.2.item_total", False, "invoice_id 9001 line 2 (line_item_id 78) "
     "item_total"),
    ("invoice_lines", "line_items", {"a": 1}, "invoice_id 9001 line_items"),
    ("invoice_lines", "line_items", ["x"], "invoice_id 9001 line_items"),
    ("invoice_lines", "date", "yesterday", "invoice_id 9001 date"),
]


@pytest.mark.parametrize(("flow", "path", "value", "named"),
                         [case for case in DATA if case[3] is not None],
                         ids=lambda v: repr(v)[:30])
def test_a_value_that_cannot_be_sent_stops_the_build_naming_it(flow, path, value, named):
    with pytest.raises(ConfigError) as info:
        build(flow, invoice(path, value))
    assert named in str(info.value)
    assert "expected" in str(info.value) or "not a list" in str(info.value)


@pytest.mark.parametrize(("path", "value", "named"), [
    ("discount_amount", "NaN", "invoice_id 9001 discount_amount"),
    ("line_items.1.tax_percentage", "high", "invoice_id 9001 line 1 tax_percentage"),
])
def test_bad_discount_and_tax_values_are_named(path, value, named):
    """An entity-level discount and included tax are read only where they apply."""
    record = invoice(path, value)
    record["discount_type"] = "entity_level"
    record["is_inclusive_tax"] = True
    with pytest.raises(ConfigError, match=named):
        build("invoice_actuals", record)


def test_an_exchange_rate_is_not_needed_without_one():
    """A document without ``exchange_rate`` (modules in the base currency) is sent as it is."""
    assert "4000,Jan 26,100.00" in build("invoice_actuals", invoice("exchange_rate", ...))


def test_a_bad_date_in_a_changed_record_names_it_when_months_are_scoped():
    with pytest.raises(ConfigError, match="invoice_id 9001 date: not a date"):
        affected_months([invoice("date", "2026/01/15")], "date", "invoice_id", lambda ids: [])


# (connection type, extra changes, host, what the message must name)
GOOD_ZOHO = {"refresh_token": "1000.r", "region": "us"}
GOOD_ANAPLAN = {"auth_method": "basic", "workspace_id": "8a81b09d5e8c6f27015ed3b6e5c01b2a",
                "model_id": "75A40874E6B64FA3AE0743278996850F"}
CONNECTIONS = [
    ("zoho", {"requests_per_minute": 0}, None, "field requests_per_minute"),
    ("zoho", {"requests_per_minute": -5}, None, "field requests_per_minute"),
    ("zoho", {"requests_per_minute": "ten"}, None, "field requests_per_minute"),
    ("zoho", {"requests_per_minute": 1.5}, None, "field requests_per_minute"),
    ("zoho", {"requests_per_minute": True}, None, "field requests_per_minute"),
    ("zoho", {"timeout": "soon"}, None, "field timeout"),
    ("zoho", {"timeout": -1}, None, "field timeout"),
    ("zoho", {"timeout": 0}, None, "field timeout"),
    ("zoho", {"timeout": "inf"}, None, "field timeout"),
    ("zoho", {"max_concurrency": 0}, None, "field max_concurrency"),
    ("zoho", {"daily_limit": "lots"}, None, "field daily_limit"),
    ("zoho", {"daily_reserve": 150}, None, "field daily_reserve"),
    ("zoho", {"region": "mars"}, None, "unknown Zoho region 'mars'"),
    ("zoho", {"organization_id": "acme"}, None, "organization_id must be digits"),
    ("zoho", {"refresh_token": " "}, None, "field refresh_token is empty"),
    ("zoho", {"regoin": "us"}, None, "unknown extra field(s) regoin"),
    ("zoho", {"allow_plain_http": "maybe"}, None, "field allow_plain_http"),
    ("zoho", {}, "http://books.example.com", "host (endpoint_base) 'http://books.example.com'"),
    ("zoho", {}, "ftp://books.example.com", "host (endpoint_base) must be a URL"),
    ("anaplan", {"requests_per_minute": 0}, None, "field requests_per_minute"),
    ("anaplan", {"chunk_size_mb": 0}, None, "field chunk_size_mb"),
    ("anaplan", {"chunk_size_mb": 100}, None, "chunk_size must be between 1 MB and 50 MB"),
    ("anaplan", {"timeout": "x"}, None, "field timeout"),
    ("anaplan", {"auth_method": "kerberos"}, None, "auth_method must be one of"),
    ("anaplan", {"auth_method": "certificate"}, None, "field certificate is empty"),
    ("anaplan", {"workspace_id": "not-a-workspace"}, None, "workspace"),
    ("anaplan", {}, "http://api.example.com", "host (endpoint_base) 'http://api.example.com'"),
]


@pytest.mark.parametrize(("kind", "changes", "host", "named"), CONNECTIONS,
                         ids=lambda v: repr(v)[:30])
def test_a_bad_connection_field_is_named_with_its_connection(kind, changes, host, named):
    with pytest.raises(ConfigError) as info:
        if kind == "zoho":
            zoho_settings(login="1000.ID", password="s3cr3t-value", host=host,
                          extra={**GOOD_ZOHO, **changes}, name="my_zoho")
        else:
            anaplan_settings(login="user@example.com", password="s3cr3t-value", host=host,
                             extra={**GOOD_ANAPLAN, **changes}, name="my_zoho")
    assert "connection 'my_zoho'" in str(info.value)
    assert named in str(info.value)
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize(("raw", "named"), [
    ('{"region": "us", }', "field extra is not JSON"),
    ("region=us", "field extra is not JSON"),
    ('["us"]', "field extra must be a JSON object, got list"),
])
def test_an_extra_that_is_not_a_json_object_is_named(raw, named):
    with pytest.raises(ConfigError, match=rf"connection 'my_zoho': {named}"):
        parse_extra(raw, "my_zoho")


def test_plain_http_is_accepted_on_loopback_or_when_allowed():
    _, config = zoho_settings(login="i", password="s", host="http://127.0.0.1:8765",
                              extra=GOOD_ZOHO)
    assert config.endpoint_base == "http://127.0.0.1:8765"
    _, config = zoho_settings(login="i", password="s", host="http://ml-connector-sandbox:8765",
                              extra={**GOOD_ZOHO, "allow_plain_http": True})
    assert config.allow_plain_http


def flow(**overrides: Any) -> dict:
    base = {"id": "inv", "entity": "invoices", "target": {"import": "X"},
            "columns": {"Account": {"field": "customer_name"}, "Amount": {"amount": "total"}}}
    return {**base, **overrides}


# (a flow's changes, or the whole file, and what the message must name)
FLOWS = [
    (flow(schedule="fortnightly"), "flows[0] (inv).schedule", "'fortnightly'"),
    (flow(grain="weekly"), "flows[0] (inv).grain", "'weekly'"),
    (flow(mode="sometimes"), "flows[0] (inv).mode", "'sometimes'"),
    (flow(entity="widgets"), "flows[0] (inv)", "'widgets'"),
    (flow(id="Bad-Id"), "flows[0] (Bad-Id).id", "'Bad-Id'"),
    (flow(columns={"A": {"field": "date", "amount": "total"}}), "flows[0] (inv).columns.A",
     "exactly one of"),
    (flow(columns={"A": {"field": "totl"}}), "flows[0] (inv)", "'totl'"),
    (flow(columns={"A": {"lookup": {"field": "customer_id", "entity": "planets", "key": "k",
                                    "value": "v"}}}), "flows[0] (inv)", "'planets'"),
    (flow(excluded="zero", grain="aggregate"), "flows[0] (inv)", "excluded"),
    (flow(target={}), "flows[0] (inv).target.import", "Field required"),
    (flow(frequency="daily"), "flows[0] (inv).frequency", "Extra inputs"),
    ({**flow(), "defaults": {"retries": -1}}, "defaults.retries", "(got -1)"),
    ({**flow(), "defaults": {"on_quota": "maybe"}}, "defaults.on_quota", "'maybe'"),
]


@pytest.mark.parametrize(("data", "where", "value"), FLOWS, ids=lambda v: repr(v)[:30])
def test_a_bad_flow_setting_is_named_with_its_flow_key_and_value(data, where, value):
    defaults = data.pop("defaults", None)
    with pytest.raises(ConfigError) as info:
        parse_flows({"flows": [data], **({"defaults": defaults} if defaults else {})})
    assert where in str(info.value)
    assert value in str(info.value)


def test_one_bad_flow_leaves_the_others_valid():
    spec, problems = split_flows({"flows": [flow(id="good"), flow(id="bad", mode="x"),
                                            flow(id="good")]})
    assert [f.id for f in spec.flows] == ["good"]
    assert problems == [
        "flows[1] (bad).mode: Input should be 'incremental', 'period' or 'full' (got 'x')",
        "flows[2] (good): flow id 'good' is used twice"]


def test_yaml_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "flows.yaml"
    path.write_text("flows: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(ConfigError, match="flows.yaml is not valid YAML"):
        load_flows(path)
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_the_shipped_flows_round_trip_through_yaml():
    """The table above starts from valid flows: the shipped ones parse as they are."""
    text = (ROOT / "dags" / "flows.yaml").read_text()
    assert parse_flows(yaml.safe_load(text)).flows
    assert json.loads(json.dumps(flow()))["id"] == "inv"


@pytest.mark.parametrize(("dag_id", "run_id", "named"), [
    ("zoho_x", "..", "run_id '..'"),
    ("zoho_x", ".", "run_id '.'"),
    ("..", "manual__1", "dag_id '..'"),
    ("zoho_x", "", "run_id ''"),
])
def test_a_staged_path_never_leaves_the_staging_base(tmp_path, dag_id, run_id, named):
    from types import SimpleNamespace

    from ml_connector.operators.staging import staged_path

    context = {"dag": SimpleNamespace(dag_id=dag_id), "run_id": run_id}
    with pytest.raises(ConfigError, match=f"{named} cannot name a staged file"):
        staged_path(f"file://{tmp_path}/base", context, "extract.jsonl")
    assert not (tmp_path / "extract.jsonl").exists()


@pytest.mark.parametrize(("url", "named"), [
    ("postgresql://mlc:hunter2@db:notaport/state", "(an unparseable URL) is not valid"),
    ("nonsense://mlc:hunter2@db/state", "nonsense://mlc:***@db/state is not valid"),
    ("postgresql+pg8000://mlc:hunter2@db/state", "needs the pg8000 driver"),
])
def test_a_state_store_url_that_cannot_work_is_named_without_its_password(url, named):
    from ml_connector.errors import StateStoreError
    from ml_connector.state.store import StateStore

    with pytest.raises(StateStoreError) as info:
        StateStore(url)
    assert named in str(info.value) and "hunter2" not in str(info.value)
