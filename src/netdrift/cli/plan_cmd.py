"""`netdrift plan`: the cheapest capacity upgrades, and when each is needed, so that no failure of a
set takes any link direction over a target utilisation over the horizon. See docs/planning.md."""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from netdrift.cli.bounds import workers_arg
from netdrift.cli.common import (
    STEPS_BOUND,
    StderrProgress,
    add_max_memory_option,
    add_traffic_model_option,
    print_json,
    step_minutes_arg,
    steps_arg,
    traffic_model,
    with_max_memory,
)
from netdrift.cli.link_loads_options import add_link_loads_options, check_deduce_option, deduced_traffic
from netdrift.engine.errors import InputError

__all__ = ["register", "run", "summary_lines"]

SURVIVE = ("none", "link", "node", "srlg", "link-pairs")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan", help="plan the cheapest capacity upgrades so that no failure of a set overloads the network",
        description="Forecast the demands over --horizon-days (a growth rate per year, or a trend fitted per "
                    "origin with --growth auto, times each pair's weekly profile), sweep the horizon's last week "
                    "over every failure of --survive (and no failure), and add the cheapest capacity modules so "
                    "that every link direction stays at or under --target-utilization. Each upgrade says the "
                    "failure and step that size it and the date it is needed from. Demand a failure cuts off is "
                    "reported, never fixed by capacity. See docs/planning.md.")
    p.add_argument("--topology", required=True, help="bundled name (e.g. geant2012) or a topology file")
    given = p.add_mutually_exclusive_group()
    given.add_argument("--traffic", default="synthetic",
                       help="the history: 'synthetic' (default) or a replay file/folder (SNDlib, CSV time,src,dst,mbps)")
    add_link_loads_options(p, given)
    add_traffic_model_option(p)
    p.add_argument("--steps", type=steps_arg, required=True, help=f"steps of history ({STEPS_BOUND})")
    p.add_argument("--step-minutes", type=step_minutes_arg,
                   help="minutes per step, in (0, 10080] (synthetic traffic: default 5; a replay keeps its own and refuses another)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic traffic (default 0)")
    p.add_argument("--peak-utilization", type=float, default=0.6,
                   help="synthetic traffic is scaled so the busiest direction peaks here with all links up (default 0.6)")
    p.add_argument("--horizon-days", type=float, required=True, metavar="D",
                   help="days ahead of the history's end the plan must hold (>= 7; the plan is made against "
                        "the horizon's last week)")
    p.add_argument("--growth", required=True, metavar="auto|RATE",
                   help="RATE: growth per year, compounded (0.3 = +30 %% a year, for every origin); auto: a robust "
                        "log-linear trend per origin fitted on the history (needs 14 days and a horizon no longer "
                        "than the history)")
    p.add_argument("--survive", required=True, choices=SURVIVE,
                   help="the failure set every direction must survive: none (normal operation only), each link, "
                        "each node, each shared-risk link group, each pair of links")
    p.add_argument("--srlg", metavar="FILE",
                   help="shared-risk link groups for --survive srlg: JSON {\"srlgs\": [{id, links}]} or CSV "
                        "'srlg,link_id' (default: the topology JSON's 'srlgs')")
    p.add_argument("--target-utilization", type=float, required=True, metavar="U",
                   help="the utilisation no direction may exceed, in (0, 1]")
    p.add_argument("--modules", required=True, metavar="MBPS,...",
                   help="capacity module sizes in Mbit/s, added as parallel circuits (e.g. 10000,40000,100000)")
    p.add_argument("--cost-per-module", metavar="Y[,Y...]",
                   help="cost of one module: one number, or one per module size (default 1 each)")
    p.add_argument("--cost-per-km", type=float, default=0.0, metavar="X",
                   help="cost per module and km of the link's length (default 0; links of unknown length pay none)")
    p.add_argument("--interval", type=float, metavar="LEVEL",
                   help="plan on the forecast's upper bound at this level (e.g. 0.9); needs two weeks of history")
    p.add_argument("--workers", type=workers_arg, help="worker processes of the sweep, 1..1024 (default: the CPU count)")
    p.add_argument("--out-topology", metavar="FILE.json", help="write the upgraded topology (netdrift JSON)")
    p.add_argument("--out-demands", metavar="FILE.csv",
                   help="write the demands the plan was made against (time,src,dst,mbps; the plan week)")
    p.add_argument("--json", action="store_true", help="print the plan as JSON on stdout")
    add_max_memory_option(p)
    p.set_defaults(func=run)


def _check_out(text: str | None, flag: str, suffix: str) -> Path | None:
    """Refuse an output that cannot be written, before any work."""
    if text is None:
        return None
    out = Path(text)
    if out.suffix.lower() != suffix:
        raise InputError(f"{flag} '{text}'", f"expected a file name ending in {suffix}")
    if out.is_dir():
        raise InputError(f"{flag} '{text}'", "is a folder")
    if not out.parent.is_dir():
        raise InputError(f"{flag} '{text}'", "its folder does not exist")
    if out.exists() and not os.access(out, os.W_OK):
        raise InputError(f"{flag} '{text}'", "the file exists and cannot be written")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=out.parent)
    except OSError as err:
        raise InputError(f"{flag} '{text}'", f"cannot write in its folder ({err.strerror or err})") from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)
    return out


def _checked_numbers(args: argparse.Namespace) -> tuple[float | None, tuple[float, ...], tuple[float, ...]]:
    from netdrift.engine.planning import parse_costs, parse_growth, parse_modules

    u = args.target_utilization
    if not (math.isfinite(u) and 0.0 < u <= 1.0):
        raise InputError("--target-utilization", f"must be in (0, 1] (got {u:g})")
    if not (math.isfinite(args.horizon_days) and args.horizon_days >= 7):
        raise InputError("--horizon-days", f"must be at least 7 (the plan is made against the horizon's last "
                                           f"week; got {args.horizon_days:g})")
    try:
        rate = parse_growth(args.growth)
        modules = parse_modules(args.modules)
        costs = parse_costs(args.cost_per_module, len(modules))
    except InputError as err:
        head, sep, rest = err.what.partition(" ")
        raise InputError("--" + head.replace("_", "-") + sep + rest, err.problem) from None
    if not (math.isfinite(args.cost_per_km) and args.cost_per_km >= 0):
        raise InputError("--cost-per-km", f"must be >= 0 (got {args.cost_per_km:g})")
    if args.interval is not None and not (math.isfinite(args.interval) and 0.0 < args.interval < 1.0):
        raise InputError("--interval", f"must be a level between 0 and 1 (got {args.interval:g})")
    if args.srlg and args.survive != "srlg":
        raise InputError("--srlg", f"only applies to --survive srlg (got --survive {args.survive})")
    if args.step_minutes is not None and not (math.isfinite(args.step_minutes) and args.step_minutes > 0):
        raise InputError("--step-minutes", f"must be > 0 (got {args.step_minutes:g})")
    if not (math.isfinite(args.peak_utilization) and args.peak_utilization > 0):
        raise InputError("--peak-utilization", f"must be > 0 (got {args.peak_utilization:g})")
    return rate, modules, costs


_NAMES = {"horizon_days": "--horizon-days", "steps": "--steps", "growth": "--growth", "interval": "--interval",
          "step_minutes": "--step-minutes", "traffic": "--traffic", "modules": "--modules",
          "target_utilization": "--target-utilization", "cost_per_module": "--cost-per-module"}


@with_max_memory
def run(args: argparse.Namespace) -> int:
    rate, modules, costs = _checked_numbers(args)
    out_topology = _check_out(args.out_topology, "--out-topology", ".json")
    out_demands = _check_out(args.out_demands, "--out-demands", ".csv")
    from netdrift.engine.network.loaders import load_topology
    from netdrift.engine.planning import plan
    from netdrift.engine.planning.export import write_plan_files
    from netdrift.engine.sweep import load_srlgs, srlgs_from_topology_file
    from netdrift.engine.traffic.sources import check_replay_step, check_synthetic_fits, make_traffic
    from netdrift.engine.traffic.synthetic import check_seed

    check_seed(args.seed)
    synthetic = args.traffic.strip().lower() == "synthetic" and not args.link_loads
    model = traffic_model(args)
    minutes = args.step_minutes if args.step_minutes is not None or not synthetic else 5.0
    if synthetic:
        check_synthetic_fits(args.topology, args.steps, model=model)
    topology = load_topology(args.topology)
    srlgs = None
    if args.survive == "srlg":
        srlgs = load_srlgs(args.srlg, topology) if args.srlg else srlgs_from_topology_file(args.topology, topology)
        if not srlgs:
            raise InputError("--srlg", "--survive srlg needs shared-risk link groups (--srlg FILE or 'srlgs' in "
                                       "the topology JSON)")
    deduction = None
    if args.link_loads:  # demands deduced from measured loads, then planned on exactly as given ones
        history, deduction = deduced_traffic(args, topology, args.steps)
    else:
        check_deduce_option(args)
        history = make_traffic(args.traffic, topology, args.steps, minutes, args.seed,
                               peak_utilization=args.peak_utilization, require_steps=True, model=model)
        if not synthetic:
            check_replay_step(args.traffic, args.step_minutes, history.step_minutes)
    bar = StderrProgress(enabled=not args.json or sys.stderr.isatty())
    try:
        result = plan(topology, history, horizon_days=args.horizon_days, growth=rate, survive=args.survive,
                      target_utilization=args.target_utilization, modules=modules, cost_per_module=costs,
                      cost_per_km=args.cost_per_km, interval=args.interval, srlgs=srlgs, workers=args.workers,
                      progress=lambda done, total: bar(f"sweeping {total} failures", done / max(total, 1)))
    except InputError as err:
        head, sep, rest = err.what.partition(" ")
        raise InputError(_NAMES.get(head, head) + sep + rest, err.problem) from None
    write_plan_files(result.upgraded, result.demands, out_topology, out_demands)
    report: dict[str, Any] = {**result.report, "traffic": f"deduced from {args.link_loads}" if args.link_loads
                              else args.traffic, **({"deduction": deduction.summary()} if deduction else {}),
                              "out_topology": str(out_topology) if out_topology else None,
                              "out_demands": str(out_demands) if out_demands else None}
    if args.json:
        print_json(report)
    else:
        for line in summary_lines(report):
            print(line)
    return 0


def summary_lines(r: dict[str, Any]) -> list[str]:
    """The readable plan printed without --json."""
    g = r["growth"]
    growth = (f"+{100 * g['rate_per_year']:g} % a year" if g["mode"] == "rate" else "trend fitted per origin")
    lines = [f"{r['topology']}: plan for {r['horizon']['days']:g} days after {r['history']['to']} ({growth}), "
             f"every direction <= {100 * r['target_utilization']:g} % under {r['n_failures']} {r['survive']} "
             f"failures and without failure, in the week {r['plan_week']['from']} .. {r['plan_week']['to']}"
             + (" (upper bound)" if r["plan_week"]["bound"] == "upper" else ""),
             f"worst before: {100 * r['worst_before']['utilization']:.1f}% on {r['worst_before']['src']} -> "
             f"{r['worst_before']['dst']} (link {r['worst_before']['link_id']}) under {r['worst_before']['failure']}; "
             f"after: {100 * r['worst_after']['utilization']:.1f}%"]
    if not r["upgrades"]:
        lines.append("no upgrade needed")
    for u in r["upgrades"]:
        mods = " + ".join(f"{m['count']} x {m['mbps']:g}" for m in u["modules"])
        need = u["needed_from"]
        lines.append(f"  {u['link_id']} ({u['u']} - {u['v']}): {u['capacity_before_mbps']:g} -> "
                     f"{u['capacity_after_mbps']:g} Mbit/s (+{mods}), cost {u['cost']:g}; needed from {need['time']} "
                     f"(day {need['days_from_history_end']:g}, under {need['failure']}); sized for "
                     f"{u['sized_for']['failure']} at {u['sized_for']['time']}: {100 * u['utilization_before']:.1f}% "
                     f"-> {100 * u['utilization_after']:.1f}%")
    lines.append(f"{r['n_upgrades']} upgrades, {r['modules_added']} modules, total cost {r['total_cost']:g}")
    shown = r["cut_off"][:10]
    for c in shown:
        lines.append(f"cut off under {c['failure']}: {c['cut_pairs']} node pairs, up to {c['dropped_mbps_max']:.6g} "
                     "Mbit/s (reported, not fixed by capacity)")
    if len(r["cut_off"]) > len(shown):
        lines.append(f"... and {len(r['cut_off']) - len(shown)} more failures cutting demand off (all of them in --json)")
    for key in ("out_topology", "out_demands"):
        if r.get(key):
            lines.append(f"wrote {r[key]}")
    lines.append(f"done in {r['seconds']:.2f} s")
    return lines
