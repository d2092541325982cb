"""Anaplan emulator: the auth service (Basic, CA certificate, OAuth) and the Integration API
v2 over a live model (lists, module cells, chunked files, queued import tasks, failure dumps),
with Anaplan's limits and error shapes and admin hooks for tests."""

from ml_connector_sandbox.anaplan.config import (
    DEFAULT_PASSWORD,
    DEFAULT_USER,
    AnaplanSandboxConfig,
    CertificateSpec,
    FileLimits,
    OAuthClientSpec,
    TaskTiming,
    UserSpec,
)
from ml_connector_sandbox.anaplan.definition import load_workspaces
from ml_connector_sandbox.anaplan.emulator import AnaplanEmulator

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_USER",
    "AnaplanEmulator",
    "AnaplanSandboxConfig",
    "CertificateSpec",
    "FileLimits",
    "OAuthClientSpec",
    "TaskTiming",
    "UserSpec",
    "load_workspaces",
]
