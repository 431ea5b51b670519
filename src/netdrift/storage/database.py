"""Opening the history database: engine, schema migrations, SQLite pragmas, schema-version guard.

Any SQLAlchemy URL works; SQLite (the default, see :mod:`netdrift.storage.data_dir`) gets WAL mode so
the dashboard can read while a run writes, a busy timeout so two writers queue instead of
failing, and enforced foreign keys (so deleting a scenario cascades to its series and metrics).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from netdrift.engine.errors import InputError
from netdrift.storage.data_dir import default_db_url
from netdrift.storage.migrate import head_revision, unknown_revision, upgrade_to_head
from netdrift.storage.models import SCHEMA_VERSION, Meta

__all__ = ["open_database", "missing_sqlite_file", "display_url", "sqlite_path", "driver_problem", "SCHEMA_VERSION",
           "BUSY_TIMEOUT_MS", "DEFAULT_SERVER_TIMEOUT_S", "TIMEOUT_ENV", "server_timeout"]

#: How long a writer waits for another writer's transaction before giving up (milliseconds).
BUSY_TIMEOUT_MS = 30_000

#: Connect and statement timeout of server databases (PostgreSQL), seconds; instead of the
#: driver's default, under which a server that accepts and never answers blocks for ~130 s.
DEFAULT_SERVER_TIMEOUT_S = 10.0

#: Environment variable overriding :data:`DEFAULT_SERVER_TIMEOUT_S` (seconds, e.g. ``30``).
TIMEOUT_ENV = "NETDRIFT_DB_TIMEOUT"

# psycopg 3 (the ``netdrift[postgres]`` extra) for plain postgresql:// URLs; SQLAlchemy's
# default there would be psycopg2, which netdrift does not install.
_DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg"}
_DRIVER_EXTRAS = {"psycopg": "postgres", "psycopg2": "postgres"}

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
    except Exception:  # noqa: BLE001 - malformed (any parse error): mask by pattern instead
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


def _set_sqlite_pragmas(dbapi_connection, connection_record) -> None:
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
    if "connection timeout expired" in text:
        return f"no answer from the server within the connect timeout (settable by {TIMEOUT_ENV}, seconds)"
    if "statement timeout" in text:
        return f"the server did not finish within the statement timeout (settable by {TIMEOUT_ENV}, seconds)"
    return text


def server_timeout() -> float:
    """Seconds of :data:`TIMEOUT_ENV` when set, else :data:`DEFAULT_SERVER_TIMEOUT_S`.

    >>> server_timeout() if "NETDRIFT_DB_TIMEOUT" not in __import__("os").environ else 10.0
    10.0
    """
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_SERVER_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{TIMEOUT_ENV}={raw!r}", "not a positive number of seconds")
    return value


def _server_connect_args(u: URL) -> dict[str, object]:
    """Connect and statement timeout for a PostgreSQL URL (the URL's own settings win)."""
    if u.get_backend_name() != "postgresql" or u.get_driver_name() != "psycopg":
        return {}
    seconds = server_timeout()
    args: dict[str, object] = {}
    if "connect_timeout" not in u.query:
        args["connect_timeout"] = max(1, math.ceil(seconds))  # libpq takes whole seconds
    if "options" not in u.query:
        args["options"] = f"-c statement_timeout={int(seconds * 1000)}"
    return args


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


def open_database(url: str | None = None) -> sessionmaker[Session]:
    """Open (creating if needed) the history database at ``url`` and return a session factory.

    ``url`` is any SQLAlchemy URL; None means :func:`netdrift.storage.data_dir.default_db_url`. For a
    SQLite file the folder is created, the file is put in WAL mode, and every connection gets
    ``busy_timeout`` and ``foreign_keys=ON``. The schema is created when missing and an older
    one upgraded (Alembic, :mod:`netdrift.storage.migrate`; a database of netdrift 0.1 included). A
    database written by a newer netdrift is refused before anything is written to it. Every failure raises :class:`netdrift.engine.errors.InputError` naming the URL
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

    if u.drivername in _DEFAULT_DRIVERS:
        u = u.set(drivername=_DEFAULT_DRIVERS[u.drivername])
    connect_args = _server_connect_args(u)
    try:
        # Server connections can die under the pool (a restart, a failover): test each on checkout.
        engine = create_engine(u, connect_args=connect_args, pool_pre_ping=u.get_backend_name() != "sqlite")
    except NoSuchModuleError:
        raise InputError(what, f"unknown database dialect '{u.drivername}'") from None
    except ImportError as err:
        missing = (getattr(err, "name", None) or str(err)).split(".")[0]
        extra = _DRIVER_EXTRAS.get(missing)
        hint = f" (pip install 'netdrift[{extra}]')" if extra else ""
        raise InputError(what, f"database driver '{missing}' is not installed{hint}") from None
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
        with engine.connect() as conn:
            newer = unknown_revision(conn)
        if newer is not None:
            raise InputError(what, f"schema revision {newer} is unknown to this netdrift (written by a newer "
                                   f"one, this one knows up to {head_revision()}); upgrade netdrift")
        engine.dispose()
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _set_sqlite_pragmas)
        upgrade_to_head(engine)
    except InputError:
        engine.dispose()
        raise
    except (DBAPIError, SQLAlchemyError, OSError) as err:
        engine.dispose()
        raise InputError(what, driver_problem(err)) from None
    return sessionmaker(bind=engine, expire_on_commit=False)
