"""Zoho Books emulator: eight data centers with their accounts servers, lazily generated
organizations of any size, Zoho's limits and error shapes, and admin hooks for tests."""

from ml_connector_sandbox.zoho.config import (
    LimitsSpec,
    OrgSpec,
    RefreshTokenSpec,
    ZohoSandboxConfig,
)
from ml_connector_sandbox.zoho.emulator import ZohoEmulator

__all__ = ["LimitsSpec", "OrgSpec", "RefreshTokenSpec", "ZohoEmulator", "ZohoSandboxConfig"]
