"""The asynchronous transport (for triggers): the same policy as ``Transport``, awaited."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ml_connector.transport.ratelimit import RateLimiter
from ml_connector.transport.retry import RetryPolicy
from ml_connector.transport.sync import USER_AGENT, BaseTransport, ErrorParser, connection_error


class AsyncTransport(BaseTransport):
    """Async twin of ``Transport``: limiter, retries with backoff and jitter, typed errors."""

    def __init__(
        self,
        service: str,
        parse_error: ErrorParser,
        *,
        limiter: RateLimiter | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 60.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(service, parse_error, limiter=limiter, policy=policy)
        self.client = client or httpx.AsyncClient(
            timeout=timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=False
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        auth: Callable[[], Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        async for attempt in self.policy.async_retrying():
            with attempt:
                if self.limiter is not None:
                    await self.limiter.acquire_async()
                try:
                    response = await self.client.request(
                        method, url, headers=self._headers(auth, headers), **kwargs
                    )
                except httpx.HTTPError as exc:
                    raise connection_error(exc, self.service, method, url) from None
                finally:
                    self._count()
                return self._check(response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self.client.aclose()
