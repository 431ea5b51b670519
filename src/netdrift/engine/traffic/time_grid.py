"""The time grid every replay lays its records on, and the limits every replay shares.

A replay's step length is the most common gap between its distinct times (ties: the shortest);
a time off that grid is refused, an interval of the grid with no record is missing (NaN).
Times are whole seconds since the epoch (UTC when the text carries a zone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology

__all__ = ["steps_per_day", "TimeGrid", "time_grid", "check_cells", "epoch_seconds", "from_epoch", "parse_time",
           "unknown_ids_error", "MAX_STEPS", "MAX_CELLS", "MAX_MBPS", "MAX_STEP_MINUTES", "check_step_minutes",
           "check_time_span"]

#: Longest series accepted, in steps (a stray far-away timestamp would otherwise ask for it).
MAX_STEPS = 5_000_000
#: Largest (steps x pairs) array accepted: 4 GiB of float32.
MAX_CELLS = 1 << 30
#: Largest demand accepted, Mbit/s: float32's largest finite value (demands are float32; a
#: larger one would become inf and make every load through it inf).
MAX_MBPS = float(np.finfo(np.float32).max)
#: Longest step of generated traffic (and of --step-minutes), in minutes: one week.
MAX_STEP_MINUTES = 10080.0
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


def check_time_span(what: str, start: datetime, step_minutes: float, steps: int) -> None:
    """Refuse a series whose ``step_minutes`` is not a finite number > 0 or whose last step falls
    outside the calendar (datetime ends in the year 9999), before any time is computed from it.

    >>> check_time_span("step_minutes", datetime(2024, 1, 1), 1e8, 50)
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: step_minutes: 50 steps of 1e+08 minutes from 2024-01-01 end after the year 9999
    """
    if isinstance(step_minutes, bool) or not isinstance(step_minutes, (int, float, np.floating, np.integer)) \
            or not (math.isfinite(step_minutes) and step_minutes > 0):
        raise InputError(what, f"must be a finite number > 0 (got {step_minutes!r})")
    try:
        start + timedelta(minutes=float(step_minutes) * max(int(steps) - 1, 0))
    except (OverflowError, ValueError):
        raise InputError(what, f"{steps} steps of {step_minutes:g} minutes from {start:%Y-%m-%d} "
                               "end after the year 9999") from None


def check_step_minutes(what: str, step_minutes: object, steps: int | None = None,
                       start: datetime = datetime(2024, 1, 1)) -> float:
    """``step_minutes`` of generated traffic as a float in (0, :data:`MAX_STEP_MINUTES`], else an
    InputError naming ``what``; with ``steps``, the series must also end within the calendar.

    >>> check_step_minutes("step_minutes", 5)
    5.0
    >>> check_step_minutes("step_minutes", float("inf"))
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: step_minutes: must be a finite number in (0, 10080] minutes (one week) (got inf)
    """
    ok = not isinstance(step_minutes, bool) and isinstance(step_minutes, (int, float, np.floating, np.integer))
    if not (ok and math.isfinite(step_minutes) and 0 < step_minutes <= MAX_STEP_MINUTES):  # type: ignore[arg-type, operator]  # ``ok`` checked it is a real number; mypy cannot narrow an object through a bool
        raise InputError(what, f"must be a finite number in (0, {MAX_STEP_MINUTES:g}] minutes (one week) "
                               f"(got {step_minutes!r})")
    if steps is not None:
        check_time_span(what, start, float(step_minutes), steps)  # type: ignore[arg-type]  # a real number (checked above)
    return float(step_minutes)  # type: ignore[arg-type]  # a real number (checked above)


def steps_per_day(step_minutes: float) -> int:
    """Steps in one day at ``step_minutes`` a step (at least 1): the one place a day is counted.

    >>> steps_per_day(5), steps_per_day(15), steps_per_day(60), steps_per_day(2880)
    (288, 96, 24, 1)
    """
    return max(1, int(round(1440.0 / float(step_minutes))))
