"""A fact flow waits for the list flow that loads the list it looks members up in."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_connector.dag_factory import list_flows
from ml_connector.errors import NothingChanged
from ml_connector.flows.run import FlowRun
from ml_connector.flows.spec import load_flows
from ml_connector.state.events import Event, EventLog
from ml_connector.state.lists import ListLoads
from ml_connector.state.store import StateStore

FLOWS = Path(__file__).resolve().parents[2] / "dags" / "flows.yaml"
ORG = "10234695"


def test_the_shipped_list_flows_by_the_module_they_read():
    assert list_flows(load_flows(FLOWS).flows) == {
        "chartofaccounts": ["accounts"], "contacts": ["customers", "vendors"],
        "tagoptions": ["regions", "departments"], "locations": ["location_groups", "locations"],
        "projects": ["projects"], "items": ["items"]}


def test_a_run_waits_while_an_announced_change_of_its_lookup_list_is_not_loaded(tmp_path):
    spec = load_flows(FLOWS)
    flow = next(f for f in spec.flows if f.id == "invoice_actuals_daily")
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    run = FlowRun(flow, store, run_id="r", interval=("2026-04-01", "2026-04-02"),
                  out_dir=tmp_path, lists=list_flows(spec.flows))
    run.lists_ready(ORG)  # no event: nothing to wait for
    events = EventLog(store)
    events.record(Event(ORG, "contacts", "1", "c1", "s1", 1_000.0))  # not looked up here
    events.record(Event("20071234", "chartofaccounts", "2", "a0", "s0", 1_000.0))
    run.lists_ready(ORG)
    events.record(Event(ORG, "chartofaccounts", "3", "a1", "s2", 1_000.0))
    with pytest.raises(NothingChanged, match="flow accounts has not loaded the "
                       "chartofaccounts changed at 1970-01-01 00:16:40 UTC"):
        run.lists_ready(ORG)
    ListLoads(store).record("accounts", 999.0)  # read before the change
    with pytest.raises(NothingChanged):
        run.lists_ready(ORG)
    ListLoads(store).record("accounts", 1_000.5)
    run.lists_ready(ORG)
    events.record(Event(ORG, "chartofaccounts", "3", "a2", "s3", 1_001.0))
    with pytest.raises(NothingChanged):
        run.lists_ready(ORG)
