"""Access-token caches: in-process, or in the state store encrypted with Fernet."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select

from ml_connector.state import schema
from ml_connector.state.store import StateStore


@dataclass
class CachedToken:
    """An access token and when it was obtained and expires (epoch seconds, caller's clock)."""

    access_token: str
    obtained_at: float
    expires_at: float
    api_domain: str | None = None

    def __repr__(self) -> str:  # never show the token itself
        return f"CachedToken(obtained_at={self.obtained_at}, expires_at={self.expires_at})"


class TokenCache(Protocol):
    def get(self, key: str) -> CachedToken | None: ...
    def put(self, key: str, token: CachedToken) -> None: ...
    def discard(self, key: str, access_token: str) -> None: ...
    def lock(self, key: str) -> AbstractContextManager[None]: ...


def fernet_from(*secrets: str) -> Fernet:
    """A Fernet key derived (HKDF-SHA256) from secret material, e.g. the credentials a cached
    token was minted with: only holders of those credentials can read the cache entry."""
    material = "\0".join(secrets).encode()
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"ml-connector token cache", info=b"v1"
    ).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


class MemoryTokenCache:
    """A cache for one process: threads share tokens, other processes do not."""

    def __init__(self) -> None:
        self._tokens: dict[str, CachedToken] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    def get(self, key: str) -> CachedToken | None:
        return self._tokens.get(key)

    def put(self, key: str, token: CachedToken) -> None:
        self._tokens[key] = token

    def discard(self, key: str, access_token: str) -> None:
        current = self._tokens.get(key)
        if current is not None and current.access_token == access_token:
            del self._tokens[key]

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.RLock())
        with lock:
            yield


class SqlTokenCache:
    """Tokens shared by every process that reaches the same state store, encrypted at rest."""

    def __init__(self, store: StateStore, fernet: Fernet) -> None:
        self.store = store
        self.fernet = fernet
        self._local = MemoryTokenCache()

    def _read(self, key: str) -> dict | None:
        table = schema.token_cache
        with self.store.engine.connect() as conn:
            blob = conn.execute(
                select(table.c.ciphertext).where(table.c.cache_key == key)
            ).scalar_one_or_none()
        if blob is None:
            return None
        try:
            return json.loads(self.fernet.decrypt(blob.encode()))
        except (InvalidToken, ValueError):
            return None  # written with other credentials or corrupted: treat as a miss

    def _write(self, key: str, value: dict) -> None:
        blob = self.fernet.encrypt(json.dumps(value).encode()).decode()
        self.store.upsert(
            schema.token_cache, {"cache_key": key}, ciphertext=blob, updated_at=time.time()
        )

    def get(self, key: str) -> CachedToken | None:
        value = self._read(key)
        try:
            return CachedToken(**value) if value else None
        except TypeError:
            return None

    def put(self, key: str, token: CachedToken) -> None:
        self._write(key, asdict(token))

    def get_secret(self, key: str) -> str | None:
        """A secret kept encrypted under ``key`` (e.g. a rotated refresh token)."""
        value = self._read(key)
        return value.get("secret") if value else None

    def put_secret(self, key: str, secret: str) -> None:
        self._write(key, {"secret": secret})

    def discard(self, key: str, access_token: str) -> None:
        current = self.get(key)
        if current is not None and current.access_token == access_token:
            table = schema.token_cache
            with self.store.engine.begin() as conn:
                conn.execute(delete(table).where(table.c.cache_key == key))

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        with self._local.lock(key), self.store.lock(f"token:{key}"):
            yield
