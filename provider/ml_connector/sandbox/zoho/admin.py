"""Admin routes (mounted at ``/_sandbox/zoho``) mirroring the emulator's Python hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from ml_connector.sandbox.zoho.emulator import ZohoEmulator


class Edit(BaseModel):
    changes: dict[str, Any]


class Add(BaseModel):
    fields: dict[str, Any] = Field(default_factory=dict)


class Revoke(BaseModel):
    token: str


def build_admin_router(emu: ZohoEmulator) -> APIRouter:
    router = APIRouter()

    def found(fn, *args):
        try:
            return fn(*args)
        except KeyError as err:
            raise HTTPException(404, str(err.args[0] if err.args else err)) from None

    @router.get("/stats")
    def stats() -> dict:
        return emu.stats()

    @router.post("/reset-stats")
    def reset_stats() -> dict:
        emu.reset_stats()
        return {"reset": True}

    @router.post("/revoke-refresh-token")
    def revoke(body: Revoke) -> dict:
        return {"revoked": emu.revoke_refresh_token(body.token)}

    @router.get("/describe", response_class=PlainTextResponse)
    def describe(request: Request) -> str:
        return emu.describe(str(request.base_url))

    @router.get("/orgs/{org_id}/{entity}/{record_id}")
    def record(org_id: str, entity: str, record_id: str) -> dict:
        return found(emu.record, org_id, entity, record_id)

    @router.post("/orgs/{org_id}/{entity}/{record_id}/edit")
    def edit(org_id: str, entity: str, record_id: str, body: Edit) -> dict:
        return found(emu.edit_record, org_id, entity, record_id, body.changes)

    @router.post("/orgs/{org_id}/{entity}")
    def add(org_id: str, entity: str, body: Add) -> dict:
        return found(emu.add_record, org_id, entity, body.fields)

    return router
