"""`netdrift simulate`: link loads over time with failures, as a table and a summary."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from netdrift.cli.common import (
    STEPS_BOUND,
    StderrProgress,
    add_max_memory_option,
    add_traffic_model_option,
    check_out_path,
    print_json,
    quiet_broken_pipe,
    refuse_repeated_failures,
    step_minutes_arg,
    steps_arg,
    traffic_model,
    with_max_memory,
    write_table_atomically,
)
from netdrift.cli.link_loads_options import add_link_loads_options, check_deduce_option, deduced_traffic
from netdrift.engine.errors import InputError

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate", help="simulate link loads with failures (IGP shortest paths, per-hop ECMP)",
        description="Route the traffic over the topology step by step (IGP shortest paths, equal-cost "
                    "next hops share equally at each router), fail and restore links or nodes, and "
                    "report loads, utilisation and dropped demand.")
    p.add_argument("--topology", required=True, help="bundled name (e.g. cogentco) or a topology file")
    given = p.add_mutually_exclusive_group()
    given.add_argument("--traffic", default="synthetic", help="'synthetic' (default) or a replay file/folder (SNDlib, CSV)")
    add_link_loads_options(p, given)
    add_traffic_model_option(p)
    p.add_argument("--steps", type=steps_arg, required=True, help=f"N: steps in the run ({STEPS_BOUND})")
    p.add_argument("--step-minutes", type=step_minutes_arg,
                   help="minutes per step, in (0, 10080]: needed for synthetic traffic; replay traffic keeps its data's step "
                        "(given, it must match it; used when the data has a single interval)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic traffic (default 0)")
    p.add_argument("--weights", choices=("hop", "distance", "inv-capacity"),
                   help="IGP weights (default: the file's own, else hop)")
    p.add_argument("--peak-utilization", type=float, default=0.6,
                   help="synthetic traffic is scaled so the busiest link direction peaks here (default 0.6)")
    p.add_argument("--fail", action="append", default=[], metavar="ID@STEP[:RESTORE_STEP]",
                   help="fail a link or node at STEP (and restore it at RESTORE_STEP); repeatable")
    p.add_argument("--out", metavar="FILE.csv|FILE.parquet",
                   help="write the long table (step,time,link_id,src,dst,load_mbps,capacity_mbps,up)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    add_max_memory_option(p)
    p.set_defaults(func=run)


@quiet_broken_pipe
@with_max_memory
def run(args: argparse.Namespace) -> int:
    # Everything that can be checked without work is checked first.
    out = Path(args.out) if args.out else None
    if out is not None:
        check_out_path(out, args.out)
    synthetic = args.traffic.strip().lower() == "synthetic" and not args.link_loads
    model = traffic_model(args)
    if args.step_minutes is None:
        if synthetic:
            raise InputError("--step-minutes", "is needed with synthetic traffic (minutes per step)")
    elif not (math.isfinite(args.step_minutes) and args.step_minutes > 0):
        raise InputError("--step-minutes", f"must be > 0 (got {args.step_minutes})")
    from netdrift.engine.traffic.synthetic import check_seed

    check_seed(args.seed)
    if not (math.isfinite(args.peak_utilization) and args.peak_utilization > 0):
        raise InputError("--peak-utilization", f"must be > 0 (got {args.peak_utilization})")

    from netdrift.engine.network.events import events_from_specs
    from netdrift.engine.network.loaders import load_topology
    from netdrift.engine.network.simulation import Simulator
    from netdrift.engine.traffic.sources import check_replay_step, make_traffic

    t0 = time.perf_counter()
    if synthetic:  # a topology file too large for the traffic it needs is refused before it is loaded
        from netdrift.engine.traffic.sources import check_synthetic_fits

        check_synthetic_fits(args.topology, args.steps, model=model)
    topology = load_topology(args.topology, weights=args.weights)
    events = events_from_specs(args.fail, topology, args.steps)  # before the traffic: no work for a bad --fail
    refuse_repeated_failures(events)
    from netdrift.engine.budget import check_memory, simulation_memory_bytes

    def check_simulation(steps: int, n_pairs: int) -> None:  # the load arrays (and --out's long table)
        check_memory(f"simulation of {steps} steps x {topology.n_directions} link directions on "
                     f"'{topology.name}'" + (" with --out" if out is not None else ""),
                     simulation_memory_bytes(steps, n_pairs, len(topology.nodes), topology.n_directions,
                                             n_plans=len(events) + 1, frame=out is not None))

    if synthetic:  # every ordered node pair: the whole run is checked before the traffic is generated
        from netdrift.engine.budget import memory_budget_bytes
        from netdrift.engine.traffic.backbone import backbone_memory_bytes
        from netdrift.engine.traffic.synthetic import synthetic_memory_bytes

        n = len(topology.nodes)
        generator = backbone_memory_bytes if model == "backbone" else synthetic_memory_bytes
        if generator(n, topology.n_directions, args.steps) <= memory_budget_bytes():
            check_simulation(args.steps, n * (n - 1))  # (else the generator refuses it, naming itself)
    deduction = None
    if args.link_loads:  # demands deduced from measured loads, then used exactly as given ones
        traffic, deduction = deduced_traffic(args, topology, args.steps)
    else:
        check_deduce_option(args)
        traffic = make_traffic(args.traffic, topology, args.steps, args.step_minutes, args.seed,
                               peak_utilization=args.peak_utilization, require_steps=True, model=model)
    if not synthetic and not args.link_loads:
        check_replay_step(args.traffic, args.step_minutes, traffic.step_minutes)
    check_simulation(traffic.steps, traffic.n_pairs)  # replayed traffic: its own steps and pairs, now known
    bar = StderrProgress(enabled=traffic.steps * max(traffic.n_pairs, 1) > 5_000_000)
    sim = Simulator(topology, traffic, events,
                    progress=lambda done, total: bar("simulating link loads", done / max(total, 1)))
    loads = sim.loads
    summary: dict[str, Any] = {"topology": topology.name, "traffic": args.traffic,
                               **({"traffic_model": model} if synthetic else {}),
                               "step_minutes": traffic.step_minutes, "pairs": traffic.n_pairs}
    summary.update(loads.summary(events))
    if deduction is not None:
        summary.update(traffic=f"deduced from {args.link_loads}", deduction=deduction.summary())
    if out is not None:
        frame = loads.to_frame(traffic)
        write_table_atomically(frame, out)
        summary["out"] = str(out)
        summary["rows"] = len(frame)
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    if args.json:
        print_json(summary)
    else:
        for line in summary_lines(summary, traffic):
            print(line)
    return 0


def summary_lines(s: dict[str, Any], traffic: Any) -> list[str]:
    """The readable summary printed without --json."""
    source = s["traffic"] + (f", {s['traffic_model']}" if s.get("traffic_model") else "")
    lines = [f"{s['topology']}: {s['nodes']} nodes, {s['links']} links ({s['directions']} directions), "
             f"{s['steps']} steps of {s['step_minutes']:g} min, {s['pairs']} demand pairs ({source})"]
    if s["max_utilization"] is None:
        lines.append("max utilisation: n/a (no traffic data)")
    else:
        at = s["max_utilization_at"]
        lines.append(f"max utilisation: {100 * s['max_utilization']:.1f}% on link {at['link_id']} "
                     f"({at['src']} -> {at['dst']}) at step {at['step']} ({traffic.time_of(at['step']):%Y-%m-%d %H:%M})")
    lines.append(f"dropped demand: {s['dropped_mbps_total']:.6g} Mbit/s summed over steps "
                 f"({s['dropped_steps']} steps with drops)")
    if s.get("missing_steps"):
        lines.append(f"missing traffic intervals: {s['missing_steps']} steps")
    for e in s["events"]:
        head = f"step {e['step']}: {e['action']} {e['kind']} {e['target']}"
        if e.get("dropped_mbps") is not None:
            head += f"; dropped {e['dropped_mbps']:.6g} Mbit/s at that step"
        if e.get("max_utilization_after") is not None:
            head += f"; max utilisation until the next change {100 * e['max_utilization_after']:.1f}%"
        lines.append(head)
        if e.get("top_changes"):
            moved = ", ".join(f"{c['link_id']} {c['src']}->{c['dst']} {c['delta_mbps']:+.6g}"
                              for c in e["top_changes"])
            lines.append(f"  re-route (Mbit/s): {moved}")
    if s.get("out"):
        lines.append(f"wrote {s['rows']} rows to {s['out']}")
    lines.append(f"done in {s['seconds']:.2f} s")
    return lines
