"""open_database: schema, pragmas, version guard, and one clear error for every bad URL."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from netdrift.engine.errors import InputError
from netdrift.storage.database import display_url, open_database
from netdrift.storage.models import SCHEMA_VERSION


def _pragma(Session, name: str):
    with Session() as s:
        return s.execute(text(f"PRAGMA {name}")).scalar()


def test_creates_folder_schema_and_version(tmp_path):
    path = tmp_path / "a" / "b" / "h.sqlite"
    Session = open_database(f"sqlite:///{path}")
    assert path.is_file()
    con = sqlite3.connect(path)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    version = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    con.close()
    assert {"meta", "topologies", "scenarios", "failure_events", "series", "metrics"} <= tables
    assert int(version) == SCHEMA_VERSION
    Session.kw["bind"].dispose()


def test_wal_busy_timeout_and_foreign_keys(Session, db_url):
    assert _pragma(Session, "journal_mode") == "wal"
    assert _pragma(Session, "foreign_keys") == 1
    assert _pragma(Session, "busy_timeout") > 0
    # WAL is a property of the file: a plain sqlite3 connection sees it too.
    con = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_reopening_is_harmless(db_url):
    open_database(db_url).kw["bind"].dispose()
    Session = open_database(db_url)
    with Session() as s:
        assert s.execute(text("SELECT count(*) FROM meta")).scalar() == 1
    Session.kw["bind"].dispose()


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_newer_schema_is_refused_and_file_untouched(tmp_path, journal):
    path = tmp_path / "h.sqlite"
    open_database(f"sqlite:///{path}").kw["bind"].dispose()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA journal_mode={journal}")
    con.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    con.commit()
    con.close()
    before = path.read_bytes()
    files_before = sorted(p.name for p in tmp_path.iterdir())

    with pytest.raises(InputError) as err:
        open_database(f"sqlite:///{path}")
    assert str(err.value) == (
        f"database 'sqlite:///{path}': schema version 999 is newer than this netdrift "
        f"({SCHEMA_VERSION}); upgrade netdrift"
    )
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files_before


@pytest.mark.parametrize(
    "url, problem",
    [
        ("nonsense", "not a valid SQLAlchemy URL"),
        ("foo://host/db", "unknown database dialect 'foo'"),
        ("postgresql+nosuchdriver://u:pw@h/db", "unknown database dialect"),
    ],
)
def test_bad_urls(url, problem):
    with pytest.raises(InputError) as err:
        open_database(url)
    msg = str(err.value)
    assert "\n" not in msg and problem in msg
    assert "pw" not in msg


def test_missing_driver_is_named_and_password_masked():
    # mysqlclient is not a dependency of netdrift, so its driver module is absent here.
    pytest.importorskip("sqlalchemy.dialects.mysql")
    try:
        import MySQLdb  # noqa: F401 - only whether it imports matters
        pytest.skip("MySQLdb happens to be installed")
    except ImportError:
        pass
    with pytest.raises(InputError) as err:
        open_database("mysql://bob:hunter2@db.example/netdrift")
    assert str(err.value) == "database 'mysql://bob:***@db.example/netdrift': database driver 'MySQLdb' is not installed"


def test_directory_path(tmp_path):
    with pytest.raises(InputError) as err:
        open_database(f"sqlite:///{tmp_path}")
    assert str(err.value) == f"database 'sqlite:///{tmp_path}': is a folder, not a database file"


def test_text_file_is_not_sqlite_and_is_left_alone(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 20)
    with pytest.raises(InputError) as err:
        open_database(f"sqlite:///{path}")
    assert str(err.value) == f"database 'sqlite:///{path}': not a SQLite database (file is not a database)"
    assert path.read_text() == "these are my notes, not a database\n" * 20


def test_unreachable_location(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    url = f"sqlite:///{blocker}/sub/h.sqlite"  # a folder would have to be created inside a file
    with pytest.raises(InputError) as err:
        open_database(url)
    assert str(err.value).startswith(f"database '{url}': cannot create folder '{blocker}/sub'")


def test_read_only_database_file(tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    path = tmp_path / "h.sqlite"
    path.write_bytes(b"")
    path.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(InputError) as err:
            open_database(f"sqlite:///{path}")
        assert str(err.value).startswith(f"database 'sqlite:///{path}': ")
    finally:
        tmp_path.chmod(0o755)


def test_display_url_masks_password():
    assert display_url("postgresql://bob:s3cret@h:5432/db") == "postgresql://bob:***@h:5432/db"
    assert "s3cret" not in display_url("://bob:s3cret@h/db")


def test_in_memory_url_works():
    Session = open_database("sqlite://")
    with Session() as s:
        assert s.execute(text("SELECT count(*) FROM scenarios")).scalar() == 0


def test_plain_path_gets_a_hint(tmp_path):
    with pytest.raises(InputError) as err:
        open_database(str(tmp_path / "h.sqlite"))
    assert f"sqlite:///{tmp_path}/h.sqlite" in str(err.value)
    assert not (tmp_path / "h.sqlite").exists()
