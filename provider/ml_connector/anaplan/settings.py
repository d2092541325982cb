"""Build Anaplan auth and config from connection fields (login, password, host, extra)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from ml_connector.anaplan.auth import BasicMethod, CertificateMethod, Method, OAuthMethod
from ml_connector.anaplan.config import MB, AnaplanConfig
from ml_connector.errors import ConfigError
from ml_connector.transport.fields import check_endpoint, flag, seconds, whole

AUTH_METHODS = ("basic", "certificate", "oauth")
EXTRA_FIELDS = {
    "auth_method", "certificate", "private_key", "payload_format", "refresh_token",
    "workspace_id", "model_id", "requests_per_minute", "chunk_size_mb", "rate_limit_file",
    "timeout", "allow_plain_http", "model_page_url",
}


@dataclass(frozen=True)
class RefreshTokenStore:
    """Where rotated OAuth refresh tokens live, and the lock held while one is exchanged."""

    load: Callable[[], str]
    save: Callable[[str], None]
    lock: Callable[[], AbstractContextManager[None]] = nullcontext


def settings_from_fields(
    *, login: str | None, password: str | None, host: str | None, extra: Mapping[str, Any],
    name: str = "anaplan", workspace_id: str | None = None, model_id: str | None = None,
    refresh_token_store: RefreshTokenStore | None = None,
) -> tuple[Method, AnaplanConfig]:
    """The auth method and model config of a connection; errors name the connection and field.

    ``auth_method``: ``basic`` (login = user, password), ``certificate`` (extra
    ``certificate`` and ``private_key`` PEM, password = key passphrase, ``payload_format``
    v2 or v1) or ``oauth`` (login = client id, extra ``refresh_token``; rotated tokens go
    through ``refresh_token_store``).
    """
    unknown = sorted(set(extra) - EXTRA_FIELDS)
    if unknown:
        raise ConfigError(f"connection {name!r}: unknown extra field(s) {', '.join(unknown)}")
    method = _method(login, password, extra, name, refresh_token_store)
    options = _options(extra, name)
    workspace = workspace_id or extra.get("workspace_id")
    model = model_id or extra.get("model_id")
    if not workspace or not model:
        raise ConfigError(f"connection {name!r}: workspace_id and model_id are needed (in the "
                          "connection's extra or as operator arguments)")
    try:
        config = AnaplanConfig(workspace, model,
                               endpoint_base=(host or "").strip() or None, **options)
    except ConfigError as exc:
        raise ConfigError(f"connection {name!r}: {exc}") from None
    return method, config


def _method(login: str | None, password: str | None, extra: Mapping[str, Any], name: str,
            refresh_token_store: RefreshTokenStore | None) -> Method:
    """The auth method that the extra's ``auth_method`` names (default basic)."""
    kind = str(extra.get("auth_method") or "basic").lower()
    if kind == "basic":
        if not login or not password:
            raise ConfigError(f"connection {name!r}: basic auth needs login (user) and password")
        return BasicMethod(login, password)
    if kind == "certificate":
        return _certificate(password, extra, name)
    if kind == "oauth":
        return _oauth(login, extra, name, refresh_token_store)
    raise ConfigError(f"connection {name!r}: auth_method must be one of "
                      f"{', '.join(AUTH_METHODS)}, got {kind!r}")


def _certificate(password: str | None, extra: Mapping[str, Any], name: str) -> Method:
    """Certificate auth: the extra's PEM certificate and private key, password = passphrase."""
    for key in ("certificate", "private_key"):
        if not extra.get(key):
            raise ConfigError(f"connection {name!r}: field {key} is empty")
    try:
        return CertificateMethod(extra["certificate"], extra["private_key"], password or None,
                                 extra.get("payload_format") or "v2")
    except ConfigError as exc:
        raise ConfigError(f"connection {name!r}: {exc}") from None


def _oauth(login: str | None, extra: Mapping[str, Any], name: str,
           refresh_token_store: RefreshTokenStore | None) -> Method:
    """OAuth: login = client id; the refresh token rotates in the store, or in memory."""
    if not login or not extra.get("refresh_token"):
        raise ConfigError(
            f"connection {name!r}: oauth needs login (client id) and field refresh_token")
    if refresh_token_store is not None:
        return OAuthMethod(login, refresh_token_store.load, refresh_token_store.save,
                           lock=refresh_token_store.lock)
    holder = {"token": str(extra["refresh_token"])}
    return OAuthMethod(login, lambda: holder["token"],
                       lambda value: holder.__setitem__("token", value))


def _options(extra: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The ``AnaplanConfig`` options the extra sets (rate, chunk size, timeout, ...)."""
    options: dict[str, Any] = {}
    if (rpm := whole(extra, "requests_per_minute", name)) is not None:
        options["requests_per_minute"] = rpm
    if (chunk := whole(extra, "chunk_size_mb", name)) is not None:
        options["chunk_size"] = chunk * MB
    if (timeout := seconds(extra, "timeout", name)) is not None:
        options["timeout"] = timeout
    options["allow_plain_http"] = flag(extra, "allow_plain_http", name)
    if extra.get("rate_limit_file"):
        options["rate_limit_file"] = extra["rate_limit_file"]
    if page := str(extra.get("model_page_url") or "").strip():
        options["model_page"] = _model_page(page, name)
    return options


def _model_page(page: str, name: str) -> str:
    """The model page URL template, checked: it may name only the workspace and model ids."""
    try:
        page.format(workspace_id="w", model_id="m")
    except (KeyError, IndexError, ValueError):
        raise ConfigError(f"connection {name!r}: field model_page_url may name only "
                          "{workspace_id} and {model_id}, got " + repr(page)) from None
    return check_endpoint(page, "field model_page_url")
