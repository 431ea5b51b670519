"""Opening the history database: engine, schema, SQLite pragmas, schema-version guard.

Any SQLAlchemy URL works; SQLite (the default, see :mod:`storage.data_dir`) gets WAL mode so
the dashboard can read while a run writes, a busy timeout so two writers queue instead of
failing, and enforced foreign keys (so deleting a scenario cascades to its series and metrics).
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import InputError
from storage.data_dir import default_db_url
from storage.models import SCHEMA_VERSION, Base, Meta

__all__ = ["open_database", "missing_sqlite_file", "display_url", "sqlite_path", "driver_problem", "SCHEMA_VERSION",
           "BUSY_TIMEOUT_MS"]

#: How long a writer waits for another writer's transaction before giving up (milliseconds).
BUSY_TIMEOUT_MS = 30_000

_CREDENTIALS = re.compile(r"(://[^:/@]*:)[^@/]*@")


def display_url(url: str | URL) -> str:
    """The URL as shown to a user: any password replaced by ``***``.

    Examples
    --------
    >>> display_url("postgresql://bob:secret@db.example/netdrift")
    'postgresql://bob:***@db.example/netdrift'
    >>> display_url("sqlite:////tmp/netdrift.sqlite")
    'sqlite:////tmp/netdrift.sqlite'
    """
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # malformed: mask by pattern instead
        return _CREDENTIALS.sub(r"\1***@", str(url))


def sqlite_path(u: URL) -> Path | None:
    """The file of a SQLite-file URL (``~`` expanded); None for other URLs and in-memory SQLite."""
    db = u.database or ""
    if u.get_backend_name() != "sqlite" or db in ("", ":memory:") or db.startswith("file:"):
        return None
    return Path(db).expanduser()


def missing_sqlite_file(url: str | None = None) -> Path | None:
    """The file of a SQLite ``url`` (None: the default history) when it does not exist yet, else
    None (it exists, or the URL is not a SQLite file, or is malformed: :func:`open_database` says
    why). Reading commands use it so that looking at a mistyped path creates nothing there.

    >>> missing_sqlite_file("sqlite:////no/such/folder/h.sqlite")
    PosixPath('/no/such/folder/h.sqlite')
    >>> missing_sqlite_file("sqlite://") is None
    True
    """
    try:
        path = sqlite_path(make_url(default_db_url() if url is None else url))
    except ArgumentError:
        return None
    return None if path is None or path.exists() else path


def _set_sqlite_pragmas(dbapi_connection, connection_record) -> None:  # noqa: ANN001 (DBAPI types)
    cur = dbapi_connection.cursor()
    try:
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode=WAL")
        # Safe with WAL (the database stays consistent; only the last commits may be lost on
        # power failure) and spares an fsync per commit.
        cur.execute("PRAGMA synchronous=NORMAL")
    finally:
        cur.close()


def driver_problem(err: BaseException) -> str:
    """A one-line description of a driver error (without SQLAlchemy's statement dump)."""
    orig = getattr(err, "orig", None) or err
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if "file is not a database" in text:
        return "not a SQLite database (file is not a database)"
    if "readonly database" in text:
        return "cannot write there (attempt to write a readonly database)"
    return text


def _stored_version(engine: Engine) -> int | None:
    """The schema_version recorded in ``meta``, or None for a new (or foreign) database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(Meta.__tablename__):
            return None
        raw = conn.execute(select(Meta.value).where(Meta.key == "schema_version")).scalar()
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InputError("meta.schema_version", f"not an integer: {raw!r}") from None


def _add_heartbeat_column(engine: Engine) -> None:
    """Databases written before ``scenarios.heartbeat_at`` existed get the (nullable) column."""
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("scenarios")}
    if "heartbeat_at" not in columns:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE scenarios ADD COLUMN heartbeat_at TIMESTAMP"))


def open_database(url: str | None = None) -> sessionmaker[Session]:
    """Open (creating if needed) the history database at ``url`` and return a session factory.

    ``url`` is any SQLAlchemy URL; None means :func:`storage.data_dir.default_db_url`. For a
    SQLite file the folder is created, the file is put in WAL mode, and every connection gets
    ``busy_timeout`` and ``foreign_keys=ON``. The schema is created when missing and its
    version recorded. A database written by a newer netdrift is refused before anything is
    written to it. Every failure raises :class:`engine.errors.InputError` naming the URL
    (password masked) and the problem.

    Sessions are the caller's: ``with Session.begin() as s: ...`` commits on success and
    rolls back on an exception.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sqlalchemy import text
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> Session = open_database(f"sqlite:///{tmp}/sub/history.sqlite")
    >>> with Session() as s:
    ...     s.execute(text("PRAGMA journal_mode")).scalar()
    'wal'
    >>> (tmp / "sub" / "history.sqlite").exists()
    True
    """
    raw = default_db_url() if url is None else url
    shown = display_url(raw)
    what = f"database '{shown}'"
    try:
        u = make_url(raw)
    except ArgumentError:
        hint = ""
        if isinstance(raw, str) and "://" not in raw:
            hint = f"; for a SQLite file write sqlite:///{Path(raw).absolute().as_posix()}"
        raise InputError(what, "not a valid SQLAlchemy URL (e.g. sqlite:///path/to/netdrift.sqlite)" + hint) from None

    path = sqlite_path(u)
    if path is not None:
        u = u.set(database=str(path))
        if path.is_dir():
            raise InputError(what, "is a folder, not a database file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(what, f"cannot create folder '{path.parent}': {err.strerror or err}") from None
        if path.exists() and not path.is_file():
            raise InputError(what, "is not a regular file")

    try:
        engine = create_engine(u)
    except NoSuchModuleError:
        raise InputError(what, f"unknown database dialect '{u.drivername}'") from None
    except ImportError as err:
        missing = getattr(err, "name", None) or str(err)
        raise InputError(what, f"database driver '{missing}' is not installed") from None
    except (ArgumentError, TypeError, ValueError) as err:
        raise InputError(what, f"invalid URL: {err}") from None

    try:
        # Looked at with a plain connection first (no WAL pragma, no DDL): a database from a
        # newer netdrift must be left byte for byte as it was.
        stored = _stored_version(engine)
        if stored is not None and stored > SCHEMA_VERSION:
            raise InputError(
                what, f"schema version {stored} is newer than this netdrift ({SCHEMA_VERSION}); upgrade netdrift"
            )
        engine.dispose()
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _set_sqlite_pragmas)
        Base.metadata.create_all(engine)
        _add_heartbeat_column(engine)
        if stored != SCHEMA_VERSION:
            with Session(engine) as s, s.begin():
                s.merge(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
    except InputError:
        engine.dispose()
        raise
    except (DBAPIError, SQLAlchemyError, OSError) as err:
        engine.dispose()
        raise InputError(what, driver_problem(err)) from None
    return sessionmaker(bind=engine, expire_on_commit=False)
