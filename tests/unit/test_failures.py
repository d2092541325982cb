"""Which failures skip a task's retries: those a retry would repeat."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from ml_connector.errors import (
    ApiError,
    AuthError,
    ConfigError,
    ProtocolError,
    QuotaExhausted,
    RunFailed,
    StateStoreError,
)
from ml_connector.operators.failures import fail_fast, repeats


@pytest.mark.parametrize(("error", "repeated"), [
    (ConfigError("connection 'x': field y is empty"), True),
    (RunFailed("flow f: 2 record(s) failed"), True),
    (AuthError("the refresh token lacks ZohoBooks.bills.READ", service="Zoho", status=401,
               code=57), True),
    (ApiError("no such import", service="Anaplan", status=404), True),
    (ApiError("busy", service="Zoho", status=429, retryable=True), False),
    (QuotaExhausted("the daily quota is used up (code 45)", resets_at=None), True),
    (ApiError("unavailable", service="Anaplan", status=503, retryable=True), False),
    (AuthError("accounts server down", service="Zoho", status=503, retryable=True), False),
    (ProtocolError("an HTML page instead of JSON", service="Zoho", status=200), False),
    (StateStoreError("the state store is locked"), False),
])
def test_what_repeats(error, repeated):
    assert repeats(error) is repeated

    @fail_fast()
    def execute() -> None:
        raise error

    with pytest.raises(AirflowFailException if repeated else type(error), match=str(error)[:8]):
        execute()
