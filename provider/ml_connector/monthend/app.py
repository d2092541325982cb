"""The Month-end page's FastAPI app, mounted in Airflow's api-server by the plugin. Every
endpoint needs a user Airflow's auth manager authenticated (the UI's ``_token`` cookie, or
an ``Authorization: Bearer`` token), and shows only the flows whose DAG that user may read."""

from __future__ import annotations

from dataclasses import asdict
from html import escape
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from ml_connector.errors import ConnectorError
from ml_connector.flows.spec import Flow, FlowsFile, dag_id, load_valid_flows
from ml_connector.monthend.page import render
from ml_connector.monthend.view import MonthView, check_month, flows_file, month_view

URL_PREFIX = "/ml-connector"
bearer = HTTPBearer(auto_error=False)
app = FastAPI(title="ml-connector Month-end", docs_url=None, redoc_url=None,
              openapi_url=None)


async def current_user(request: Request, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Any:
    """The user of the request's token, by the rules of Airflow's own API
    (``airflow.api_fastapi.core_api.security.get_user``, whose signature changes between
    Airflow versions): an ``Authorization: Bearer`` token, else the UI's ``_token`` cookie,
    checked by the auth manager. None: 401; expired: 401; not signed by this Airflow: 403."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from jwt import ExpiredSignatureError, InvalidTokenError

    token: str | None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        token = credentials.credentials
    else:
        token = request.cookies.get(COOKIE_NAME_JWT_TOKEN)
    if not token:
        raise HTTPException(status_code=401, detail="Not authenticated")
    try:
        return await get_auth_manager().get_user_from_token(token)
    except ExpiredSignatureError:
        raise HTTPException(status_code=401, detail="Token Expired") from None
    except InvalidTokenError:
        raise HTTPException(status_code=403, detail="Invalid JWT token") from None


User = Annotated[Any, Depends(current_user)]
_flows: dict[tuple[Path, float], FlowsFile] = {}


def flows_spec() -> FlowsFile:
    """The flows file's valid flows and its defaults (read again once it changed)."""
    path = flows_file()
    key = (path, path.stat().st_mtime if path.exists() else 0.0)
    if key not in _flows:
        _flows.clear()
        _flows[key] = load_valid_flows(path)[0] if path.exists() else FlowsFile(flows=[])
    return _flows[key]


def readable_flows(user: Any) -> list[Flow]:
    """The valid flows of the flows file whose DAG ``user`` may read, in the file's order."""
    from airflow.api_fastapi.app import get_auth_manager

    flows = flows_spec().flows
    allowed = get_auth_manager().filter_authorized_dag_ids(
        dag_ids={dag_id(f.id) for f in flows}, user=user, method="GET")
    return [f for f in flows if dag_id(f.id) in allowed]


def _view(user: Any, month: str | None) -> MonthView:
    """The month's view of the user's flows: 400 for a month that is not ``yyyy-mm``, 503
    (saying why) when the state store cannot be read."""
    from ml_connector.hooks.state import state_store, state_url

    try:
        check_month(month or "2000-01")
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    try:
        return month_view(state_store(state_url()), readable_flows(user), month,
                          flows_spec().defaults)
    except ConnectorError as exc:  # its messages name no secret
        raise HTTPException(status_code=503, detail=str(exc)) from None


def ui_base(request: Request) -> str:
    """The Airflow UI's path: where the app is mounted, less its prefix."""
    return str(request.scope.get("root_path", "")).removesuffix(URL_PREFIX)


@app.exception_handler(StarletteHTTPException)
async def _refused(request: Request, exc: StarletteHTTPException) -> Any:
    """A refusal carries no data: JSON for the API, a line and a link to Airflow for the
    page."""
    if "/api/" in request.url.path:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    text = ("Log in to Airflow, then open Month-end from its menu."
            if exc.status_code in (401, 403) else str(exc.detail))
    home = escape(ui_base(request) or "/")
    return HTMLResponse(f'<!DOCTYPE html><html lang="en"><title>Month-end</title>'
                        f'<p>{escape(text)}</p><p><a href="{home}" target="_top">Airflow</a>'
                        "</p></html>", status_code=exc.status_code)


@app.get("/", response_class=HTMLResponse)
def page(request: Request, user: User, month: str | None = None) -> HTMLResponse:
    """The page for ``month`` (``yyyy-mm``; default: the newest month with data)."""
    from ml_connector.monthend.airflow_runs import airflow_runs

    view = _view(user, month)
    keys = {(f.dag_id, f.run.run_id) for f in view.flows if f.run is not None}
    return HTMLResponse(render(view, base=ui_base(request), airflow=airflow_runs(keys)))


@app.get("/api/month")
def month_json(user: User, month: str | None = None) -> JSONResponse:
    """The page's content as JSON."""
    return JSONResponse(jsonable_encoder(asdict(_view(user, month))))
