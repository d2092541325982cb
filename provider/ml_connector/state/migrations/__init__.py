"""Alembic migrations of the state store (version table ``mlc_alembic_version``)."""
