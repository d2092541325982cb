"""Build client settings from connection fields (login, password, host, extra)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ml_connector.errors import ConfigError
from ml_connector.transport.fields import flag, seconds, whole
from ml_connector.webhooks.config import WEBHOOK_FIELDS
from ml_connector.zoho.auth import ZohoCredentials
from ml_connector.zoho.client import ZohoConfig

#: Extra fields a ``zoho_books`` connection may carry (other keys are an error: likely typos).
EXTRA_FIELDS = {
    "refresh_token", "region", "organization_id", "plan", "requests_per_minute",
    "max_concurrency", "rate_limit_file", "timeout", "daily_limit", "daily_reserve",
    "allow_plain_http", *WEBHOOK_FIELDS,
}


def settings_from_fields(
    *, login: str | None, password: str | None, host: str | None, extra: Mapping[str, Any],
    name: str = "zoho_books",
) -> tuple[ZohoCredentials, ZohoConfig]:
    """Credentials and config from a connection; errors name the connection and the field."""
    unknown = sorted(set(extra) - EXTRA_FIELDS)
    if unknown:
        raise ConfigError(
            f"connection {name!r}: unknown extra field(s) {', '.join(unknown)}; "
            f"expected some of {', '.join(sorted(EXTRA_FIELDS))}"
        )
    values = {
        "client_id (login)": login, "client_secret (password)": password,
        "refresh_token": extra.get("refresh_token"), "region": extra.get("region"),
    }
    for field_name, value in values.items():
        if not str(value or "").strip():
            raise ConfigError(f"connection {name!r}: field {field_name} is empty")
    options: dict[str, Any] = {
        key: extra[key] for key in ("plan", "rate_limit_file") if extra.get(key) not in (None, "")
    }
    if (timeout := seconds(extra, "timeout", name)) is not None:
        options["timeout"] = timeout
    options["allow_plain_http"] = flag(extra, "allow_plain_http", name)
    if extra.get("daily_reserve") not in (None, ""):
        try:
            percent = float(extra["daily_reserve"])
        except (TypeError, ValueError):
            percent = -1
        if not 0 <= percent < 100:
            raise ConfigError(
                f"connection {name!r}: field daily_reserve is the percent of the daily cap kept "
                f"for the organization's other integrations (0-99), got {extra['daily_reserve']!r}")
        options["daily_reserve"] = percent / 100
    for key in ("requests_per_minute", "max_concurrency", "daily_limit"):
        if (number := whole(extra, key, name)) is not None:
            options[key] = number
    try:
        config = ZohoConfig(
            region=str(extra["region"]).strip().lower(),
            organization_id=str(extra["organization_id"]).strip()
            if extra.get("organization_id") not in (None, "") else None,
            endpoint_base=host.strip() if host and host.strip() else None,
            **options,
        )
    except ConfigError as exc:
        raise ConfigError(f"connection {name!r}: {exc}") from None
    credentials = ZohoCredentials(str(login).strip(), str(password).strip(),
                                  str(extra["refresh_token"]).strip())
    return credentials, config
