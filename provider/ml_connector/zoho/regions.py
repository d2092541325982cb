"""Zoho's eight data centers and the rules for picking one safely."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ml_connector.errors import ConfigError


@dataclass(frozen=True)
class DataCenter:
    """One Zoho data center: where its accounts server and its API live."""

    region: str
    api_domain: str
    accounts_url: str

    @property
    def books_base(self) -> str:
        return self.api_domain.rstrip("/") + "/books/v3"


_REAL = {
    "us": ("https://www.zohoapis.com", "https://accounts.zoho.com"),
    "eu": ("https://www.zohoapis.eu", "https://accounts.zoho.eu"),
    "in": ("https://www.zohoapis.in", "https://accounts.zoho.in"),
    "au": ("https://www.zohoapis.com.au", "https://accounts.zoho.com.au"),
    "jp": ("https://www.zohoapis.jp", "https://accounts.zoho.jp"),
    "ca": ("https://www.zohoapis.ca", "https://accounts.zohocloud.ca"),
    "cn": ("https://www.zohoapis.com.cn", "https://accounts.zoho.com.cn"),
    "sa": ("https://www.zohoapis.sa", "https://accounts.zoho.sa"),
}
REGIONS: tuple[str, ...] = tuple(_REAL)
DATACENTERS: Mapping[str, DataCenter] = {r: DataCenter(r, *urls) for r, urls in _REAL.items()}


def sandbox_datacenters(base_url: str) -> dict[str, DataCenter]:
    """The data-center table of an ml-connector sandbox (or any look-alike) at ``base_url``."""
    base = base_url.rstrip("/")
    if urlsplit(base).scheme not in ("http", "https"):
        raise ConfigError(f"endpoint base URL must be http(s)://..., got {base_url!r}")
    return {
        r: DataCenter(r, f"{base}/zoho/{r}/api", f"{base}/zoho/{r}/accounts") for r in REGIONS
    }


def _norm(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def region_by_name(name: str, table: Mapping[str, DataCenter] = DATACENTERS) -> DataCenter:
    key = (name or "").strip().lower()
    if key not in table:
        raise ConfigError(f"unknown Zoho region {name!r}; expected one of {', '.join(table)}")
    return table[key]


def _by_url(url: str, attr: str, what: str, table: Mapping[str, DataCenter]) -> DataCenter:
    wanted = _norm(url)
    for dc in table.values():
        if _norm(getattr(dc, attr)) == wanted:
            return dc
    raise ConfigError(f"{what} {url!r} is not a known Zoho data center; refusing to call it")


def region_by_api_domain(
    api_domain: str, table: Mapping[str, DataCenter] = DATACENTERS
) -> DataCenter:
    """The data center whose API domain is ``api_domain``; anything else is refused (SSRF)."""
    return _by_url(api_domain, "api_domain", "api_domain", table)


def region_by_accounts_server(
    accounts_server: str, table: Mapping[str, DataCenter] = DATACENTERS
) -> DataCenter:
    """The data center whose accounts server is ``accounts_server`` (from a redirect)."""
    return _by_url(accounts_server, "accounts_url", "accounts-server", table)


def resolve_region(
    *,
    region: str | None = None,
    location: str | None = None,
    api_domain: str | None = None,
    accounts_server: str | None = None,
    table: Mapping[str, DataCenter] = DATACENTERS,
) -> DataCenter:
    """Pick the data center from explicit config, the authorization ``location``, the
    ``accounts-server`` of the redirect or a token's ``api_domain``; all must agree."""
    found: list[tuple[str, DataCenter]] = []
    if region:
        found.append(("region", region_by_name(region, table)))
    if location:
        found.append(("location", region_by_name(location, table)))
    if accounts_server:
        found.append(("accounts-server", region_by_accounts_server(accounts_server, table)))
    if api_domain:
        found.append(("api_domain", region_by_api_domain(api_domain, table)))
    if not found:
        raise ConfigError(
            "Zoho region is not set: configure 'region' (one of "
            f"{', '.join(table)}) or pass the authorization 'location'"
        )
    first_name, first = found[0]
    for name, dc in found[1:]:
        if dc.region != first.region:
            raise ConfigError(
                f"Zoho {first_name} says region {first.region!r} but {name} says {dc.region!r}"
            )
    return first
