"""A synchronous HTTP transport: one place for rate limiting, retries and error mapping."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from ml_connector import __version__
from ml_connector.errors import ApiError, ProtocolError
from ml_connector.transport.ratelimit import RateLimiter, RequestSlots
from ml_connector.transport.retry import RetryPolicy

ErrorParser = Callable[[httpx.Response], "ApiError | None"]
USER_AGENT = f"ml-connector/{__version__}"


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - now, 0.0)
    except (TypeError, ValueError):
        return None


def json_body(response: httpx.Response, service: str) -> Any:
    """The decoded JSON body, or a ``ProtocolError`` that shows what came instead."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        excerpt = response.text[:120].replace("\n", " ")
        raise ProtocolError(
            f"expected a JSON body but got {response.headers.get('content-type', 'no type')!r}: "
            f"{excerpt!r}",
            service=service,
            status=response.status_code,
            method=response.request.method,
            url=str(response.request.url),
        ) from None


def unexpected_status(response: httpx.Response, service: str) -> ApiError | None:
    """An informational or redirect answer is an error, whatever its body (even JSON): it is
    not the data, and redirects are never followed, so that credentials go nowhere but the
    configured host. (4xx and 5xx bodies are read by the service's own parser or caller.)"""
    if response.is_success or response.status_code >= 400:
        return None
    target = urlsplit(response.headers.get("location", "")).hostname or "the same host"
    return ApiError(
        f"answered with a redirect to {target}, which is not followed (credentials are sent "
        "only to the configured host); check the connection's host and region"
        if response.is_redirect else "answered with an informational status, not data",
        service=service, status=response.status_code, method=response.request.method,
        url=str(response.request.url))


def connection_error(exc: httpx.HTTPError, service: str, method: str, url: str) -> ApiError:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
    return ApiError(
        f"{kind} ({type(exc).__name__})", service=service, method=method, url=url, retryable=True
    )


class BaseTransport:
    """What the sync and async transports share: budget, auth headers, error mapping.

    ``parse_error`` turns a response into the service's typed error, or ``None`` when it is a
    success; ``auth`` (per call) returns fresh auth headers for every attempt.
    """

    client_class: type = httpx.Client

    def __init__(
        self,
        service: str,
        parse_error: ErrorParser,
        *,
        limiter: RateLimiter | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 60.0,
        client: Any = None,
        on_response: Callable[[httpx.Response], None] | None = None,
    ) -> None:
        self.service = service
        self.on_response = on_response
        self.parse_error = parse_error
        self.limiter = limiter
        self.policy = policy or RetryPolicy()
        self.client = client or self.client_class(
            timeout=timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=False
        )
        self._lock = threading.Lock()
        self.requests = 0

    @staticmethod
    def _headers(auth, headers) -> dict[str, str]:
        return {**(headers or {}), **(auth() if auth else {})}

    def _count(self) -> None:
        with self._lock:
            self.requests += 1

    @contextmanager
    def _sending(self, method: str, url: str) -> Iterator[None]:
        """Around one send: it is counted, and a failure to connect is a retryable error."""
        try:
            yield
        except httpx.HTTPError as exc:
            raise connection_error(exc, self.service, method, url) from None
        finally:
            self._count()

    def _check(self, response: httpx.Response) -> httpx.Response:
        if self.on_response is not None:
            self.on_response(response)  # every response, refusals included (quota headers)
        error = self.parse_error(response) or unexpected_status(response, self.service)
        if error is not None:
            raise error
        return response


class Transport(BaseTransport):
    """Sends requests through a limiter, maps failures to ``ApiError`` and retries them.

    With ``slots`` (requests in flight) a request first waits for a slot, then for the
    limiter's budget, and is sent at once: budget taken long before sending would reach the
    service later than it was counted.
    """

    client_class = httpx.Client

    def __init__(self, *args: Any, slots: RequestSlots | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = slots

    def request(
        self,
        method: str,
        url: str,
        *,
        auth: Callable[[], Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """``policy`` replaces the transport's retry policy for this call."""
        for attempt in (policy or self.policy).retrying():
            with attempt:
                return self._once(method, url, auth, headers, kwargs)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method, url, auth, headers, kwargs) -> httpx.Response:
        with self.slots.hold() if self.slots is not None else nullcontext():
            if self.limiter is not None:
                self.limiter.acquire()
            with self._sending(method, url):
                response = self.client.request(
                    method, url, headers=self._headers(auth, headers), **kwargs
                )
        return self._check(response)

    def close(self) -> None:
        self.client.close()
        if self.slots is not None:
            self.slots.close()
