"""Where netdrift keeps its history database by default.

The data folder is, in order of precedence:

1. ``$NETDRIFT_DATA_DIR`` when set and not empty (``~`` is expanded);
2. ``$XDG_DATA_HOME/netdrift`` when ``$XDG_DATA_HOME`` is set to an absolute path (the XDG
   Base Directory spec says to ignore a relative one);
3. ``~/.local/share/netdrift``.

Nothing here creates the folder; :func:`netdrift.storage.database.open_database` does when it opens a
SQLite file inside it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_data_dir", "default_db_url", "DB_FILENAME"]

#: Name of the SQLite history file inside the data folder.
DB_FILENAME = "netdrift.sqlite"


def default_data_dir() -> Path:
    """The folder netdrift stores its history in (see the module docstring for the order).

    Examples
    --------
    >>> default_data_dir().name in {"netdrift"} or "NETDRIFT_DATA_DIR" in __import__("os").environ
    True
    """
    explicit = os.environ.get("NETDRIFT_DATA_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "netdrift"
    return Path.home() / ".local" / "share" / "netdrift"


def default_db_url() -> str:
    """``sqlite:///<data dir>/netdrift.sqlite``, the history database used when none is given.

    Examples
    --------
    >>> url = default_db_url()
    >>> url.startswith("sqlite:///") and url.endswith("/netdrift.sqlite")
    True
    """
    return "sqlite:///" + (default_data_dir().absolute() / DB_FILENAME).as_posix()
