"""Issue 20's acceptance check on synthetic traffic; prints ONE JSON object.

For each topology, traffic model, step length and seed: ``netdrift simulate`` writes the loads of
the true demands (one day: 288 steps of 5 minutes or 96 of 15), then ``netdrift sweep --kind link
--top 0`` runs on the true demands and on ``--link-loads`` of those loads (each ``--deduce``
method), all through the CLI. Per run and method:

- ``top5_equal`` / ``top5_same_set``: the top 5 failures in the same order / as a set;
- ``top5_equal_but_near_ties``: every position where the order differs holds a failure whose TRUE
  worst utilisation is within :data:`NEAR_TIE` (0.5 %) of the true one at that position (a swap
  of near-equal failures); ``order_differences`` lists the positions that differ, with the true
  utilisations of the failure expected there and of the one found there;
- ``worst_utilization_rel_diff``: relative difference of each failure's worst utilisation to the
  true one, median and max over the failures, and the failure with the max (its true utilisation);
- ``demand_error``: median relative L2 error of the deduced demands per step against the true ones
  (the same deduction in this process, from the same CSV, with the truth given); ``link_fit_max``.

``--bounds`` adds the ``prior`` sweep's ``--bounds`` figures (docs/counters.md): ``pinned``, the
failures whose figure the loads alone fix (range within 1 %), and ``misses_flagged``: of the
failures whose worst utilisation is more than 2 % off the true one, how many have a range wider
than the miss (the sweep said that the counters do not fix it).

``--ceiling`` adds, per run, what a prior that knew each pair's TRUE mean over the day would give
(the same projection onto the link loads, the same sweep): no prior that is constant over the day
does better on the sweep check, so where it fails the check is out of reach of such priors.

The issue asks for the same top 5 and differences within 2 % (median) and 5 % (max).

    .venv/bin/python bench/bench_deduce_sweep.py [--topologies geant2001] [--step-minutes 5,15]
        [--seeds 0,1,2] [--models sine,backbone] [--ceiling] [--bounds]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402 - the thread limits above must come before numpy
import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from netdrift.cli.main import main as netdrift  # noqa: E402
from netdrift.engine.network.loaders import load_topology  # noqa: E402
from netdrift.engine.network.routing import all_pairs  # noqa: E402
from netdrift.engine.sweep.core import sweep  # noqa: E402
from netdrift.engine.traffic.deduce import METHODS, _Operator, deduce_demands  # noqa: E402
from netdrift.engine.traffic.link_load_csv import load_link_loads_csv  # noqa: E402
from netdrift.engine.traffic.series import TrafficMatrixSeries  # noqa: E402
from netdrift.engine.traffic.sources import make_traffic  # noqa: E402

#: Two failures whose true worst utilisations differ by at most this fraction are a near-tie.
NEAR_TIE = 0.005
STEPS_PER_DAY = {5: 288, 15: 96}


def quiet(argv: list[str]) -> str:
    """stdout of ``netdrift argv`` (which must succeed)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = netdrift(argv)
    if rc != 0:
        raise SystemExit(f"netdrift {' '.join(argv)} exited {rc}")
    return buf.getvalue()


def compare(true: dict[str, Any], deduced: dict[str, Any]) -> dict[str, Any]:
    """The sweep check of one deduced sweep against the true one."""
    rank = [f["target"] for f in true["failures"]]
    got = [f["target"] for f in deduced["failures"]]
    worst = {f["target"]: f["worst_utilization"] for f in true["failures"]}
    rel = {f["target"]: abs(f["worst_utilization"] / worst[f["target"]] - 1) for f in deduced["failures"]
           if worst.get(f["target"])}
    values = np.array(list(rel.values()))
    arg = max(rel, key=lambda k: rel[k])
    ties = [{"position": k + 1, "true": [rank[k], round(worst[rank[k]], 4)], "got": [got[k], round(worst[got[k]], 4)]}
            for k in range(5) if got[k] != rank[k]]
    near = all(abs(worst[t["got"][0]] / worst[t["true"][0]] - 1) <= NEAR_TIE for t in ties)
    return {"top5_equal": rank[:5] == got[:5], "top5_same_set": set(rank[:5]) == set(got[:5]),
            "top5_equal_but_near_ties": bool(ties) and near, "order_differences": ties,
            "worst_utilization_rel_diff": {"median": round(float(np.median(values)), 4),
                                           "max": round(float(values.max()), 4),
                                           "max_at": [arg, round(worst[arg], 4)]},
            "passes": rank[:5] == got[:5] and float(np.median(values)) <= 0.02 and float(values.max()) <= 0.05}


def ceiling(topology: Any, truth: TrafficMatrixSeries, loads: Any, true_sweep: dict[str, Any], steps: int
            ) -> dict[str, Any]:
    """The sweep check with the prior of each step = every pair's true mean over the day, scaled to
    the step's total and projected onto its loads as the deduction does."""
    src, dst = all_pairs(len(topology.nodes))
    op = _Operator(topology, None, src, dst)
    mean = np.nanmean(truth.demands.astype(np.float64), axis=0)
    y_all = np.asarray(loads.loads, dtype=np.float64)
    out = np.full((steps, len(src)), np.nan, dtype=np.float32)
    for t in range(steps):
        rows = np.flatnonzero(np.isfinite(y_all[t]))
        if len(rows):
            out[t] = op.fit(op.scaled(mean, y_all[t], rows), y_all[t], rows)
    tm = TrafficMatrixSeries(truth.node_ids, src, dst, out, truth.step_minutes, truth.start)
    res = compare(true_sweep, sweep(topology, tm, "link", 0, steps, workers=1, processes=False).to_dict(top=0))
    true = np.asarray(truth.demands, dtype=np.float64)
    ok = ~(np.isnan(out).any(axis=1) | np.isnan(true).any(axis=1))      # the proxy's missing steps left out
    err = np.linalg.norm(out[ok] - true[ok], axis=1) / np.linalg.norm(true[ok], axis=1)
    return {**res, "demand_error": round(float(np.median(err)), 4)}


def bounds_figures(true: dict[str, Any], deduced: dict[str, Any]) -> dict[str, Any]:
    """How many failures the loads pin, and whether the misses (> 2 %) had a range wider than the miss."""
    worst = {f["target"]: f["worst_utilization"] for f in true["failures"]}
    pinned = sum(bool(f["deduction_bounds"] and f["deduction_bounds"]["pinned"]) for f in deduced["failures"])
    misses = flagged = 0
    for f in deduced["failures"]:
        b, w = f["deduction_bounds"], worst.get(f["target"])
        if b is None or b.get("timed_out") or not w or abs(f["worst_utilization"] - w) <= 0.02 * w:
            continue
        misses += 1
        flagged += b["high"] is None or b["high"] - b["low"] >= abs(f["worst_utilization"] - w)
    return {"failures": len(deduced["failures"]), "pinned": pinned, "misses": misses, "misses_flagged": flagged}


def one_run(name: str, model: str, step: int, seed: int, with_ceiling: bool, with_bounds: bool = False
            ) -> dict[str, Any]:
    steps = STEPS_PER_DAY[step]
    topology = load_topology(name)
    truth = make_traffic("synthetic", topology, steps, float(step), seed=seed, model=model)
    out: dict[str, Any] = {"topology": name, "traffic_model": model, "step_minutes": step, "steps": steps,
                           "seed": seed, "methods": {}}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NETDRIFT_DATA_DIR"] = tmp
        loads_csv = f"{tmp}/loads.csv"
        gen = ["--traffic-model", model, "--seed", str(seed)]
        quiet(["simulate", "--topology", name, "--steps", str(steps), "--step-minutes", str(step), *gen,
               "--out", loads_csv])
        sweep_args = ["sweep", "--topology", name, "--steps", str(steps), "--kind", "link", "--from", "0",
                      "--to", str(steps), "--top", "0", "--json", "--db", f"sqlite:///{tmp}/history.sqlite"]
        t0 = time.perf_counter()
        true = json.loads(quiet(sweep_args + ["--step-minutes", str(step), *gen]))
        out["sweep_s"] = round(time.perf_counter() - t0, 2)
        loads = load_link_loads_csv(loads_csv, topology)
        for method in METHODS:
            bounds = ["--bounds"] if with_bounds and method == "prior" else []
            deduced = json.loads(quiet(sweep_args + ["--link-loads", loads_csv, "--deduce", method, *bounds]))
            _, rep = deduce_demands(topology, loads, method, truth=truth)
            out["methods"][method] = {**compare(true, deduced),
                                      "demand_error": round(float(np.nanmedian(rep.demand_error)), 4),
                                      "link_fit_max": deduced["deduction"]["link_fit"]["max"],
                                      "ms_per_step": round(rep.ms_per_step, 2)}
            if bounds:
                out["methods"][method]["bounds"] = bounds_figures(true, deduced)
        if with_ceiling:
            out["ceiling_true_mean_prior"] = ceiling(topology, truth, loads, true, steps)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topologies", default="geant2001")
    ap.add_argument("--step-minutes", default="5,15", help="comma-separated, each 5 or 15 (one day of steps)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--models", default="sine,backbone")
    ap.add_argument("--ceiling", action="store_true", help="add the true-mean prior's figures (see the docstring)")
    ap.add_argument("--bounds", action="store_true", help="add the prior sweep's --bounds figures (see the docstring)")
    args = ap.parse_args()
    runs = []
    for name in args.topologies.split(","):
        for model in args.models.split(","):
            for step in (int(s) for s in args.step_minutes.split(",")):
                if step not in STEPS_PER_DAY:
                    raise SystemExit(f"--step-minutes: {step} is not one of {sorted(STEPS_PER_DAY)}")
                for seed in (int(s) for s in args.seeds.split(",")):
                    runs.append(one_run(name, model, step, seed, args.ceiling, args.bounds))
    tally = {m: {"passes": sum(r["methods"][m]["passes"] for r in runs),
                 "top5_equal": sum(r["methods"][m]["top5_equal"] for r in runs),
                 "top5_equal_but_near_ties": sum(r["methods"][m]["top5_equal_but_near_ties"] for r in runs),
                 "max_diff_within_5pct": sum(r["methods"][m]["worst_utilization_rel_diff"]["max"] <= 0.05 for r in runs)}
             for m in METHODS}
    if args.bounds:
        tally["bounds"] = {k: sum(r["methods"]["prior"]["bounds"][k] for r in runs)
                           for k in ("failures", "pinned", "misses", "misses_flagged")}
    if args.ceiling:
        tally["ceiling_true_mean_prior"] = {"passes": sum(r["ceiling_true_mean_prior"]["passes"] for r in runs)}
    print(json.dumps({"bench": "deduce_sweep", "runs_total": len(runs), "near_tie": NEAR_TIE,
                      "load_average": os.getloadavg(), "tally": tally, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
