"""Benchmark of a whole forecasting scenario (issue 3): prints one JSON object.

Geant2001, 2 weeks at 5 minutes (4032 steps), 1 week of training, one link failure (the
drastic-drift link `netdrift paper` would pick), every model; stored into a temporary SQLite
history. Usage: python bench/bench_run.py [--device cpu|cuda|auto] [--steps N --train-steps K]

``--all-models`` instead times the issue-19 cost target as a user runs it: ``netdrift run
--topology geant2001 --steps 4032 --train-steps 2016 --fail 2-3@2304 --models <all 15> --horizon 1
--json`` (sine traffic, intervals at 0.9, stored into a temporary history), target <= 180 s on a
2-core CPU. It prints the wall time, the command's CPU time (user + system, from
``getrusage(RUSAGE_CHILDREN)``: what the machine's other load does not inflate much) and the
load average before and after, since the machine may be shared. ``--python-path DIR`` runs that
source tree's netdrift instead (e.g. an older commit's ``git archive``), for a back-to-back baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np
import torch

from netdrift.engine.experiments.paper import choose_failures, failure_step
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.experiments.spec import ScenarioSpec
from netdrift.engine.forecasting.catalogue import DEFAULT_MODELS, make_forecaster
from netdrift.engine.forecasting.protocol import ForecastInput
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.engine.forecasting.torch_utils import resolve_device
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.traffic.sources import make_traffic
from netdrift.service.scenarios import ScenarioService
from netdrift.storage.database import open_database

TARGETS = {"run_seconds_cfc": 180.0, "cfc_fit_seconds": 90.0, "incremental_retrain_ms": 300.0,
           "predict_ms_per_step_each_model": 20.0, "store_seconds": 2.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=4032)
    ap.add_argument("--train-steps", type=int, default=2016)
    ap.add_argument("--skip-ltc", action="store_true", help="do not time the LTC fit")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the CLI's default is 1)")
    ap.add_argument("--paper-form", action="store_true",
                    help="the learnt models in the paper's form (residual learning off), as before it existed")
    ap.add_argument("--all-models", action="store_true", help="time the CLI run with all 15 models (issue 19's target)")
    ap.add_argument("--python-path", default=None, help="with --all-models: run the netdrift of this source tree")
    args = ap.parse_args()
    if args.all_models:
        print(json.dumps(time_all_models(args.python_path), indent=2))
        return
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    topo = load_topology("geant2001")
    traffic = make_traffic("synthetic", topo, args.steps, 5.0, 0)
    plan = choose_failures(topo, args.steps, args.train_steps, 5.0, 0, per_class=1, traffic=traffic)
    link, cls, drift = max(plan, key=lambda p: p[2])
    out: dict = {"machine": platform.processor() or platform.machine(), "torch": torch.__version__,
                 "device": device, "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
                 "topology": topo.name, "directions": topo.n_directions, "steps": args.steps,
                 "train_steps": args.train_steps, "threads": args.threads, "failure": {"link": link, "class": cls, "max_drift": drift}}

    t0 = time.perf_counter()
    settings = ForecastSettings.from_flat({"residual": False}) if args.paper_form else ForecastSettings()
    spec = ScenarioSpec(topology=topo.name, steps=args.steps, train_steps=args.train_steps, step_minutes=5.0,
                        models=DEFAULT_MODELS, forecast=settings, seed=0, device=device, interval=None,
                        warn_utilization=None)
    live = LiveScenario(spec, topo, traffic)
    at = failure_step(args.train_steps, live.config.steps_per_day, args.steps)
    live.train()
    live.advance(at - live.step)
    live.fail(link)
    live.advance(live.total_steps - live.step)
    result = live.result()
    run_seconds = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        service = ScenarioService(open_database(f"sqlite:///{tmp}/bench.sqlite"))
        store_seconds = service.save(service.open_record(live, "bench"), live)
    stats = result.model_stats
    inc = live.models["incremental"]
    retrain_ms = [1000 * s for s in getattr(inc, "retrain_seconds", [])]
    out.update({
        "run_seconds_cfc": run_seconds,
        "cfc_fit_seconds": stats["liquid"]["fit_seconds"],
        "incremental_fit_seconds": stats["incremental"]["fit_seconds"],
        "incremental_retrains": stats["incremental"]["retrains"],
        "incremental_retrain_ms_median": float(np.median(retrain_ms)) if retrain_ms else None,
        "incremental_retrain_ms_max": float(np.max(retrain_ms)) if retrain_ms else None,
        "predict_ms_per_step": {k: v["predict_ms_per_step"] for k, v in stats.items()},
        "store_seconds": store_seconds,
    })
    if not args.skip_ltc:
        cfg = live.config
        observed, features = live.stream.observed, live.stream.features
        ltc = make_forecaster("liquid", live.settings.with_flat({"liquid_cell": "ltc"}), seed=0, device=device)
        t2 = time.perf_counter()
        ltc.fit(observed[:args.train_steps], features[:args.train_steps])
        out["ltc_fit_seconds"] = time.perf_counter() - t2
        w, h = cfg.window, cfg.horizon
        n, warm = 200, 5  # the first calls pay one-off allocations
        for t in range(args.train_steps, args.train_steps + n + warm):
            if t == args.train_steps + warm:
                t3 = time.perf_counter()
            ltc.forecast(ForecastInput(t, observed[t - w:t], features[t - w:t + h]))
            ltc.observe(observed[t], features[t])
        out["ltc_predict_ms_per_step"] = 1000 * (time.perf_counter() - t3) / n
    out["targets"] = TARGETS
    out["pass"] = {
        "run_seconds_cfc": run_seconds <= TARGETS["run_seconds_cfc"],
        "cfc_fit_seconds": out["cfc_fit_seconds"] <= TARGETS["cfc_fit_seconds"],
        "incremental_retrain_ms": bool(retrain_ms) and out["incremental_retrain_ms_median"] <= TARGETS["incremental_retrain_ms"],
        "predict_ms_per_step_each_model": all(v <= TARGETS["predict_ms_per_step_each_model"]
                                              for v in out["predict_ms_per_step"].values()),
        "store_seconds": store_seconds <= TARGETS["store_seconds"],
    }
    print(json.dumps(out, indent=2))


def time_all_models(python_path: str | None) -> dict:
    """Wall and CPU seconds of the two-week Geant2001 run with every model (the CLI, as a user runs it)."""
    from netdrift.engine.forecasting.catalogue import MODEL_NAMES

    netdrift = str(Path(sys.executable).with_name("netdrift"))
    env = {**os.environ, **({"PYTHONPATH": python_path} if python_path else {})}
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [netdrift, "run", "--topology", "geant2001", "--steps", "4032", "--train-steps", "2016",
               "--fail", "2-3@2304", "--models", ",".join(MODEL_NAMES), "--horizon", "1", "--json",
               "--db", f"sqlite:///{tmp}/bench.sqlite"]
        load_before = os.getloadavg()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"command": " ".join(cmd[:-2]), "source": python_path or "this checkout", "wall_seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1), "load_average_before": load_before, "load_average_after": os.getloadavg(),
            "cores": os.cpu_count(), "target_wall_seconds": 180.0,
            "rmse_post": {m: v.get("rmse_post") for m, v in result["models"].items()}}


if __name__ == "__main__":
    main()
