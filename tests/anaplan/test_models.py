"""The client's typed resources: models validated from the sandbox's real answers over HTTP."""

from __future__ import annotations

import httpx
import pytest

from ml_connector.anaplan.auth import BasicMethod
from ml_connector.anaplan.client import AnaplanClient
from ml_connector.anaplan.config import AnaplanConfig
from ml_connector.anaplan.models import (
    Action,
    Export,
    ExportMetadata,
    File,
    Import,
    ImportMetadata,
    ListInfo,
    ListItem,
    Process,
)
from ml_connector.errors import ConfigError, ProtocolError
from ml_connector_sandbox.anaplan.definition import load_workspaces
from ml_connector_sandbox.core import SandboxConfig

from ..conftest import FAST_RETRY, MODEL, PASSWORD, ROOMY, USER, WORKSPACE
from .test_imports import ACTUALS, ACTUALS_FILE, load_accounts

LOAD_LINES, LINES_LIST, LINES = "118000000001", "112000000004", "112000000005"
INVOICE_ACTUALS_EXPORT = "116000000002"
ACCOUNTS_LIST, CURRENCIES_LIST = "101000000001", "101000000004"


def test_listings_are_models_of_what_the_sandbox_serves(anaplan_client):
    client = anaplan_client()
    imports = {i.id: i for i in client.imports()}
    assert all(type(i) is Import for i in imports.values())
    actuals = imports[ACTUALS]
    assert (actuals.name, actuals.import_data_source_id, actuals.import_type) == (
        "Invoice Actuals by Account and Month", ACTUALS_FILE, "MODULE_DATA")
    files = {f.id: f for f in client.files()}
    assert all(type(f) is File for f in files.values())
    assert files[ACTUALS_FILE].name == "invoice_actuals.csv"
    assert (files[ACTUALS_FILE].header_row, files[ACTUALS_FILE].first_data_row) == (1, 2)
    assert [(p.id, p.name) for p in client.processes()] == [(LOAD_LINES, "Load Invoice Lines")]
    assert all(type(p) is Process for p in client.processes())
    exports = {e.id: e for e in client.exports()}
    assert all(type(e) is Export for e in exports.values())
    assert exports[INVOICE_ACTUALS_EXPORT].export_format == "text/csv"
    assert [m.id for m in client.models()] == [MODEL]


def test_find_action_resolves_an_import_to_itself_and_a_process_to_its_imports(anaplan_client):
    client = anaplan_client()
    action = client.find_action("Invoice Actuals by Account and Month")
    assert type(action) is Action
    assert (action.kind, action.id, [s.id for s in action.steps]) == ("import", ACTUALS,
                                                                     [ACTUALS])
    process = client.find_action(LOAD_LINES)
    assert (process.kind, process.name) == ("process", "Load Invoice Lines")
    assert all(type(s) is Import for s in process.steps)
    assert [(s.id, s.name, s.import_data_source_id) for s in process.steps] == [
        (LINES_LIST, "Invoice Lines List", "113000000004"),
        (LINES, "Invoice Lines", "113000000004")]


def test_a_process_lists_its_steps_in_its_own_order(sandbox_factory, anaplan_client):
    """Not the order of ``/imports``: a process may run its imports in any order."""
    workspaces = [w.model_dump() for w in load_workspaces()]
    model = next(m for w in workspaces for m in w["models"] if m["id"] == MODEL)
    model["processes"].append({"id": "118000000002", "name": "Details, then the list",
                               "actions": [LINES, LINES_LIST]})
    running = sandbox_factory(SandboxConfig.model_validate(
        {**ROOMY, "anaplan": {**ROOMY["anaplan"], "workspaces": workspaces}}))
    action = anaplan_client(running=running).find_action("Details, then the list")
    assert (action.kind, action.id) == ("process", "118000000002")
    assert [s.id for s in action.steps] == [LINES, LINES_LIST]


def test_unknown_actions_and_exports_are_refused_with_what_exists(anaplan_client):
    client = anaplan_client()
    with pytest.raises(ConfigError, match=r"no import or process 'Nothing'.*"
                                          r"112000000001 \(Accounts from Zoho\).*"
                                          r"118000000001 \(Load Invoice Lines\)"):
        client.find_action("Nothing")
    with pytest.raises(ConfigError, match=r"no export 'Nothing' in model .*; there are: "
                                          r"116000000001 \(GL Actuals.csv\), "
                                          r"116000000002 \(Invoice Actuals.csv\)"):
        client.find_export("Nothing")
    found = client.find_export("Invoice Actuals.csv")
    assert type(found) is Export and found.id == INVOICE_ACTUALS_EXPORT
    assert client.find_export(INVOICE_ACTUALS_EXPORT) == found


def test_metadata_of_an_import_and_an_export(anaplan_client):
    client = anaplan_client()
    meta = client.import_metadata(ACTUALS)
    assert type(meta) is ImportMetadata and meta.source is not None
    assert meta.source.header_names == ["Account", "Period", "Amount"]
    assert (meta.source.column_separator, meta.source.text_delimiter,
            meta.source.column_count) == (",", '"', 3)
    export = client.export_metadata(INVOICE_ACTUALS_EXPORT)
    assert type(export) is ExportMetadata
    assert export.header_names == ["Accounts", "Time", "Amount"]
    assert (export.separator, export.column_count, export.export_format) == (",", 3,
                                                                             "text/csv")


def test_lists_and_their_members(anaplan_client, sandbox):
    client = anaplan_client()
    lists = client.lists()
    assert all(type(x) is ListInfo for x in lists)
    assert [(x.id, x.name) for x in lists] == [
        (ACCOUNTS_LIST, "Accounts"), ("101000000002", "Customers"),
        ("101000000003", "Vendors"), (CURRENCIES_LIST, "Currencies"),
        ("101000000005", "Invoice Lines"), ("101000000006", "Regions"),
        ("101000000007", "Departments"), ("101000000008", "Location Groups"),
        ("101000000009", "Locations"), ("101000000010", "Projects"),
        ("101000000011", "Items"), ("101000000012", "Entities")]
    currencies = client.list_items(CURRENCIES_LIST)
    assert all(type(i) is ListItem for i in currencies)
    assert [i.code for i in currencies][:3] == ["USD", "EUR", "GBP"]
    assert {i.code for i in currencies} == {
        i["code"] for i in sandbox.sandbox.anaplan.list_items(MODEL, "Currencies")}
    load_accounts(client, sandbox)
    brief = {i.code: i for i in client.list_items(ACCOUNTS_LIST)}
    assert set(brief) == {"4000", "4100", "5000"} and brief["4000"].properties == {}
    full = {i.code: i for i in client.list_items(ACCOUNTS_LIST, include_all=True)}
    assert (full["4000"].name, full["4000"].properties) == ("Account 4000", {"Type": "Income"})
    assert full["4000"].id == brief["4000"].id
    with pytest.raises(ConfigError, match="list id must be 12 digits"):
        client.list_items("Accounts")


def test_models_read_anaplans_json_as_is():
    row = {"id": 112000000006, "name": "Actuals", "importDataSourceId": "",
           "importType": "MODULE_DATA", "unknownKey": True}
    found = Import.model_validate(row)
    assert (found.id, found.import_data_source_id) == ("112000000006", None)
    assert found.model_dump(by_alias=True) == {
        "id": "112000000006", "name": "Actuals", "importDataSourceId": None,
        "importType": "MODULE_DATA"}
    assert Import(id="112000000006", name="Actuals").import_type is None


class _Reshaped(httpx.BaseTransport):
    """The sandbox, except that ``/imports`` answers with an import that has no id."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/imports"):
            return httpx.Response(200, json={"status": {"code": 200, "message": "Success"},
                                             "imports": [{"name": "Nameless"}]})
        return self.inner.handle_request(request)


def test_an_answer_that_does_not_fit_is_a_protocol_error(sandbox):
    config = AnaplanConfig(WORKSPACE, MODEL, endpoint_base=sandbox.base_url, retry=FAST_RETRY)
    client = AnaplanClient(BasicMethod(USER, PASSWORD), config,
                           http=httpx.Client(transport=_Reshaped()))
    with client, pytest.raises(ProtocolError, match=r"Import does not fit Anaplan's answer: id"):
        client.imports()
