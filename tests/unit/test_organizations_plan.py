"""A flow of several organizations: its keys checked, its plan (one unit of work per
organization, their files combined) and its DAG (a task group per organization)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ml_connector.dag_factory import build_dags
from ml_connector.errors import ConfigError
from ml_connector.flows.plan import flow_plan
from ml_connector.flows.spec import parse_flows

GROUP = {"defaults": {"fx": {"source": "zoho", "organization": "US"}}, "flows": [{
    "id": "group_pl", "source": "ledger", "mode": "period", "grain": "aggregate",
    "target": {"import": "Consolidated Actuals Import"},
    "organizations": [{"entity": "US"}, {"entity": "UK", "zoho_conn_id": "zoho_books_eu",
                                         "organization": "Zillum UK Ltd"},
                      {"entity": "IN", "zoho_conn_id": "zoho_books_in"}],
    "columns": {"Entity": {"organization": "entity"}, "Account": {"field": "account_code"},
                "Period": {"period": "transaction_date"},
                "Currency": {"organization": "currency"},
                "Local Amount": {"amount": "amount"},
                "Group Amount": {"amount": "amount",
                                 "translate": {"to": "USD", "rate": "average"}}}}]}


def group(**changes) -> dict:
    flow = {**GROUP["flows"][0], **changes}
    return {**GROUP, "flows": [flow]}


def test_each_organization_is_a_unit_of_work_and_their_files_are_combined():
    spec = parse_flows(GROUP)
    plan = flow_plan(spec.flows[0], spec.defaults)
    names = [s.name for s in plan]
    for unit in ("us", "uk", "in"):
        assert [n for n in names if n.startswith(f"{unit}.")] == [
            f"{unit}.closed", f"{unit}.extract_chartofaccounts", f"{unit}.extract",
            f"{unit}.build"]
        build = plan.step(f"{unit}.build")
        assert build.inputs["rates"] == "rates" and build.organization == unit.upper()
        read = plan.step(f"{unit}.extract").read
        assert read is not None and read.organization == unit.upper()
    # The rates are read once, before every build; the import takes the combined file.
    assert names.index("rates") < min(names.index(f"{u}.build") for u in ("us", "uk", "in"))
    combine = plan.step("combine")
    assert combine.trigger_rule == "all_done"
    assert combine.inputs["parts"] == {"US": "us.build", "UK": "uk.build", "IN": "in.build"}
    assert plan.step("import").inputs == {"built": "combine"}
    assert "changes" not in plan.step("reconcile").inputs


def test_an_incremental_flow_hands_each_organizations_newest_change_to_combine():
    spec = parse_flows(group(mode="incremental", schedule="daily"))
    plan = flow_plan(spec.flows[0], spec.defaults)
    assert plan.step("combine").inputs["changes"] == {
        "US": "us.changes", "UK": "uk.changes", "IN": "in.changes"}
    # The rates cover the months any organization rebuilds.
    assert plan.step("rates").inputs == {"scopes": {
        "US": "us.scope", "UK": "uk.scope", "IN": "in.scope"}}


@pytest.mark.parametrize(("changes", "message"), [
    ({"grain": "record"}, "needs grain 'aggregate'"),
    ({"columns": {"Account": {"field": "account_code"}, "Amount": {"amount": "amount"},
                  "Period": {"period": "transaction_date"}}}, "{organization: entity}"),
    ({"organizations": [{"entity": "US"}, {"entity": "us"}]}, "named twice"),
    ({"organizations": [{"entity": "US", "organization_id": "1234", "organization": "X"}]},
     "not both"),
])
def test_bad_organizations_are_named(changes, message):
    with pytest.raises(ConfigError, match="organizations") as err:
        parse_flows(group(**changes))
    assert message in str(err.value)


def test_a_translated_column_needs_rates_and_whole_cells():
    spec = parse_flows({"flows": GROUP["flows"]})  # no fx in the defaults
    with pytest.raises(ConfigError, match="say where the rates come from with fx"):
        flow_plan(spec.flows[0], spec.defaults)
    columns = {**GROUP["flows"][0]["columns"],
               "Group Amount": {"amount": "amount", "currency": "document",
                                "translate": {"to": "USD", "rate": "average"}}}
    with pytest.raises(ConfigError, match="translate: translates an amount in the "
                       "organization's base currency"):
        parse_flows(group(columns=columns))


def test_an_entity_column_needs_organizations():
    flow = {**GROUP["flows"][0]}
    del flow["organizations"]
    spec = parse_flows({"flows": [flow]})
    with pytest.raises(ConfigError, match="name them under organizations"):
        flow_plan(spec.flows[0], spec.defaults)
    # The file's defaults name them for every flow with an entity column.
    spec = parse_flows({"defaults": {**GROUP["defaults"], "organizations":
                                     GROUP["flows"][0]["organizations"]}, "flows": [flow]})
    assert flow_plan(spec.flows[0], spec.defaults).step("combine").inputs["parts"] == {
        "US": "us.build", "UK": "uk.build", "IN": "in.build"}


def test_the_dag_has_a_task_group_per_organization(tmp_path: Path):
    path = tmp_path / "flows.yaml"
    path.write_text(yaml.safe_dump(GROUP))
    dag = build_dags(path)["zoho_group_pl"]
    assert set(dag.task_group.children) >= {"us", "uk", "in", "combine", "import"}
    # A lookup read runs through the extract operator (a ledger read is a Python task).
    extract = dag.get_task("uk.extract_chartofaccounts")
    assert extract.zoho_conn_id == "zoho_books_eu" and extract.organization == "Zillum UK Ltd"
    assert extract.unit == "UK" and extract.read.organization == "UK"
    assert dag.get_task("us.extract_chartofaccounts").zoho_conn_id == "zoho_books_default"
    assert set(dag.get_task("combine").upstream_task_ids) == {"us.build", "uk.build",
                                                              "in.build"}
    assert set(dag.get_task("uk.build").upstream_task_ids) == {
        "uk.extract", "uk.extract_chartofaccounts", "rates"}
    assert dag.get_task("combine").trigger_rule == "all_done"


def test_an_incremental_flow_watches_each_organizations_changes(tmp_path: Path):
    """One asset (and watcher) per module and organization: a change in one organization
    starts the flow, and the watcher of another organization of a login reads its own
    events."""
    path = tmp_path / "flows.yaml"
    path.write_text(yaml.safe_dump(group(mode="incremental", schedule="daily")))
    dag = build_dags(path)["zoho_group_pl"]
    assets = {a.name: a for a in dag.timetable.asset_condition.objects}
    uk = assets["zoho_books.zoho_books_eu.Zillum UK Ltd.invoices"]
    assert uk.uri == "zoho-books://zoho_books_eu/Zillum%20UK%20Ltd/invoices"
    trigger = uk.watchers[0].trigger
    assert (trigger.zoho_conn_id, trigger.organization) == ("zoho_books_eu", "Zillum UK Ltd")
    assert "zoho_books.zoho_books_in.invoices" in assets  # the connection's own organization
    assert "zoho_books.zoho_books_default.journals" in assets
