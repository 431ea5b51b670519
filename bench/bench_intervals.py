"""Cost of the prediction intervals and the overload warning check per step, per model.

Prints JSON. For each topology: one model's conformal tracker (bound + update, H horizons x all
link directions, with the interval's shape over the day) and the warning check (highest upper
bound over the horizon against the threshold) per step, on synthetic loads. Target (issue 11): <= 5 ms per step on Cogentco.

    .venv/bin/python bench/bench_intervals.py [--horizon 12] [--steps 500]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np

from netdrift.engine.evaluation.interval_shape import interval_shape
from netdrift.engine.evaluation.intervals import ConformalTracker, initial_radius
from netdrift.engine.forecasting.protocol import Forecast
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.network.simulation import Simulator
from netdrift.engine.traffic.sources import make_traffic

TARGET_MS = 5.0


def measure(topology: str, horizon: int, steps: int) -> dict:
    topo = load_topology(topology)
    train = 2 * 288  # two days: the interval has the day's shape (interval_shape), as in a run
    loads = Simulator(topo, make_traffic("synthetic", topo, train + steps + horizon, 5.0, 0)).loads.loads
    cap = topo.direction_capacity
    shape = interval_shape(loads[:train], horizon, 288)
    tracker = ConformalTracker(0.9, initial_radius(loads[:train], horizon, 0.9, shape), shape=shape)
    rng = np.random.default_rng(0)
    noise = rng.normal(1.0, 0.05, (steps, horizon, loads.shape[1]))
    t_interval = t_warn = 0.0
    raised = 0
    for k in range(steps):
        t = train + k
        point = loads[t:t + horizon] * noise[k]  # a stand-in forecast: the truth with 5 % noise
        t0 = time.perf_counter()
        fc = tracker.bound(Forecast(point), t)
        tracker.update(loads[t], t)
        t1 = time.perf_counter()
        raised += int(((fc.upper.max(axis=0) >= 0.9 * cap) & (loads[t - 1] < 0.9 * cap)).sum())
        t2 = time.perf_counter()
        t_interval += t1 - t0
        t_warn += t2 - t1
    return {"directions": int(loads.shape[1]), "horizon": horizon,
            "interval_ms_per_step": round(1e3 * t_interval / steps, 3),
            "warning_ms_per_step": round(1e3 * t_warn / steps, 3),
            "total_ms_per_step": round(1e3 * (t_interval + t_warn) / steps, 3),
            "target_ms": TARGET_MS, "pass": 1e3 * (t_interval + t_warn) / steps <= TARGET_MS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--horizon", type=int, default=12)
    ap.add_argument("--steps", type=int, default=500)
    args = ap.parse_args()
    print(json.dumps({t: measure(t, args.horizon, args.steps) for t in ("geant2001", "cogentco")}, indent=2))


if __name__ == "__main__":
    main()
