"""A webhook receiver served over HTTP on loopback with a real state store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from ml_connector.state.events import EventLog
from ml_connector.state.store import StateStore
from ml_connector.webhooks.config import Endpoint
from ml_connector.webhooks.payload import PayloadShape
from ml_connector.webhooks.receiver import build_app
from ml_connector.webhooks.signature import SignatureScheme
from ml_connector_sandbox.server import serve_app

ORG = "10234695"
SECRET = "Ws3cretWs3cret42"


@dataclass
class Receiver:
    url: str
    log: EventLog
    stop: Callable[[], None]

    def endpoint(self, org: str = ORG) -> str:
        return f"{self.url}/zoho/{org}"


@pytest.fixture
def receiver_factory(request, tmp_path) -> Callable[..., Receiver]:
    """Start receivers for ``ORG`` (signing ``scheme``) over a store; stopped after."""

    def start(scheme: SignatureScheme | None = None, *, url: str | None = None,
              port: int = 0, max_body: int = 64 * 1024,
              payload: PayloadShape | None = None) -> Receiver:
        log = EventLog(StateStore(url or f"sqlite:///{tmp_path / 'state.db'}"))
        endpoint = Endpoint(ORG, SECRET, scheme or SignatureScheme(),
                            payload=payload or PayloadShape())
        base, server, thread = serve_app(build_app({ORG: endpoint}, log, max_body=max_body),
                                         port=port)

        def stop() -> None:
            server.should_exit = True
            thread.join(10)

        request.addfinalizer(stop)
        return Receiver(base, log, stop)

    return start
