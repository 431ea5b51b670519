"""`netdrift paper`: the paper's experiment family on the Geant2001 preset, stored and tabulated."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from netdrift.cli.bounds import seeds_arg
from netdrift.cli.common import (
    STEPS_BOUND,
    HistoryWhenNeeded,
    StderrProgress,
    add_forecast_options,
    add_traffic_model_option,
    forecast_overrides,
    forecast_settings,
    print_json,
    step_minutes_arg,
    steps_arg,
    traffic_model,
    with_max_memory,
)
from netdrift.engine.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("paper", help="liquid vs incremental through moderate and drastic drift (the paper's family)",
                       description="Single-link failures on Geant2001 chosen from moderate to drastic drift; "
                                   "liquid (CfC, LTC) vs incremental at several batch sizes plus baselines. "
                                   "Every failure scenario is stored in the history.")
    p.add_argument("--topology", default="geant2001", help="bundled name or file (default geant2001)")
    p.add_argument("--steps", type=steps_arg, default=4032, help=f"steps per scenario ({STEPS_BOUND}; default 4032 = 2 weeks)")
    p.add_argument("--train-steps", type=steps_arg, default=2016, help="training steps (default 2016 = 1 week)")
    p.add_argument("--step-minutes", type=step_minutes_arg, default=5.0, help="minutes per step, in (0, 10080] (default 5)")
    p.add_argument("--batch-sizes", default="12,48,144", help="incremental batch sizes B (default 12,48,144)")
    p.add_argument("--il-windows", default="288", help="incremental re-fit windows N to sweep (default 288)")
    p.add_argument("--per-class", type=seeds_arg, default=2, help="failures per drift class (1..1000, default 2)")
    p.add_argument("--traffic", default="synthetic", help="'synthetic' or a replay file/folder (SNDlib, CSV)")
    add_traffic_model_option(p)
    p.add_argument("--seeds", type=seeds_arg, default=1,
                   help="repeat with K seeds, 1..1000 (models; traffic too when synthetic); intervals over the distinct "
                        "failure scenarios (with replayed traffic the seeds share one scenario per failure, "
                        "averaged over them)")
    add_forecast_options(p)
    p.add_argument("--db", help="SQLAlchemy URL of the history")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


@with_max_memory  # the default budget fixed once, at the start
def run(args: argparse.Namespace) -> int:
    from netdrift.engine.experiments.paper import PaperConfig, aggregate, failure_counts, is_replay, run_paper
    from netdrift.engine.forecasting.settings import IncrementalSettings
    from netdrift.engine.forecasting.torch_utils import resolve_device
    from netdrift.service.scenarios import ScenarioService

    model = traffic_model(args)
    batch_sizes = _whole_numbers("--batch-sizes", args.batch_sizes)
    il_windows = _whole_numbers("--il-windows", args.il_windows)
    overrides = forecast_overrides(args)
    overrides.setdefault("residual", False)  # the paper's original form unless --residual on
    overrides.pop("liquid_cell", None)  # the family runs both cells
    # --il-replay sets the share of the '-replay' variants (default 0.5; 0: only the paper's plain ones)
    il_replay = overrides.pop("il_replay", 0.5)
    # The base config holds the smallest B; each incremental variant overrides it. N must exceed
    # every B, so unless the user chose N it is at least twice the largest B.
    overrides["il_batch"] = min(batch_sizes)
    overrides.setdefault("il_window", max(IncrementalSettings().il_window, 2 * max(batch_sizes)))
    if min(il_windows) <= max(batch_sizes):
        raise InputError(f"--il-windows '{args.il_windows}'", f"every N must exceed every B (largest B: {max(batch_sizes)})")
    config = PaperConfig(topology=args.topology, steps=args.steps, train_steps=args.train_steps,
                         step_minutes=args.step_minutes, batch_sizes=batch_sizes, il_windows=il_windows,
                         il_replay=il_replay, per_class=args.per_class, traffic=args.traffic, traffic_model=model, seeds=args.seeds,
                         seed=args.seed, device=resolve_device(args.device), forecast=forecast_settings(overrides))
    history = HistoryWhenNeeded(args.db)  # a new SQLite file only once a scenario is stored: a refusal leaves none
    services: list[ScenarioService] = []
    ids: list[int] = []

    def store(link: str, cls: str, result) -> None:
        if not services:
            services.append(ScenarioService(history()))
        ids.append(services[0].record(result, label=f"paper: {link} failure ({cls} drift)"))

    rows = run_paper(config, StderrProgress(), store)
    table = aggregate(rows)
    found = failure_counts(rows, config)
    replicates = ("models only (replayed traffic: each failure is one scenario, its seeds averaged)"
                  if is_replay(config.traffic) else "models and traffic (each failure of each seed is a scenario)")
    if args.json:
        print_json({"scenario_ids": ids, "traffic_model": None if is_replay(config.traffic) else model,
                    "failures_found": found, "replicates": replicates,
                    "rows": [asdict(r) for r in rows], "table": table})
        return 0
    for line in found_lines(found):
        print(line)
    if not rows:
        print("no link failure in this topology causes moderate or drastic drift without partitioning it")
        return 0
    print(f"paper experiment on {config.topology}: {len(ids)} runs stored (ids {ids}); the seeds vary the {replicates}")
    print(f"{'drift':<9}{'model':<26}{'RMSE post':>24}{'RMSE day 1':>24}{'excess RMSE':>24}"
          f"{'vs persistence':>26}{'TTC med':>9}{'censored':>10}")
    for r in table:
        vs = r["rmse_post_vs_persistence"]
        vs_text = "-" if vs["mean"] is None else (
            f"{vs['mean']:+.2f}" + (f" [{vs['ci'][0]:+.2f},{vs['ci'][1]:+.2f}]" if vs["ci"] else "")
            + (" noise" if vs["within_noise"] else ""))
        ttc = "-" if r["ttc_median_steps"] is None else f"{r['ttc_median_steps']:.1f}"
        print(f"{r['drift_class']:<9}{r['model']:<26}{_with_ci(r['rmse_post_mbps']):>24}"
              f"{_with_ci(r['rmse_day1_mbps']):>24}{_with_ci(r['excess_rmse_post_mbps']):>24}{vs_text:>28}"
              f"{ttc:>9}{r['ttc_censored']:>7}/{r['runs']}")
    print("Mbit/s, mean [95 % interval] over the distinct failure scenarios; excess = against the same traffic without the "
          "failure; 'noise' = the difference to persistence is within noise; TTC median over converged runs (steps)")
    return 0


def found_lines(found: dict) -> list[str]:
    """One line per drift class: the failures found, and plainly when fewer than asked."""
    lines = []
    for cls, f in found.items():
        line = f"{cls} drift: {f['found']} failure scenario(s) found of {f['asked']} asked"
        if f["short"]:
            line += (f" -- FEWER THAN ASKED: only {f['found']} link failure(s) cause {cls} drift without "
                     "partitioning the network")
        lines.append(line)
    return lines


def _with_ci(v: dict) -> str:
    if v["mean"] is None:
        return "-"
    return f"{v['mean']:.2f}" + (f" [{v['ci'][0]:.2f},{v['ci'][1]:.2f}]" if v["ci"] else "")


def _whole_numbers(flag: str, text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(b) for b in text.split(",") if b.strip())
    except ValueError:
        raise InputError(f"{flag} '{text}'", "expected comma-separated whole numbers") from None
    if not values or min(values) < 1:
        raise InputError(f"{flag} '{text}'", "values must be at least 1")
    return values
