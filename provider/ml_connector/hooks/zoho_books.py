"""ZohoBooksHook: a Zoho Books client built from an Airflow connection."""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import Any

from airflow.providers.common.compat.sdk import BaseHook, mask_secret

from ml_connector.errors import ConnectorError
from ml_connector.hooks.connections import ConnectionLookup
from ml_connector.hooks.state import DEFAULT_STATE_CONN_ID, state_store, state_url
from ml_connector.state.tokens import SqlTokenCache, fernet_from
from ml_connector.transport.fields import parse_extra
from ml_connector.zoho.client import ZohoBooksClient, ZohoConfig
from ml_connector.zoho.organizations import choose
from ml_connector.zoho.settings import settings_from_fields


class ZohoBooksHook(ConnectionLookup, BaseHook):
    """Talks to Zoho Books with the OAuth client and refresh token of a ``zoho_books`` connection.

    Connection fields: login = client id, password = client secret, host = optional endpoint
    override (the sandbox's base URL), extra = ``refresh_token``, ``region`` (us, eu, in, au,
    jp, ca, cn, sa), ``organization_id`` (required when the account has several), ``plan``
    (free or paid), ``requests_per_minute``, ``max_concurrency``, ``daily_limit`` (the
    plan's daily cap, until Zoho reports it), ``daily_reserve`` (percent of that cap kept for
    the organization's other integrations, default 20).

    The state store (``state_conn_id``) holds what all tasks share: the access token
    (encrypted), the detail cache and the organization's daily quota. ``organization`` (an
    id, or a name found through ``GET /organizations``) reads another organization of the
    same login than the connection's ``organization_id``.
    """

    conn_name_attr = "zoho_conn_id"
    default_conn_name = "zoho_books_default"
    conn_type = "zoho_books"
    hook_name = "Zoho Books"

    def __init__(
        self,
        zoho_conn_id: str = default_conn_name,
        state_conn_id: str = DEFAULT_STATE_CONN_ID,
        organization: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.zoho_conn_id = zoho_conn_id
        self.state_conn_id = state_conn_id
        self.organization = organization

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        from ml_connector.provider_info import ZOHO_UI_FIELD_BEHAVIOUR

        return ZOHO_UI_FIELD_BEHAVIOUR

    def get_conn(self) -> ZohoBooksClient:
        return self.client

    @cached_property
    def client(self) -> ZohoBooksClient:
        conn = self.get_connection(self.zoho_conn_id)
        extra = parse_extra(conn.extra, self.zoho_conn_id)
        credentials, config = settings_from_fields(
            login=conn.login, password=conn.password, host=conn.host, extra=extra,
            name=self.zoho_conn_id,
        )
        mask_secret(credentials.client_secret)
        mask_secret(credentials.refresh_token)
        if extra.get("webhook_secret"):
            mask_secret(str(extra["webhook_secret"]))
        store = state_store(state_url(self.state_conn_id))
        cache = SqlTokenCache(
            store, fernet_from(credentials.client_id, credentials.client_secret,
                               credentials.refresh_token),
        )
        def make(config: ZohoConfig) -> ZohoBooksClient:
            client = ZohoBooksClient(credentials, config, token_cache=cache, store=store)
            client.tokens.on_token = mask_secret
            client.tokens.connection = self.zoho_conn_id
            return client

        if self.organization is None:
            return make(config)
        wanted = self.organization
        if not wanted.isdigit():  # a name: the login's organizations say its id
            with make(replace(config, organization_id=None)) as lister:
                wanted = choose(lister.organizations(), wanted,
                                f"connection {self.zoho_conn_id!r}")
        return make(replace(config, organization_id=wanted))

    def test_connection(self) -> tuple[bool, str]:
        """Obtain a token and list the organizations the refresh token can read."""
        try:
            orgs = self.client.organizations()
        except ConnectorError as exc:
            return False, str(exc)
        names = ", ".join(f"{o.get('name')} ({o.get('organization_id')})" for o in orgs)
        return True, f"Connected to Zoho Books ({self.client.datacenter.region}): {names}"
