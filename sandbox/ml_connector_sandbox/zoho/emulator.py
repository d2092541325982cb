"""ZohoEmulator: the accounts servers, the Books API and the admin hooks tests drive it with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from functools import partial
from typing import Any

from ml_connector_sandbox.clock import SandboxClock
from ml_connector_sandbox.faults import Fault, FaultBoard
from ml_connector_sandbox.zoho import errors
from ml_connector_sandbox.zoho.admin import build_admin_router
from ml_connector_sandbox.zoho.api import build_api_router
from ml_connector_sandbox.zoho.auth import AccessGrant, Accounts
from ml_connector_sandbox.zoho.config import REGIONS, ZohoSandboxConfig
from ml_connector_sandbox.zoho.currencies import SYMBOLS
from ml_connector_sandbox.zoho.dimensions import Dimensions
from ml_connector_sandbox.zoho.ledger import Ledger
from ml_connector_sandbox.zoho.limits import OrgLimiter
from ml_connector_sandbox.zoho.locks import Locks, LockSpec
from ml_connector_sandbox.zoho.stats import Stats
from ml_connector_sandbox.zoho.store import EntityStore, Organization, paging
from ml_connector_sandbox.zoho.times import local_date
from ml_connector_sandbox.zoho.webhooks import Webhooks


class ZohoEmulator:
    """Zoho Books in one process: ``router`` serves the API (mount at ``/zoho``),
    ``admin_router`` the test hooks (mount at ``/_sandbox/zoho``)."""

    def __init__(self, config: ZohoSandboxConfig, clock: SandboxClock,
                 faults: FaultBoard) -> None:
        self.config = config
        self.clock = clock
        self.faults = faults
        self.stats_book = Stats()
        self.accounts = Accounts(config, clock, self.stats_book.minted)
        limits = config.limits
        self.orgs: dict[str, Organization] = {
            o.organization_id: Organization(config.seed, o, config.dimensions)
            for o in config.organizations
        }
        self.limiters = {
            org_id: OrgLimiter(limits.org_per_minute(org.spec), limits.org_per_day(org.spec),
                               limits.max_in_flight(org.spec.plan), org.tz,
                               limits.minute_window)
            for org_id, org in self.orgs.items()
        }
        self.ledgers = {org_id: Ledger(org, config.ledger_date_params)
                        for org_id, org in self.orgs.items()}
        self.webhooks = Webhooks(clock, config.webhooks)
        self.locks = Locks(config.transaction_locking)
        self.router = build_api_router(self)
        self.admin_router = build_admin_router(self)

    # -- used by the routes ----------------------------------------------------------------

    def ledger(self, org: Organization) -> Ledger:
        """The general ledger of an organization's documents."""
        return self.ledgers[org.id]

    def organization(self, region: str, grant: AccessGrant, org_id: str | None) -> Organization:
        """The org a call names, as seen from ``region`` by ``grant``'s user (400 otherwise)."""
        if not org_id or not org_id.isdigit():
            raise errors.missing_org()
        org = self.orgs.get(org_id)
        if org is None or org.spec.region != region or not grant.sees(org_id):
            raise errors.unknown_org(org_id)
        return org

    def organization_body(self, org: Organization) -> dict:
        """``GET /organizations/{organization_id}``."""
        return {"code": 0, "message": "success", "organization": self._org_row(org, False)}

    def currencies_body(self, org: Organization) -> dict:
        """``GET /settings/currencies``: rates in effect on the org's today."""
        return org.catalog.rates.currencies_body(self._today(org))

    def exchange_rates_body(self, org: Organization, currency_id: str,
                            params: dict[str, str]) -> dict:
        """``GET /settings/currencies/{currency_id}/exchangerates``."""
        page, per_page = paging(params)
        return org.catalog.rates.rates_body(currency_id, params, self._today(org), page,
                                            per_page, self.config.exchange_rate_order)

    def _today(self, org: Organization) -> date:
        return local_date(int(self.clock.now()), org.tz)

    def organizations_body(self, region: str, grant: AccessGrant) -> dict:
        visible = [o for o in self.orgs.values()
                   if o.spec.region == region and grant.sees(o.id)]
        return {"code": 0, "message": "success",
                "organizations": [self._org_row(o, n == 0) for n, o in enumerate(visible)]}

    def error_for_fault(self, fault: Fault) -> tuple[int, dict[str, str], bytes]:
        """Render an armed ``rate_limit``/``server_error`` fault in Zoho's error shape."""
        if fault.kind == "rate_limit":
            err = errors.per_minute()
        else:
            err = errors.internal(fault.status or 500)
        body = json.dumps(err.body).encode()
        return err.status, {"content-type": "application/json;charset=UTF-8"}, body

    # -- admin -----------------------------------------------------------------------------

    def stats(self) -> dict:
        """Requests per org (total, by path template, by status, max in flight), calls
        without a known org (``unscoped``), accounts-server calls, ``tokens_minted`` per
        refresh token and the 429s given (``rate_limited``)."""
        return self.stats_book.snapshot()

    def reset_stats(self) -> None:
        self.stats_book.reset()

    def expire_tokens(self) -> int:
        return self.accounts.expire_access_tokens()

    def revoke_refresh_token(self, token: str) -> bool:
        return self.accounts.revoke_refresh_token(token)

    def limiter(self, organization_id: str) -> OrgLimiter:
        if organization_id not in self.limiters:
            raise KeyError(f"no organization {organization_id}")
        return self.limiters[organization_id]

    def quota(self, organization_id: str) -> dict:
        """An organization's limits and what is left of today's quota (its zone's day)."""
        return self.limiter(organization_id).snapshot(self.clock.now())

    def set_limits(self, organization_id: str, per_minute: int | None = None,
                   per_day: int | None = None) -> dict:
        """Change an organization's per-minute limit and daily quota from now on (None:
        unchanged); returns ``quota``."""
        self.limiter(organization_id).set_limits(per_minute, per_day)
        return self.quota(organization_id)

    def exhaust_quota(self, organization_id: str) -> dict:
        """Use up the rest of the organization's daily quota now (as its other
        integrations would): its calls get 429 code 45 until its day ends."""
        self.limiter(organization_id).exhaust(self.clock.now())
        return self.quota(organization_id)

    def store(self, organization_id: str, entity: str) -> EntityStore:
        org = self.orgs.get(organization_id)
        if org is None:
            raise KeyError(f"no organization {organization_id}")
        if entity not in org.stores:
            raise KeyError(f"no entity {entity!r}; expected one of {', '.join(org.stores)}")
        return org.store(entity)

    def record(self, organization_id: str, entity: str, record_id: str) -> dict:
        """A record as stored, line items included (a copy)."""
        return self._call(self.store(organization_id, entity).detail, record_id)

    def documents(self, organization_id: str, entity: str, start: str = "",
                  end: str = "9999") -> Iterator[dict]:
        """Every record (edits applied, line items included) dated in ``[start, end)``."""
        store = self.store(organization_id, entity)
        field = store.kind.date_field or "date"
        for i in store.live():
            record = store.get(i)
            if start <= str(record.get(field, "")) < end:
                yield store.served(i)

    def edit_record(self, organization_id: str, entity: str, record_id: str,
                    changes: dict[str, Any], *, same_second: bool = False) -> dict:
        """Merge ``changes`` into a record; its ``last_modified_time`` becomes the sandbox
        clock's now (in the org's offset) unless ``changes`` set it, or ``same_second``
        keeps the one it has: a second edit within the second of the one before. Returns
        the record."""
        store = self.store(organization_id, entity)
        self._unlocked(organization_id, store, self.record(organization_id, entity, record_id),
                       changes)
        record = self._call(partial(store.edit, same_second=same_second), record_id, changes,
                            self.clock.now())
        voided = changes.get("status") == "void"
        self._notify(organization_id, store, record, "voided" if voided else "edited")
        return record

    def add_record(self, organization_id: str, entity: str,
                   fields: dict[str, Any] | None = None) -> dict:
        """Create a record now (generated content overlaid with ``fields``)."""
        store = self.store(organization_id, entity)
        self._unlocked(organization_id, store, {}, fields or {})
        record = store.add(fields or {}, self.clock.now())
        self._notify(organization_id, store, record, "created")
        return record

    def set_transaction_locks(self, organization_id: str,
                              locks: list[LockSpec]) -> list[dict]:
        """Replace an organization's transaction locks (as a user locking a period in
        Zoho); returns them as ``GET /transactionlocks`` lists them."""
        if organization_id not in self.orgs:
            raise KeyError(f"no organization {organization_id}")
        self.locks.replace(organization_id, locks)
        return self.locks.list_body(organization_id)["transaction_locks"]

    def _unlocked(self, organization_id: str, store: EntityStore, record: dict,
                  changes: dict[str, Any]) -> None:
        """Zoho's refusal (``ZohoError``) of a change to a document dated, before or after
        it, on or before an enabled transaction lock of its module."""
        field = store.kind.date_field
        if field is not None:
            self.locks.check(organization_id, store.kind.name, str(record.get(field) or ""),
                             str(changes.get(field) or ""))

    def delete_record(self, organization_id: str, entity: str, record_id: str) -> dict:
        """Delete a record as a user would in Zoho: its detail answers "does not exist"
        (code 1002), it leaves every listing and the ledger; a webhook whose ``events``
        include ``deleted`` announces it. Returns the record as it was."""
        store = self.store(organization_id, entity)
        record = self._call(store.delete, record_id)
        self._notify(organization_id, store, record, "deleted")
        return record

    def dimensions(self, organization_id: str) -> Dimensions:
        """An organization's reporting tags, locations and projects."""
        org = self.orgs.get(organization_id)
        if org is None:
            raise KeyError(f"no organization {organization_id}")
        return org.dimensions

    def dimensions_snapshot(self, organization_id: str) -> dict:
        """Tags with their options, locations and projects as they are now."""
        return self.dimensions(organization_id).snapshot()

    def edit_tag_option(self, organization_id: str, tag_id: str, option_id: str,
                        changes: dict[str, Any]) -> dict:
        """Rename (``option_name``), deactivate (``is_active``) or move
        (``parent_option_id``) a reporting tag's option, as a user would in Zoho: no
        document changes (nor its ``last_modified_time``); details show the new name."""
        return self._call(self.dimensions(organization_id).edit_option, tag_id, option_id,
                          changes)

    def add_tag_option(self, organization_id: str, tag_id: str,
                       fields: dict[str, Any]) -> dict:
        """Add an option (``option_name``, ``parent_option_id``, ``is_active``) to a tag."""
        return self._call(self.dimensions(organization_id).add_option, tag_id, fields)

    def add_location(self, organization_id: str, fields: dict[str, Any]) -> dict:
        """Add a location (``location_name``, ``type``, ``parent_location_id``, ``status``,
        ``is_primary``)."""
        return self._call(self.dimensions(organization_id).add_location, fields)

    def _notify(self, organization_id: str, store: EntityStore, record: dict,
                trigger: str) -> None:
        """Send the organization's webhook for this change, if one is configured."""
        kind = store.kind
        self.webhooks.emit(organization_id, kind.name, kind.singular, kind.id_field, record,
                           trigger)  # type: ignore[arg-type]

    @staticmethod
    def _call(fn, *args):
        try:
            return fn(*args)
        except errors.ZohoError as err:
            raise KeyError(err.body["message"]) from None

    # -- description -----------------------------------------------------------------------

    def describe(self, base_url: str) -> str:
        """Endpoints, credentials and orgs, enough to explore the emulator with curl."""
        base = base_url.rstrip("/")
        cfg = self.config
        lines = [
            f"Zoho Books emulator (seed {cfg.seed})",
            f"  client_id     {cfg.client_id}",
            f"  client_secret {cfg.client_secret}",
        ]
        for region in REGIONS:
            orgs = [o for o in self.orgs.values() if o.spec.region == region]
            tokens = [t for t in cfg.refresh_tokens if t.region == region]
            if not orgs and not tokens:
                continue
            lines += [
                f"  region {region}",
                f"    accounts server  {base}/zoho/{region}/accounts   "
                "(POST /oauth/v2/token, /oauth/v2/token/revoke; GET /oauth/v2/auth)",
                f"    api domain       {base}/zoho/{region}/api   (Books: /books/v3)",
            ]
            lines += [f"    refresh token    {t.token}  scopes {','.join(t.scopes)}"
                      for t in tokens]
            for org in orgs:
                counts = org.counts()
                lines.append(
                    f"    org {org.id}  {org.spec.name!r}  {org.spec.currency_code} "
                    f"{org.spec.time_zone} ({org.spec.utc_offset}) {org.spec.plan}: "
                    + ", ".join(f"{counts[k]} {k}" for k in
                                ("invoices", "bills", "purchaseorders", "creditnotes",
                                 "vendorcredits", "contacts"))
                    + f"  dated {org.spec.start_date}..{org.spec.end_date}"
                )
        example = next(iter(self.orgs.values()), None)
        if example is not None:
            region = example.spec.region
            token = next((t.token for t in cfg.refresh_tokens if t.region == region), "<token>")
            lines += [
                "  try:",
                f"    curl -s -X POST {base}/zoho/{region}/accounts/oauth/v2/token "
                f"-d grant_type=refresh_token -d client_id={cfg.client_id} "
                f"-d client_secret={cfg.client_secret} -d refresh_token={token}",
                "    curl -s -H 'Authorization: Zoho-oauthtoken <access_token>' "
                f"'{base}/zoho/{region}/api/books/v3/invoices?organization_id={example.id}"
                "&per_page=5'",
                f"  admin: {base}/_sandbox/zoho/stats",
            ]
        return "\n".join(lines)

    def _org_row(self, org: Organization, default: bool) -> dict:
        spec = org.spec
        catalog = org.catalog
        return {
            "organization_id": org.id,
            "name": spec.name,
            "contact_name": "Sandbox Admin",
            "email": f"admin@{org.id}.sandbox.example.com",
            "is_default_org": default,
            "plan_type": 0,
            "plan_name": spec.plan.title(),
            "plan_period": "yearly",
            "language_code": "en",
            "fiscal_year_start_month": spec.fiscal_year_start_month - 1
            + self.config.fiscal_month_base,
            "account_created_date": (spec.start_date - timedelta(days=400)).isoformat(),
            "time_zone": spec.time_zone,
            "is_org_active": True,
            "currency_id": catalog.currency_id(spec.currency_code),
            "currency_code": spec.currency_code,
            "currency_symbol": SYMBOLS.get(spec.currency_code, spec.currency_code),
            "currency_format": "###,##0.00",
            "price_precision": 2,
        }

