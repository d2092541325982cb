"""Shared fixtures: sandboxes served over real HTTP on loopback, and clients pointed at them."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ml_connector.anaplan.auth import BasicMethod
from ml_connector.anaplan.client import AnaplanClient
from ml_connector.anaplan.config import AnaplanConfig
from ml_connector.transport.retry import RetryPolicy
from ml_connector.zoho import ZohoBooksClient, ZohoConfig, ZohoCredentials
from ml_connector_sandbox.core import SandboxConfig
from ml_connector_sandbox.server import RunningSandbox, start_sandbox

#: Sandbox limits high enough that only tests about limits meet them.
ROOMY = {"zoho": {"limits": {"per_minute": 100_000, "per_day": 10_000_000}},
         "anaplan": {"rate_per_minute": 1_000_000}}
WORKSPACE = "8a81b09d5e8c6f27015ed3b6e5c01b2a"
MODEL = "75A40874E6B64FA3AE0743278996850F"
USER, PASSWORD = "integration@zillum.example", "sandbox-password"

#: Fast retries for tests: same logic, millisecond delays.
FAST_RETRY = RetryPolicy(attempts=8, initial_delay=0.01, max_delay=0.05, jitter=0.01, deadline=30)


@pytest.fixture
def sandbox_factory(request) -> Callable[..., RunningSandbox]:
    """Start sandboxes with a given config; all are stopped after the test."""

    def start(config: SandboxConfig | None = None) -> RunningSandbox:
        server = start_sandbox(config or SandboxConfig.model_validate(ROOMY))
        request.addfinalizer(server.stop)
        return server

    return start


@pytest.fixture
def sandbox(sandbox_factory) -> RunningSandbox:
    return sandbox_factory()


def zoho_credentials(running: RunningSandbox, region: str = "us") -> ZohoCredentials:
    cfg = running.sandbox.config.zoho
    token = next(t.token for t in cfg.refresh_tokens if t.region == region)
    return ZohoCredentials(cfg.client_id, cfg.client_secret, token)


@pytest.fixture
def zoho_client(sandbox, request) -> Callable[..., ZohoBooksClient]:
    """Build clients for the default sandbox; keyword arguments override ZohoConfig fields."""

    def make(region: str = "us", *, running: RunningSandbox | None = None, token_cache=None,
             clock=None, store=None, credentials: ZohoCredentials | None = None,
             **overrides) -> ZohoBooksClient:
        running = running or sandbox
        if region == "us":
            overrides.setdefault("organization_id", "10234695")
        overrides.setdefault("requests_per_minute", 100_000)
        overrides.setdefault("retry", FAST_RETRY)
        config = ZohoConfig(region=region, endpoint_base=running.base_url, **overrides)
        extra = {"clock": clock} if clock else {}
        client = ZohoBooksClient(
            credentials or zoho_credentials(running, region), config, token_cache=token_cache,
            store=store, **extra
        )
        request.addfinalizer(client.close)
        return client

    return make


@pytest.fixture
def anaplan_client(sandbox, request) -> Callable[..., AnaplanClient]:
    """Build Anaplan clients (Basic auth by default) for a sandbox; overrides go to the config."""

    def make(method=None, *, running: RunningSandbox | None = None, clock=None,
             **overrides) -> AnaplanClient:
        running = running or sandbox
        overrides.setdefault("retry", FAST_RETRY)
        config = AnaplanConfig(WORKSPACE, MODEL, endpoint_base=running.base_url, **overrides)
        extra = {"clock": clock} if clock else {}
        client = AnaplanClient(method or BasicMethod(USER, PASSWORD), config, **extra)
        request.addfinalizer(client.close)
        return client

    return make


@pytest.fixture
def connection_env(sandbox, monkeypatch, tmp_path) -> RunningSandbox:
    """The sandbox's Airflow connections as environment variables, AIRFLOW_HOME in tmp."""
    from .airflow_env import sandbox_connections

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    for key, value in sandbox_connections(sandbox.base_url, sandbox.sandbox.config).items():
        monkeypatch.setenv(key, value)
    return sandbox


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the session (``initdb`` into a temporary directory)."""
    from .servers import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path) -> str:
    """An empty state store database of each kind (a new PostgreSQL database each time)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return new_database(request.getfixturevalue("postgres_url"))


def start_holder(target, args: tuple, ready: Path):
    """A spawned process running ``target(*args)``, once it has written ``ready``."""
    holder = multiprocessing.get_context("spawn").Process(target=target, args=args)
    holder.start()
    for _ in range(600):
        if ready.exists() or not holder.is_alive():
            break
        time.sleep(0.1)
    if not ready.exists():
        holder.kill()
        raise AssertionError(f"{target.__name__} did not get ready (exit code {holder.exitcode})")
    return holder


def new_database(server: str) -> str:
    """The URL of a new, empty database on the PostgreSQL server at ``server``."""
    import psycopg

    name = f"mlc_{uuid.uuid4().hex[:12]}"
    admin = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + f"/{name}"


#: The longest tests (minutes each, real Airflow components) start first, so that the two
#: test processes end together instead of one finishing a long test alone (``make test``
#: hands tests out one at a time: ``--maxschedchunk 1``, so they go to both processes).
FIRST = ("test_celery_topology", "test_webhook_runs", "test_backfill", "test_airflow_ui",
         "test_quota_wait")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.stem not in FIRST)
