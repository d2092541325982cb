"""Admin routes every emulator has: stats, reset, describe; and 404s for unknown objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse


def found(fn: Callable[..., Any], *args: Any) -> Any:
    """Call an emulator's admin method; an unknown object (``KeyError``) becomes a 404."""
    try:
        return fn(*args)
    except KeyError as err:
        raise HTTPException(404, str(err.args[0] if err.args else err)) from None


def base_admin_router(emu: Any) -> APIRouter:
    """A router with ``GET /stats``, ``POST /reset-stats`` and ``GET /describe`` for ``emu``."""
    router = APIRouter()

    @router.get("/stats")
    def stats() -> dict:
        return emu.stats()

    @router.post("/reset-stats")
    def reset_stats() -> dict:
        emu.reset_stats()
        return {"reset": True}

    @router.get("/describe", response_class=PlainTextResponse)
    def describe(request: Request) -> str:
        return emu.describe(str(request.base_url))

    return router
