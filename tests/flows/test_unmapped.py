"""A member crosswalk (``map:``) over HTTP with a Zoho value it does not map: under
``unmapped: fail`` the run stops before any upload and names the value and the documents
that carry it; under ``unmapped: <member>`` the value's amounts land on that member, the
run says so, and the cells equal the emulator's P&L by tag with the same routing."""

from __future__ import annotations

import copy
import logging

import pytest

from ml_connector.errors import ConfigError

from ..cells import ORG
from .conftest import DEPARTMENT, FEB, JAN, Flows, books, cells
from .test_dimension_flows import FLOWS
from .test_member_check import FACT, departments_on_lines, import_untouched


def mapped_flows(sandbox, unmapped: str) -> tuple[dict, str]:
    """The department flows with a map of every Department option to itself but the one
    carried by the most January documents, and that option."""
    carried = departments_on_lines(sandbox)
    left_out = max(carried, key=lambda option: len(carried[option]))
    tag = next(t for t in sandbox.sandbox.zoho.dimensions(ORG).tags if t.name == "Department")
    spec = copy.deepcopy(FLOWS)
    fact = next(f for f in spec["flows"] if f["id"] == FACT)
    fact["columns"]["Department"] = {
        **fact["columns"]["Department"], "unmapped": unmapped,
        "map": {o.option_id: o.option_id for o in tag.options if o.option_id != left_out}}
    return spec, left_out


def runner(spec: dict, sandbox, zoho_client, anaplan_client, tmp_path) -> Flows:
    flows = Flows.of(spec, sandbox, zoho_client, anaplan_client, tmp_path)
    flows.load("accounts", "regions", "departments")
    return flows


def test_an_unmapped_value_under_fail_stops_the_run_naming_it_and_its_documents(
        sandbox, zoho_client, anaplan_client, tmp_path):
    spec, left_out = mapped_flows(sandbox, "fail")
    flows = runner(spec, sandbox, zoho_client, anaplan_client, tmp_path)
    with pytest.raises(ConfigError) as failed:
        flows.run(FACT, JAN, FEB)
    message = str(failed.value)
    assert import_untouched(sandbox, anaplan_client)
    assert f"column 'Department': {left_out!r} (" in message
    shown = message.split(f"{left_out!r} (", 1)[1].split(")", 1)[0]
    documents = departments_on_lines(sandbox)[left_out]
    listed = set(shown.partition(" and ")[0].split(", "))
    assert listed <= documents and len(listed) == min(5, len(documents))
    assert "1 Zoho value(s) have no member" in message and "nothing was uploaded" in message


def test_an_unmapped_value_routed_to_a_member_is_reported_and_lands_there(
        sandbox, zoho_client, anaplan_client, tmp_path, caplog):
    spec, left_out = mapped_flows(sandbox, "Unassigned")
    flows = runner(spec, sandbox, zoho_client, anaplan_client, tmp_path)
    with caplog.at_level(logging.INFO, logger="ml_connector"):
        summary = flows.run(FACT, JAN, FEB)
    assert summary.counts.get("failed", 0) == 0
    said = [r.getMessage() for r in caplog.records if "routed to the unmapped member" in
            r.getMessage()]
    assert len(said) == 1 and f"{left_out!r} x " in said[0], said

    def routed(kind, doc, line) -> str:
        member = DEPARTMENT(kind, doc, line)
        return "Unassigned" if member == left_out else member

    sent = cells(sandbox, "Invoice Actuals by Department")
    assert sent == books(sandbox, ["invoices", "creditnotes"], routed)
    assert left_out not in {department for _, department, _ in sent}
