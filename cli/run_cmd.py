"""`netdrift run`: a forecasting scenario through failures, stored in the history."""

from __future__ import annotations

import argparse
import time

from cli.common import (DEFAULT_MODELS_TEXT, StderrProgress, add_forecast_options, forecast_overrides, open_db,
                        positive_int, print_json)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run forecasters through failures and store the scenario",
                       description="Simulate link loads, fail links/nodes, forecast with every model, "
                                   "store actuals, forecasts and metrics in the history database.")
    p.add_argument("--topology", required=True, help="bundled name (e.g. geant2001) or a topology file")
    p.add_argument("--weights", choices=("hop", "distance", "inv-capacity"), help="IGP weights when the file has none")
    p.add_argument("--traffic", default="synthetic", help="'synthetic' or a replay file/folder (SNDlib, CSV)")
    p.add_argument("--steps", type=positive_int, required=True, help="N: steps in the run")
    p.add_argument("--train-steps", type=positive_int, required=True, help="K: steps of the training period (K < N)")
    p.add_argument("--step-minutes", type=float, default=5.0, help="minutes per step for synthetic traffic (default 5)")
    p.add_argument("--peak-utilization", type=float, default=0.6, help="synthetic busiest-link peak (default 0.6)")
    p.add_argument("--fail", action="append", default=[], metavar="ID@STEP[:RESTORE]",
                   help="fail a link or node at STEP (restore at RESTORE); repeatable")
    p.add_argument("--models", default=DEFAULT_MODELS_TEXT, help=f"comma-separated, from {DEFAULT_MODELS_TEXT}")
    add_forecast_options(p)
    p.add_argument("--db", help="SQLAlchemy URL of the history (default: the data directory's SQLite file)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", help="a name for the scenario in the history")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that `netdrift --help` and light commands do not load torch.
    from engine.forecasting.base import ForecastConfig
    from engine.forecasting.registry import resolve_device
    from engine.metrics import summary_table
    from engine.scenario import LiveScenario, ScenarioSpec
    from storage.repository import ScenarioRepository

    device = resolve_device(args.device)
    Session = open_db(args.db)
    spec = ScenarioSpec(
        topology=args.topology, weights=args.weights, traffic=args.traffic, steps=args.steps,
        train_steps=args.train_steps, step_minutes=args.step_minutes, peak_utilization=args.peak_utilization,
        models=tuple(m.strip() for m in args.models.split(",") if m.strip()),
        forecast=ForecastConfig(**forecast_overrides(args)), failures=tuple(args.fail), seed=args.seed,
        device=device,
    )
    live = LiveScenario.from_spec(spec)  # validates everything before anything is stored
    progress = StderrProgress()
    t0 = time.perf_counter()
    with Session.begin() as s:
        sid = ScenarioRepository(s).create_scenario(live.topology, spec.to_dict(), spec.seed,
                                                    [e.label for e in live.entries], label=args.label)
    try:
        live.train(progress)
        live.advance(live.total_steps - live.step, progress)
        result = live.result()
    except BaseException:
        with Session.begin() as s:
            ScenarioRepository(s).mark_interrupted(sid)
        raise
    t_store = time.perf_counter()
    with Session.begin() as s:
        ScenarioRepository(s).save_result(sid, result)
    store_seconds = time.perf_counter() - t_store
    summary = summary_table(result.metrics)
    models = {}
    for label, stats in result.model_stats.items():
        models[label] = {**summary.get(label, {}), "retrains": stats["retrains"],
                         "fit_seconds": stats["fit_seconds"], "predict_ms_per_step": stats["predict_ms_per_step"]}
    out = {"scenario_id": sid, "topology": live.topology.name, "steps": live.total_steps,
           "train_steps": live.train_steps, "device": device,
           "events": [{"step": e.step, "action": e.action, "target": e.target, "kind": e.kind} for e in result.events],
           "models": models, "run_seconds": time.perf_counter() - t0, "store_seconds": store_seconds}
    if args.json:
        print_json(out)
    else:
        _print_table(out)
    return 0


def _fmt(v: object) -> str:
    if v is None:
        return "censored"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def _print_table(out: dict) -> None:
    print(f"scenario {out['scenario_id']} on {out['topology']}: {out['steps']} steps, "
          f"trained on {out['train_steps']}, stored in {out['store_seconds']:.2f} s")
    cols = ("rmse_pre", "rmse_post", "mape_pre", "mape_post", "ttc_steps", "retrains", "fit_seconds")
    print(f"{'model':<14}" + "".join(f"{c:>13}" for c in cols))
    for label, m in out["models"].items():
        cells = []
        for c in cols:
            v = m.get(c)
            cells.append(",".join(_fmt(x) for x in v) if isinstance(v, list) else _fmt(v))
        print(f"{label:<14}" + "".join(f"{c:>13}" for c in cells))
    print("RMSE in Mbit/s, MAPE in %, TTC in steps (censored = not converged within the run)")
