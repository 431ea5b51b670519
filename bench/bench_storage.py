"""Benchmark: store and read back a Geant2001-sized scenario result. Prints JSON.

Size: 23 nodes, 38 links (76 link directions), 4032 five-minute steps (two weeks), the actual
plus 5 models' forecasts, and metric rows for every model x period x metric x direction
(+ aggregate). Run: ``.venv/bin/python bench/bench_storage.py [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.results import MetricRow, ScenarioResult
from netdrift.storage.database import open_database
from netdrift.storage.repository import ScenarioRepository

MODELS = ["cfc", "ltc", "incremental_mlp", "persistence", "seasonal_naive"]
PERIODS = ["pre", "post", "event:0", "event:1"]
METRICS = ["rmse", "mae", "nrmse", "mape", "mape_excluded", "smape", "ttc", "drift"]


def geant_sized_result(seed: int = 0, steps: int = 4032, n_nodes: int = 23, n_links: int = 38) -> ScenarioResult:
    rng = np.random.default_rng(seed)
    nodes = tuple(Node(f"n{i}", f"N{i}", float(rng.uniform(35, 60)), float(rng.uniform(-10, 30))) for i in range(n_nodes))
    pairs = [(i, (i + 1) % n_nodes) for i in range(n_nodes)]
    while len(pairs) < n_links:
        u, v = sorted(rng.choice(n_nodes, 2, replace=False).tolist())
        if (u, v) not in pairs and (v, u) not in pairs:
            pairs.append((u, v))
    links = tuple(Link(f"n{u}-n{v}", f"n{u}", f"n{v}", 10_000.0) for u, v in pairs)
    topo = Topology("geant-sized", nodes, links)
    D = topo.n_directions
    actual = rng.uniform(100, 9000, size=(steps, D))
    forecasts = {m: actual + rng.normal(0, 50, size=actual.shape) for m in MODELS}
    link_up = np.ones((steps, n_links), dtype=bool)
    link_up[2016:, 0] = False
    metrics = [
        MetricRow(m, p, k, None if k == "ttc" and d == 3 else float(rng.uniform(0, 100)), d)
        for m in MODELS for p in PERIODS for k in METRICS for d in [None, *range(D)]
    ]
    return ScenarioResult(
        topology=topo, config={"steps": steps, "models": MODELS}, seed=seed,
        events=[FailureEvent(2016, "fail", links[0].id), FailureEvent(3000, "restore", links[0].id)],
        step_minutes=5.0, start=datetime(2005, 5, 1, tzinfo=timezone.utc), train_steps=1008,
        actual=actual, forecasts=forecasts, link_up=link_up, dropped_mbps=np.zeros(steps),
        metrics=metrics, model_stats={m: {"retrains": 3, "fit_seconds": 1.5} for m in MODELS},
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    result = geant_sized_result()
    save_s, dir_ms, full_ms, list_ms = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        Session = open_database(f"sqlite:///{path}")
        for _ in range(args.repeats):
            with Session.begin() as s:
                sid = ScenarioRepository(s).create_scenario(result.topology, result.config, 0, MODELS)
            t0 = time.perf_counter()
            with Session.begin() as s:  # one transaction, commit included
                ScenarioRepository(s).save_result(sid, result)
            save_s.append(time.perf_counter() - t0)
            with Session() as s:
                repo = ScenarioRepository(s)
                t0 = time.perf_counter()
                one = repo.load_series(sid, "cfc", direction=17)
                dir_ms.append((time.perf_counter() - t0) * 1e3)
                t0 = time.perf_counter()
                full = repo.load_series(sid, "cfc")
                full_ms.append((time.perf_counter() - t0) * 1e3)
                t0 = time.perf_counter()
                repo.list_scenarios()
                list_ms.append((time.perf_counter() - t0) * 1e3)
            assert one.shape == (4032,) and full.shape == (4032, 76)
        Session.kw["bind"].dispose()
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
    print(json.dumps({
        "benchmark": "storage.save_result, Geant2001-sized",
        "steps": result.actual.shape[0],
        "directions": result.actual.shape[1],
        "models": len(MODELS),
        "metric_rows": len(result.metrics),
        "repeats": args.repeats,
        "save_result_commit_s": {"median": round(statistics.median(save_s), 4), "max": round(max(save_s), 4)},
        "load_one_direction_ms": round(statistics.median(dir_ms), 3),
        "load_full_matrix_ms": round(statistics.median(full_ms), 3),
        "list_scenarios_ms": round(statistics.median(list_ms), 3),
        "db_size_mb_all_repeats": round(size_mb, 1),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }, indent=2))


if __name__ == "__main__":
    main()
