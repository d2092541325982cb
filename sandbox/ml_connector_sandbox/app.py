"""The ASGI application: API emulators under their prefixes, the admin API under /_sandbox."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

from ml_connector_sandbox.clock import DateHeader
from ml_connector_sandbox.core import Sandbox
from ml_connector_sandbox.faults import Fault, FaultMiddleware

API_PREFIXES = {"zoho": "/zoho/", "anaplan": "/anaplan/"}


class Advance(BaseModel):
    seconds: float


def _api_of(path: str) -> str | None:
    for api, prefix in API_PREFIXES.items():
        if path.startswith(prefix):
            return api
    return None


def build_app(sandbox: Sandbox) -> FastAPI:
    app = FastAPI(title="ml-connector sandbox", docs_url="/_sandbox/docs", openapi_url=None)
    app.include_router(sandbox.zoho.router, prefix="/zoho")
    app.include_router(sandbox.zoho.admin_router, prefix="/_sandbox/zoho")
    app.include_router(sandbox.anaplan.router, prefix="/anaplan")
    app.include_router(sandbox.anaplan.admin_router, prefix="/_sandbox/anaplan")

    @app.get("/_sandbox/health")
    def health() -> dict:
        return {"status": "ok", "now": sandbox.clock.now()}

    @app.get("/_sandbox/clock")
    def clock() -> dict:
        return {"now": sandbox.clock.now(), "held": sandbox.clock.held}

    @app.post("/_sandbox/clock/advance")
    def advance(body: Advance) -> dict:
        return {"now": sandbox.clock.advance(body.seconds)}

    @app.post("/_sandbox/clock/hold")
    def hold() -> dict:
        return {"now": sandbox.clock.hold(), "held": True}

    @app.post("/_sandbox/clock/release")
    def release() -> dict:
        return {"now": sandbox.clock.release(), "held": False}

    @app.get("/_sandbox/faults")
    def faults() -> list[dict]:
        return sandbox.faults.armed()

    @app.post("/_sandbox/faults")
    def arm(fault: Fault) -> dict:
        sandbox.faults.arm(fault)
        return {"armed": len(sandbox.faults.armed())}

    @app.delete("/_sandbox/faults")
    def clear() -> dict:
        sandbox.faults.clear()
        return {"armed": 0}

    app.add_middleware(
        FaultMiddleware,
        board=sandbox.faults,
        api_of=_api_of,
        error_body={"zoho": sandbox.zoho.error_for_fault,
                    "anaplan": sandbox.anaplan.error_for_fault},
        expire={"zoho": sandbox.zoho.expire_tokens, "anaplan": sandbox.anaplan.expire_tokens},
    )
    app.add_middleware(DateHeader, clock=sandbox.clock)  # outermost: faults are dated too
    return app
