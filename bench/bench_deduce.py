"""Benchmark of demand deduction from link loads; prints ONE JSON object.

For each case (topology x traffic model: the paper's sine synthetic traffic and, when
engine/traffic/backbone.py is there, the backbone-like proxy), ``--steps`` steps at 5 minutes
(default one day): the link loads the simulator gives for the true demands (float32, as
``netdrift simulate --out`` writes them), then every method of
:func:`netdrift.engine.traffic.deduce.deduce_demands` on them:

- ``demand_error``: relative L2 of the deduced demands against the true ones per step, its
  median / mean / max over the steps (missing steps of the proxy left out);
- ``link_fit``: the same for the routed estimate against the measured loads;
- ``ms_per_step``: wall clock of the whole deduction over the steps (the routing operator's
  build included), and ``setup_s``: that build alone, measured apart (CPU time); ``cpu_ms_per_step``: the
  process's CPU time for the same (everything runs on one thread, so on a machine shared with
  other work this is what the wall clock would be on an idle core).

BLAS runs on one thread (set below, before numpy loads): the per-step Cholesky of a few hundred
rows is faster so than with threads fighting over a busy machine. The target is <= 50 ms a step
on Cogentco on a 2-core machine; figures are whatever machine runs it.

    .venv/bin/python bench/bench_deduce.py [--steps 288] [--cases geant2001:sine,cogentco:sine,...]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402 - the thread limits above must come before numpy
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from netdrift.engine.network.loaders import load_topology  # noqa: E402
from netdrift.engine.network.routing import all_pairs  # noqa: E402
from netdrift.engine.network.simulation import Simulator  # noqa: E402
from netdrift.engine.traffic.deduce import METHODS, _Operator, deduce_demands  # noqa: E402
from netdrift.engine.traffic.link_loads import LinkLoadSeries  # noqa: E402
from netdrift.engine.traffic.sources import make_traffic  # noqa: E402

TARGET_MS_PER_STEP = {"cogentco": 50.0}
HAVE_BACKBONE = importlib.util.find_spec("netdrift.engine.traffic.backbone") is not None
DEFAULT_CASES = ("geant2001:sine,cogentco:sine" + (",geant2001:backbone,cogentco:backbone" if HAVE_BACKBONE else ""))


def stats(v: np.ndarray) -> dict[str, float | None]:
    f = v[np.isfinite(v)]
    return {"median": round(float(np.median(f)), 4), "mean": round(float(f.mean()), 4),
            "max": round(float(f.max()), 4)} if len(f) else {"median": None, "mean": None, "max": None}


def case(name: str, model: str, steps: int, seed: int) -> dict[str, Any]:
    topo = load_topology(name)
    tm = make_traffic("synthetic", topo, steps, 5.0, seed=seed, model=model)
    loads = Simulator(topo, tm).loads.loads                   # float32, NaN rows where the proxy lost a sample
    series = LinkLoadSeries(tuple(topo.direction_names()), loads, tm.step_minutes, tm.start, f"{name}:{model}")
    src, dst = all_pairs(len(topo.nodes))
    c0 = time.process_time()
    _Operator(topo, None, src, dst)
    setup = time.process_time() - c0
    out: dict[str, Any] = {"topology": name, "traffic_model": model, "nodes": len(topo.nodes),
                           "directions": topo.n_directions, "pairs": tm.n_pairs, "steps": steps,
                           "missing_steps": int(tm.missing.sum()), "setup_s": round(setup, 3), "methods": {}}
    for method in METHODS:
        t0, c0 = time.perf_counter(), time.process_time()
        _, rep = deduce_demands(topo, series, method, truth=tm)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        out["methods"][method] = {"demand_error": stats(rep.demand_error), "link_fit": stats(rep.link_fit),
                                  "ms_per_step": round(1000 * wall / steps, 2),
                                  "cpu_ms_per_step": round(1000 * cpu / steps, 2)}
    m = out["methods"]
    out["prior_beats_tomogravity"] = bool(m["prior"]["demand_error"]["median"] < m["tomogravity"]["demand_error"]["median"])
    if name in TARGET_MS_PER_STEP:
        out["target_ms_per_step"] = TARGET_MS_PER_STEP[name]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=288)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cases", default=DEFAULT_CASES, help="comma-separated topology:model")
    args = ap.parse_args()
    cases = [case(*c.split(":"), args.steps, args.seed) for c in args.cases.split(",")]
    print(json.dumps({"bench": "deduce", "machine": platform.machine(), "cpus": os.cpu_count(),
                      "python": platform.python_version(), "blas_threads": os.environ["OPENBLAS_NUM_THREADS"],
                      "cases": cases}, indent=2))


if __name__ == "__main__":
    main()
