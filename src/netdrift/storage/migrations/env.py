"""Alembic environment: runs on the connection that :mod:`netdrift.storage.migrate` hands over.

There is no alembic.ini: the Config is built in code and carries the open connection in
``config.attributes["connection"]``. SQLite alters tables in batch mode (copy and rename)
where its ALTER TABLE cannot.
"""

from __future__ import annotations

from alembic import context


def run_migrations() -> None:
    """Run the pending revisions on the handed-over connection (inside its transaction)."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=None,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


# Alembic executes this file during a migration run; imported at any other time (pytest's
# doctest collection of the package) its context is empty and there is nothing to do.
if hasattr(context, "config"):
    run_migrations()
