"""The plan: forecast the demands, sweep the horizon's last week, size each link's upgrade.

See :mod:`netdrift.engine.planning` for the method and what it guarantees.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np

from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.network.routing import LoadPlan
from netdrift.engine.network.topology import Topology
from netdrift.engine.planning.growth import DemandForecast, fit_forecast
from netdrift.engine.planning.needs import StateRouting, earliest_need
from netdrift.engine.planning.upgrade import cheapest_modules
from netdrift.engine.sweep import KINDS, Failure, failure_set, sweep
from netdrift.engine.traffic.series import TrafficMatrixSeries

__all__ = ["SURVIVE", "PlanResult", "plan", "plan_memory_bytes"]

#: Failure sets a plan can survive: none (normal operation only) or a sweep's set.
SURVIVE = ("none",) + KINDS


@dataclass
class PlanResult:
    """The upgraded topology, the demands the plan was made against (the plan week) and the report;
    ``worst_load_mbps`` (2L,) each direction's worst load over every state and step of the plan
    week, ``worst_state`` the failure causing it (None: without failure)."""

    topology: Topology
    upgraded: Topology
    demands: TrafficMatrixSeries
    report: dict[str, Any]
    worst_load_mbps: np.ndarray | None = None
    worst_state: list[str | None] | None = None


def plan_memory_bytes(n_pairs: int, week_steps: int, history_steps: int, auto: bool, interval_weeks: int) -> float:
    """Memory of a plan besides its sweep (which checks its own): about six (week x pairs) float64
    arrays (the profile, the plan week, the weeks being averaged and their temporaries), a float64
    copy of the history for an automatic trend, the residuals of the weeks for an interval.

    >>> round(plan_memory_bytes(38612, 672, 2016, False, 0) / 1e9, 2)   # Cogentco, 15-minute steps
    1.25
    """
    cells = float(n_pairs) * week_steps
    return 8.0 * (6 * cells + (n_pairs * float(history_steps) if auto else 0.0) + interval_weeks * cells)


def _check(target_utilization: float, survive: str, modules: Sequence[float], costs: Sequence[float],
           cost_per_km: float) -> None:
    if not (math.isfinite(target_utilization) and 0.0 < target_utilization <= 1.0):
        raise InputError("target_utilization", f"must be in (0, 1] (got {target_utilization:g})")
    if survive not in SURVIVE:
        raise InputError(f"survive '{survive}'", f"expected one of {', '.join(SURVIVE)}")
    if not modules:
        raise InputError("modules", "no module sizes given (e.g. --modules 10000,40000,100000, in Mbit/s)")
    if len(costs) != len(modules) or not all(math.isfinite(c) and c > 0 for c in costs):
        raise InputError("cost_per_module", "needs one cost > 0 per module size")
    if not (math.isfinite(cost_per_km) and cost_per_km >= 0):
        raise InputError("cost_per_km", f"must be >= 0 (got {cost_per_km:g})")


def _iso(ts: Any) -> str:
    return ts.replace(tzinfo=None).isoformat(timespec="minutes")


def plan(topology: Topology, history: TrafficMatrixSeries, *, horizon_days: float, growth: float | None,
         survive: str, target_utilization: float, modules: Sequence[float], cost_per_module: Sequence[float],
         cost_per_km: float = 0.0, interval: float | None = None, srlgs: Sequence[Failure] | None = None,
         workers: int | None = None, progress: Callable[[int, int], None] | None = None,
         processes: bool | None = None) -> PlanResult:
    """Plan the cheapest upgrades so that no direction exceeds ``target_utilization`` in the
    horizon's last week under any failure of ``survive`` (nor without failure).

    ``growth``: a rate per year (0.3 = +30 % a year) or None (fitted per origin);
    ``modules`` Mbit/s and ``cost_per_module`` (one per size), ``cost_per_km`` per module and km;
    ``interval``: plan on the forecast's upper bound at this level. ``workers``, ``processes`` and
    ``progress`` go to the sweep (a server that must not fork passes ``processes=False``).

    >>> from netdrift.engine.network.loaders import load_topology
    >>> from netdrift.engine.traffic.synthetic import synthetic_traffic
    >>> t = load_topology("abilene")
    >>> h = synthetic_traffic(t, 7 * 24, step_minutes=60, peak_utilization=0.7)
    >>> r = plan(t, h, horizon_days=30, growth=0.3, survive="link", target_utilization=0.8,
    ...          modules=[10000.0], cost_per_module=[1.0], workers=1)
    >>> r.report["worst_after"]["utilization"] <= 0.8 < r.report["worst_before"]["utilization"]
    True
    """
    t0 = time.perf_counter()
    U = float(target_utilization)
    _check(U, survive, modules, cost_per_module, cost_per_km)
    if tuple(history.node_ids) != tuple(n.id for n in topology.nodes):
        raise InputError("traffic", f"its nodes do not match topology '{topology.name}'")
    W = int(round(7 * 1440.0 / history.step_minutes))
    K = min(4, history.steps // max(W, 1))
    check_memory(f"plan of {history.n_pairs} pairs x {W} steps a week on '{topology.name}'",
                 plan_memory_bytes(history.n_pairs, W, history.steps, growth is None, K if interval else 0))
    fc = fit_forecast(history, growth, horizon_days, interval)
    N, W = history.steps, fc.week_steps
    H = max(W, int(round(horizon_days * 1440.0 / history.step_minutes)))
    a, b = N + H - W, N + H
    upper = interval is not None
    week = fc.series(a, b, upper)
    failures = [] if survive == "none" else failure_set(topology, survive, srlgs)

    # Loads do not depend on capacity: sweep with every capacity scaled by U, so that a sweep's
    # "over 100 %" is exactly "over U" on the real capacity.
    scaled = topology.with_links(replace(lk, capacity_mbps=lk.capacity_mbps * U) for lk in topology.links)
    res = sweep(scaled, week, survive, 0, W, failures, workers=workers, progress=progress, processes=processes)
    by_target = {f.target: f for f in failures}
    cap = topology.direction_capacity
    n_dir = topology.n_directions
    base_loads, _ = LoadPlan(topology, src=np.asarray(week.src), dst=np.asarray(week.dst)).apply(
        np.asarray(week.demands, dtype=np.float32), np.float32)
    base_loads = np.where(week.missing[:, None], np.nan, base_loads) if week.missing.any() else base_loads
    finite = np.where(np.isfinite(base_loads), base_loads, -np.inf)
    base_step = np.argmax(finite, axis=0) if len(finite) else np.zeros(n_dir, np.int64)
    base_worst = finite[base_step, np.arange(n_dir)] if len(finite) else np.full(n_dir, -np.inf)

    names = topology.direction_names()
    worst_load = base_worst.astype(np.float64).copy()
    worst_state: list[str | None] = [None] * n_dir
    worst_step = base_step.astype(np.int64).copy()
    for d, (lid, s, t) in enumerate(names):
        pd = res.per_direction[f"{lid}:{s}->{t}"]
        if pd["worst_utilization"] is not None:
            load = pd["worst_utilization"] * U * cap[d]
            if load > worst_load[d]:
                worst_load[d], worst_state[d], worst_step[d] = load, pd["failure"], pd["step"]
    violators: dict[int, list[Failure | None]] = {}
    for over in np.flatnonzero(base_worst > U * cap):
        violators.setdefault(int(over), []).append(None)
    for row in res.failures:
        for o in row["overloaded"]:
            d = topology.direction_index(o["link_id"], o["src"])
            violators.setdefault(d, []).append(by_target[row["target"]])

    routing = StateRouting(topology, np.asarray(week.src), np.asarray(week.dst))
    new_links, upgrades = [], []
    for i, lk in enumerate(topology.links):
        dirs = [2 * i, 2 * i + 1]
        d = max(dirs, key=lambda x: worst_load[x])
        need = worst_load[d] / U
        if not (worst_load[d] > U * lk.capacity_mbps):
            new_links.append(lk)
            continue
        per_km = cost_per_km * lk.length_km if lk.length_km is not None else 0.0
        choice = cheapest_modules(need - lk.capacity_mbps, modules, [c + per_km for c in cost_per_module])
        new_cap = lk.capacity_mbps + choice.added
        new_links.append(replace(lk, capacity_mbps=new_cap))
        states = list(dict.fromkeys(violators.get(dirs[0], []) + violators.get(dirs[1], [])))
        crossing = earliest_need(fc, routing, states, dirs, U * lk.capacity_mbps, N, b, upper)
        k, f_need = crossing if crossing is not None else (a + int(worst_step[d]), by_target.get(worst_state[d] or ""))
        _, s, t = names[d]
        upgrades.append({
            "link_id": lk.id, "u": lk.u, "v": lk.v, "length_km": lk.length_km,
            "capacity_before_mbps": lk.capacity_mbps, "modules": choice.modules(), "added_mbps": choice.added,
            "capacity_after_mbps": new_cap, "cost": choice.cost,
            "cost_note": None if lk.length_km is not None or not cost_per_km else "length unknown: per-km cost not counted",
            "utilization_before": worst_load[d] / lk.capacity_mbps, "utilization_after": worst_load[d] / new_cap,
            "worst_load_mbps": worst_load[d],
            "sized_for": {"failure": worst_state[d] or "none", "src": s, "dst": t, "step": int(worst_step[d]),
                          "time": _iso(week.time_of(int(worst_step[d])))},
            "needed_from": {"time": _iso(history.time_of(k)), "days_from_history_end": round(
                (k - N) * history.step_minutes / 1440.0, 3), "failure": f_need.target if f_need else "none",
                "already": k == N},
            "failures_needing_it": len(states),
        })
    upgraded = topology.with_links(new_links)
    report = _report(topology, upgraded, history, fc, res, week, upgrades, worst_load, worst_state, U, H,
                     survive, modules, cost_per_module, cost_per_km, (a, b), len(failures))
    report["seconds"] = round(time.perf_counter() - t0, 3)
    return PlanResult(topology, upgraded, week, report, worst_load, worst_state)


def _report(topology: Topology, upgraded: Topology, history: TrafficMatrixSeries, fc: DemandForecast, res: Any,
            week: TrafficMatrixSeries, upgrades: list[dict[str, Any]], worst_load: np.ndarray,
            worst_state: list[str | None], U: float, H: int, survive: str, modules: Sequence[float],
            costs: Sequence[float], cost_per_km: float, window: tuple[int, int], n_failures: int) -> dict[str, Any]:
    names = topology.direction_names()

    def worst(cap: np.ndarray) -> dict[str, Any]:
        u = worst_load / cap
        d = int(np.argmax(np.where(np.isfinite(u), u, -np.inf)))
        return {"utilization": float(u[d]), "link_id": names[d][0], "src": names[d][1], "dst": names[d][2],
                "failure": worst_state[d] or "none"}

    cut = [{"failure": r["target"], "cut_pairs": r["cut_pairs"], "lost_endpoint_pairs": r["lost_endpoint_pairs"],
            "dropped_mbps_max": r["dropped_mbps_max"], "dropped_mbit": r["dropped_mbit"],
            "cut_pairs_sample": r["cut_pairs_sample"]}
           for r in res.failures if r["cut_pairs"] or r["lost_endpoint_pairs"]]
    step_min = history.step_minutes
    upgrades.sort(key=lambda x: (x["needed_from"]["time"], x["link_id"]))
    return {
        "topology": topology.name, "target_utilization": U, "survive": survive, "n_failures": n_failures,
        "history": {"steps": history.steps, "step_minutes": step_min, "from": _iso(history.time_of(0)),
                    "to": _iso(history.time_of(history.steps)), "days": history.steps * step_min / 1440.0},
        "horizon": {"days": H * step_min / 1440.0, "steps": H, "end": _iso(history.time_of(history.steps + H))},
        "plan_week": {"from": _iso(week.time_of(0)), "to": _iso(week.time_of(week.steps)), "steps": week.steps,
                      "from_step": window[0], "bound": "upper" if "interval" in fc.growth else "point",
                      "meaning": "the horizon's last week (the busiest: growth is never negative); its steps are "
                                 "0..steps-1 of --out-demands"},
        "growth": fc.growth,
        "modules_mbps": list(modules), "cost": {
            "per_module": list(costs), "per_km": cost_per_km,
            "rule": "parallel circuits added to the link (existing capacity kept); each module costs its "
                    "per-module cost + per-km cost x link length (0 where the length is unknown)"},
        "method": "exact per link: loads do not depend on capacity (IGP weights unchanged), so each link gets the "
                  "cheapest module set covering its worst load / U over every failure state and step of the plan week",
        "worst_before": worst(topology.direction_capacity), "worst_after": worst(upgraded.direction_capacity),
        "upgrades": upgrades, "n_upgrades": len(upgrades),
        "modules_added": int(sum(m["count"] for u in upgrades for m in u["modules"])),
        "total_cost": float(sum(u["cost"] for u in upgrades)),
        "cut_off": cut,
        "cut_off_note": "demand a failure cuts off (no path left) is reported, never fixed by capacity",
        "sweep_seconds": res.seconds,
    }
