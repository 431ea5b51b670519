"""Alembic migrations of the history schema (run by :func:`netdrift.storage.migrate.upgrade_to_head`)."""
