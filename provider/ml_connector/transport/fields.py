"""Connection fields both clients read: the extra's JSON, numbers in it, endpoint overrides.

Every error names the connection and the field, and says what would be accepted.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ml_connector.errors import ConfigError


def parse_extra(raw: str | Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """A connection's extra as a dict: empty when unset; text that is not a JSON object is an
    error (Airflow's ``extra_dejson`` would read it as ``{}``)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"connection {name!r}: field extra is not JSON ({exc.msg} at "
                          f"character {exc.pos}); write it as a JSON object, e.g. "
                          '{"region": "us"}') from None
    if not isinstance(value, dict):
        raise ConfigError(f"connection {name!r}: field extra must be a JSON object, got "
                          f"{type(value).__name__}")
    return value


def whole(extra: Mapping[str, Any], key: str, name: str, *, minimum: int = 1) -> int | None:
    """``extra[key]`` as a whole number of at least ``minimum``; None when unset."""
    raw = extra.get(key)
    if raw in (None, ""):
        return None
    value = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif (isinstance(raw, float) and raw.is_integer()) or (
            isinstance(raw, str) and raw.strip().removeprefix("-").isdigit()):
        value = int(raw)
    if value is None or value < minimum:
        raise ConfigError(f"connection {name!r}: field {key} must be a whole number of at "
                          f"least {minimum}, got {raw!r}")
    return value


def seconds(extra: Mapping[str, Any], key: str, name: str) -> float | None:
    """``extra[key]`` as a positive, finite number of seconds; None when unset."""
    raw = extra.get(key)
    if raw in (None, ""):
        return None
    try:
        value = float(raw) if not isinstance(raw, bool) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"connection {name!r}: field {key} must be a positive number of "
                          f"seconds, got {raw!r}")
    return value


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine (``localhost`` or a loopback address)."""
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str, field: str = "host", *, allow_plain_http: bool = False) -> str:
    """An endpoint override, refused unless it is HTTPS or on this machine: credentials go
    to it, and plain HTTP elsewhere would send them in clear text. ``allow_plain_http``
    (the connection's extra of that name) lifts this for a sandbox whose credentials are
    not real, on another host (docker-compose's sandbox service)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{field} must be a URL such as https://books.example.com, got "
                          f"{url!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not allow_plain_http:
        raise ConfigError(f"{field} {url!r} uses plain http:// to {parts.hostname}: tokens and "
                          "client secrets would travel in clear text; use https:// (plain "
                          "http is accepted on loopback, or with the extra allow_plain_http "
                          "for a sandbox whose credentials are not real)")
    return url.strip()


def flag(extra: Mapping[str, Any], key: str, name: str) -> bool:
    """``extra[key]`` as a boolean (true/false, also as text); unset is false."""
    raw = extra.get(key)
    if raw in (None, "", False, "false", "False"):
        return False
    if raw in (True, "true", "True"):
        return True
    raise ConfigError(f"connection {name!r}: field {key} must be true or false, got {raw!r}")
