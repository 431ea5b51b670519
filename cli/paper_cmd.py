"""`netdrift paper`: the paper's experiment family on the Geant2001 preset, stored and tabulated."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from cli.common import (StderrProgress, add_forecast_options, forecast_overrides, forecast_settings, open_db,
                        positive_int, print_json)
from engine.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("paper", help="liquid vs incremental through moderate and drastic drift (the paper's family)",
                       description="Single-link failures on Geant2001 chosen from moderate to drastic drift; "
                                   "liquid (CfC, LTC) vs incremental at several batch sizes plus baselines. "
                                   "Every failure scenario is stored in the history.")
    p.add_argument("--topology", default="geant2001", help="bundled name or file (default geant2001)")
    p.add_argument("--steps", type=positive_int, default=4032, help="steps per scenario (default 4032 = 2 weeks)")
    p.add_argument("--train-steps", type=positive_int, default=2016, help="training steps (default 2016 = 1 week)")
    p.add_argument("--step-minutes", type=float, default=5.0)
    p.add_argument("--batch-sizes", default="12,48,144", help="incremental batch sizes B (default 12,48,144)")
    p.add_argument("--per-class", type=positive_int, default=2, help="failures per drift class (default 2)")
    add_forecast_options(p)
    p.add_argument("--db", help="SQLAlchemy URL of the history")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.experiments.paper import PaperConfig, aggregate, run_paper
    from engine.forecasting.settings import IncrementalSettings
    from engine.forecasting.torch_utils import resolve_device
    from service.scenarios import ScenarioService

    try:
        batch_sizes = tuple(int(b) for b in args.batch_sizes.split(",") if b.strip())
    except ValueError:
        raise InputError(f"--batch-sizes '{args.batch_sizes}'", "expected comma-separated whole numbers") from None
    if not batch_sizes or min(batch_sizes) < 1:
        raise InputError(f"--batch-sizes '{args.batch_sizes}'", "batch sizes must be at least 1")
    overrides = forecast_overrides(args)
    overrides.pop("liquid_cell", None)  # the family runs both cells
    # The base config holds the smallest B; each incremental variant overrides it. N must exceed
    # every B, so unless the user chose N it is at least twice the largest B.
    overrides["il_batch"] = min(batch_sizes)
    overrides.setdefault("il_window", max(IncrementalSettings().il_window, 2 * max(batch_sizes)))
    config = PaperConfig(topology=args.topology, steps=args.steps, train_steps=args.train_steps,
                         step_minutes=args.step_minutes, batch_sizes=batch_sizes, per_class=args.per_class,
                         seed=args.seed, device=resolve_device(args.device), forecast=forecast_settings(overrides))
    service = ScenarioService(open_db(args.db))
    ids: list[int] = []

    def store(link: str, cls: str, result) -> None:
        ids.append(service.record(result, label=f"paper: {link} failure ({cls} drift)"))

    rows = run_paper(config, StderrProgress(), store)
    table = aggregate(rows)
    if args.json:
        print_json({"scenario_ids": ids, "rows": [asdict(r) for r in rows], "table": table})
        return 0
    if not rows:
        print("no link failure in this topology causes moderate or drastic drift without partitioning it")
        return 0
    print(f"paper experiment on {config.topology}: {len(ids)} failure scenarios stored (ids {ids})")
    print(f"{'drift':<9}{'model':<18}{'B':>5}{'RMSE Mbit/s':>13}{'MAPE %':>9}{'TTC med':>9}{'censored':>10}")
    for r in table:
        fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
        print(f"{r['drift_class']:<9}{r['model']:<18}{str(r['batch_size'] or ''):>5}"
              f"{fmt(r['rmse_post_mbps']):>13}{fmt(r['mape_post_pct']):>9}{fmt(r['ttc_median_steps']):>9}"
              f"{r['ttc_censored']:>7}/{r['failures']}")
    print("post-failure RMSE and MAPE averaged over failures; TTC median over converged runs (steps)")
    return 0
