"""Admin routes (mounted at ``/_sandbox/zoho``) mirroring the emulator's Python hooks."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ml_connector_sandbox.admin import base_admin_router, found
from ml_connector_sandbox.zoho.errors import ZohoError
from ml_connector_sandbox.zoho.locks import LockSpec
from ml_connector_sandbox.zoho.webhooks import WebhookSpec

if TYPE_CHECKING:
    from ml_connector_sandbox.zoho.emulator import ZohoEmulator


class Edit(BaseModel):
    changes: dict[str, Any]


class RecordEdit(Edit):
    #: Keep the record's ``last_modified_time``: an edit within the second of the one before.
    same_second: bool = False


class Add(BaseModel):
    fields: dict[str, Any] = Field(default_factory=dict)


class TransactionLocks(BaseModel):
    locks: list[LockSpec]


class Revoke(BaseModel):
    token: str


class Limits(BaseModel):
    """An organization's new limits (None: unchanged)."""

    per_minute: int | None = Field(default=None, ge=1)
    per_day: int | None = Field(default=None, ge=1)


def build_admin_router(emu: ZohoEmulator) -> APIRouter:
    router = base_admin_router(emu)

    @router.post("/revoke-refresh-token")
    def revoke(body: Revoke) -> dict:
        return {"revoked": emu.revoke_refresh_token(body.token)}

    @router.get("/orgs/{org_id}/quota")
    def quota(org_id: str) -> dict:
        """The organization's limits and what is left of today's quota."""
        return found(emu.quota, org_id)

    @router.put("/orgs/{org_id}/limits")
    def limits(org_id: str, body: Limits) -> dict:
        """Set the organization's per-minute limit and daily quota from now on."""
        return found(emu.set_limits, org_id, body.per_minute, body.per_day)

    @router.post("/orgs/{org_id}/quota/exhaust")
    def exhaust(org_id: str) -> dict:
        """Use up the rest of today's quota: the org's calls get 429 code 45 until its
        day ends; the other organizations are untouched."""
        return found(emu.exhaust_quota, org_id)

    @router.put("/orgs/{org_id}/webhook")
    def webhook(org_id: str, spec: WebhookSpec) -> dict:
        if spec.organization_id != org_id:
            raise HTTPException(400, "organization_id differs from the path")
        found(emu.store, org_id, "invoices")
        emu.webhooks.configure(spec)
        return {"configured": org_id}

    @router.delete("/orgs/{org_id}/webhook")
    def no_webhook(org_id: str) -> dict:
        return {"removed": emu.webhooks.remove(org_id)}

    @router.get("/orgs/{org_id}/webhook/deliveries")
    def deliveries(org_id: str) -> list[dict]:
        return emu.webhooks.snapshot(org_id)

    def bad_request(fn: Any, *args: Any) -> Any:
        try:
            return found(fn, *args)
        except ValueError as err:
            raise HTTPException(400, str(err)) from None

    @router.put("/orgs/{org_id}/transactionlocks")
    def transaction_locks(org_id: str, body: TransactionLocks) -> dict:
        """Replace the organization's transaction locks (as a user locking periods)."""
        return {"transaction_locks": found(emu.set_transaction_locks, org_id, body.locks)}

    @router.get("/orgs/{org_id}/dimensions")
    def dimensions(org_id: str) -> dict:
        return found(emu.dimensions_snapshot, org_id)

    @router.post("/orgs/{org_id}/reportingtags/{tag_id}/options/{option_id}/edit")
    def edit_option(org_id: str, tag_id: str, option_id: str, body: Edit) -> dict:
        return bad_request(emu.edit_tag_option, org_id, tag_id, option_id, body.changes)

    @router.post("/orgs/{org_id}/reportingtags/{tag_id}/options")
    def add_option(org_id: str, tag_id: str, body: Add) -> dict:
        return bad_request(emu.add_tag_option, org_id, tag_id, body.fields)

    @router.post("/orgs/{org_id}/locations")
    def add_location(org_id: str, body: Add) -> dict:
        return bad_request(emu.add_location, org_id, body.fields)

    @router.get("/orgs/{org_id}/{entity}/{record_id}")
    def record(org_id: str, entity: str, record_id: str) -> dict:
        return found(emu.record, org_id, entity, record_id)

    def refused(fn: Any, *args: Any) -> Any:
        """An edit hook; Zoho's refusal (a locked period) is answered as Zoho would."""
        try:
            return found(fn, *args)
        except ZohoError as err:
            return JSONResponse(err.body, err.status)

    @router.post("/orgs/{org_id}/{entity}/{record_id}/edit")
    def edit(org_id: str, entity: str, record_id: str, body: RecordEdit) -> Any:
        return refused(partial(emu.edit_record, same_second=body.same_second), org_id, entity,
                       record_id, body.changes)

    @router.delete("/orgs/{org_id}/{entity}/{record_id}")
    def delete(org_id: str, entity: str, record_id: str) -> dict:
        return {"deleted": found(emu.delete_record, org_id, entity, record_id)}

    @router.post("/orgs/{org_id}/{entity}")
    def add(org_id: str, entity: str, body: Add) -> Any:
        return refused(emu.add_record, org_id, entity, body.fields)

    return router
