"""The time grid every replay lays its records on, and the limits every replay shares.

A replay's step length is the most common gap between its distinct times (ties: the shortest);
a time off that grid is refused, an interval of the grid with no record is missing (NaN).
Times are whole seconds since the epoch (UTC when the text carries a zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology

__all__ = ["TimeGrid", "time_grid", "check_cells", "epoch_seconds", "from_epoch", "parse_time",
           "unknown_ids_error", "MAX_STEPS", "MAX_CELLS", "MAX_MBPS"]

#: Longest series accepted, in steps (a stray far-away timestamp would otherwise ask for it).
MAX_STEPS = 5_000_000
#: Largest (steps x pairs) array accepted: 4 GiB of float32.
MAX_CELLS = 1 << 30
#: Largest demand accepted, Mbit/s: float32's largest finite value (demands are float32; a
#: larger one would become inf and make every load through it inf).
MAX_MBPS = float(np.finfo(np.float32).max)
_SNDLIB_TIME = "%Y%m%d-%H%M"


def epoch_seconds(dt: datetime) -> int:
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return int((dt - datetime(1970, 1, 1)).total_seconds())


def from_epoch(secs: int | np.integer) -> datetime:
    return datetime(1970, 1, 1) + timedelta(seconds=int(secs))


def parse_time(text: str) -> datetime:
    """ISO 8601 or SNDlib's ``YYYYMMDD-HHMM`` (ValueError otherwise)."""
    text = text.strip()
    if len(text) == 13 and text[8] == "-":
        return datetime.strptime(text, _SNDLIB_TIME)
    return datetime.fromisoformat(text)


def unknown_ids_error(what: str, ids: list[str], topology: Topology) -> InputError:
    shown = ", ".join(repr(i) for i in ids[:10])
    more = f" (+{len(ids) - 10} more)" if len(ids) > 10 else ""
    return InputError(
        what,
        f"{len(ids)} node id(s) not in topology '{topology.name}': {shown}{more}",
    )


@dataclass(frozen=True)
class TimeGrid:
    """The regular time grid of a replay: ``steps`` rows of ``step_s`` seconds from ``start_s``."""

    start_s: int
    step_s: int
    steps: int

    @property
    def start(self) -> datetime:
        return from_epoch(self.start_s)

    def row_of(self, secs: np.ndarray) -> np.ndarray:
        """Row of each time (all on the grid)."""
        return (np.asarray(secs, dtype=np.int64) - self.start_s) // self.step_s


def time_grid(what: str, times: np.ndarray, single_step_minutes: float | None) -> TimeGrid:
    """The grid of distinct interval ``times`` (epoch seconds): the step is the most common gap
    (ties: the shortest); InputError for a time off the grid or an absurd span."""
    sorted_times = np.sort(np.asarray(times, dtype=np.int64), kind="stable")
    if len(sorted_times) >= 2:
        gaps = np.diff(sorted_times)
        values, counts = np.unique(gaps, return_counts=True)
        step_s = int(values[np.argmax(counts)])  # ties -> the shortest gap
    elif single_step_minutes is not None:
        step_s = int(round(single_step_minutes * 60))
    else:
        raise InputError(what, "only one interval: need at least two distinct times to tell the step length")
    if step_s <= 0:  # unreachable with unique times, kept as a guard
        raise InputError(what, "could not determine a positive step length")
    offsets = sorted_times - sorted_times[0]
    off_grid = np.nonzero(offsets % step_s)[0]
    if len(off_grid):
        raise InputError(
            what,
            f"time {from_epoch(sorted_times[off_grid[0]]):%Y-%m-%d %H:%M} is not on the "
            f"{step_s / 60:g}-minute grid that starts {from_epoch(sorted_times[0]):%Y-%m-%d %H:%M} "
            "(the step length is the most common gap between times)",
        )
    steps = int(offsets[-1] // step_s) + 1
    if steps > MAX_STEPS:
        raise InputError(what, f"the times span {steps} steps of {step_s / 60:g} min; "
                         f"at most {MAX_STEPS} are accepted")
    return TimeGrid(int(sorted_times[0]), step_s, steps)


def check_cells(what: str, steps: int, n_pairs: int) -> None:
    """Refuse a (steps x pairs) array above :data:`MAX_CELLS`."""
    if steps * max(n_pairs, 1) > MAX_CELLS:
        raise InputError(what, f"{steps} steps x {n_pairs} pairs is too large to hold in memory")
