"""Every error type of ml-connector, in one place for clients, flows and operators.

None of them ever carries a credential, token or request header.
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import urlsplit


class ConnectorError(Exception):
    """Base class of every error raised by ml-connector."""


class ConfigError(ConnectorError, ValueError):
    """Configuration or input that cannot work; the message names the field or value at fault."""


class ConnectionMissing(ConfigError):
    """The Airflow connection a command needs does not exist; the message says how to add
    it."""


class MissingRate(ConfigError):
    """No exchange rate of ``currency`` for ``month`` (yyyy-mm) of type ``kind`` in the
    rate ``source``: nothing is translated with a guessed rate; the message says where to
    enter it."""

    def __init__(self, message: str, *, currency: str, month: str, kind: str,
                 source: str) -> None:
        super().__init__(message)
        self.currency = currency
        self.month = month
        self.kind = kind
        self.source = source


class ListNotLoaded(ConfigError):
    """A fact flow would look members up in an Anaplan list its list flow has never
    loaded; the message names the flow to run first."""


class MembersMissing(ConfigError):
    """Values of a flow's ``list:`` columns are not members of their Anaplan lists: the run
    stopped before the upload; the message names each value, its documents and the fix."""


def safe_path(url: str) -> str:
    """The path of a URL without scheme, host or query string (queries may hold ids or tokens)."""
    return urlsplit(str(url)).path or "/"


class StateStoreError(ConnectorError):
    """The state store cannot be used (unreachable, locked, no driver); the message names the
    store (never its password) and what to do. A task that meets it fails and is retried."""


class ApiError(ConnectorError):
    """A remote API refused or failed a request.

    ``status`` is the HTTP status (``None`` when no response came), ``code`` the service's own
    error code, ``retryable`` whether trying again later can succeed, ``retry_after`` the delay
    the service asked for, in seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str,
        status: int | None = None,
        code: int | str | None = None,
        method: str | None = None,
        url: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.service = service
        self.status = status
        self.code = code
        self.method = method
        self.path = safe_path(url) if url else None
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" {self.method} {self.path}" if self.method and self.path else ""
        parts = []
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        detail = f" ({', '.join(parts)})" if parts else ""
        return f"{self.service}{where} failed{detail}: {self.message}"

    def hinted(self: _E, hint: str) -> _E:
        """This error with ``hint`` (what to fix, and where) added to its message."""
        return type(self)(f"{self.message}; {hint}", service=self.service, status=self.status,
                          code=self.code, method=self.method, url=self.path,
                          retryable=self.retryable, retry_after=self.retry_after)


_E = TypeVar("_E", bound=ApiError)


class AuthError(ApiError):
    """Credentials were refused or a token could not be obtained."""


class ProtocolError(ApiError):
    """The service answered with something that is not what its API documents."""


class QuotaExhausted(ConnectorError):
    """The organization's daily quota cannot carry this work today; ``resets_at`` (epoch
    seconds, when known) is when it can."""

    def __init__(self, message: str, *, resets_at: float | None) -> None:
        super().__init__(message)
        self.resets_at = resets_at


class NothingChanged(Exception):
    """No record changed since the watermark: the run has nothing to send (not an error:
    a DAG skips the rest of the run)."""


class RunFailed(ConnectorError):
    """The run failed in a way a retry would repeat (rejected records, no import started)."""


class Rejected(Exception):
    """A request that is not a verified webhook: ``status`` is the HTTP answer; ``reason``
    says why without quoting the signature or the secret."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
