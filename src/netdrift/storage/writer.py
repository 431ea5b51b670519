"""Who writes a scenario row, and whether that process still lives.

A scenario row records its writer (pid, host, and a token that tells a reused pid apart); a
"running" row whose writer is gone is reported as interrupted. This is the one place that asks
the operating system; the repository only calls :func:`current_writer` and :func:`writer_alive`.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Writer", "current_writer", "process_token", "writer_alive"]


@dataclass(frozen=True)
class Writer:
    """A process as a scenario row records it."""

    pid: int
    hostname: str
    token: str | None


def process_token(pid: int) -> str | None:
    """``<boot id>:<start tick>`` of a Linux process, or None where /proc cannot say."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return f"{boot}:{fields[19]}"  # field 22 of stat(5), counted after the ")"
    except (OSError, IndexError):
        return None


def current_writer() -> Writer:
    """This process."""
    pid = os.getpid()
    return Writer(pid, socket.gethostname(), process_token(pid))


def writer_alive(pid: int, hostname: str, token: str | None) -> bool | None:
    """True/False when this machine can tell whether the writer process lives; None otherwise."""
    if hostname != socket.gethostname():
        return None
    if pid == os.getpid():
        return True
    if not 0 < pid < 2**31:  # os.kill(0, ...) would address our own process group
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    except OSError:
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):  # killed, not yet reaped by its parent
            return False
    except (OSError, IndexError):
        pass
    if token is not None:
        now = process_token(pid)
        if now is not None and now != token:  # the pid was reused (e.g. after a reboot)
            return False
    return True
