"""How far the link loads pin a sweep's figures down when its demands were deduced from them.

A sweep on demands deduced from interface counters reports one worst utilisation per failure,
but the counters fix only the demands' routed sums: many demand matrices reproduce the same
loads, and they re-route differently when a link fails. For a failure's worst direction at its
worst step, :func:`deduction_bounds` gives the lowest and the highest utilisation that direction
can have under the failure over **every** non-negative demand matrix that reproduces the step's
measured loads (two linear programs, HiGHS through :func:`scipy.optimize.linprog`):

    min / max  c . d   subject to   |A d - y| <= band,  d >= 0

with ``A`` the routing in force when the loads were measured (its failed links included), ``y``
the measured directions of the step, ``c`` the direction's row of the routing under the failure
divided by its capacity, and ``band`` per direction the larger of the deduction's tolerance
(:data:`netdrift.engine.traffic.deduce.FIT_TOLERANCE` of the load) and the deduced demands' own
misfit (so the deduced matrix is always among those allowed).

What that means for the operator:

- ``low`` is a floor of the failure's TRUE worst utilisation over the window (the true load of
  that direction at that step is at least ``low``, and the worst is at least that load);
- ``high`` bounds that direction at that step only; another step or direction could be worse
  under other demands. ``high`` is None when a pair that would load the direction crosses no
  measured direction (nothing bounds its demand);
- ``pinned`` (``high - low`` within :data:`PINNED` of ``high``): the counters alone determine the
  figure; a wide range: the
  figure rests on the deduction's prior, and a ranking of failures inside each other's ranges is
  the prior's.

Each bound is one LP over the pairs the step's measurements or the failure's direction touch: a
few milliseconds on GEANT, about 2 s on Cogentco (38,000 pairs) on one core, and more than six
minutes on Kdl (567,762 pairs). Each LP stops after :data:`LP_TIME_LIMIT_S`; a failure whose LP
stopped there has ``timed_out`` set and no range (``low`` and ``high`` None).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from netdrift.engine.errors import InputError
from netdrift.engine.network.routing import all_pairs, routing_matrix
from netdrift.engine.network.topology import Topology
from netdrift.engine.sweep.failures import Failure
from netdrift.engine.traffic.deduce import FIT_TOLERANCE
from netdrift.engine.traffic.link_loads import LinkLoadSeries
from netdrift.engine.traffic.series import TrafficMatrixSeries

__all__ = ["deduction_bounds", "PINNED", "LP_TIME_LIMIT_S"]

#: A range no wider than this fraction of its top counts as pinned by the counters (the loads'
#: own tolerance alone makes it about 0.2 % wide).
PINNED = 0.01
#: Seconds each linear program may take (HiGHS's time limit); past it the failure's range is not
#: given. A failure needs two.
LP_TIME_LIMIT_S = 60.0


class _TimeLimit(Exception):
    """A linear program reached :data:`LP_TIME_LIMIT_S`."""


def deduction_bounds(topology: Topology, loads: LinkLoadSeries, deduced: TrafficMatrixSeries,
                     failures: list[dict[str, Any]],
                     progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any] | None]:
    """For each failure row of a sweep (``links``, ``nodes``, ``worst_step``,
    ``worst_direction``), the range of its worst direction's utilisation at its worst step over
    the demands that reproduce that step's loads: ``{"step", "low", "high", "pinned",
    "timed_out"}`` (see the module docstring), or None for a failure without a worst direction (no
    traffic). ``progress(done, total)`` is called before each failure and once at the end."""
    src, dst = all_pairs(len(topology.nodes))
    if tuple(loads.directions) != tuple(topology.direction_names()):
        raise InputError(f"link loads '{loads.source}'", f"its directions are not those of topology '{topology.name}'")
    if deduced.steps != loads.steps or not (np.array_equal(deduced.src, src) and np.array_equal(deduced.dst, dst)):
        raise InputError("deduced demands", "must have the loads' steps and every ordered pair in the topology's order")
    capacity = topology.direction_capacity
    measuring: dict[bytes, sp.csr_matrix] = {}
    out: list[dict[str, Any] | None] = []
    for f in failures:
        if progress is not None:
            progress(len(out), len(failures))
        wd, t = f.get("worst_direction"), f.get("worst_step")
        if wd is None or t is None:
            out.append(None)
            continue
        up = np.ones(len(topology.links), dtype=bool) if loads.link_up is None else np.asarray(loads.link_up[t], bool)
        key = np.packbits(up).tobytes()
        if key not in measuring:
            measuring[key] = _routing(topology, up, src, dst)
        a = measuring[key]
        failure = Failure(f.get("target", ""), tuple(f.get("links", ())), tuple(f.get("nodes", ())))
        link_up, node_up = failure.state(topology)
        failed = _routing(topology, link_up, src, dst, node_up)
        row = topology.direction_index(wd["link_id"], wd["src"])
        c = failed.getrow(row).toarray().ravel() / capacity[row]
        try:
            low, high = _range(a, np.asarray(loads.loads[t], dtype=np.float64),
                               np.asarray(deduced.demands[t], dtype=np.float64), c)
        except _TimeLimit:
            out.append({"step": int(t), "low": None, "high": None, "pinned": False, "timed_out": True})
            continue
        out.append({"step": int(t), "low": low, "high": high,
                    "pinned": high is not None and high - low <= PINNED * high, "timed_out": False})
    if progress is not None:
        progress(len(out), len(failures))
    return out


def _routing(topology: Topology, link_up: np.ndarray, src: np.ndarray, dst: np.ndarray,
             node_up: np.ndarray | None = None) -> sp.csr_matrix:
    return sp.csr_matrix(routing_matrix(topology, link_up, node_up, src, dst).matrix, dtype=np.float64)


def _range(a: sp.csr_matrix, y: np.ndarray, x: np.ndarray, c: np.ndarray) -> tuple[float, float | None]:
    """min and max of ``c . d`` over ``d >= 0`` with ``|A d - y| <= band`` on the measured rows."""
    rows = np.flatnonzero(np.isfinite(y))
    am = a[rows]
    ym = y[rows]
    floor = 1e-3 * max(float(ym.max(initial=0.0)), 1e-300)
    x = np.nan_to_num(x)
    band = np.maximum(FIT_TOLERANCE * np.maximum(ym, floor), np.abs(am @ x - ym))
    touched = np.zeros(a.shape[1], dtype=bool)
    touched[am.indices] = True
    if (c[~touched] > 0).any():                       # a pair no measurement bounds loads the direction
        return _solve(am[:, touched], ym, band, c[touched], 1.0), None
    keep = np.flatnonzero(touched)
    am, cm = am[:, keep], c[keep]
    return _solve(am, ym, band, cm, 1.0), -_solve(am, ym, band, cm, -1.0)


def _solve(am: sp.csr_matrix, ym: np.ndarray, band: np.ndarray, c: np.ndarray, sense: float) -> float:
    if not (c != 0).any():
        return 0.0
    res = linprog(sense * c, A_ub=sp.vstack([am, -am]).tocsr(), b_ub=np.concatenate([ym + band, band - ym]),
                  bounds=(0, None), method="highs", options={"time_limit": LP_TIME_LIMIT_S})
    if res.status == 1:
        raise _TimeLimit
    if res.status != 0:                               # the deduced demands are feasible: not expected
        raise RuntimeError(f"deduction bounds: the linear program ended with status {res.status} ({res.message})")
    return float(res.fun)
