"""Tables of the state store (created on first use)."""

from sqlalchemy import Column, Float, MetaData, String, Table, Text

metadata = MetaData()

token_cache = Table(
    "mlc_token_cache",
    metadata,
    Column("cache_key", String(64), primary_key=True),
    Column("ciphertext", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

locks = Table(
    "mlc_locks",
    metadata,
    Column("lock_key", String(128), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("lease_until", Float, nullable=False),
)

watermarks = Table(
    "mlc_watermarks",
    metadata,
    Column("flow", String(200), primary_key=True),
    Column("value", String(64), nullable=False),
    Column("updated_at", Float, nullable=False),
)
