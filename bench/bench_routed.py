"""Routed (failure-aware) models: cost per step and accuracy through a drastic failure.

Prints JSON. For each topology: the routed models' forecast + observe time per step (with the
demands observed, and estimated by tomogravity), tomogravity's own time per step, and the
post-failure first-day RMSE of every model (Mbit/s). Default: Geant2001 two weeks (all link-level
and routed models, the issue's <= 3 minute target) and a short Cogentco run (routed models only;
its 38,612 pairs make the link-level comparison the same as on Geant2001 but slow to train).

    .venv/bin/python bench/bench_routed.py [--skip-cogentco]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch

from netdrift.engine.evaluation.scoring import summary_table
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.experiments.spec import ScenarioSpec
from netdrift.engine.forecasting.catalogue import DEFAULT_MODELS, ROUTED_MODELS
from netdrift.engine.forecasting.settings import ForecastSettings

TARGETS = {"geant2001_two_weeks_all_models_s": 180.0, "tomogravity_cogentco_ms_per_step": 50.0}


def run(spec: ScenarioSpec) -> dict:
    t0 = time.perf_counter()
    live = LiveScenario.from_spec(spec)
    t_build = time.perf_counter() - t0
    live.train()
    t_fit = time.perf_counter() - t0 - t_build
    live.advance(live.total_steps - live.step)
    result = live.result()
    total = time.perf_counter() - t0
    table = summary_table(result.metrics)
    stats = result.model_stats
    return {
        "observe": spec.observe, "horizon": spec.forecast.common.horizon, "seconds_total": round(total, 2),
        "seconds_build": round(t_build, 2), "seconds_fit_all": round(t_fit, 2),
        "tm_estimation": result.config.get("tm_estimation"),
        "models": {m: {"ms_per_step": round(stats[m]["predict_ms_per_step"], 3),
                       "fit_s": round(stats[m]["fit_seconds"], 2),
                       "rmse_day1": table[m]["rmse_day1"], "rmse_transient": table[m]["rmse_transient"],
                       "rmse_pre": table[m]["rmse_pre"]} for m in stats},
    }


def tomogravity_ms(topology: str, steps: int) -> dict:
    from netdrift.engine.network.loaders import load_topology
    from netdrift.engine.network.simulation import Simulator
    from netdrift.engine.traffic.sources import make_traffic
    from netdrift.engine.traffic.tomogravity import node_totals, tomogravity

    topo = load_topology(topology)
    tm = make_traffic("synthetic", topo, steps, 5.0, 0)
    sim = Simulator(topo, tm)
    routing = sim.routing_at(0)
    eg, ing = node_totals(tm.demands, tm.src, tm.dst, len(topo.nodes))
    loads = sim.loads.loads
    tomogravity(routing, loads[:2], eg[:2], ing[:2], tm.src, tm.dst)  # warm the caches
    t0 = time.perf_counter()
    tomogravity(routing, loads, eg, ing, tm.src, tm.dst)
    batched = (time.perf_counter() - t0) / steps
    t0 = time.perf_counter()
    for t in range(min(steps, 20)):
        tomogravity(routing, loads[t], eg[t], ing[t], tm.src, tm.dst)
    single = (time.perf_counter() - t0) / min(steps, 20)
    return {"pairs": tm.n_pairs, "ms_per_step_batched": round(1e3 * batched, 2),
            "ms_per_step_single": round(1e3 * single, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-cogentco", action="store_true")
    ap.add_argument("--horizon", type=int, default=12)
    args = ap.parse_args()
    torch.set_num_threads(1)
    out: dict = {"machine": platform.processor() or platform.machine(), "torch": torch.__version__, "runs": {}}
    settings = ForecastSettings.from_flat({"horizon": args.horizon})
    for observe in ("demands", "links"):
        spec = ScenarioSpec(topology="geant2001", steps=4032, train_steps=2016, failures=("2-7@2160",),
                            models=DEFAULT_MODELS + ROUTED_MODELS, forecast=settings, observe=observe, seed=0)
        out["runs"][f"geant2001_{observe}"] = run(spec)
        print(f"geant2001 {observe} done", file=sys.stderr, flush=True)
    out["tomogravity"] = {"geant2001": tomogravity_ms("geant2001", 288)}
    if not args.skip_cogentco:
        # 2 days at 5 minutes, 1 day of training, a failure on the second day; routed models only
        spec = ScenarioSpec(topology="cogentco", steps=576, train_steps=288, failures=("0-9@330",),
                            models=("routed-persistence", "routed-frozen", "routed-liquid"),
                            forecast=ForecastSettings.from_flat({"horizon": args.horizon, "epochs": 4}),
                            observe="links", seed=0)
        out["runs"]["cogentco_links"] = run(spec)
        out["tomogravity"]["cogentco"] = tomogravity_ms("cogentco", 96)
    geant = out["runs"]["geant2001_links"]["seconds_total"]
    out["targets"] = TARGETS
    out["pass"] = {"geant2001_two_weeks_all_models_s": geant <= TARGETS["geant2001_two_weeks_all_models_s"]}
    if "cogentco" in out["tomogravity"]:
        ms = out["tomogravity"]["cogentco"]["ms_per_step_single"]
        out["pass"]["tomogravity_cogentco_ms_per_step"] = ms <= TARGETS["tomogravity_cogentco_ms_per_step"]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
