"""``crosscheck`` is checked when the flows file loads: the other flow exists, is aggregate,
shares the key columns (the period among them) and reads the same postings; each error
names the key and the fix. A valid one is bound to its other flow."""

from __future__ import annotations

import copy

import pytest

from ml_connector.errors import ConfigError
from ml_connector.flows.spec import parse_flows, split_flows

ACCOUNT = {"lookup": {"field": "line.account_id", "entity": "chartofaccounts",
                      "key": "account_id", "value": "account_code"}}
POSTINGS = {"entity": "invoices", "credits": "creditnotes", "lines": "postings",
            "grain": "aggregate"}
ACCOUNT_ONLY = {"id": "invoice_actuals", **POSTINGS, "target": {"import": "A"},
                "columns": {"Account": ACCOUNT, "Period": {"period": "date"},
                            "Amount": {"amount": "line.amount"}}}
BY_DEPARTMENT = {"id": "by_department", **POSTINGS, "target": {"import": "D"},
                 "crosscheck": {"flow": "invoice_actuals"},
                 "columns": {"Account": ACCOUNT,
                             "Department": {"tag": "Department", "default": "Unassigned"},
                             "Period": {"period": "date"},
                             "Amount": {"amount": "line.amount"}}}
LEDGER = {"id": "pl_actuals", "source": "ledger", "grain": "aggregate",
          "target": {"import": "L"},
          "columns": {"Account": {"field": "account_code"},
                      "Period": {"period": "transaction_date"}, "Amount": {"amount": "amount"}}}


def spec(*flows: dict) -> dict:
    return {"flows": copy.deepcopy(list(flows))}


def test_a_valid_crosscheck_is_bound_to_its_flow_and_shares_account_and_period():
    flows = parse_flows(spec(ACCOUNT_ONLY, BY_DEPARTMENT)).flows
    check = flows[1].crosscheck
    assert check is not None and check.other is flows[0]
    assert check.shared(flows[1], flows[0]) == (["Account", "Period"], ["Amount"])


def problem(*flows: dict) -> str:
    with pytest.raises(ConfigError) as failed:
        parse_flows(spec(*flows))
    return str(failed.value)


def with_check(**check) -> dict:
    return {**BY_DEPARTMENT, "crosscheck": {"flow": "invoice_actuals", **check}}


def test_errors_name_the_key_and_the_fix():
    assert "flows[0] (by_department): crosscheck.flow: no other flow 'invoice_actuals'" in \
        problem(BY_DEPARTMENT)
    record = {**ACCOUNT_ONLY, "grain": "record"}
    assert "invoice_actuals must be an aggregate flow" in problem(record, BY_DEPARTMENT)
    said = problem(ACCOUNT_ONLY, with_check(keys=["Account", "Department", "Period"]))
    assert "crosscheck.keys: 'Department' is not a non-amount column of invoice_actuals" in said
    said = problem(ACCOUNT_ONLY, with_check(keys=["Account"]))
    assert "must include both flows' period column" in said
    bills = {**ACCOUNT_ONLY, "entity": "bills", "credits": "vendorcredits"}
    assert "read different documents or postings (entity/credits differ)" in problem(
        bills, BY_DEPARTMENT)
    said = problem(ACCOUNT_ONLY, with_check(only={"Department": ["x"]}))
    assert "crosscheck.only: 'Department' is not one of the shared keys" in said


def test_a_ledger_flow_needs_only_the_accounts_no_other_transaction_posts_to():
    against_ledger = {**BY_DEPARTMENT, "crosscheck": {"flow": "pl_actuals"}}
    said = problem(LEDGER, against_ledger)
    assert "crosscheck.only: pl_actuals sums every posting of its accounts" in said
    assert "list them (only: {Account: [...]})" in said
    only = {**BY_DEPARTMENT, "crosscheck": {"flow": "pl_actuals",
                                            "only": {"Account": ["4000"]}}}
    assert parse_flows(spec(LEDGER, only)).flows[1].crosscheck is not None
    invoices_only = {**LEDGER, "ledger": {"transaction_types": ["invoice", "credit_notes"]}}
    assert parse_flows(spec(invoices_only, against_ledger)).flows[1].crosscheck is not None


def test_split_flows_drops_only_the_flow_whose_crosscheck_is_wrong():
    flows, problems = split_flows(spec({**ACCOUNT_ONLY, "grain": "record"}, BY_DEPARTMENT,
                                       LEDGER))
    assert [f.id for f in flows.flows] == ["invoice_actuals", "pl_actuals"]
    assert len(problems) == 1 and problems[0].startswith("flows[1] (by_department): "
                                                         "crosscheck.flow:")
