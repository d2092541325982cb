"""Reporting tags on document headers ("transaction-level" tags, field unknown in Zoho's
JSON), end to end over HTTP: the emulator puts the Department tag on invoice and credit-note
headers under ``transaction_tags`` (``level: document``); a flow reading it at document
level (``tag_level: document``) gives each document's option to all its lines and charges,
one reading it at line level takes a line's own option first and the header's as the
fallback. Three documents are made a tagged, an untagged and a partly tagged one; both
flows' cells equal the emulator's P&L by tag at their level."""

from __future__ import annotations

import functools
from datetime import date

from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.zoho.config import default_organizations
from ml_connector_sandbox.zoho.pnl import by_tag

from ..cells import ORG
from ..conftest import ROOMY
from .conftest import Flows, books, cells
from .test_dimension_flows import ACCOUNT, INVOICE_POSTINGS
from .test_dimension_flows import FLOWS as DIMENSION_FLOWS

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
FIELD = "transaction_tags"
TARGET = "Invoice Actuals by Account, Department and Month"


def by_department(**column) -> dict:
    return {**INVOICE_POSTINGS, "id": f"by_department_{column.get('tag_level', 'line')}",
            "target": {"import": TARGET, "mapping_parameters": {"Version": "Actual"}},
            "columns": {"Account": ACCOUNT,
                        "Department": {"tag": "Department", "tag_field": FIELD,
                                       "default": "Unassigned", **column},
                        "Period": {"period": "date"}, "Amount": {"amount": "line.amount"}}}


FLOWS = {"flows": [
    *[f for f in DIMENSION_FLOWS["flows"] if f["id"] in ("accounts", "regions", "departments")],
    by_department(tag_level="document"), by_department()]}


def header_tags_sandbox(sandbox_factory):
    """The demo company with its Department tag on document headers, field FIELD."""
    demo = default_organizations()[0]
    tags = [t.model_copy(update={"level": "document"}) if t.name == "Department" else t
            for t in demo.reporting_tags]
    zoho = {**ROOMY["zoho"], "organizations": [demo.model_copy(update={
        "reporting_tags": tags}).model_dump()], "dimensions": {"document_tag_field": FIELD}}
    return sandbox_factory(SandboxConfig.model_validate({**ROOMY, "zoho": zoho}))


def test_document_level_tags_give_each_document_its_option_at_either_level(
        sandbox_factory, zoho_client, anaplan_client, tmp_path):
    running = header_tags_sandbox(sandbox_factory)
    zoho = running.sandbox.zoho
    flows = Flows.of(FLOWS, running, functools.partial(zoho_client, running=running),
                     functools.partial(anaplan_client, running=running), tmp_path)
    flows.load("accounts", "regions", "departments", start=JAN, end=FEB)

    tag = next(t for t in zoho.dimensions(ORG).tags if t.name == "Department")
    entry = {o.name: {"tag_id": tag.tag_id, "tag_name": tag.name,
                      "tag_option_id": o.option_id, "tag_option_name": o.name,
                      "is_tag_mandatory": False} for o in tag.options}
    january = [d for d in zoho.documents(ORG, "invoices", "2026-01-01", "2026-02-01")
               if d["status"] not in ("draft", "void")]
    assert not any(e["tag_name"] == "Department" for d in january for line in d["line_items"]
                   for e in line.get("tags", [])), "on headers only (Channel stays on lines)"
    assert any(d[FIELD] for d in january) and any(not d[FIELD] for d in january)
    assert any(d[FIELD] and d["shipping_charge"] for d in january), "charges of a tagged one"
    tagged, untagged, partly = [d for d in january if len(d["line_items"]) >= 2][:3]
    edits = {
        # Header Marketing, every line Operations: line level reads the lines.
        tagged["invoice_id"]: {FIELD: [entry["Marketing"]], "line_items": [
            {**line, "tags": [entry["Operations"]]} for line in tagged["line_items"]]},
        untagged["invoice_id"]: {FIELD: [], "line_items": [
            {**line, "tags": []} for line in untagged["line_items"]]},
        # Header Sales, the first line Engineering, the others untagged.
        partly["invoice_id"]: {FIELD: [entry["Sales"]], "line_items": [
            {**line, "tags": [entry["Engineering"]] if n == 0 else []}
            for n, line in enumerate(partly["line_items"])]},
    }
    for invoice_id, changes in edits.items():
        zoho.edit_record(ORG, "invoices", invoice_id, changes)

    expected = {}
    for level in ("document", "line"):
        summary = flows.run(f"by_department_{level}", JAN, FEB)
        assert summary.counts.get("failed", 0) == 0
        expected[level] = books(running, ["invoices", "creditnotes"], by_tag(
            "Department", untagged="Unassigned", document_field=FIELD,
            level=level), JAN, FEB)
        assert len({d for _, d, _ in expected[level]}) >= 5 and "Unassigned" in {
            d for _, d, _ in expected[level]}
        assert cells(running, "Invoice Actuals by Department") == expected[level], level
    assert expected["document"] != expected["line"], \
        "the edited lines' own tags count at line level"
