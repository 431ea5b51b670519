"""Benchmark of the routing + failure simulation core; prints ONE JSON object.

- Cogentco (197 nodes, 245 links, 38,612 pairs), 2 weeks at 5 minutes (4032 steps), synthetic
  traffic: traffic generation, routing (the per-pair matrix of the public API and the
  simulator's level plan), the load evaluation, and the full ``Simulator`` build;
- one link failure at the middle of the run: re-route + recompute of the remaining steps, on
  Cogentco and on Geant2012 (same 4032 steps), and the restore;
- Kdl (754 nodes, ~568k pairs), one day at 5 minutes (288 steps);
- a naive networkx baseline for one step on Cogentco: per pair ``nx.all_shortest_paths`` with
  an equal split per path, against our time per step.

Times are the best of ``--repeats`` runs (wall clock, seconds) on whatever machine runs it;
targets are those set for a 2-core machine.

    .venv/bin/python bench/bench_simulation.py [--repeats 3] [--skip-naive]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.loaders import bundled_topologies, load_topology
from netdrift.engine.network.routing import LoadPlan, apply_routing, routing_matrix
from netdrift.engine.network.simulation import Simulator
from netdrift.engine.network.topology import Topology
from netdrift.engine.traffic.sources import make_traffic

TARGETS = {
    "cogentco_4032_simulation_s": 3.0,
    "cogentco_failure_reroute_s": 0.5,
    "geant2012_failure_reroute_s": 0.05,
    "kdl_288_simulation_s": 10.0,
}
ZOO = Path(__file__).resolve().parents[2] / "shared" / "data" / "topologyzoo"


def best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def topology(name: str) -> Topology:
    if name.lower() in bundled_topologies():
        return load_topology(name.lower())
    return load_topology(ZOO / f"{name}.graphml")


def busiest_safe_link(sim: Simulator, topo: Topology, step: int) -> str:
    """The link carrying most at ``step`` whose failure drops nothing (a realistic re-route)."""
    loads = sim.loads.loads[step]
    order = np.argsort(-np.maximum(loads[0::2], loads[1::2]))
    for i in order:
        lid = topo.links[int(i)].id
        ev = FailureEvent(step, "fail", lid, "link")
        sim.add_event(ev)
        dropped = float(np.nansum(sim.loads.dropped_mbps[step:]))
        sim.remove_event(ev)
        if dropped == 0:
            return lid
    return topo.links[int(order[0])].id


def failure_case(topo: Topology, steps: int, repeats: int) -> dict[str, Any]:
    tm = make_traffic("synthetic", topo, steps, 5.0, seed=1)
    sim = Simulator(topo, tm)
    mid = steps // 2
    lid = busiest_safe_link(sim, topo, mid)
    ev = FailureEvent(mid, "fail", lid, "link")
    fail_times, restore_times = [], []
    for _ in range(repeats):
        sim._plans.clear()  # cold routing cache: the re-route is computed, not looked up
        sim._plans[(frozenset(), frozenset())] = LoadPlan(topo, src=tm.src, dst=tm.dst)
        t0 = time.perf_counter()
        sim.add_event(ev)
        fail_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        sim.remove_event(ev)
        restore_times.append(time.perf_counter() - t0)
    base = Simulator(topo, tm).loads.loads
    return {
        "pairs": tm.n_pairs, "steps": steps, "failed_link": lid, "fail_step": mid,
        "recomputed_steps": steps - mid,
        "reroute_plus_recompute_s": min(fail_times),
        "restore_s": min(restore_times),
        "restore_gives_back_original_exactly": bool(np.array_equal(sim.loads.loads, base, equal_nan=True)),
    }


def naive_one_step(topo: Topology, src: np.ndarray, dst: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Per-pair path enumeration with an equal split per path (the textbook baseline)."""
    g = nx.Graph()
    for l in topo.links:
        if not g.has_edge(l.u, l.v) or g[l.u][l.v]["weight"] > l.weight:
            g.add_edge(l.u, l.v, weight=l.weight, id=l.id)
    ids = [n.id for n in topo.nodes]
    loads = np.zeros(topo.n_directions)
    for s, d, x in zip(src, dst, demand):
        paths = list(nx.all_shortest_paths(g, ids[s], ids[d], weight="weight"))
        share = x / len(paths)
        for path in paths:
            for a, b in zip(path, path[1:]):
                loads[topo.direction_index(g[a][b]["id"], a)] += share
    return loads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-naive", action="store_true")
    args = ap.parse_args()
    rep = max(1, args.repeats)
    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "numpy": np.__version__, "load_average": list(os.getloadavg())},
        "repeats": rep, "targets_s": TARGETS,
    }

    # --- Cogentco, 2 weeks at 5 minutes ------------------------------------------------------
    cog = topology("Cogentco")
    steps = 4032
    t_traffic, tm = best(lambda: make_traffic("synthetic", cog, steps, 5.0, seed=0), rep)
    t_matrix, r = best(lambda: routing_matrix(cog, src=tm.src, dst=tm.dst), rep)
    t_plan, plan = best(lambda: LoadPlan(cog, src=tm.src, dst=tm.dst), rep)
    loads = np.empty((steps, cog.n_directions))
    dropped = np.empty(steps)
    t_apply, _ = best(lambda: plan.apply_into(tm.demands, loads, dropped), rep)
    t_sim, sim = best(lambda: Simulator(cog, tm), rep)
    t_csr, csr_loads = best(lambda: apply_routing(r.matrix, tm.demands), 1)
    agree = float(np.nanmax(np.abs(csr_loads - sim.loads.loads)) / np.nanmax(np.abs(csr_loads)))
    out["cogentco_4032"] = {
        "nodes": len(cog.nodes), "links": len(cog.links), "pairs": tm.n_pairs, "steps": steps,
        "demands_dtype": str(tm.demands.dtype),
        "traffic_generation_s": t_traffic,
        "routing_matrix_build_s": t_matrix, "routing_matrix_nnz": int(r.matrix.nnz),
        "load_plan_build_s": t_plan, "load_plan_states": plan.n_states,
        "load_product_s": t_apply,
        "simulation_s": t_sim,
        "simulation_plus_traffic_s": t_sim + t_traffic,
        "per_step_ms": 1000 * t_sim / steps,
        "csr_matrix_product_s_for_comparison": t_csr,
        "max_rel_diff_plan_vs_matrix": agree,
    }

    # --- one failure at the middle ----------------------------------------------------------
    out["cogentco_failure"] = failure_case(cog, steps, rep)
    out["geant2012_failure"] = failure_case(topology("Geant2012"), steps, rep)

    # --- Kdl, one day -----------------------------------------------------------------------
    kdl = topology("Kdl")
    t_ktraffic, ktm = best(lambda: make_traffic("synthetic", kdl, 288, 5.0, seed=0), min(rep, 2))
    t_kplan, kplan = best(lambda: LoadPlan(kdl, src=ktm.src, dst=ktm.dst), 1)
    t_ksim, _ = best(lambda: Simulator(kdl, ktm), min(rep, 2))
    out["kdl_288"] = {"nodes": len(kdl.nodes), "links": len(kdl.links), "pairs": ktm.n_pairs, "steps": 288,
                      "traffic_generation_s": t_ktraffic, "load_plan_build_s": t_kplan,
                      "simulation_s": t_ksim, "simulation_plus_traffic_s": t_ksim + t_ktraffic}

    # --- naive baseline ---------------------------------------------------------------------
    if not args.skip_naive:
        step = 100
        t_naive, naive = best(lambda: naive_one_step(cog, tm.src, tm.dst, tm.demands[step].astype(np.float64)), 1)
        ours_per_step = t_sim / steps
        out["naive_networkx_one_step"] = {
            "seconds": t_naive, "ours_per_step_s": ours_per_step,
            "speedup_per_step": t_naive / ours_per_step,
            # per-path splitting is a different routing rule: how far its loads are from ours
            "max_abs_diff_vs_per_hop_mbps": float(np.max(np.abs(naive - sim.loads.loads[step]))),
        }

    out["pass"] = {
        "cogentco_4032_simulation_s": out["cogentco_4032"]["simulation_s"] <= TARGETS["cogentco_4032_simulation_s"],
        "cogentco_failure_reroute_s": out["cogentco_failure"]["reroute_plus_recompute_s"] <= TARGETS["cogentco_failure_reroute_s"],
        "geant2012_failure_reroute_s": out["geant2012_failure"]["reroute_plus_recompute_s"] <= TARGETS["geant2012_failure_reroute_s"],
        "kdl_288_simulation_s": out["kdl_288"]["simulation_s"] <= TARGETS["kdl_288_simulation_s"],
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
