"""One SQL store for the connector's own state: token cache, locks, watermarks, audit trail."""

from ml_connector.state.store import StateStore
from ml_connector.state.tokens import CachedToken, MemoryTokenCache, SqlTokenCache, fernet_from

__all__ = ["CachedToken", "MemoryTokenCache", "SqlTokenCache", "StateStore", "fernet_from"]
