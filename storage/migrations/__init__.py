"""Alembic migrations of the history schema (run by :func:`storage.migrate.upgrade_to_head`)."""
