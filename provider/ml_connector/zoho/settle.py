"""Which fetched details the cache may keep: those no later edit can share a version with.

Zoho stamps ``last_modified_time`` in whole seconds, and the detail cache keys a document's
version on it. Two edits within one second carry the same stamp; a detail read between
them would stand for the second version too, for good. A detail Zoho served once the
second of its ``last_modified_time`` was over cannot meet that: any later edit carries a
later stamp. So a detail is cached only when Zoho's clock (the response's HTTP ``Date``,
RFC 9110: the same clock that stamps the document) reads at least ``SETTLE_SECONDS`` past
that second; one served sooner is used as read, not kept, and fetched once more the next
time a run lists it.

Why this way: it costs no request in the ordinary case (a run reads a document seconds to
hours after its edit, not within the same second), it tells apart edits that leave every
list-row field alike (a line moved to another account keeps the total), which a hash of
the list row would not, and it does not re-read the watermark's second on every run, which
would cost a request per module and run whether or not anything was edited twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

import httpx

from ml_connector.errors import ConfigError
from ml_connector.zoho.timefmt import parse_zoho_time

#: How far past its modification second Zoho's clock must read for a detail to be kept:
#: the stamp's second itself, and one more for the time between Zoho's read of the
#: document and the ``Date`` it writes on the response (a whole second too).
SETTLE_SECONDS = 2


def served_at(response: httpx.Response, clock: Callable[[], float]) -> float:
    """When Zoho served ``response`` by its own clock (``Date``), else by ``clock``."""
    value = response.headers.get("date")
    if value:
        try:
            return parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            pass
    return clock()


def settled(record: Mapping, served: float) -> bool:
    """Whether ``record`` (a detail) was served ``SETTLE_SECONDS`` past the second of its
    ``last_modified_time``, so that no other edit can carry that stamp."""
    modified = record.get("last_modified_time")
    if not modified:
        return False
    try:
        stamp = parse_zoho_time(str(modified)).timestamp()
    except ConfigError:
        return False
    return served >= stamp + SETTLE_SECONDS
