"""Cross-check by dimension, end to end over HTTP: invoice actuals by account x department x
month, summed over departments, equal what the account-only flow sent for each account and
month (both as the state store recorded them); an invoice changed between the two runs
makes the check fail naming the account, the month and both amounts, which the emulator's
own P&L (before and after the change) gives independently."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from ml_connector.errors import RunFailed
from ml_connector.flows.verify import Verification
from ml_connector_sandbox.zoho.pnl import actuals

from ..cells import CENT, ORG, account_cells
from .conftest import Flows, cells
from .test_dimension_flows import ACCOUNT, FLOWS, INVOICE_POSTINGS

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
INVOICE_ACTUALS = {"id": "invoice_actuals", **INVOICE_POSTINGS,
                   "target": {"import": "Invoice Actuals by Account and Month"},
                   "columns": {"Account": ACCOUNT, "Period": {"period": "date"},
                               "Amount": {"amount": "line.amount"}}}
NO_POSTINGS = ("void", "draft")


def crosschecked(**check) -> dict:
    """The flows of the dimension tests, the account-only invoice flow, and the department
    flow cross-checked against it (``check``: more crosscheck keys)."""
    spec = copy.deepcopy(FLOWS)
    by_department = next(f for f in spec["flows"] if f["id"] == "invoice_actuals_by_department")
    by_department["crosscheck"] = {"flow": "invoice_actuals", **check}
    spec["flows"].append(INVOICE_ACTUALS)
    return spec


def flows_of(spec: dict, sandbox, zoho_client, anaplan_client, tmp_path) -> Flows:
    """The flows of ``spec``, the Accounts, Regions and Departments lists loaded for January."""
    flows = Flows.of(spec, sandbox, zoho_client, anaplan_client, tmp_path)
    flows.load("accounts", "regions", "departments", start=JAN, end=FEB)
    return flows


def verification(flows: Flows, flow_id: str, start: date, end: date) -> Verification:
    walked = flows.walk(flow_id, start, end)
    assert not walked.failed, walked.failed
    found = walked.outputs["verify"]
    assert isinstance(found, Verification) and found.crosscheck is not None
    return found


def department_sums(sandbox) -> dict[tuple[str, str], Decimal]:
    """Anaplan's by-department cells summed over departments (account, month)."""
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for (account, _, month), amount in cells(sandbox, "Invoice Actuals by Department").items():
        sums[(account, month)] += amount
    return dict(sums)


def test_department_sums_equal_the_account_only_flow(sandbox, zoho_client, anaplan_client,
                                                     tmp_path):
    flows = flows_of(crosschecked(), sandbox, zoho_client, anaplan_client, tmp_path)
    assert flows.run("invoice_actuals", JAN, FEB).counts.get("failed", 0) == 0
    sandbox.sandbox.anaplan.reset_stats()
    found = verification(flows, "invoice_actuals_by_department", JAN, FEB)
    check = found.crosscheck
    assert check is not None and check.ok and check.differences == []
    assert check.not_compared == [] and check.months["Jan 26"] >= 5
    assert found.export_id is None, "no read-back: the flow has no verify"
    # The import and its wait, but no export: the state store holds both sides.
    by_path = sandbox.sandbox.anaplan.stats()["by_path"]
    assert any("/imports/" in path for path in by_path)
    assert not any("/exports" in path for path in by_path)
    books = actuals(sandbox.sandbox.zoho, ORG, ["invoices", "creditnotes"], JAN, FEB)
    assert department_sums(sandbox) == account_cells(sandbox) == {
        k: v for k, v in books.items() if v}
    # February: the account-only flow has not sent it yet; reported, not a failure.
    found = verification(flows, "invoice_actuals_by_department", FEB, MAR)
    assert found.ok and found.crosscheck is not None
    assert found.crosscheck.not_compared == ["not compared: invoice_actuals has not sent "
                                             "Feb 26"]


def _plant_difference(sandbox) -> tuple[str, Decimal, Decimal]:
    """Raise a January invoice's first line by 1,234.56: (the line's account code, the
    account's January amount before, after), by the emulator's own P&L."""
    zoho = sandbox.sandbox.zoho
    before = actuals(zoho, ORG, ["invoices", "creditnotes"], JAN, FEB)
    invoice = next(i for i in zoho.documents(ORG, "invoices", "2026-01-01", "2026-02-01")
                   if i["status"] not in NO_POSTINGS)
    line = invoice["line_items"][0]
    zoho.edit_record(ORG, "invoices", invoice["invoice_id"], {"line_items": [
        {**line, "item_total": round(line["item_total"] + 1234.56, 2)},
        *invoice["line_items"][1:]]})
    after = actuals(zoho, ORG, ["invoices", "creditnotes"], JAN, FEB)
    changed = [k for k in set(before) | set(after) if before.get(k) != after.get(k)]
    assert len(changed) == 1 and changed[0][1] == "Jan 26", changed
    code = changed[0][0]
    assert code == zoho.record(ORG, "chartofaccounts", line["account_id"])["account_code"]
    return code, before[changed[0]].quantize(CENT), after[changed[0]].quantize(CENT)


def test_an_invoice_changed_between_the_runs_fails_the_check(sandbox, zoho_client,
                                                             anaplan_client, tmp_path):
    flows = flows_of(crosschecked(), sandbox, zoho_client, anaplan_client, tmp_path)
    flows.run("invoice_actuals", JAN, FEB)
    code, before, after = _plant_difference(sandbox)
    with pytest.raises(RunFailed) as failed:
        flows.run("invoice_actuals_by_department", JAN, FEB)
    said = str(failed.value)
    assert "1 cell sum(s) differ from what invoice_actuals sent" in said
    assert (f"Account {code}, Period Jan 26 Amount: invoice_actuals_by_department sums to "
            f"{after}, invoice_actuals sent {before} (difference {after - before})") in said
    # The department flow's cells reached Anaplan (the check runs after the import) and
    # sum to the changed books.
    assert department_sums(sandbox)[(code, "Jan 26")] == after


def test_a_reported_difference_does_not_fail_the_run(sandbox, zoho_client, anaplan_client,
                                                    tmp_path):
    flows = flows_of(crosschecked(on_difference="report"), sandbox, zoho_client,
                     anaplan_client, tmp_path)
    flows.run("invoice_actuals", JAN, FEB)
    code, before, after = _plant_difference(sandbox)
    found = verification(flows, "invoice_actuals_by_department", JAN, FEB)
    check = found.crosscheck
    assert found.ok and check is not None and not check.fail
    assert [(d.key, d.summed, d.other) for d in check.differences] == [
        ({"Account": code, "Period": "Jan 26"}, str(after), str(before))]
