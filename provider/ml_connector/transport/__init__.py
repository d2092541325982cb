"""Shared HTTP policy: rate limiting, retries with backoff and jitter (the errors they raise
are in ``ml_connector.errors``)."""

from ml_connector.transport.ratelimit import RateLimiter
from ml_connector.transport.retry import RetryPolicy
from ml_connector.transport.sync import Transport

__all__ = ["RateLimiter", "RetryPolicy", "Transport"]
