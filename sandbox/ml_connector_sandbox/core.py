"""The sandbox as one object: a shared clock, shared fault board and the API emulators."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ml_connector_sandbox.anaplan import AnaplanEmulator, AnaplanSandboxConfig
from ml_connector_sandbox.clock import SandboxClock
from ml_connector_sandbox.faults import FaultBoard
from ml_connector_sandbox.zoho import ZohoEmulator, ZohoSandboxConfig


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


class Sandbox:
    """Both emulators sharing one clock and one fault board."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = SandboxClock(config.start_time)
        self.faults = FaultBoard()
        self.zoho = ZohoEmulator(config.zoho, self.clock, self.faults)
        self.anaplan = AnaplanEmulator(config.anaplan, self.clock, self.faults)

    def describe(self, base_url: str) -> str:
        """A human-readable summary of endpoints and credentials, for ``sandbox up``."""
        return "\n".join(
            [f"ml-connector sandbox on {base_url}", self.zoho.describe(base_url),
             self.anaplan.describe(base_url)]
        )
