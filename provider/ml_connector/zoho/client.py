"""ZohoBooksClient: organizations, paginated lists and detail fetches for one organization."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import httpx

from ml_connector.errors import ApiError, AuthError, ConfigError, ProtocolError
from ml_connector.state.details import DetailCache, ListCache
from ml_connector.state.ledger_reads import KeptLedger
from ml_connector.state.quota import DailyQuota, QuotaReading
from ml_connector.state.store import StateStore
from ml_connector.state.tokens import TokenCache
from ml_connector.transport.fields import check_endpoint
from ml_connector.transport.ratelimit import RateLimiter, RequestSlots, postgres_conninfo
from ml_connector.transport.retry import RetryPolicy
from ml_connector.transport.sync import Transport, json_body
from ml_connector.zoho.auth import ZohoCredentials, ZohoTokenManager
from ml_connector.zoho.entities import ENTITIES, Entity, get_entity, read_scope
from ml_connector.zoho.errors import DAILY_CAP, SERVICE, accounts_error, zoho_error
from ml_connector.zoho.regions import DATACENTERS, region_by_name, sandbox_datacenters
from ml_connector.zoho.settle import served_at, settled

log = logging.getLogger(__name__)


def batched(items: Iterable[dict], size: int) -> Iterator[list[dict]]:
    """Lists of up to ``size`` consecutive items."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk

PLAN_CONCURRENCY = {"free": 5, "paid": 10}
MAX_PER_PAGE = 200
TICK_EVERY = 5.0  # seconds between progress ticks while details are awaited


@dataclass(frozen=True)
class ZohoConfig:
    """Where and how fast to talk to Zoho Books.

    ``endpoint_base`` points every data center at a look-alike (the sandbox) instead of Zoho;
    ``requests_per_minute`` stays below Zoho's 100/minute per organization, counted over
    ``rate_window`` seconds: two more than Zoho's minute, so that requests delayed between
    the budget and Zoho's count (a busy worker, a slow network) still land within the
    budget there. ``max_concurrency`` (default: the plan's 10 or 5) caps the organization's
    requests in flight, which Zoho counts over all of its clients. ``rate_limit_file`` shares
    the budget and those slots between processes of one machine, a PostgreSQL state store
    between every worker.
    ``daily_reserve`` is the share of the organization's daily cap left untouched for its
    other integrations; ``daily_limit`` the cap to assume before Zoho has reported it.
    Details are cached (with a state store) for ``detail_cache_days``, at most
    ``detail_cache_mib`` compressed per organization.
    """

    region: str
    organization_id: str | None = None
    plan: Literal["free", "paid"] = "paid"
    max_concurrency: int | None = None
    requests_per_minute: int = 90
    rate_window: float = 62.0
    rate_limit_file: str | Path | None = None
    endpoint_base: str | None = None
    timeout: float = 60.0
    daily_limit: int | None = None
    daily_reserve: float = 0.2
    detail_cache_days: float = 400.0
    detail_cache_mib: int = 512
    refresh_after: float = 55 * 60
    dedupe_window: int = 10_000
    allow_plain_http: bool = False
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
        if not 0 <= self.daily_reserve < 1:
            raise ConfigError(f"daily_reserve must be a fraction from 0 to below 1 (0.2 keeps "
                              f"20 % for other integrations), got {self.daily_reserve!r}")
        if self.organization_id is not None:
            org = str(self.organization_id).strip()
            if not org.isdigit():
                raise ConfigError(f"organization_id must be digits, got {self.organization_id!r}")
            object.__setattr__(self, "organization_id", org)
        if self.endpoint_base:
            check_endpoint(self.endpoint_base, "host (endpoint_base)",
                           allow_plain_http=self.allow_plain_http)
        region_by_name(self.region, self.datacenters)

    @property
    def datacenters(self):
        return sandbox_datacenters(self.endpoint_base) if self.endpoint_base else DATACENTERS

    @property
    def concurrency(self) -> int:
        return self.max_concurrency or PLAN_CONCURRENCY[self.plan]


def versions(entity: Entity, rows: Iterable[dict]) -> list[tuple[str, str]]:
    """``(id, last_modified_time)`` of list rows: the key a detail is cached under."""
    return [(str(r[entity.id_field]), str(r["last_modified_time"]))
            for r in rows if r.get("last_modified_time")]


def _scope_of(path: str) -> str:
    """The scope module of a Books path (``/invoices/1`` -> ``invoices``)."""
    name = path.strip("/").split("/", 1)[0]
    entity = ENTITIES.get(name)
    return entity.scope if entity else name


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
        store: StateStore | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.cache_hits = 0
        #: When Zoho served the last response (its ``Date``, else ``clock``): what a read
        #: of several pages can be said to hold as of its first page.
        self.served: float | None = None
        self.datacenter = region_by_name(config.region, config.datacenters)
        http = http or httpx.Client(
            timeout=config.timeout,
            limits=httpx.Limits(max_connections=config.concurrency + 2),
        )
        budget = f"zoho-{self.datacenter.region}-{config.organization_id or 'any'}"
        # A PostgreSQL state store shares the window and the slots with every worker; a
        # SQLite one (one machine) with every process, through a file beside it.
        shared: dict[str, Any] = {"name": budget, "shared_path": config.rate_limit_file or (
            store.beside("zoho-rate.sqlite") if store is not None else None),
            "postgres_url": postgres_conninfo(store.url) if store is not None else None}
        limiter = RateLimiter(config.requests_per_minute, config.rate_window, **shared)
        slots = RequestSlots(config.concurrency, **shared)
        self.api = Transport(SERVICE, zoho_error, limiter=limiter, slots=slots,
                             policy=config.retry, client=http, on_response=self._observe)
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

    def _observe(self, response: httpx.Response) -> None:
        """Count an organization's request against its daily quota, with Zoho's reading."""
        if self.store is not None and self._organization_id is not None and (
                "organization_id" in response.request.url.params):
            self.quota.record(QuotaReading.parse(response.headers))

    @property
    def org_key(self) -> str:
        """The organization as the state store names it: ``<region>:<organization id>``."""
        return f"{self.datacenter.region}:{self.organization_id}"

    def _state(self) -> StateStore:
        if self.store is None:
            raise ConfigError("this Zoho client has no state store (pass store=...)")
        return self.store

    @cached_property
    def quota(self) -> DailyQuota:
        """The organization's daily quota, shared through the state store."""
        return DailyQuota(self._state(), self.org_key, reserve=self.config.daily_reserve,
                          daily_limit=self.config.daily_limit, clock=self.clock)

    @cached_property
    def details(self) -> DetailCache | None:
        """Details fetched before, by ``last_modified_time`` (``None`` without a store)."""
        if self.store is None:
            return None
        return DetailCache(self.store, self.org_key,
                           max_age=self.config.detail_cache_days * 86400,
                           max_bytes=self.config.detail_cache_mib * 2**20, clock=self.clock)

    @cached_property
    def lists(self) -> ListCache:
        return ListCache(self._state(), self.org_key, clock=self.clock)

    @property
    def kept_ledger(self) -> KeptLedger:
        return KeptLedger(self._state(), self.org_key, clock=self.clock)

    def _get(self, path: str, params: Mapping[str, Any] | None = None, *,
             scope: str = "settings") -> dict:
        """GET ``path``'s JSON body (see ``_response``)."""
        return json_body(self._response(path, params, scope=scope), SERVICE)

    def _response(self, path: str, params: Mapping[str, Any] | None = None, *,
                  scope: str = "settings") -> httpx.Response:
        """GET ``path``; any 401 refreshes the access token once, and a second 401 is a
        missing scope (Zoho answers code 57 for both an expired token and a missing scope)."""
        url = self.datacenter.books_base + path
        for second_try in (False, True):
            token = self.tokens.token()
            try:
                response = self.api.request(
                    "GET", url, params=params,
                    auth=_bearer(token),
                )
            except AuthError as exc:
                if second_try:
                    raise AuthError(
                        f"Zoho refused {path} with a fresh access token: the refresh token "
                        f"lacks {read_scope(scope)} (or was revoked); authorize again with "
                        f"that scope ({exc.message})",
                        service=SERVICE, status=exc.status, code=exc.code, method="GET",
                        url=url) from None
                log.info("Zoho refused the access token (code %s); refreshing it once", exc.code)
                self.tokens.invalidate(token)
                continue
            except ApiError as exc:
                if exc.code == DAILY_CAP and self.store is not None:
                    raise self.quota.exhausted(f"GET {path}") from None
                raise
            self.served = served_at(response, self.clock)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, params: Mapping[str, Any] | None = None, *,
            scope: str | None = None) -> dict:
        """GET a Books path of this organization (``organization_id`` is always added);
        ``scope`` is the module whose READ scope the path needs (default: from the path)."""
        return json_body(self._org_response(path, params, scope=scope), SERVICE)

    def _org_response(self, path: str, params: Mapping[str, Any] | None = None, *,
                      scope: str | None = None) -> httpx.Response:
        return self._response(path, {**(params or {}), "organization_id": self.organization_id},
                              scope=scope or _scope_of(path))

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
            body = self.get(ent.path, {**query, "page": page}, scope=ent.scope)
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
        return self._served_detail(entity, record_id)[0]

    def _served_detail(self, entity: str | Entity, record_id: str) -> tuple[dict, float]:
        """A record's detail and when Zoho served it (``settle.served_at``)."""
        ent = get_entity(entity) if isinstance(entity, str) else entity
        response = self._org_response(f"{ent.path}/{record_id}", scope=ent.scope)
        body = json_body(response, SERVICE)
        if ent.detail_key not in body:
            raise ProtocolError(
                f"detail response has no {ent.detail_key!r} object", service=SERVICE,
                method="GET", url=f"{self.datacenter.books_base}{ent.path}/{record_id}",
            )
        return body[ent.detail_key], served_at(response, self.clock)

    def with_details(
        self, entity: str | Entity, records: Iterable[dict], batch: int = MAX_PER_PAGE,
        tick: Callable[[], None] | None = None,
    ) -> Iterator[dict]:
        """Each record replaced by its detail (with line items), in the order given; at most
        ``batch`` records are held at once. Details whose ``last_modified_time`` is cached are
        not fetched again; the others are fetched ``concurrency`` at a time and cached once
        settled (``settle``: not while another edit could still share their stamp).
        ``tick`` is called in the caller's thread as details arrive, and at least every
        ``TICK_EVERY`` seconds while they are awaited (the extract's progress lines)."""
        ent = get_entity(entity) if isinstance(entity, str) else entity

        def detail(record: dict) -> tuple[dict, float]:
            return self._served_detail(ent, record[ent.id_field])

        with ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="zoho") as pool:
            for chunk in batched(records, batch):
                cached = self.details.get(ent.name, versions(ent, chunk)) if self.details else {}
                missing = [r for r in chunk if str(r[ent.id_field]) not in cached]
                futures = [pool.submit(detail, r) for r in missing]
                pending = set(futures)
                while pending:  # a slow or retried detail does not hold up the ticks
                    _, pending = wait(pending, timeout=TICK_EVERY, return_when=FIRST_COMPLETED)
                    if tick is not None:
                        tick()
                served = [f.result() for f in futures]
                if self.details is not None:
                    self.details.put(ent.name, ent.id_field,
                                     [r for r, at in served if settled(r, at)])
                self.cache_hits += len(chunk) - len(missing)
                found = {str(r[ent.id_field]): r for r, _ in served}
                for record in chunk:
                    key = str(record[ent.id_field])
                    yield cached[key] if key in cached else found[key]

    def uncached(self, entity: str | Entity, records: Iterable[dict]) -> int:
        """How many of ``records`` (list rows) would need a detail request."""
        return sum(1 for _ in self.uncached_rows(entity, records))

    def uncached_rows(self, entity: str | Entity, records: Iterable[dict]) -> Iterator[dict]:
        """The ``records`` (list rows) whose detail is not in the cache."""
        ent = get_entity(entity) if isinstance(entity, str) else entity
        for chunk in batched(records, MAX_PER_PAGE):
            hits = self.details.fresh(ent.name, versions(ent, chunk)) if self.details else set()
            yield from (r for r in chunk if str(r[ent.id_field]) not in hits)

    def close(self) -> None:
        """Write the quota counts still pending, trim the detail cache, close connections."""
        if "quota" in self.__dict__:
            self.quota.flush()
        details = self.__dict__.get("details")
        if details is not None:
            details.prune()
        self.api.close()

    def __enter__(self) -> ZohoBooksClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _bearer(token: str) -> Callable[[], dict[str, str]]:
    """The Authorization header of a Books API call."""
    return lambda: {"Authorization": f"Zoho-oauthtoken {token}"}
