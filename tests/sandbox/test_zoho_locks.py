"""Transaction locking in the Zoho emulator over HTTP: locks set from the config and the
admin route, served by ``GET /transactionlocks`` (path and scope settings), and edits into
a locked period refused with the configured error, as a user editing in Zoho would be."""

from __future__ import annotations

import httpx

from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.zoho.locks import LockingSpec

from ..conftest import ROOMY
from .test_zoho_emulator import MAIN, Zoho


def test_locks_are_served_and_refuse_edits_dated_on_or_before_them(sandbox_factory):
    config = SandboxConfig.model_validate(ROOMY)
    config.zoho.transaction_locking = LockingSpec.model_validate(
        {"locks": {MAIN: [{"module": "purchase", "date": "2026-01-31"}]}})
    running = sandbox_factory(config)
    zoho = Zoho(running)
    admin = httpx.Client(base_url=f"{running.base_url}/_sandbox/zoho", timeout=30)
    body = zoho.get("/transactionlocks").json()
    assert [(r["module"], r["transaction_lock_date"], r["transaction_lock_status"],
             r["lock_scope"]) for r in body["transaction_locks"]] == [
        ("purchase", "2026-01-31", "enabled", 2)]

    # A sales lock through January, set as a user would: January's invoices refuse edits
    # (Zoho's error shape), February's and January's purchase orders (no lock module) do not.
    sales = admin.put(f"/orgs/{MAIN}/transactionlocks", json={"locks": [
        {"module": "sales", "date": "2026-01-31"},
        {"module": "purchase", "date": "2026-02-28", "status": "disabled"}]})
    assert sales.status_code == 200
    rows = zoho.get("/transactionlocks").json()["transaction_locks"]
    assert [r["transaction_lock_status"] for r in rows] == ["enabled", "disabled"]
    invoices = zoho.all("invoices", date_start="2026-01-30", date_end="2026-02-01")
    jan = next(i for i in invoices if i["date"] == "2026-01-31")
    refused = admin.post(f"/orgs/{MAIN}/invoices/{jan['invoice_id']}/edit",
                         json={"changes": {"reference_number": "late"}})
    assert refused.status_code == 400
    assert refused.json()["code"] == LockingSpec().error_code
    assert "2026-01-31" in refused.json()["message"]
    assert zoho.get(f"/invoices/{jan['invoice_id']}").json()["invoice"].get(
        "reference_number") != "late"
    # Moving a February invoice into the locked month is refused too.
    feb = zoho.all("invoices", date_start="2026-02-01", date_end="2026-02-02")[0]
    moved = admin.post(f"/orgs/{MAIN}/invoices/{feb['invoice_id']}/edit",
                       json={"changes": {"date": "2026-01-15"}})
    assert moved.status_code == 400
    assert admin.post(f"/orgs/{MAIN}/invoices/{feb['invoice_id']}/edit",
                      json={"changes": {"reference_number": "ok"}}).status_code == 200
    bill = zoho.all("bills", date_start="2026-02-01", date_end="2026-02-02")[0]
    assert admin.post(f"/orgs/{MAIN}/bills/{bill['bill_id']}/edit",  # its lock is disabled
                      json={"changes": {"reference_number": "ok"}}).status_code == 200
    po = zoho.all("purchaseorders", date_start="2026-01-01", date_end="2026-01-31")[0]
    assert admin.post(f"/orgs/{MAIN}/purchaseorders/{po['purchaseorder_id']}/edit",
                      json={"changes": {"reference_number": "ok"}}).status_code == 200


def test_lock_path_and_scope_are_settings(sandbox_factory):
    config = SandboxConfig.model_validate(ROOMY)
    config.zoho.transaction_locking = LockingSpec(path="settings-locks", scope="invoices")
    running = sandbox_factory(config)
    zoho = Zoho(running)
    assert zoho.get("/transactionlocks").status_code == 404
    assert zoho.get("/settings-locks").json()["transaction_locks"] == []
