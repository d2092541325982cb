"""List flows carry text exactly, or name what they could not: reporting-tag options and
locations with leading and trailing spaces, an empty name and a name Zoho serves as null
load into Anaplan lists; the run reads each list back and names every record whose text
Anaplan holds differently. The expected records come from the Zoho emulator's own store
and what the Anaplan emulator's ``list_text`` setting does, not from the connector."""

from __future__ import annotations

import logging
from datetime import date
from functools import partial

import pytest

from ml_connector.errors import RunFailed
from ml_connector.flows.spec import parse_flows
from ml_connector.state.lists import ListLoads
from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.zoho.config import default_organizations

from ..cells import ORG
from ..conftest import ROOMY
from .conftest import Flows
from .test_dimension_flows import FLOWS as DIMENSION_FLOWS

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
#: Options and locations whose names Anaplan may not hold as given (never on documents).
ODD_OPTIONS = [{"name": " Field Sales ", "parent": "Americas", "weight": 0},
               {"name": "Inside Sales  ", "parent": "Americas", "weight": 0},
               {"name": "", "parent": "EMEA", "weight": 0},
               {"name": "Nameless", "parent": "EMEA", "weight": 0}]
ODD_LOCATIONS = [{"name": "  Berlin", "parent": "Europe", "weight": 0},
                 {"name": "", "parent": "Europe", "weight": 0}]
#: Served with a null name.
NULL = "Nameless"
LIST_FLOWS = {f["id"]: f for f in DIMENSION_FLOWS["flows"]}
DEPARTMENTS = {**LIST_FLOWS["departments"], "loads": "Departments"}
FLOWS = {"flows": [
    LIST_FLOWS["regions"], DEPARTMENTS, {**DEPARTMENTS, "id": "departments_strict",
                                         "text": "fail"},
    LIST_FLOWS["location_groups"],
    {**LIST_FLOWS["locations"], "loads": "Locations", "code": "Location ID", "name": "Name"},
]}


def odd_config(list_text: dict, null_names: list[str]) -> SandboxConfig:
    """The standard sandbox with the odd options and locations on the demo organization."""
    orgs = [o.model_dump() for o in default_organizations()]
    demo = next(o for o in orgs if o["organization_id"] == ORG)
    next(t for t in demo["reporting_tags"] if t["name"] == "Department")["options"] += \
        ODD_OPTIONS
    demo["locations"] += ODD_LOCATIONS
    return SandboxConfig.model_validate({
        "zoho": {**ROOMY["zoho"], "organizations": orgs,
                 "dimensions": {"null_names": null_names}},
        "anaplan": {**ROOMY["anaplan"], "list_text": list_text}})


@pytest.fixture
def start(sandbox_factory, zoho_client, anaplan_client, tmp_path):
    """(running sandbox, Flows over it) for a ``list_text`` and the null-named options."""

    def make(list_text: dict, null_names: list[str]):
        running = sandbox_factory(odd_config(list_text, null_names))
        flows = Flows.of(FLOWS, running, partial(zoho_client, running=running),
                         partial(anaplan_client, running=running), tmp_path)
        return running, flows

    return make


def zoho_names(running) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """(option id -> name, location id -> name) of what the lists load, as the Zoho
    emulator serves them (None: a null name)."""
    dims = running.sandbox.zoho.dimensions(ORG)
    null = set(running.sandbox.config.zoho.dimensions.null_names)
    tag = next(t for t in dims.tags if t.name == "Department")
    options = {o.option_id: None if o.name in null else o.name for o in tag.options
               if o.depth == 1}
    locations = {x.location_id: None if x.name in null else x.name for x in dims.locations}
    return options, locations


def members(flows: Flows, list_name: str) -> dict[str, str]:
    """Code -> name of what Anaplan holds in a list."""
    client = flows.anaplan_client()
    found = next(info for info in client.lists() if info.name == list_name)
    return {item.code: item.name for item in client.list_items(found.id, include_all=True)
            if item.code is not None}


def notes(flows: Flows, flow_id: str) -> dict[str, str]:
    """Record id -> the audit's note of each imported record of a flow that has one."""
    rows = flows.audit.query(flow=flow_id, status="imported", limit=1000)
    return {r["record_id"]: r["error"] for r in rows if r["error"]}


def text_counts(summary) -> dict[str, int]:
    """The run's text counts, without the inactive members it kept (tested with the
    shipped flows)."""
    return {k: v for k, v in summary.text.items() if k != "inactive"}


def test_text_kept_exactly_reaches_anaplan_byte_for_byte_and_nothing_is_reported(start):
    running, flows = start({"trim_names": False, "blank_name": "keep"}, [])
    flows.load("regions", "location_groups", start=JAN, end=FEB)
    options, locations = zoho_names(running)
    assert {" Field Sales ", "Inside Sales  ", ""} <= set(options.values())
    assert {"  Berlin", ""} <= set(locations.values())
    for flow_id, list_name, zoho in (("departments", "Departments", options),
                                     ("locations", "Locations", locations)):
        summary = flows.run(flow_id, JAN, FEB)
        assert text_counts(summary) == {"checked": len(zoho)}, flow_id
        held = members(flows, list_name)
        assert {code: held[code] for code in zoho} == zoho
        assert notes(flows, flow_id) == {}


def test_default_trimming_names_each_record_whose_text_changed(start, caplog):
    """Anaplan's default here trims names and names a blank one by its code: each such
    record, and the one Zoho gave no name, is named with what Anaplan holds, in the task
    log, the summary's counts and the audit; ``text: fail`` fails the run on them."""
    running, flows = start({}, [NULL])
    flows.load("regions", "location_groups", start=JAN, end=FEB)
    options, locations = zoho_names(running)
    assert None in options.values(), "a null name served"
    for flow_id, list_name, code_column, zoho in (
            ("departments", "Departments", "Option ID", options),
            ("locations", "Locations", "Location ID", locations)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ml_connector.flows.run"):
            summary = flows.run(flow_id, JAN, FEB)
        expected = expected_of(zoho)
        changed = {code for code, name in zoho.items() if name != expected[code]}
        assert changed and members(flows, list_name).items() >= expected.items()
        trimmed = {c for c in changed if (zoho[c] or "").strip()}
        blank = changed - trimmed
        unnamed = {c for c, name in zoho.items() if name is None}
        assert text_counts(summary) == {"checked": len(zoho), **({"trimmed": len(trimmed)}
                                                         if trimmed else {}),
                                "named_by_code": len(blank),
                                **({"not_in_zoho": len(unnamed)} if unnamed else {})}
        noted = notes(flows, flow_id)
        assert set(noted) == changed
        for code in changed:
            assert f"name {zoho[code] or ''!r} is held as {expected[code]!r}" in noted[code]
            line = (f"{list_name}: {code_column} {code}: name {zoho[code] or ''!r} is held "
                    f"as {expected[code]!r}")
            assert line in caplog.text
        for code in unnamed:
            assert noted[code].startswith("text: Zoho gives no name: sent as ''")
        for code in trimmed:
            assert f"{list_name}: {code_column} {code}: name {zoho[code]!r} is held as " \
                   f"{expected[code]!r} (Anaplan trims names)" in caplog.text
    with pytest.raises(RunFailed) as failed:
        flows.run("departments_strict", JAN, FEB)
    changed = {c for c, name in options.items() if name != expected_of(options)[c]}
    assert f": {len(changed)} record(s) of {len(options)} did not reach list Departments " \
           "exactly" in str(failed.value)
    assert "(Anaplan trims names)" in str(failed.value)
    assert ListLoads(flows.store).read_at("departments_strict") is None, "not loaded"


def expected_of(zoho: dict[str, str | None]) -> dict[str, str]:
    """Code -> the name the Anaplan emulator's default ``list_text`` holds: trimmed, a
    blank one replaced by the code."""
    return {code: (name or "").strip() or code for code, name in zoho.items()}


def test_a_rejected_blank_name_is_named(start, caplog):
    running, flows = start({"blank_name": "reject"}, [NULL])
    flows.load("regions", start=JAN, end=FEB)
    options, _ = zoho_names(running)
    blank = {code for code, name in options.items() if not (name or "").strip()}
    assert len(blank) == 2, "the empty name and the null one"
    with caplog.at_level(logging.WARNING, logger="ml_connector.flows.run"), \
            pytest.raises(RunFailed):
        flows.run("departments", JAN, FEB)
    for code in blank:
        assert f"Departments: Option ID {code}: name '': Anaplan holds no member with this " \
               "code" in caplog.text
    failed = {r["record_id"] for r in flows.audit.query(flow="departments", status="failed")}
    assert failed == blank
    assert not blank & set(members(flows, "Departments"))


def test_a_list_it_cannot_find_fails_the_run_naming_the_lists(sandbox, zoho_client,
                                                             anaplan_client, tmp_path, caplog):
    """A ``loads`` naming no list of the model: the verify step says which lists there
    are, and the run fails (its text is unchecked) after the audit is written."""
    spec = parse_flows({"flows": [{**LIST_FLOWS["regions"], "loads": "Regionz"}]})
    flows = Flows.of(spec, sandbox, zoho_client, anaplan_client, tmp_path)
    with caplog.at_level(logging.WARNING), pytest.raises(RunFailed) as failed:
        flows.run("regions", JAN, FEB)
    assert "the verify step did not read list Regionz back" in str(failed.value)
    assert "no list 'Regionz' in model" in caplog.text and "(Regions)" in caplog.text
    assert flows.audit.query(flow="regions", status="imported"), "the audit is written"
