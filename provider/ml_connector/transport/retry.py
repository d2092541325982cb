"""Retry policy: exponential backoff with full jitter, or the delay the service asked for."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import tenacity
from tenacity.wait import wait_base

from ml_connector.errors import ApiError

log = logging.getLogger(__name__)


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, ApiError) and exc.retryable


class WaitRetryAfterOr(wait_base):
    """Wait what the failed response asked for (``retry_after``), else fall back to ``fallback``."""

    def __init__(self, fallback: wait_base, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        asked = getattr(exc, "retry_after", None)
        if asked is not None:
            return min(max(float(asked), 0.0), self.cap)
        return self.fallback(retry_state)


def _log_retry(retry_state: tenacity.RetryCallState) -> None:
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    delay = retry_state.next_action.sleep if retry_state.next_action else 0.0
    log.warning("attempt %d failed (%s); retrying in %.1fs", retry_state.attempt_number, exc, delay)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a retryable failure.

    ``attempts`` counts the first try; ``deadline`` bounds the total time spent, in seconds.
    Delays grow as ``initial_delay * 2**n`` plus up to ``jitter`` seconds of random jitter,
    capped at ``max_delay``; a ``Retry-After`` style delay from the service wins, capped at
    ``max_retry_after``.
    """

    attempts: int = 8
    initial_delay: float = 1.0
    max_delay: float = 60.0
    jitter: float = 1.0
    deadline: float = 900.0
    max_retry_after: float = 300.0

    def _kwargs(self) -> dict:
        return {
            "stop": tenacity.stop_after_attempt(self.attempts)
            | tenacity.stop_after_delay(self.deadline),
            "wait": WaitRetryAfterOr(
                tenacity.wait_exponential_jitter(
                    initial=self.initial_delay, max=self.max_delay, jitter=self.jitter
                ),
                cap=self.max_retry_after,
            ),
            "retry": tenacity.retry_if_exception(is_retryable),
            "reraise": True,
            "before_sleep": _log_retry,
        }

    def retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(**self._kwargs())

    def async_retrying(self) -> tenacity.AsyncRetrying:
        return tenacity.AsyncRetrying(**self._kwargs())
