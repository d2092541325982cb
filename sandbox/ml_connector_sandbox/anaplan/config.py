"""Configuration of the Anaplan emulator: principals, token and rate limits, task timing,
upload limits and the model definition."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ml_connector_sandbox.anaplan.definition import DEFAULT_MODEL, WorkspaceSpec, load_workspaces

DEFAULT_USER = "integration@zillum.example"
DEFAULT_PASSWORD = "sandbox-password"
MB = 1024 * 1024
HOURS_48 = 48 * 3600


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserSpec(_Spec):
    """A user of the tenant. ``password`` None: no Basic login (certificate/OAuth only)."""

    email: str
    password: str | None = None
    first_name: str = "Sandbox"
    last_name: str = "User"
    workspace_admin: bool = Field(default=True, description="False: may read, not run actions")
    models: list[str] | None = Field(default=None, description="model ids it may see; None: all")


class CertificateSpec(_Spec):
    """A trusted certificate (PEM). A certificate equal to it logs in as ``user``; one it
    issued (a CA) logs in as the user named by the presented certificate's subject."""

    pem: str
    user: str | None = Field(
        default=None, description="default: the subject's emailAddress, else its CN"
    )


class OAuthClientSpec(_Spec):
    """An OAuth client (device grant, auto-approved) acting for ``user``."""

    client_id: str = "sandbox-oauth-client"
    client_secret: str | None = Field(default=None, description="required on /oauth/token if set")
    user: str = DEFAULT_USER
    refresh_tokens: list[str] = Field(
        default_factory=lambda: ["sandbox-oauth-refresh-token"],
        description="refresh tokens valid from the start",
    )
    rotate_refresh_tokens: bool = True
    device_code_ttl: int = Field(default=900, ge=1)
    approve_after_polls: int = Field(
        default=0, ge=0, description="token requests answered authorization_pending before "
        "the device code counts as approved (a person taking their time)")


class TaskTiming(_Spec):
    """How long tasks take on the sandbox clock: a task waits ``queue_seconds`` (and for the
    model to be free), then runs ``base_seconds + per_row_seconds * rows`` per import."""

    queue_seconds: float = Field(default=0.2, ge=0)
    base_seconds: float = Field(default=0.5, ge=0)
    per_row_seconds: float = Field(default=0.001, ge=0)
    cancel_seconds: float = Field(default=0.5, ge=0, description="CANCELLING -> CANCELLED")


class FileLimits(_Spec):
    max_chunk_bytes: int = Field(default=50 * MB, ge=1, description="uncompressed, per chunk")
    max_chunks: int = Field(default=1000, ge=1)
    single_put_bytes: int = Field(default=1 * MB, ge=1, description="single PUT: below this")
    retention_seconds: float = Field(default=HOURS_48, gt=0)


class ListTextSpec(_Spec):
    """What a list import does with the text of a code or name (unknown for Anaplan: the
    defaults are what the emulator has always done)."""

    trim_codes: bool = Field(default=True, description="strip leading/trailing spaces of codes")
    trim_names: bool = Field(default=True, description="strip leading/trailing spaces of names")
    blank_name: Literal["code", "keep", "reject"] = Field(
        default="code", description="an item whose name is blank: named by its code, kept "
        "with the blank name, or the row rejected into the failure dump")


class ListItemsApiSpec(_Spec):
    """The JSON of ``GET /lists/{id}/items`` (observed in clients; exact shape unknown)."""

    codes_without_include_all: bool = Field(
        default=True, description="items carry their code without includeAll=true (Anaplan's "
        "notes: only includeAll adds codes)")
    parent_name_field: str | None = Field(
        default="parent", description="includeAll: the field with the parent member's name "
        "(None: left out); top-level members have none")
    parent_id_field: str | None = Field(
        default="parentId", description="includeAll: the field with the parent member's id")
    parent_code_field: str | None = Field(
        default=None, description="includeAll: a field with the parent member's code")


class AnaplanSandboxConfig(_Spec):
    """Everything the Anaplan emulator is built from; ``AnaplanSandboxConfig()`` is the
    standard one (``default_model.yaml``)."""

    customer_guid: str = "8a81b01c5e8c6f27015ed3b6e5c01b2a"
    users: list[UserSpec] = Field(
        default_factory=lambda: [UserSpec(email=DEFAULT_USER, password=DEFAULT_PASSWORD)]
    )
    certificates: list[CertificateSpec] = Field(default_factory=list)
    oauth_clients: list[OAuthClientSpec] = Field(default_factory=lambda: [OAuthClientSpec()])
    token_ttl: int = Field(default=2100, ge=1, description="seconds (Anaplan: 35 minutes)")
    refresh_rotates_token: bool = Field(
        default=True, description="/token/refresh retires the token it was called with"
    )
    certificate_v1: bool = Field(default=True, description="accept legacy v1 certificate data")
    certificate_skew: int = Field(default=300, ge=0, description="v2 timestamp tolerance, s")
    rate_per_minute: int = Field(
        default=600, ge=1, description="tenant-wide bucket of this size refilling per minute"
    )
    send_retry_after: bool = True
    timing: TaskTiming = Field(default_factory=TaskTiming)
    file_limits: FileLimits = Field(default_factory=FileLimits)
    dump_chunk_bytes: int = Field(default=10 * MB, ge=1)
    dump_retention_seconds: float = Field(default=HOURS_48, gt=0)
    list_text: ListTextSpec = Field(default_factory=ListTextSpec)
    list_items: ListItemsApiSpec = Field(default_factory=ListItemsApiSpec)
    model_file: Path | None = Field(
        default=None, description="YAML model definition used when 'workspaces' is not given"
    )
    workspaces: list[WorkspaceSpec] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _load_model(cls, data: object) -> object:
        if isinstance(data, dict) and "workspaces" not in data:
            data = {**data, "workspaces": load_workspaces(data.get("model_file") or DEFAULT_MODEL)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> AnaplanSandboxConfig:
        emails = [u.email for u in self.users]
        if len(emails) != len(set(emails)):
            raise ValueError("user emails must be unique")
        if not {c.user for c in self.oauth_clients} <= set(emails):
            raise ValueError("every OAuth client must act for a configured user")
        ids = [m.id for w in self.workspaces for m in w.models]
        if len(ids) != len(set(ids)):
            raise ValueError("model ids must be unique")
        return self
