"""Which failures end a task at once: those a retry would repeat.

Bad configuration or input (``ConfigError``: a column mismatch, a field that cannot be
sent), a refusal by the service that is not about load (an ``ApiError`` that is not
retryable: a missing scope, a revoked token, an unknown id), a daily Zoho quota used up
(it comes back the next day, not within a task's retries) and a run that failed in a way
that would repeat (rejected records) fail without retries, the fix in the message. The
rest (network, 5xx, 429, a locked model, an unreachable state store, an answer that is not
JSON) is left to the task's retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from airflow.providers.common.compat.sdk import AirflowFailException

from ml_connector.errors import (
    ApiError,
    ConfigError,
    ConnectorError,
    ProtocolError,
    QuotaExhausted,
    RunFailed,
)


def repeats(exc: ConnectorError) -> bool:
    """Whether trying again, unchanged, would fail the same way."""
    if isinstance(exc, (ConfigError, RunFailed, QuotaExhausted)):
        return True
    if isinstance(exc, ProtocolError):
        return False
    return isinstance(exc, ApiError) and not exc.retryable


@contextmanager
def fail_fast() -> Iterator[None]:
    """Turn a failure that would repeat into ``AirflowFailException`` (no retries); as a
    ``with`` block or a decorator of ``execute``."""
    try:
        yield
    except ConnectorError as exc:
        if repeats(exc):
            raise AirflowFailException(str(exc)) from None
        raise
