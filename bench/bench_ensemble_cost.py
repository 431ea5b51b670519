"""The ensemble's own per-step cost (combine + observe) on Cogentco's 486 directions, 6 members.

Member forecasts are fixed random arrays, so only the ensemble's work is timed (what it adds to a
step of ``netdrift run``). Best of 7 repetitions of 300 steps, wall-clock on a shared machine.

    .venv/bin/python bench/bench_ensemble_cost.py
"""
import time

import numpy as np

from netdrift.engine.forecasting.ensemble import EnsembleForecaster
from netdrift.engine.forecasting.protocol import Forecast, ForecastInput
from netdrift.engine.forecasting.settings import ForecastConfig
from netdrift.engine.network.loaders import load_topology

topo = load_topology("cogentco")
D = topo.n_directions
for H in (1, 12):
    rng = np.random.default_rng(0)
    e = EnsembleForecaster(ForecastConfig(window=24, horizon=H))
    e.fit(rng.random((600, D)).astype("float32"), np.zeros((600, 4), "float32"))
    inp = ForecastInput(600, np.zeros((24, D), "float32"), np.zeros((24 + H, 4), "float32"))
    members = {f"m{i}": Forecast(rng.random((H, D)).astype("float32")) for i in range(6)}
    ys = rng.random((300, D)).astype("float32")
    f0 = np.zeros(4, "float32")
    best = []
    for _rep in range(7):
        t0 = time.perf_counter()
        for i in range(300):
            e.combine(inp, members)
            e.observe(ys[i], f0)
        best.append(1000 * (time.perf_counter() - t0) / 300)
    print("cogentco D=%d H=%d N=6: %.3f ms/step (best of 7 x 300 steps; all: %s)" % (D, H, min(best), [round(b, 3) for b in best]))
