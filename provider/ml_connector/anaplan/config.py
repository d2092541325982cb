"""Where the Anaplan model is and how to talk to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ml_connector.anaplan import ids
from ml_connector.errors import ConfigError
from ml_connector.transport.fields import check_endpoint
from ml_connector.transport.retry import RetryPolicy

MB = 1024 * 1024
MAX_CHUNK = 50 * MB
MAX_CHUNKS = 1000


@dataclass(frozen=True)
class AnaplanConfig:
    """A model (workspace + model id) and the service endpoints.

    ``endpoint_base`` points both services at a look-alike (the sandbox). ``chunk_size`` is
    the uncompressed size of upload chunks (1 to 50 MB); ``requests_per_minute`` is the share of
    the tenant-wide 600/minute this client may use.
    """

    workspace_id: str
    model_id: str
    endpoint_base: str | None = None
    api_url: str = "https://api.anaplan.com/2/0"
    auth_url: str = "https://auth.anaplan.com"
    requests_per_minute: int = 600
    rate_limit_file: str | Path | None = None
    chunk_size: int = 10 * MB
    compress: bool = True
    timeout: float = 120.0
    allow_plain_http: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: The model's page in Anaplan's web UI, with ``{workspace_id}`` and ``{model_id}``;
    #: None: the ``modelUrl`` Anaplan lists for the model (``AnaplanClient.model_page``).
    model_page: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "workspace_id", ids.workspace_id(self.workspace_id))
        object.__setattr__(self, "model_id", ids.model_id(self.model_id))
        if not MB <= self.chunk_size <= MAX_CHUNK:
            raise ConfigError(f"chunk_size must be between 1 MB and 50 MB, got {self.chunk_size}")
        if self.endpoint_base:
            base = check_endpoint(self.endpoint_base, "host (endpoint_base)",
                                  allow_plain_http=self.allow_plain_http).rstrip("/")
            object.__setattr__(self, "api_url", f"{base}/anaplan/2/0")
            object.__setattr__(self, "auth_url", f"{base}/anaplan/auth")

    def page_url(self) -> str | None:
        """The configured web UI page of the model, or None."""
        if not self.model_page:
            return None
        return self.model_page.format(workspace_id=self.workspace_id, model_id=self.model_id)

    @property
    def model_url(self) -> str:
        return f"{self.api_url}/workspaces/{self.workspace_id}/models/{self.model_id}"

    def task_url(self, action_id: str, task_id: str | None = None) -> str:
        """Tasks of an import (``112…``) or a process (``118…``), or one of them."""
        url = f"{self.model_url}/{ids.action_path(action_id)}/tasks"
        return f"{url}/{ids.task_id(task_id)}" if task_id else url

    def dump_urls(self, action_id: str, task_id: str, dump_objects: list[str]) -> list[str]:
        """Failure dumps of a task: an import's one, or each failed step's of a process."""
        url = self.task_url(action_id, task_id)
        if ids.is_process(action_id):
            return [f"{url}/dumps/{ids.object_id(o, 'import')}" for o in dump_objects]
        return [f"{url}/dump"]
