"""ZohoBooksClient: organizations, paginated lists and detail fetches for one organization."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import httpx

from ml_connector.state.tokens import TokenCache
from ml_connector.transport.errors import AuthError, ConfigError, ProtocolError
from ml_connector.transport.ratelimit import RateLimiter
from ml_connector.transport.retry import RetryPolicy
from ml_connector.transport.sync import Transport, json_body
from ml_connector.zoho.auth import ZohoCredentials, ZohoTokenManager
from ml_connector.zoho.entities import Entity, get_entity
from ml_connector.zoho.errors import SERVICE, accounts_error, zoho_error
from ml_connector.zoho.regions import DATACENTERS, region_by_name, sandbox_datacenters

log = logging.getLogger(__name__)


def batched(items: Iterable[dict], size: int) -> Iterator[list[dict]]:
    """Lists of up to ``size`` consecutive items."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk

PLAN_CONCURRENCY = {"free": 5, "paid": 10}
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class ZohoConfig:
    """Where and how fast to talk to Zoho Books.

    ``endpoint_base`` points every data center at a look-alike (the sandbox) instead of Zoho;
    ``requests_per_minute`` stays below Zoho's 100/minute per organization, and
    ``rate_limit_file`` shares that budget between processes of one machine.
    """

    region: str
    organization_id: str | None = None
    plan: Literal["free", "paid"] = "paid"
    max_concurrency: int | None = None
    requests_per_minute: int = 90
    rate_window: float = 60.0
    rate_limit_file: str | Path | None = None
    endpoint_base: str | None = None
    timeout: float = 60.0
    refresh_after: float = 55 * 60
    dedupe_window: int = 10_000
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if self.plan not in PLAN_CONCURRENCY:
            raise ConfigError(f"Zoho plan must be 'free' or 'paid', got {self.plan!r}")
        limit = PLAN_CONCURRENCY[self.plan]
        if self.max_concurrency is not None and not 1 <= self.max_concurrency <= limit:
            raise ConfigError(
                f"max_concurrency must be between 1 and {limit} on a {self.plan} plan, "
                f"got {self.max_concurrency}"
            )
        if self.organization_id is not None:
            org = str(self.organization_id).strip()
            if not org.isdigit():
                raise ConfigError(f"organization_id must be digits, got {self.organization_id!r}")
            object.__setattr__(self, "organization_id", org)
        region_by_name(self.region, self.datacenters)

    @property
    def datacenters(self):
        return sandbox_datacenters(self.endpoint_base) if self.endpoint_base else DATACENTERS

    @property
    def concurrency(self) -> int:
        return self.max_concurrency or PLAN_CONCURRENCY[self.plan]


class ZohoBooksClient:
    """A read-only client for one Zoho Books organization. No Airflow needed."""

    def __init__(
        self,
        credentials: ZohoCredentials,
        config: ZohoConfig,
        *,
        token_cache: TokenCache | None = None,
        clock: Callable[[], float] = time.time,
        http: httpx.Client | None = None,
    ) -> None:
        self.config = config
        self.datacenter = region_by_name(config.region, config.datacenters)
        http = http or httpx.Client(
            timeout=config.timeout,
            limits=httpx.Limits(max_connections=config.concurrency + 2),
        )
        limiter = RateLimiter(
            config.requests_per_minute, config.rate_window,
            name=f"zoho-{self.datacenter.region}-{config.organization_id or 'any'}",
            shared_path=config.rate_limit_file,
        )
        self.api = Transport(SERVICE, zoho_error, limiter=limiter, policy=config.retry, client=http)
        accounts = Transport("Zoho accounts", accounts_error, policy=config.retry, client=http)
        self.tokens = ZohoTokenManager(
            credentials, self.datacenter, accounts, cache=token_cache, clock=clock,
            refresh_after=config.refresh_after,
        )
        self._organization_id = config.organization_id

    # -- plumbing -------------------------------------------------------------------------

    @property
    def requests(self) -> int:
        """API requests sent so far (token requests not included)."""
        return self.api.requests

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> dict:
        url = self.datacenter.books_base + path
        for second_try in (False, True):
            token = self.tokens.token()
            try:
                response = self.api.request(
                    "GET", url, params=params,
                    auth=lambda t=token: {"Authorization": f"Zoho-oauthtoken {t}"},
                )
            except AuthError as exc:
                if second_try or exc.code == 57:
                    raise
                log.info("Zoho refused the access token (%s); refreshing once", exc.code)
                self.tokens.invalidate(token)
                continue
            return json_body(response, SERVICE)
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict:
        """GET a Books path of this organization (``organization_id`` is always added)."""
        return self._get(path, {**(params or {}), "organization_id": self.organization_id})

    # -- organizations --------------------------------------------------------------------

    def organizations(self) -> list[dict]:
        return list(self._get("/organizations").get("organizations", []))

    @property
    def organization_id(self) -> str:
        """The configured organization, or the only one the user has."""
        if self._organization_id is None:
            orgs = self.organizations()
            if not orgs:
                raise ConfigError("this Zoho account has no Books organization")
            if len(orgs) > 1:
                choices = ", ".join(f"{o['organization_id']} ({o.get('name')})" for o in orgs)
                raise ConfigError(
                    f"this Zoho account has {len(orgs)} organizations; set organization_id "
                    f"to one of: {choices}"
                )
            self._organization_id = str(orgs[0]["organization_id"])
        return self._organization_id

    # -- lists and details ----------------------------------------------------------------

    def iter_pages(
        self, entity: str | Entity, params: Mapping[str, Any] | None = None,
        per_page: int = MAX_PER_PAGE,
    ) -> Iterator[list[dict]]:
        """Every page of a list endpoint, oldest first where the module can sort that way."""
        ent = get_entity(entity) if isinstance(entity, str) else entity
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ConfigError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}")
        query: dict[str, Any] = {**dict(ent.list_params), **(params or {}), "per_page": per_page}
        if ent.sort_by_created:
            query.setdefault("sort_column", "created_time")
            query.setdefault("sort_order", "A")
        page = 1
        while True:
            body = self.get(ent.path, {**query, "page": page})
            rows = body.get(ent.list_key)
            if not isinstance(rows, list):
                raise ProtocolError(
                    f"list response has no {ent.list_key!r} array", service=SERVICE,
                    method="GET", url=self.datacenter.books_base + ent.path,
                )
            yield rows
            context = body.get("page_context") or {}
            if not context.get("has_more_page"):
                return
            page += 1

    def iter_records(
        self, entity: str | Entity, params: Mapping[str, Any] | None = None
    ) -> Iterator[dict]:
        """Records of a list endpoint, each once, even when pages shift under changing data.

        Duplicates appear when records move between pages while paging, so they are always
        near each other: remembering the last ``dedupe_window`` ids keeps memory flat.
        """
        ent = get_entity(entity) if isinstance(entity, str) else entity
        seen: OrderedDict[str, None] = OrderedDict()
        for rows in self.iter_pages(ent, params):
            for row in rows:
                record_id = str(row.get(ent.id_field))
                if record_id in seen:
                    continue
                seen[record_id] = None
                if len(seen) > self.config.dedupe_window:
                    seen.popitem(last=False)
                yield row

    def get_detail(self, entity: str | Entity, record_id: str) -> dict:
        ent = get_entity(entity) if isinstance(entity, str) else entity
        body = self.get(f"{ent.path}/{record_id}")
        if ent.detail_key not in body:
            raise ProtocolError(
                f"detail response has no {ent.detail_key!r} object", service=SERVICE,
                method="GET", url=f"{self.datacenter.books_base}{ent.path}/{record_id}",
            )
        return body[ent.detail_key]

    def with_details(
        self, entity: str | Entity, records: Iterable[dict], batch: int = MAX_PER_PAGE
    ) -> Iterator[dict]:
        """Each record replaced by its detail (with line items), fetched ``concurrency`` at a
        time, in the order given; at most ``batch`` records are held at once."""
        ent = get_entity(entity) if isinstance(entity, str) else entity

        def detail(record: dict) -> dict:
            return self.get_detail(ent, record[ent.id_field])

        with ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="zoho") as pool:
            for chunk in batched(records, batch):
                yield from pool.map(detail, chunk)

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> ZohoBooksClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
