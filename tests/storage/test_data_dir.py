"""Where the history lives by default."""

from __future__ import annotations

from pathlib import Path

from netdrift.storage.data_dir import default_data_dir, default_db_url


def test_netdrift_data_dir_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("NETDRIFT_DATA_DIR", str(tmp_path / "nd"))
    monkeypatch.setenv("XDG_DATA_HOME", "/somewhere/else")
    assert default_data_dir() == tmp_path / "nd"
    assert default_db_url() == f"sqlite:///{tmp_path}/nd/netdrift.sqlite"


def test_xdg_data_home(monkeypatch):
    monkeypatch.delenv("NETDRIFT_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/data/me")
    assert default_data_dir() == Path("/data/me/netdrift")
    assert default_db_url() == "sqlite:////data/me/netdrift/netdrift.sqlite"


def test_fallback_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv("NETDRIFT_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "relative/is/ignored")  # per the XDG spec
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / ".local" / "share" / "netdrift"
    monkeypatch.setenv("XDG_DATA_HOME", "")
    assert default_data_dir() == tmp_path / ".local" / "share" / "netdrift"


def test_tilde_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETDRIFT_DATA_DIR", "~/nd")
    assert default_data_dir() == tmp_path / "nd"


def test_nothing_created(monkeypatch, tmp_path):
    monkeypatch.setenv("NETDRIFT_DATA_DIR", str(tmp_path / "nd"))
    default_db_url()
    assert not (tmp_path / "nd").exists()


def test_open_database_default_uses_data_dir(monkeypatch, tmp_path):
    from netdrift.storage.database import open_database

    monkeypatch.setenv("NETDRIFT_DATA_DIR", str(tmp_path / "nd"))
    open_database().kw["bind"].dispose()
    assert (tmp_path / "nd" / "netdrift.sqlite").is_file()
