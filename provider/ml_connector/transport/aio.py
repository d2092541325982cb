"""The asynchronous transport (for triggers): the same policy as ``Transport``, awaited."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ml_connector.transport.retry import RetryPolicy
from ml_connector.transport.sync import BaseTransport


class AsyncTransport(BaseTransport):
    """Async twin of ``Transport``: limiter, retries with backoff and jitter, typed errors."""

    client_class = httpx.AsyncClient

    async def request(
        self,
        method: str,
        url: str,
        *,
        auth: Callable[[], Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        async for attempt in (policy or self.policy).async_retrying():
            with attempt:
                if self.limiter is not None:
                    await self.limiter.acquire_async()
                with self._sending(method, url):
                    response = await self.client.request(
                        method, url, headers=self._headers(auth, headers), **kwargs
                    )
                return self._check(response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self.client.aclose()
