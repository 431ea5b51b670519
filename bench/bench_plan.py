"""Benchmark of capacity planning (netdrift.engine.planning, `netdrift plan`); prints ONE JSON object.

The issue's case on each topology: three weeks of synthetic history (2016 steps of 15 minutes,
seed 0, busiest direction at 0.6), a 90-day horizon at +30 % a year, every single-link failure,
U = 0.8, modules 10/40/100 Gbit/s. Targets on this 2-core machine: Geant2012 <= 30 s,
Cogentco <= 5 min, for the plan itself (forecast fit, the sweep of the plan week, sizing and the
need dates). Stages timed apart (wall clock, one run each, and CPU seconds of this process and its
sweep workers): the history (synthetic generation, not part of the target), the plan, writing
``--out-topology``/``--out-demands``. The machine is shared with other engineers' work: the load
average at the start and at the end is printed; a loaded machine slows every figure.

    .venv/bin/python bench/bench_plan.py [--only geant2012,cogentco] [--no-files]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from netdrift.engine.network.loaders import load_topology
from netdrift.engine.planning import plan
from netdrift.engine.planning.export import write_plan_files
from netdrift.engine.traffic.sources import make_traffic

CASES = {"geant2012": 30.0, "cogentco": 300.0}


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn):  # type: ignore[no-untyped-def]
    t0, c0 = time.perf_counter(), _cpu()
    value = fn()
    return value, round(time.perf_counter() - t0, 3), round(_cpu() - c0, 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=",".join(CASES))
    ap.add_argument("--no-files", action="store_true", help="do not time writing the output files")
    args = ap.parse_args()
    out: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                             "load_avg_at_start": os.getloadavg(),
                             "note": "2 cores shared with other engineers' work at the time of the run"},
                 "case": {"steps": 2016, "step_minutes": 15, "horizon_days": 90, "growth_per_year": 0.3,
                          "survive": "link", "target_utilization": 0.8, "modules_mbps": [10000, 40000, 100000]},
                 "results": {}}
    for name in args.only.split(","):
        topo = load_topology(name)
        history, hist_s, _ = _timed(lambda: make_traffic("synthetic", topo, 2016, 15.0, 0))  # noqa: B023
        result, plan_s, plan_cpu = _timed(lambda: plan(  # noqa: B023
            topo, history, horizon_days=90, growth=0.3, survive="link", target_utilization=0.8,  # noqa: B023
            modules=[10000.0, 40000.0, 100000.0], cost_per_module=[1.0, 1.0, 1.0]))
        r = result.report
        res: dict = {"nodes": len(topo.nodes), "links": len(topo.links), "pairs": history.n_pairs,
                     "failures": r["n_failures"], "plan_week_steps": r["plan_week"]["steps"],
                     "history_generation_s": hist_s, "plan_s": plan_s, "plan_cpu_s": plan_cpu,
                     "of_which_sweep_s": r["sweep_seconds"], "target_s": CASES[name],
                     "meets_target": plan_s <= CASES[name], "upgrades": r["n_upgrades"],
                     "total_cost": r["total_cost"], "worst_before": round(r["worst_before"]["utilization"], 4),
                     "worst_after": round(r["worst_after"]["utilization"], 4),
                     "failures_cutting_demand_off": len(r["cut_off"])}
        if not args.no_files:
            with tempfile.TemporaryDirectory() as tmp:
                _, files_s, _ = _timed(lambda: write_plan_files(  # noqa: B023
                    result.upgraded, result.demands, Path(tmp) / "up.json", Path(tmp) / "d.csv"))  # noqa: B023
                res["write_files_s"] = files_s
                res["demands_csv_mb"] = round((Path(tmp) / "d.csv").stat().st_size / 1e6, 1)
        out["results"][name] = res
        print(json.dumps(res), file=sys.stderr, flush=True)
    out["machine"]["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
