"""Files written whole or not at all: a temporary file beside the target, renamed onto it.

``tempfile.mkstemp`` creates its file readable by its owner only (0600); the renamed result
would keep that mode, so an exported CSV or topology could not be read by a colleague or a
web server. The finished file gets the mode a plain ``open(path, "w")`` would give it
(0666 less the umask).
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "plain_file_mode"]


def plain_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary path beside ``path`` to write into; when the block ends
    without an error it gets a plain file's mode and replaces ``path``; on any error (a full
    disk included) it is removed and an earlier ``path`` stays as it was.

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     target = Path(d) / "x.txt"
    ...     with atomic_path(target) as tmp:
    ...         _ = tmp.write_text("done")
    ...     (target.read_text(), sorted(os.listdir(d)))
    ('done', ['x.txt'])
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, plain_file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
