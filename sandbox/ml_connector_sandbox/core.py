"""The sandbox as one object: a shared clock, shared fault board and the API emulators."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ml_connector_sandbox.anaplan import AnaplanEmulator, AnaplanSandboxConfig
from ml_connector_sandbox.clock import SandboxClock
from ml_connector_sandbox.faults import FaultBoard
from ml_connector_sandbox.zoho import ZohoEmulator, ZohoSandboxConfig

#: Zoho's documented limit per organization and minute, the sandbox's default.
ZOHO_PER_MINUTE = 100


class SandboxConfig(BaseModel):
    """Everything a sandbox is built from; loadable from YAML (``SandboxConfig.from_yaml``)."""

    model_config = ConfigDict(extra="forbid")

    start_time: float | None = Field(
        default=None, description="epoch seconds the sandbox clock starts at (default: now)"
    )
    zoho: ZohoSandboxConfig = Field(default_factory=ZohoSandboxConfig)
    anaplan: AnaplanSandboxConfig = Field(default_factory=AnaplanSandboxConfig)

    @classmethod
    def from_yaml(cls, path: str | Path) -> SandboxConfig:
        return cls.model_validate(yaml.safe_load(Path(path).read_text()) or {})

    def airflow_connections(self, base_url: str, *, region: str = "us",
                            organization_id: str | None = None,
                            zoho_extra: dict | None = None) -> dict[str, dict]:
        """The ``zoho_books_default`` and ``anaplan_default`` connections (as ``airflow
        connections add --conn-json`` takes them) of a sandbox served at ``base_url``: the
        region's refresh token and its first organization (or ``organization_id``; None
        leaves it out), the first user's login and the first model. A sandbox whose Zoho
        limit is not Zoho's 100 a minute gets a budget to match (90 % of it, as the
        connection's default 90 is of 100)."""
        zoho = self.zoho
        region_of_default = region
        refresh = next(t.token for t in zoho.refresh_tokens if t.region == region)
        if organization_id == "":
            organization_id = None
        elif organization_id is None:
            organization_id = next((o.organization_id for o in zoho.organizations
                                    if o.region == region), None)
        extra: dict = {"refresh_token": refresh, "region": region,
                       **({"organization_id": organization_id} if organization_id else {})}
        if zoho.limits.per_minute != ZOHO_PER_MINUTE:
            extra["requests_per_minute"] = max(1, zoho.limits.per_minute * 9 // 10)
        extra.update(zoho_extra or {})
        user = next(u for u in self.anaplan.users if u.password)
        workspace = self.anaplan.workspaces[0]
        # The group's organizations in other data centers: a login (connection) each; the
        # flows name the organization they read (the eu login reads two).
        others = {f"zoho_books_{region}": {
            "conn_type": "zoho_books", "login": zoho.client_id,
            "password": zoho.client_secret, "host": base_url,
            "extra": {"refresh_token": token, "region": region,
                      **{k: v for k, v in extra.items() if k == "requests_per_minute"}}}
            for region in GROUP_REGIONS if region != region_of_default
            for token in [next((t.token for t in zoho.refresh_tokens if t.region == region),
                               None)] if token}
        return {
            "zoho_books_default": {"conn_type": "zoho_books", "login": zoho.client_id,
                                   "password": zoho.client_secret, "host": base_url,
                                   "extra": extra},
            **others,
            "anaplan_default": {"conn_type": "anaplan", "login": user.email,
                                "password": user.password, "host": base_url,
                                "extra": {"auth_method": "basic",
                                          "workspace_id": workspace.id,
                                          "model_id": workspace.models[0].id}},
        }


#: The data centers of the sandbox group's organizations besides the US one.
GROUP_REGIONS = ("eu", "in")


class Sandbox:
    """Both emulators sharing one clock and one fault board."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = SandboxClock(config.start_time)
        self.faults = FaultBoard()
        self.zoho = ZohoEmulator(config.zoho, self.clock, self.faults)
        self.anaplan = AnaplanEmulator(config.anaplan, self.clock, self.faults)

    def describe(self, base_url: str) -> str:
        """A human-readable summary of endpoints and credentials, for ``sandbox up``, ending
        with the commands that add the Airflow connections."""
        adds = [f"  airflow connections add {conn_id} --conn-json '{json.dumps(conn)}'"
                for conn_id, conn in self.config.airflow_connections(base_url).items()]
        return "\n".join(
            [f"ml-connector sandbox on {base_url}", self.zoho.describe(base_url),
             self.anaplan.describe(base_url),
             "Airflow connections to it (the US data center's first organization; the "
             "group's logins in the EU and India data centers):", *adds]
        )
