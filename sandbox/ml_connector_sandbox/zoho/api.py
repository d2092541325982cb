"""HTTP routes of the emulated accounts servers and Books API, one prefix per data center.

Relative to the router: ``/{region}/accounts/oauth/v2/...`` and ``/{region}/api/books/v3/...``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ml_connector_sandbox.zoho import errors
from ml_connector_sandbox.zoho.auth import AccessGrant
from ml_connector_sandbox.zoho.config import REGIONS
from ml_connector_sandbox.zoho.errors import ZohoError
from ml_connector_sandbox.zoho.kinds import KINDS
from ml_connector_sandbox.zoho.store import Organization, paging

if TYPE_CHECKING:
    from ml_connector_sandbox.zoho.emulator import ZohoEmulator

log = logging.getLogger(__name__)

BOOKS = "/books/v3"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
#: Serves a request for an organization (``None`` only for ``/organizations``).
Handler = Callable[[Organization, AccessGrant], dict]


def _origin(request: Request, region: str, part: str) -> str:
    """Absolute URL of ``/{region}/{part}`` under the prefix the router is mounted at (read
    from the path of an accounts-server request)."""
    path = request.url.path
    prefix = path[: path.rindex(f"/{region}/accounts/")]
    return f"{request.url.scheme}://{request.url.netloc}{prefix}/{region}/{part}"


async def _form(request: Request) -> dict[str, str]:
    """Query parameters overlaid with a form-encoded body (Zoho accepts either)."""
    params = dict(request.query_params)
    body = (await request.body()).decode("utf-8", "replace")
    params.update(parse_qsl(body, keep_blank_values=True))
    return params


#: The tag-list endpoints of each shape (``DimensionsSpec.tag_endpoints``).
TAG_TEMPLATES = {
    "reportingtags": (f"{BOOKS}/reportingtags", f"{BOOKS}/reportingtags/{{id}}/options/all"),
    "settings": (f"{BOOKS}/settings/tags", f"{BOOKS}/settings/tags/{{id}}"),
}


CURRENCIES = f"{BOOKS}/settings/currencies"
EXCHANGE_RATES = f"{BOOKS}/settings/currencies/{{id}}/exchangerates"


def _resource(path: str, tag_shape: str = "reportingtags") -> str | None:
    """The stats/method template of a Books path, or None if it names no resource."""
    parts = [p for p in path.split("/") if p]
    if parts == ["settings", "currencies"]:
        return CURRENCIES
    if len(parts) == 4 and parts[:2] == ["settings", "currencies"] and \
            parts[3] == "exchangerates":
        return EXCHANGE_RATES
    if len(parts) == 2 and parts[0] == "organizations":
        return f"{BOOKS}/organizations/{{id}}"
    if len(parts) == 1 and (parts[0] in ("organizations", "locations", "projects")
                            or parts[0] in KINDS):
        return f"{BOOKS}/{parts[0]}"
    if len(parts) == 2 and parts[0] in KINDS:
        return f"{BOOKS}/{parts[0]}/{{id}}"
    listing, options = TAG_TEMPLATES[tag_shape]
    if tag_shape == "reportingtags":
        if parts == ["reportingtags"]:
            return listing
        if len(parts) == 4 and parts[0] == "reportingtags" and parts[2:] == ["options", "all"]:
            return options
    elif parts == ["settings", "tags"]:
        return listing
    elif len(parts) == 3 and parts[:2] == ["settings", "tags"]:
        return options
    return None


def build_api_router(emu: ZohoEmulator) -> APIRouter:
    router = APIRouter()

    async def serve(request: Request, region: str, template: str, module: str | None,
                    handler: Handler | None, error: ZohoError | None = None,
                    org_id: str | None = None) -> Response:
        """Authenticate, resolve the org (``org_id``, else the ``organization_id``
        parameter), apply its limits, run ``handler``, count it."""
        params = request.query_params
        org_param = org_id or params.get("organization_id")
        stats_org = org_param if org_param in emu.orgs else None
        limiter = None
        try:
            if error is not None:
                raise error
            if region not in REGIONS or module is None or handler is None:
                raise errors.invalid_url()
            grant = emu.accounts.grant_for(region, request.headers.get("authorization"))
            if not grant.allows(module):
                raise errors.not_authorized()
            if template == f"{BOOKS}/organizations":
                body = handler(None, grant)  # type: ignore[arg-type]
            else:
                org = emu.organization(region, grant, org_param)
                limiter = emu.limiters[org.id]
                emu.stats_book.admitted(org.id, *limiter.acquire(emu.clock.now()))
                try:
                    if org.spec.response_delay:
                        await asyncio.sleep(org.spec.response_delay)
                    body = await run_in_threadpool(handler, org, grant)
                finally:
                    limiter.release()
            status = 200
        except ZohoError as err:
            status, body = err.status, err.body
            if status == 429 and stats_org:
                emu.stats_book.limited(stats_org, err.code, template, emu.clock.now())
        except Exception:
            log.exception("zoho emulator failed on %s", request.url.path)
            failure = errors.internal()
            status, body = failure.status, failure.body
        # Zoho sends the daily quota on every response of an organization, 429s included.
        headers = limiter.headers(emu.clock.now()) if limiter is not None else {}
        emu.stats_book.request(stats_org, template, status, request.method)
        return JSONResponse(body, status, headers)

    @router.get("/{region}/accounts/oauth/v2/auth")
    async def authorize(region: str, request: Request) -> Response:
        if region not in REGIONS:
            return JSONResponse({"error": "invalid_request"}, 404)
        status, answer = emu.accounts.authorize(
            region, request.query_params, _origin(request, region, "accounts")
        )
        emu.stats_book.accounts("/oauth/v2/auth", status)
        if isinstance(answer, str):
            return RedirectResponse(answer, status)
        return JSONResponse(answer, status)

    @router.post("/{region}/accounts/oauth/v2/token")
    async def token(region: str, request: Request) -> Response:
        if region not in REGIONS:
            return JSONResponse({"error": "invalid_request"}, 404)
        status, body = emu.accounts.token(
            region, await _form(request), _origin(request, region, "api")
        )
        emu.stats_book.accounts("/oauth/v2/token", status)
        return JSONResponse(body, status)

    @router.post("/{region}/accounts/oauth/v2/token/revoke")
    async def revoke(region: str, request: Request) -> Response:
        if region not in REGIONS:
            return JSONResponse({"error": "invalid_request"}, 404)
        status, body = emu.accounts.revoke(region, (await _form(request)).get("token", ""))
        emu.stats_book.accounts("/oauth/v2/token/revoke", status)
        return JSONResponse(body, status)

    @router.api_route("/{region}/accounts/{rest:path}", methods=METHODS)
    async def accounts_other(region: str, rest: str) -> Response:
        emu.stats_book.accounts(f"/{rest}", 404)
        return JSONResponse({"error": "invalid_request"}, 404)

    @router.get("/{region}/api/books/v3/organizations")
    @router.get("/{region}/api/books/v3/organizations/")
    async def organizations(region: str, request: Request) -> Response:
        return await serve(request, region, f"{BOOKS}/organizations", "settings",
                           lambda _org, grant: emu.organizations_body(region, grant))

    @router.get("/{region}/api/books/v3/organizations/{organization_id}")
    @router.get("/{region}/api/books/v3/organizations/{organization_id}/")
    async def organization(region: str, organization_id: str, request: Request) -> Response:
        """One organization (named by the path; it counts against its own limits)."""
        return await serve(request, region, f"{BOOKS}/organizations/{{id}}", "settings",
                           lambda org, _grant: emu.organization_body(org),
                           org_id=organization_id)

    @router.get("/{region}/api/books/v3/settings/currencies")
    @router.get("/{region}/api/books/v3/settings/currencies/")
    async def currencies(region: str, request: Request) -> Response:
        return await serve(request, region, CURRENCIES, "settings",
                           lambda org, _grant: emu.currencies_body(org))

    @router.get("/{region}/api/books/v3/settings/currencies/{currency_id}/exchangerates")
    @router.get("/{region}/api/books/v3/settings/currencies/{currency_id}/exchangerates/")
    async def exchange_rates(region: str, currency_id: str, request: Request) -> Response:
        params = dict(request.query_params)
        return await serve(request, region, EXCHANGE_RATES, "settings",
                           lambda org, _grant: emu.exchange_rates_body(org, currency_id,
                                                                       params))

    @router.get("/{region}/api/books/v3/chartofaccounts/transactions")
    @router.get("/{region}/api/books/v3/chartofaccounts/transactions/")
    async def transactions(region: str, request: Request) -> Response:
        """An account's postings (the general ledger); same scope as the chart."""
        params = dict(request.query_params)
        return await serve(request, region, f"{BOOKS}/chartofaccounts/transactions",
                           KINDS["chartofaccounts"].scope,
                           lambda org, _grant: emu.ledger(org).list_body(params))

    async def tags(request: Request, region: str, shape: str, template: str,
                   handler: Handler) -> Response:
        """A tag-list endpoint: served in the configured shape, an unknown URL otherwise."""
        settings = emu.config.dimensions
        if settings.tag_endpoints != shape:
            return await serve(request, region, template, None, None, errors.invalid_url())
        return await serve(request, region, template, settings.tag_scope, handler)

    @router.get("/{region}/api/books/v3/reportingtags")
    @router.get("/{region}/api/books/v3/reportingtags/")
    async def reporting_tags(region: str, request: Request) -> Response:
        return await tags(request, region, "reportingtags", TAG_TEMPLATES["reportingtags"][0],
                          lambda org, _grant: org.dimensions.reportingtags_body())

    @router.get("/{region}/api/books/v3/reportingtags/{tag_id}/options/all")
    @router.get("/{region}/api/books/v3/reportingtags/{tag_id}/options/all/")
    async def tag_options(region: str, tag_id: str, request: Request) -> Response:
        return await tags(request, region, "reportingtags", TAG_TEMPLATES["reportingtags"][1],
                          lambda org, _grant: org.dimensions.options_body(tag_id))

    @router.get("/{region}/api/books/v3/settings/tags")
    @router.get("/{region}/api/books/v3/settings/tags/")
    async def settings_tags(region: str, request: Request) -> Response:
        return await tags(request, region, "settings", TAG_TEMPLATES["settings"][0],
                          lambda org, _grant: org.dimensions.settings_tags_body())

    @router.get("/{region}/api/books/v3/settings/tags/{tag_id}")
    @router.get("/{region}/api/books/v3/settings/tags/{tag_id}/")
    async def settings_tag(region: str, tag_id: str, request: Request) -> Response:
        return await tags(request, region, "settings", TAG_TEMPLATES["settings"][1],
                          lambda org, _grant: org.dimensions.settings_tag_body(tag_id))

    @router.get("/{region}/api/books/v3/locations")
    @router.get("/{region}/api/books/v3/locations/")
    async def locations(region: str, request: Request) -> Response:
        return await serve(request, region, f"{BOOKS}/locations", "settings",
                           lambda org, _grant: org.dimensions.locations_body())

    @router.get("/{region}/api/books/v3/projects")
    @router.get("/{region}/api/books/v3/projects/")
    async def projects(region: str, request: Request) -> Response:
        params = dict(request.query_params)
        return await serve(request, region, f"{BOOKS}/projects", "projects",
                           lambda org, _grant: org.dimensions.projects_body(params, paging))

    @router.get("/{region}/api/books/v3/{entity}")
    @router.get("/{region}/api/books/v3/{entity}/")
    async def listing(region: str, entity: str, request: Request) -> Response:
        kind = KINDS.get(entity)
        locking = emu.config.transaction_locking
        if kind is None and entity == locking.path:
            return await serve(request, region, f"{BOOKS}/{entity}", locking.scope,
                               lambda org, _grant: emu.locks.list_body(org.id))
        if kind is None:
            return await serve(request, region, f"{BOOKS}/{entity}", None, None)
        params = dict(request.query_params)
        return await serve(request, region, f"{BOOKS}/{entity}", kind.scope,
                           lambda org, _grant: org.store(entity).list_body(params))

    @router.get("/{region}/api/books/v3/{entity}/{record_id}")
    @router.get("/{region}/api/books/v3/{entity}/{record_id}/")
    async def detail(region: str, entity: str, record_id: str, request: Request) -> Response:
        kind = KINDS.get(entity)
        if kind is None:
            return await serve(request, region, f"{BOOKS}/{entity}/{{id}}", None, None)
        return await serve(
            request, region, f"{BOOKS}/{entity}/{{id}}", kind.scope,
            lambda org, _grant: {"code": 0, "message": "success",
                                 kind.singular: org.store(entity).detail(record_id)},
        )

    @router.api_route("/{rest:path}", methods=METHODS)
    async def other(rest: str, request: Request) -> Response:
        region, _, tail = rest.partition("/")
        books = f"api{BOOKS}"
        template = f"/{tail}"
        error = errors.invalid_url()
        if tail.startswith(books + "/") or tail == books:
            resource = _resource(tail[len(books):], emu.config.dimensions.tag_endpoints)
            template = resource or tail[len("api"):]
            if resource is not None and request.method != "GET":
                error = errors.method_not_allowed()
        return await serve(request, region, template, None, None, error)

    return router
