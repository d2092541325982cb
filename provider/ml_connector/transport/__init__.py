"""Shared HTTP policy: rate limiting, retries with backoff and jitter, typed errors."""

from ml_connector.transport.errors import (
    ApiError,
    AuthError,
    ConfigError,
    ConnectorError,
    ProtocolError,
)
from ml_connector.transport.ratelimit import RateLimiter
from ml_connector.transport.retry import RetryPolicy
from ml_connector.transport.sync import Transport

__all__ = [
    "ApiError",
    "AuthError",
    "ConfigError",
    "ConnectorError",
    "ProtocolError",
    "RateLimiter",
    "RetryPolicy",
    "Transport",
]
