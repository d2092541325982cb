"""Admin routes (mounted at ``/_sandbox/anaplan``) mirroring the emulator's Python hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ml_connector_sandbox.admin import base_admin_router, found

if TYPE_CHECKING:
    from ml_connector_sandbox.anaplan.emulator import AnaplanEmulator


class Timing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queue_seconds: float | None = Field(default=None, ge=0)
    base_seconds: float | None = Field(default=None, ge=0)
    per_row_seconds: float | None = Field(default=None, ge=0)
    cancel_seconds: float | None = Field(default=None, ge=0)


class Certificate(BaseModel):
    pem: str
    user: str | None = None


class ModelState(BaseModel):
    activeState: str


def build_admin_router(emu: AnaplanEmulator) -> APIRouter:
    router = base_admin_router(emu)

    @router.post("/task-duration")
    def task_duration(body: Timing) -> dict:
        return emu.set_task_duration(**body.model_dump())

    @router.post("/certificates")
    def trust(body: Certificate) -> dict:
        try:
            return emu.trust_certificate(body.pem, body.user)
        except ValueError as err:
            raise HTTPException(400, str(err)) from None

    @router.get("/models/{model_id}/modules/{module}/cells")
    def cells(model_id: str, module: str) -> list[dict]:
        return found(emu.module_cells, model_id, module)

    @router.get("/models/{model_id}/lists/{list_name}/items")
    def items(model_id: str, list_name: str) -> list[dict]:
        return found(emu.list_items, model_id, list_name)

    @router.get("/models/{model_id}/files/{file_id}")
    def file_bytes(model_id: str, file_id: str, user: str | None = None) -> Response:
        data = found(emu.file_bytes, model_id, file_id, user)
        if data is None:
            raise HTTPException(404, f"nothing uploaded to file {file_id}")
        return Response(data, media_type="application/octet-stream")

    @router.get("/models/{model_id}/tasks")
    def tasks(model_id: str) -> list[dict]:
        return found(emu.tasks, model_id)

    @router.post("/models/{model_id}/state")
    def state(model_id: str, body: ModelState) -> dict:
        found(emu.set_model_state, model_id, body.activeState)
        return {"activeState": body.activeState}

    return router
