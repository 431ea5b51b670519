"""Ensemble vs best single model vs persistence, per traffic model, step and horizon (issue 19).

Runs ``netdrift run --json`` (the same path a user takes) on a small topology with one link failed
a day after training (by default: Geant2001, link 2-3, 7 days of training, 2 days after), for
the backbone proxy and the sine traffic at 5- and 15-minute steps, horizons 1 and 12 (the
README's table). Prints JSON: per case, each model's rmse_pre, rmse_post, rmse_day1, coverage_pre
and coverage_day1 and widths, the best single model, and the ensemble's gaps to it and to
persistence. ``--cost`` adds the ensemble's per-step cost on Cogentco (link-level members
only; its forecast + observe time from the run's model stats), ``--full`` the wall time of a
two-week Geant2001 run with every model. ``--abilene`` runs the shape of the issue's check on
real traffic instead: Abilene (Topology Zoo), the backbone proxy at 5 minutes, two weeks (one of
training), each of ``--links`` failed a day after training, link loads observed, H = 1 and 12;
each case then says which of the issue's targets it meets (``targets``). Timings are wall-clock
on a shared machine.

    .venv/bin/python bench/bench_ensemble.py [--quick] [--cost] [--full] [--seed K]
    .venv/bin/python bench/bench_ensemble.py --abilene [--links 6-7,1-10,4-5,8-9] [--seed K]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

MODELS = "persistence,online-ar,liquid,frozen,routed-persistence,ensemble"
NETDRIFT = os.path.join(os.path.dirname(sys.executable), "netdrift")


def run(args: list[str]) -> tuple[dict, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [NETDRIFT, "run", *args, "--json", "--db", f"sqlite:///{tmp}/bench.sqlite"]
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr[-2000:]}")
        return json.loads(out.stdout), time.perf_counter() - start


def case(topology: str, link: str, traffic: str, minutes: float, horizon: int, days: tuple[int, int],
         seed: int = 0, observe: str | None = None) -> dict:
    per_day = int(round(24 * 60 / minutes))
    train, steps = days[0] * per_day, (days[0] + days[1]) * per_day
    result, seconds = run(["--topology", topology, "--traffic-model", traffic, "--step-minutes", str(minutes),
                           "--steps", str(steps), "--train-steps", str(train), "--fail", f"{link}@{train + per_day}",
                           "--models", MODELS, "--horizon", str(horizon), "--interval", "0.9", "--seed", str(seed),
                           *(["--observe", observe] if observe else [])])
    keys = ("rmse_pre", "rmse_post", "rmse_day1", "coverage_pre", "coverage_day1", "coverage_day1_informed",
            "mean_width_pre_mbps", "mean_width_day1_mbps")
    models = {m: {k: v.get(k) for k in keys} for m, v in result["models"].items()}
    singles = {m: v for m, v in models.items() if m != "ensemble"}
    best = min(singles, key=lambda m: singles[m]["rmse_post"])
    ens, pers = models["ensemble"], models["persistence"]
    gaps = {
        "ensemble_vs_best_post_pct": 100 * (ens["rmse_post"] / singles[best]["rmse_post"] - 1),
        "ensemble_vs_best_day1_pct": 100 * (ens["rmse_day1"] / min(v["rmse_day1"] for v in singles.values()) - 1),
        "ensemble_vs_persistence_post_pct": 100 * (ens["rmse_post"] / pers["rmse_post"] - 1),
        "liquid_vs_persistence_post_pct": 100 * (models["liquid"]["rmse_post"] / pers["rmse_post"] - 1),
    }
    return {
        "topology": topology, "traffic": traffic, "step_minutes": minutes, "horizon": horizon, "seed": seed,
        "steps": steps, "train_steps": train, "fail": f"{link}@{train + per_day}", "seconds": round(seconds, 1),
        "models": models, "best_single": best, **gaps, "targets": targets(models, gaps),
    }


def targets(models: dict, gaps: dict) -> dict:
    """The issue's targets for one run (``gaps``: the ensemble's and liquid's, in %): {target: met}."""
    out = {"ensemble_post_within_2pct_of_best": gaps["ensemble_vs_best_post_pct"] <= 2.0,
           "ensemble_day1_within_2pct_of_best": gaps["ensemble_vs_best_day1_pct"] <= 2.0,
           "ensemble_post_5pct_under_persistence": gaps["ensemble_vs_persistence_post_pct"] <= -5.0,
           "liquid_post_not_above_persistence": gaps["liquid_vs_persistence_post_pct"] <= 0.0}
    for m in ("persistence", "liquid", "ensemble"):
        out[f"{m}_coverage_pre_88_92"] = 88.0 <= models[m]["coverage_pre"] <= 92.0
        out[f"{m}_coverage_day1_85_95"] = 85.0 <= models[m]["coverage_day1"] <= 95.0
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="backbone at 5 minutes only, 4 days of training + 2")
    p.add_argument("--cost", action="store_true", help="the ensemble's per-step cost on Cogentco")
    p.add_argument("--full", action="store_true", help="time a two-week Geant2001 run with every model")
    p.add_argument("--seed", type=int, default=0, help="the runs' seed (traffic and models; default 0)")
    p.add_argument("--abilene", action="store_true", help="the shape of the issue's real check (see above)")
    p.add_argument("--links", default="6-7,1-10,4-5,8-9", help="with --abilene: the links failed, one run each")
    args = p.parse_args()
    if args.abilene:  # (topology, link, traffic, minutes, horizon, days, observe)
        grid = [("abilene", link, "backbone", 5.0, h, (7, 7), "links") for link in args.links.split(",") for h in (1, 12)]
    else:
        days = (4, 2) if args.quick else (7, 2)  # (days of training, days after): the failure a day in, then a day
        grid = [("geant2001", "2-3", traffic, minutes, h, days, None)
                for traffic, minutes in ([("backbone", 5.0)] if args.quick else
                                         [(t, m) for t in ("backbone", "sine") for m in (5.0, 15.0)])
                for h in (1, 12)]
    out: dict = {"cases": []}
    for topology, link, traffic, minutes, h, days, observe in grid:
        out["cases"].append(case(topology, link, traffic, minutes, h, days, args.seed, observe))
        print(json.dumps(out["cases"][-1]), file=sys.stderr, flush=True)  # each case as it ends
    met = [all(c["targets"].values()) for c in out["cases"]]
    out["runs_meeting_every_target"] = f"{sum(met)} of {len(met)}"
    if args.cost:
        result, seconds = run(["--topology", "cogentco", "--steps", "400", "--train-steps", "300",
                               "--models", "persistence,seasonal,online-ar,ensemble", "--horizon", "12",
                               "--interval", "0.9", "--traffic-model", "backbone"])
        out["cogentco_ensemble_ms_per_step"] = result["models"]["ensemble"].get("predict_ms_per_step")
        out["cogentco_seconds"] = round(seconds, 1)
    if args.full:
        from netdrift.engine.forecasting.catalogue import MODEL_NAMES

        _, seconds = run(["--topology", "geant2001", "--steps", "4032", "--train-steps", "2016",
                          "--fail", "2-3@2304", "--models", ",".join(MODEL_NAMES), "--horizon", "1"])
        out["geant2001_two_weeks_all_models_seconds"] = round(seconds, 1)
    out["note"] = "wall-clock on a shared 2-core machine"
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
