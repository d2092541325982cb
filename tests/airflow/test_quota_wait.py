"""``on_quota: wait`` in real Airflow: an extract that today's daily quota (shared with the
organization's other integrations) cannot carry defers to the triggerer until the quota resets
at the organization's midnight, then fetches everything once, without meeting Zoho's cap."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ml_connector_sandbox.core import Sandbox, SandboxConfig

from ..airflow_env import airflow, airflow_env, migrate, sandbox_connections
from ..conftest import ROOMY

pytestmark = pytest.mark.airflow
ORG = "10234696"  # Zillum Labs, UTC-08:00
DAGS = Path(__file__).resolve().parent / "dags"
#: One minute before the organization's midnight (08:00 UTC).
BEFORE_MIDNIGHT = datetime(2026, 6, 1, 7, 59, tzinfo=timezone.utc).timestamp()


def test_extract_waits_in_the_triggerer_for_the_daily_reset(sandbox_factory, zoho_client,
                                                            tmp_path):
    config = SandboxConfig.model_validate(ROOMY)
    january = list(Sandbox(config).zoho.documents(ORG, "invoices", "2026-01-01", "2026-02-01"))
    needed = len(january)  # one detail request per invoice, after one list page
    assert needed >= 5
    # A cap the extract fits in on a fresh day (after the 20 % reserve), but not today once
    # another integration of the organization has spent some of it.
    cap = needed + 10
    config.zoho.limits.per_day = cap
    config.start_time = BEFORE_MIDNIGHT
    running = sandbox_factory(config)
    other = zoho_client(running=running, organization_id=ORG)
    for _ in range(8):  # another integration's calls
        list(other.iter_records("contacts"))

    env = airflow_env(tmp_path / "home", DAGS,
                      sandbox_connections(running.base_url, config, organization_id=ORG),
                      operators__default_deferrable="True")
    migrate(env)
    done = airflow(env, "dags", "test", "zoho_quota_wait", "2026-06-01")
    output = done.stdout + done.stderr

    assert "Waiting in the triggerer until" in output
    assert f"needs {needed} Zoho request(s)" in output
    staged = list((tmp_path / "home").rglob("extract.jsonl"))
    assert len(staged) == 1
    ids = sorted(json.loads(line)["invoice_id"] for line in staged[0].read_text().splitlines())
    assert ids == sorted(i["invoice_id"] for i in january)
    assert all("line_items" in json.loads(line) for line in staged[0].read_text().splitlines())
    stats = running.sandbox.zoho.stats()
    org = stats["organizations"][ORG]
    # Each detail fetched once, after the reset; Zoho's own cap (429 code 45) never met.
    assert org["by_path"].get("/books/v3/invoices/{id}") == needed
    assert not [x for x in stats["rate_limited"] if x["code"] == 45]
    assert running.sandbox.clock.utcnow() > datetime(2026, 6, 1, 8, tzinfo=timezone.utc)
