"""The OAuth device grant: waiting for a person's approval on the sandbox clock, slowing
down when asked, and giving up when the code expires."""

from __future__ import annotations

import httpx
import pytest

from ml_connector.anaplan.device import device_code, poll_token
from ml_connector.errors import AuthError
from ml_connector_sandbox.core import SandboxConfig

from ..conftest import ROOMY

CLIENT = "sandbox-oauth-client"


def sandbox_with(sandbox_factory, **client):
    config = SandboxConfig.model_validate(ROOMY)
    config.anaplan.oauth_clients[0] = config.anaplan.oauth_clients[0].model_copy(update=client)
    return sandbox_factory(config)


def test_the_token_comes_once_the_person_approved(sandbox_factory):
    running = sandbox_with(sandbox_factory, approve_after_polls=3)
    clock = running.sandbox.clock
    auth = f"{running.base_url}/anaplan/auth"
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    with httpx.Client() as http:
        code = device_code(http, auth, CLIENT)
        assert code.user_code and code.verification_uri.startswith("http")
        refresh = poll_token(http, auth, CLIENT, code, sleep=sleep, clock=clock.now)
    assert refresh and waits == [code.interval] * 3
    used = running.sandbox.anaplan.stats()["tokens_issued"]
    assert used == {"oauth_device": 1}


def test_an_unapproved_code_expires(sandbox_factory):
    running = sandbox_with(sandbox_factory, approve_after_polls=1000, device_code_ttl=30)
    clock = running.sandbox.clock
    auth = f"{running.base_url}/anaplan/auth"
    with httpx.Client() as http:
        code = device_code(http, auth, CLIENT)
        with pytest.raises(AuthError, match="expired before it was approved"):
            poll_token(http, auth, CLIENT, code, sleep=clock.advance, clock=clock.now)
        with pytest.raises(AuthError, match="refused the device code request: invalid_client"):
            device_code(http, auth, "someone-else")
