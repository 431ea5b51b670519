"""Schema migrations: every database is brought to the newest Alembic revision when opened.

The migration scripts live in :mod:`netdrift.storage.migrations` (no alembic.ini: the Config is built
here). A database made by netdrift 0.1 has no ``alembic_version`` table; the baseline revision
(0001, that release's schema) then only creates what such a database may lack, which puts it
under Alembic, and the later revisions follow. Only one process migrates at a time: PostgreSQL
takes an advisory lock inside the migration's transaction; for a SQLite file an exclusive
``flock`` on its folder (POSIX only) serialises the processes.

To write a new revision (in a development checkout)::

    python -c "from netdrift.storage.migrate import new_revision; new_revision('what changed')"
"""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, inspect, text

__all__ = ["BASELINE", "MIGRATIONS", "head_revision", "current_revision", "unknown_revision",
           "upgrade_to_head", "downgrade", "new_revision"]

#: Folder of the migration environment and its versions.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: The revision whose schema is that of netdrift 0.1.
BASELINE = "0001"

# An arbitrary constant that names the migration lock among the server's advisory locks.
_PG_LOCK_KEY = 0x6E657464  # "netd"


def _config(connection: Connection | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def _scripts():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The newest revision this netdrift knows.

    >>> head_revision()
    '0005'
    """
    head = _scripts().get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision recorded in the database (None: no ``alembic_version`` table or row)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def unknown_revision(conn: Connection) -> str | None:
    """The database's revision when this netdrift does not know it (a newer one wrote it), else None."""
    from alembic.util import CommandError

    rev = current_revision(conn)
    if rev is None:
        return None
    try:
        _scripts().get_revision(rev)
    except CommandError:
        return rev
    return None


@contextlib.contextmanager
def _sqlite_folder_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive flock on the folder of the SQLite file (nothing for in-memory databases).

    The folder, not the file: closing any descriptor of the database file would drop the POSIX
    locks that SQLite's own connections in this process hold on it.
    """
    db = engine.url.database or ""
    try:
        import fcntl
    except ImportError:  # not POSIX: rely on SQLite's own locking
        yield
        return
    if db in ("", ":memory:") or db.startswith("file:"):
        yield
        return
    fd = os.open(Path(db).expanduser().absolute().parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the flock


@contextlib.contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction, alone in migrating: PostgreSQL holds an advisory lock until
    the commit, SQLite the folder lock and ``foreign_keys`` off (a batch-mode table copy drops the
    old table, which would otherwise cascade-delete every child row)."""
    sqlite = engine.dialect.name == "sqlite"
    with (_sqlite_folder_lock(engine) if sqlite else contextlib.nullcontext()), engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: before it
            conn.commit()
        try:
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    # Waiting for another migrator, or altering a big table, may outlast the
                    # statement timeout meant for ordinary queries.
                    conn.execute(text("SET LOCAL statement_timeout = 0"))
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                yield conn
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def upgrade_to_head(engine: Engine) -> bool:
    """Upgrade the database of ``engine`` to :func:`head_revision`; True when anything ran.

    Reads first and writes nothing when the database is at head already.
    """
    from alembic import command

    head = head_revision()
    with engine.connect() as conn:
        if current_revision(conn) == head:
            return False
    with _migration_connection(engine) as conn:
        if current_revision(conn) == head:  # another process migrated while we waited
            return False
        command.upgrade(_config(conn), "head")
    return True


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database of ``engine`` back to ``revision`` (tests, and undoing a bad upgrade)."""
    from alembic import command

    with _migration_connection(engine) as conn:
        command.downgrade(_config(conn), revision)


def new_revision(message: str) -> None:
    """Write a new, empty revision file under ``storage/migrations/versions`` (development)."""
    from alembic import command

    n = int(head_revision()) + 1
    command.revision(_config(), message=message, rev_id=f"{n:04d}")
