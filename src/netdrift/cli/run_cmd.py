"""`netdrift run`: a forecasting scenario through failures, stored in the history."""

from __future__ import annotations

import argparse
import math

from netdrift.cli.bounds import seeds_arg
from netdrift.cli.common import (
    DEFAULT_MODELS_TEXT,
    MODEL_NAMES,
    OBSERVE_CHOICES,
    STEPS_BOUND,
    StderrProgress,
    add_forecast_options,
    add_max_memory_option,
    add_traffic_model_option,
    check_db_folder,
    forecast_overrides,
    forecast_settings,
    model_names,
    open_db,
    print_json,
    step_minutes_arg,
    steps_arg,
    traffic_model,
    with_max_memory,
)
from netdrift.cli.link_loads_options import add_link_loads_options, link_loads_as_traffic
from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.catalogue import ROUTED_DEFAULT_MAX_PAIRS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run forecasters through failures and store the scenario",
                       description="Simulate link loads, fail links/nodes, forecast with every model, "
                                   "store actuals, forecasts and metrics in the history database.")
    p.add_argument("--topology", required=True, help="bundled name (e.g. geant2001) or a topology file")
    p.add_argument("--weights", choices=("hop", "distance", "inv-capacity"), help="IGP weights when the file has none")
    given = p.add_mutually_exclusive_group()
    given.add_argument("--traffic", default="synthetic", help="'synthetic' or a replay file/folder (SNDlib, CSV)")
    add_link_loads_options(p, given)
    add_traffic_model_option(p)
    p.add_argument("--steps", type=steps_arg, required=True, help=f"N: steps in the run ({STEPS_BOUND})")
    p.add_argument("--train-steps", type=steps_arg, required=True, help="K: steps of the training period (K < N)")
    p.add_argument("--step-minutes", type=step_minutes_arg,
                   help="minutes per step, in (0, 10080], for synthetic traffic (default 5); replay traffic keeps its data's step "
                        "(given, it must match it)")
    p.add_argument("--peak-utilization", type=float, default=0.6, help="synthetic busiest-link peak (default 0.6)")
    p.add_argument("--fail", action="append", default=[], metavar="ID@STEP[:RESTORE]",
                   help="fail a link or node at STEP (restore at RESTORE); repeatable")
    p.add_argument("--models", default=None,
                   help=f"comma-separated, from {', '.join(MODEL_NAMES)} (default {DEFAULT_MODELS_TEXT}, "
                        f"without routed-persistence on topologies of over {ROUTED_DEFAULT_MAX_PAIRS:,} node pairs "
                        "with --observe links: it deduces every pair's demand at every step); "
                        "routed-* models forecast demands and route them through the network as it is")
    p.add_argument("--observe", choices=OBSERVE_CHOICES, default="links",
                   help="what routed models see: 'links' (link loads and node totals; demands estimated by "
                        "tomogravity, the default) or 'demands' (the true demands, an upper bound)")
    from netdrift.engine.experiments.spec import ScenarioSpec

    level, warn = (ScenarioSpec.__dataclass_fields__[n].default for n in ("interval", "warn_utilization"))
    p.add_argument("--interval", type=float, default=level,
                   help=f"nominal coverage of every model's prediction interval (default {level}; conformal, online)")
    p.add_argument("--warn-utilization", type=float, default=warn,
                   help="overload warnings: raise when a forecast's upper bound reaches this fraction of "
                        f"capacity within the horizon (default {warn})")
    add_forecast_options(p)
    p.add_argument("--db", help="SQLAlchemy URL of the history (default: the data directory's SQLite file)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=seeds_arg, default=1,
                   help="repeat with K seeds, 1..1000 (seed..seed+K-1: models, and traffic when synthetic); the JSON "
                        "gives each metric's mean and 95%% interval and each model's difference to persistence")
    p.add_argument("--pre-steps", type=steps_arg,
                   help="steps before the first failure scored as 'pre' (default one day)")
    p.add_argument("--label", help="a name for the scenario in the history")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_max_memory_option(p)
    p.set_defaults(func=run)


@with_max_memory
def run(args: argparse.Namespace) -> int:
    # The checks that need no model come first, before torch is loaded (seconds) or the history opened.
    from netdrift.engine.traffic.synthetic import check_seed

    check_seed(args.seed)  # before the history is opened: a refused run leaves no database behind
    check_db_folder(args.db)  # a SQLite --db in a missing folder: refused, no folder made
    model = traffic_model(args)
    deduction = link_loads_as_traffic(args)  # with --link-loads, args.traffic is now the deduced demands
    if args.step_minutes is not None and not (math.isfinite(args.step_minutes) and args.step_minutes > 0):
        raise InputError("--step-minutes", f"must be > 0 (got {args.step_minutes})")
    if args.traffic.strip().lower() == "synthetic":  # a too-large topology file, refused before it is loaded
        from netdrift.engine.traffic.sources import check_synthetic_fits

        check_synthetic_fits(args.topology, args.steps, model=model)
        step_minutes = 5.0 if args.step_minutes is None else args.step_minutes
    else:  # the same rule as simulate's, checked before any work: the data's step, or the one stated if equal
        from netdrift.engine.traffic.sources import check_replay_step, replay_step_minutes

        if args.step_minutes is not None:
            check_replay_step(args.traffic, args.step_minutes, replay_step_minutes(args.traffic, args.step_minutes))
        step_minutes = 5.0 if args.step_minutes is None else args.step_minutes  # the data's own step is used
    # Imported here so that `netdrift --help` and light commands do not load torch.
    from netdrift.engine.experiments.scenario import LiveScenario
    from netdrift.engine.experiments.spec import ScenarioSpec
    from netdrift.engine.forecasting.torch_utils import configure_threads, resolve_device
    from netdrift.service.scenarios import ScenarioService, run_summary

    configure_threads()
    device = resolve_device(args.device)
    from netdrift.engine.forecasting.catalogue import default_models
    from netdrift.engine.network.loaders import load_topology

    topology = load_topology(args.topology, weights=args.weights)
    models = model_names(args.models) if args.models is not None else default_models(len(topology.nodes), args.observe)
    spec = ScenarioSpec(
        topology=args.topology, weights=args.weights, traffic=args.traffic, traffic_model=model, steps=args.steps,
        train_steps=args.train_steps, step_minutes=step_minutes, peak_utilization=args.peak_utilization,
        models=models, forecast=forecast_settings(forecast_overrides(args)),
        failures=tuple(args.fail), observe=args.observe, interval=args.interval,
        warn_utilization=args.warn_utilization, pre_steps=args.pre_steps, seed=args.seed, device=device,
    )
    live = LiveScenario.from_spec(spec, topology=topology)  # bad input (a --fail, a model, the sizes) refused before the history opens
    service = ScenarioService(open_db(args.db))
    if args.seeds > 1:
        outcomes, together = service.run_seeds(spec, args.seeds, label=args.label, progress=StderrProgress(),
                                               first=live)
        runs = [run_summary(o, device) for o in outcomes]
        out = {"scenario_ids": [r["scenario_id"] for r in runs], "seeds": [spec.seed + k for k in range(args.seeds)],
               "topology": runs[0]["topology"], "steps": runs[0]["steps"], "train_steps": runs[0]["train_steps"],
               "device": device, "events": runs[0]["events"], "warnings": runs[0]["warnings"],
               "drift": [r.get("drift") for r in runs], **together,
               "run_seconds": sum(r["run_seconds"] for r in runs), "runs": runs,
               **({"deduction": deduction.report.summary()} if deduction is not None else {})}
        if args.json:
            print_json(out)
        else:
            _print_seed_table(out)
        return 0
    outcome = service.run(spec, label=args.label, progress=StderrProgress(), live=live)
    out = run_summary(outcome, device)
    if deduction is not None:
        out["deduction"] = deduction.report.summary()
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
    cols = ("rmse_pre", "rmse_post", "rmse_day1", "rmse_transient", "mape_post", "ttc_steps", "retrains")
    print(f"{'model':<14}" + "".join(f"{c:>13}" for c in cols))
    for label, m in out["models"].items():
        cells = []
        for c in cols:
            v = m.get(c)
            cells.append(",".join(_fmt(x) for x in v) if isinstance(v, list) else _fmt(v))
        print(f"{label:<14}" + "".join(f"{c:>13}" for c in cells))
    print("RMSE in Mbit/s, MAPE in %, TTC in steps (censored = not converged within the run)")


def _print_seed_table(out: dict) -> None:
    print(f"{len(out['seeds'])} seeds on {out['topology']} (scenarios {out['scenario_ids']}); "
          "mean [95 % interval] over seeds, Mbit/s")
    if out.get("replicates"):
        print(f"the seeds vary the {out['replicates']}")
    cols = ("rmse_post", "rmse_day1", "excess_rmse_post")
    print(f"{'model':<20}" + "".join(f"{c:>28}" for c in cols) + f"{'vs persistence (post)':>34}")
    for label, line in out["models"].items():
        cells = []
        for c in cols:
            v = line.get(c)
            ci = v and v.get("ci")
            cells.append("-" if not v or v["mean"] is None else
                         f"{v['mean']:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else f"{v['mean']:.2f}")
        d = out.get("vs_baseline", {}).get(label, {}).get("rmse_post_diff")
        vs = "-" if not d or d["estimate"] is None else (
            f"{d['estimate']:+.2f} [{d['ci'][0]:+.2f}, {d['ci'][1]:+.2f}]" + (" noise" if d["within_noise"] else ""))
        print(f"{label:<20}" + "".join(f"{c:>28}" for c in cells) + f"{vs:>34}")
