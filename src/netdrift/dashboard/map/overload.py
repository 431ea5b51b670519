"""Overload warnings and the "forecast upper bound" colouring of the Live view, over plain arrays.

A warning is the one :mod:`netdrift.engine.evaluation.interval_scores` scores in a stored run: a link
direction is warned at step t when the highest upper bound of a model's forecasts of steps
t .. t + H - 1 reaches ``threshold`` x capacity while the last observed load (step t - 1) is
below it; the Live list keeps only the **sustained** ones (the rule the stored scores
``warn_sus@...`` measure, :data:`netdrift.engine.evaluation.interval_scores.SUSTAINED`: the bound
reaches the threshold now and in at least one of the two forecasts before, 2 of the last 3),
so a lone spike of the bound does not warn. Here it is worded for the screen: which direction, how soon (the first of those
steps whose upper bound reaches the threshold, in minutes) and how high the bound goes.

Pure functions (no Streamlit, no engine state), unit-tested on hand-made arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netdrift.dashboard.map.names import cached_end_names, per_topology
from netdrift.engine.network.topology import Topology

__all__ = [
    "OverloadWarning",
    "overload_warnings",
    "sustained_warnings",
    "current_overloads",
    "overload_text",
    "upper_utilisation",
    "duration_text",
    "percent_text",
    "warning_text",
    "direction_short_names",
]


@dataclass(frozen=True)
class OverloadWarning:
    """One warned link direction.

    ``steps_ahead`` is the first forecast step whose upper bound reaches the threshold (1 = the
    next step); ``peak_utilisation`` the highest upper bound over the horizon / capacity;
    ``current_utilisation`` the last observed load / capacity.
    """

    direction: int
    steps_ahead: int
    peak_utilisation: float
    current_utilisation: float


def overload_warnings(upper_mbps: np.ndarray, current_mbps: np.ndarray, capacity: np.ndarray, threshold: float,
                      up: np.ndarray | None = None) -> list[OverloadWarning]:
    """The warned directions, soonest first, then highest upper bound first.

    ``upper_mbps`` is (H, D): one model's upper bounds of the next H steps; ``current_mbps``
    (D,) the last observed loads; ``up`` (D,) False for directions of failed links (never
    warned, as are directions without capacity or without a current load).

    >>> upper = np.array([[80.0, 95.0, 50.0], [92.0, 99.0, 99.0]])
    >>> w = overload_warnings(upper, np.array([70.0, 85.0, 95.0]), np.array([100.0] * 3), 0.9)
    >>> [(x.direction, x.steps_ahead, x.peak_utilisation) for x in w]   # direction 2 is already over
    [(1, 1, 0.99), (0, 2, 0.92)]
    """
    upper = np.asarray(upper_mbps, dtype=np.float64)
    if upper.ndim == 1:
        upper = upper[None, :]
    current = np.asarray(current_mbps, dtype=np.float64)
    cap = np.asarray(capacity, dtype=np.float64)
    limit = threshold * cap
    with np.errstate(invalid="ignore"):
        watch = (cap > 0) & np.isfinite(current) & (current < limit)
        reach = np.isfinite(upper) & (upper >= limit[None, :])
    if up is not None:
        watch &= np.asarray(up, dtype=bool)
    warned = np.flatnonzero(watch & reach.any(axis=0))
    first = reach.argmax(axis=0)
    out = []
    for d in warned.tolist():
        column = upper[:, d]
        out.append(OverloadWarning(d, int(first[d]) + 1, float(np.nanmax(column) / cap[d]), float(current[d] / cap[d])))
    return sorted(out, key=lambda w: (w.steps_ahead, -w.peak_utilisation, w.direction))


def sustained_warnings(found: list[OverloadWarning], earlier_peaks_mbps: np.ndarray, capacity: np.ndarray,
                       threshold: float, rule: tuple[int, int] = (2, 3)) -> list[OverloadWarning]:
    """The warnings of ``found`` (made now) whose bound also reached the threshold often enough
    before: in at least ``rule[0] - 1`` of the (up to ``rule[1] - 1``) earlier forecasts, whose
    highest upper bounds are the rows of ``earlier_peaks_mbps`` (k, D), NaN where none was made.

    >>> now = [OverloadWarning(0, 1, 0.95, 0.8), OverloadWarning(1, 2, 0.99, 0.5)]
    >>> earlier = np.array([[95.0, 10.0], [80.0, np.nan]])   # direction 0 reached 90 once before
    >>> [w.direction for w in sustained_warnings(now, earlier, np.array([100.0, 100.0]), 0.9)]
    [0]
    """
    need, last = rule
    peaks = np.asarray(earlier_peaks_mbps, dtype=np.float64).reshape(-1, np.asarray(capacity).size)[-(last - 1):]
    limit = threshold * np.asarray(capacity, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        before = (np.isfinite(peaks) & (peaks >= limit[None, :])).sum(axis=0)
    return [w for w in found if before[w.direction] + 1 >= need]


def current_overloads(current_mbps: np.ndarray, capacity: np.ndarray,
                      up: np.ndarray | None = None) -> list[tuple[int, float]]:
    """``(direction, load / capacity)`` of every direction whose load is over its capacity now,
    the most overloaded first: what already hurts, listed before any forecast warning.

    >>> current_overloads(np.array([70.0, 121.0, 130.0, np.nan]), np.array([100.0] * 4))
    [(2, 1.3), (1, 1.21)]
    """
    current = np.asarray(current_mbps, dtype=np.float64)
    cap = np.asarray(capacity, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        over = (cap > 0) & np.isfinite(current) & (current > cap)
        util = current / np.where(cap > 0, cap, np.nan)
    if up is not None:
        over &= np.asarray(up, dtype=bool)
    found = [(int(d), float(util[d])) for d in np.flatnonzero(over)]
    return sorted(found, key=lambda x: (-x[1], x[0]))


def overload_text(name: str, utilisation: float, capacity_mbps: float) -> str:
    """The overload's row, e.g. ``"DE → CY is over capacity: 121 % (12,100 of 10,000 Mbit/s)"``.

    >>> overload_text("DE \u2192 CY", 1.21, 10000.0)
    'DE → CY is over capacity: 121 % (12,100 of 10,000 Mbit/s)'
    """
    return (f"{name} is over capacity: {percent_text(utilisation)} "
            f"({utilisation * capacity_mbps:,.0f} of {capacity_mbps:,.0f} Mbit/s)")


def upper_utilisation(upper_mbps: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """(D,) highest upper bound over the horizon / capacity (NaN without capacity or bound).

    ``upper_mbps`` is (H, D) or (D,).

    >>> upper_utilisation(np.array([[50.0, np.nan, 5.0], [80.0, np.nan, 7.0]]), np.array([100.0, 10.0, 0.0])).tolist()
    [0.8, nan, nan]
    """
    upper = np.asarray(upper_mbps, dtype=np.float64)
    if upper.ndim == 1:
        upper = upper[None, :]
    cap = np.asarray(capacity, dtype=np.float64)
    finite = np.isfinite(upper)
    peak = np.where(finite, upper, -np.inf).max(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((cap > 0) & finite.any(axis=0), peak / cap, np.nan)


def duration_text(minutes: float) -> str:
    """``"15 min"``, ``"1 h"``, ``"1 h 30 min"``, ``"2 days"``...

    >>> [duration_text(m) for m in (5, 45, 60, 90, 1440, 2880, 7.5)]
    ['5 min', '45 min', '1 h', '1 h 30 min', '1 day', '2 days', '7.5 min']
    """
    if minutes < 60:
        return f"{minutes:g} min"
    if minutes >= 1440 and minutes % 1440 == 0:
        days = int(minutes // 1440)
        return f"{days} day" + ("s" if days > 1 else "")
    hours, rest = divmod(minutes, 60)
    return f"{hours:g} h" + (f" {rest:g} min" if rest else "")


def percent_text(fraction: float) -> str:
    """A utilisation fraction as a percentage for the screen.

    >>> percent_text(0.9), percent_text(0.875), percent_text(1.2)
    ('90 %', '87.5 %', '120 %')
    """
    return f"{round(fraction * 100, 1):g} %"


def warning_text(warning: OverloadWarning, name: str, threshold: float, step_minutes: float) -> str:
    """The warning's row, e.g. ``"IT → AT may exceed 90 % within 45 min (upper bound 94 %)"``.

    >>> warning_text(OverloadWarning(3, 3, 0.9375, 0.8), "IT \\u2192 AT", 0.9, 15.0)
    'IT → AT may exceed 90 % within 45 min (upper bound 94 %)'
    """
    return (f"{name} may exceed {percent_text(threshold)} within {duration_text(warning.steps_ahead * step_minutes)}"
            f" (upper bound {warning.peak_utilisation * 100:.0f} %)")


@per_topology
def direction_short_names(topology: Topology) -> list[str]:
    """``"IT → AT"`` (node labels; a hyperedge junction by the PoPs behind it) for every link
    direction; the link id is added where two directions would read the same (parallel links).

    >>> from netdrift.engine.network.topology import Link, Node
    >>> t = Topology("t", (Node("a", "A"), Node("b", "B")),
    ...              (Link("a-b", "a", "b", 10.0), Link("a-b-2", "a", "b", 10.0)))
    >>> direction_short_names(t)[:2]
    ['A → B (a-b)', 'B → A (a-b)']
    """
    plain = [f"{s} \u2192 {t}" for s, t in cached_end_names(topology)]
    seen: dict[str, int] = {}
    for name in plain:
        seen[name] = seen.get(name, 0) + 1
    return [name if seen[name] == 1 else f"{name} ({lid})"
            for name, (lid, _, _) in zip(plain, topology.direction_names())]
