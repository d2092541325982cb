"""AnaplanHook: Anaplan clients (sync and async) built from an Airflow connection."""

from __future__ import annotations

import asyncio
from functools import cached_property
from typing import Any

from airflow.providers.common.compat.sdk import BaseHook, mask_secret

from ml_connector.anaplan.auth import Method, refusal_hint
from ml_connector.anaplan.client import AnaplanClient, AsyncAnaplanClient
from ml_connector.anaplan.config import AnaplanConfig
from ml_connector.anaplan.settings import RefreshTokenStore, settings_from_fields
from ml_connector.errors import ConnectorError
from ml_connector.hooks.connections import ConnectionLookup
from ml_connector.hooks.state import DEFAULT_STATE_CONN_ID, state_store, state_url
from ml_connector.state.tokens import SqlTokenCache, fernet_from
from ml_connector.transport.fields import parse_extra


class AnaplanHook(ConnectionLookup, BaseHook):
    """Talks to one Anaplan model with the credentials of an ``anaplan`` connection.

    Connection fields: login = user (basic) or client id (oauth), password = password (basic)
    or private-key passphrase (certificate), host = optional endpoint override (the sandbox's
    base URL), extra = ``auth_method`` (basic, certificate, oauth), ``certificate``,
    ``private_key``, ``payload_format`` (v2, v1), ``refresh_token``, ``workspace_id``,
    ``model_id``, ``requests_per_minute``, ``chunk_size_mb``.

    OAuth refresh tokens rotate: each new one is stored encrypted in the state store before
    the access token it came with is used.
    """

    conn_name_attr = "anaplan_conn_id"
    default_conn_name = "anaplan_default"
    conn_type = "anaplan"
    hook_name = "Anaplan"

    def __init__(
        self,
        anaplan_conn_id: str = default_conn_name,
        workspace_id: str | None = None,
        model_id: str | None = None,
        state_conn_id: str = DEFAULT_STATE_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.anaplan_conn_id = anaplan_conn_id
        self.workspace_id = workspace_id
        self.model_id = model_id
        self.state_conn_id = state_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        from ml_connector.provider_info import ANAPLAN_UI_FIELD_BEHAVIOUR

        return ANAPLAN_UI_FIELD_BEHAVIOUR

    def _settings(self, conn) -> tuple[Method, AnaplanConfig]:
        extra = parse_extra(conn.extra, self.anaplan_conn_id)
        for secret in (conn.password, extra.get("private_key"), extra.get("refresh_token")):
            if secret:
                mask_secret(secret)
        store = None
        if str(extra.get("auth_method", "")).lower() == "oauth" and extra.get("refresh_token"):
            cache = SqlTokenCache(state_store(state_url(self.state_conn_id)),
                                  fernet_from(str(conn.login), str(extra["refresh_token"])))
            key = f"anaplan-oauth:{self.anaplan_conn_id}"

            def load() -> str:
                return cache.get_secret(key) or str(extra["refresh_token"])

            def save(value: str) -> None:
                mask_secret(value)
                cache.put_secret(key, value)

            # Rotated tokens are single-use: one exchange at a time across every process.
            store = RefreshTokenStore(load, save, lambda: cache.lock(key))
        return settings_from_fields(
            login=conn.login, password=conn.password, host=conn.host, extra=extra,
            name=self.anaplan_conn_id, workspace_id=self.workspace_id, model_id=self.model_id,
            refresh_token_store=store,
        )

    def get_conn(self) -> AnaplanClient:
        return self.client

    @cached_property
    def client(self) -> AnaplanClient:
        method, config = self._settings(self.get_connection(self.anaplan_conn_id))
        client = AnaplanClient(method, config)
        client.book.on_token = mask_secret
        client.book.refusal_hint = refusal_hint(method.name, self.anaplan_conn_id)
        return client

    async def async_client(self) -> AsyncAnaplanClient:
        conn = await self.aget_connection(self.anaplan_conn_id)
        # The state store behind OAuth tokens is a blocking database: not on the event loop.
        method, config = await asyncio.to_thread(self._settings, conn)
        client = AsyncAnaplanClient(method, config)
        client.book.on_token = mask_secret
        client.book.refusal_hint = refusal_hint(method.name, self.anaplan_conn_id)
        return client

    def test_connection(self) -> tuple[bool, str]:
        """Authenticate and list the model's imports."""
        try:
            imports = self.client.imports()
        except ConnectorError as exc:
            return False, str(exc)
        names = ", ".join(f"{i.name} ({i.id})" for i in imports)
        return True, f"Connected to model {self.client.config.model_id}; imports: {names}"
