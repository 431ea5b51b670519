"""`netdrift sweep`: every single failure (links, nodes, shared-risk groups, link pairs) ranked by impact.

Local (worker processes on this machine) or on Ray (``--executor ray``: a local Ray, or a cluster
at ``--ray-address``); the loads of many failure states as batched torch products on a GPU
(``--device``); on actual or forecast demands (``--forecast MODEL --horizon H``). The sweep is
stored in the history as a sweep record (its id is printed) and the per-failure table can be
written as CSV or parquet. See docs/sweeps.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netdrift.cli.bounds import workers_arg
from netdrift.cli.common import (
    STEPS_BOUND,
    CountProgress,
    StderrProgress,
    add_max_memory_option,
    add_traffic_model_option,
    check_db_folder,
    check_out_path,
    non_negative_int,
    print_json,
    step_index_arg,
    step_minutes_arg,
    steps_arg,
    traffic_model,
    with_max_memory,
    write_table_atomically,
)
from netdrift.cli.link_loads_options import PROGRESS_AFTER_S, add_link_loads_options, link_loads_as_traffic
from netdrift.engine.errors import InputError

if TYPE_CHECKING:
    from netdrift.engine.network.topology import Topology

__all__ = ["register", "run"]

KINDS = ("link", "node", "srlg", "link-pairs")
EXECUTORS = ("local", "ray")
DEVICES = ("auto", "cpu", "cuda")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="rank every failure (link, node, shared-risk group, link pair) by its impact",
        description="Fail each element of the set in turn over steps [--from, --to) and report, per failure, the "
                    "worst utilisation (and where and when), the directions over 100 % with their excess, "
                    "the dropped demand and the node pairs cut off; ranked by severity = worst utilisation, "
                    "ties by dropped demand. Also each direction's worst case over all failures. "
                    "Runs locally (worker processes, threads where fork is unavailable) or on Ray; stored in the "
                    "history as a sweep. With --forecast, ranks failures by the forecast worst case over the next "
                    "--horizon steps from --from.")
    p.add_argument("--topology", required=True, help="bundled name (e.g. cogentco) or a topology file")
    given = p.add_mutually_exclusive_group()
    given.add_argument("--traffic", default="synthetic", help="'synthetic' (default) or a replay file/folder (SNDlib, CSV)")
    add_link_loads_options(p, given)
    add_traffic_model_option(p)
    p.add_argument("--steps", type=steps_arg, required=True, help=f"N: steps in the run ({STEPS_BOUND})")
    p.add_argument("--step-minutes", type=step_minutes_arg,
                   help="minutes per step, in (0, 10080] (synthetic traffic: default 5; a replay keeps its own and refuses another)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic traffic (default 0)")
    p.add_argument("--peak-utilization", type=float, default=0.6,
                   help="synthetic traffic is scaled so the busiest direction peaks here with all links up (default 0.6)")
    p.add_argument("--kind", required=True, choices=KINDS, help="the failure set")
    p.add_argument("--srlg", metavar="FILE",
                   help="shared-risk link groups: JSON {\"srlgs\": [{id, links}]} or CSV 'srlg,link_id' "
                        "(default for --kind srlg: the topology JSON's 'srlgs')")
    p.add_argument("--from", dest="start", type=step_index_arg, required=True, metavar="STEP",
                   help="first step of the window")
    p.add_argument("--to", dest="stop", type=step_index_arg, metavar="STEP",
                   help="end of the window (exclusive; required unless --forecast)")
    p.add_argument("--top", type=non_negative_int, default=20, help="failures listed (default 20; 0: all)")
    p.add_argument("--workers", type=workers_arg,
                   help="worker processes, or the CPUs of the local Ray, 1..1024 (default: the CPU count)")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local (default) or ray: failures sharded over Ray tasks (pip install 'netdrift[ray]')")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="an existing Ray cluster ('auto' or host:port of `ray start --head`); default: a local Ray "
                        "started with the sweep")
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="cuda: the loads of many failure states as batched tensor products on the GPU; cpu: the "
                        "numpy path; auto (default): cuda when a GPU is available, else cpu")
    p.add_argument("--forecast", metavar="MODEL",
                   help="rank by the forecast worst case: a routed model (routed-persistence, routed-seasonal, "
                        "routed-frozen, routed-incremental, routed-liquid) forecasts the demands from --from")
    p.add_argument("--horizon", type=steps_arg, metavar="H", help="steps forecast ahead (with --forecast)")
    p.add_argument("--interval", type=float, metavar="LEVEL",
                   help="with --forecast: rank by the forecast's upper bound at this level (e.g. 0.9): each "
                        "direction's forecast load plus the level quantile of its h-step change before --from")
    p.add_argument("--bounds", action="store_true",
                   help="with --link-loads: for each failure listed, the lowest and highest utilisation its worst "
                        "direction can have at its worst step over every demand matrix that reproduces that step's "
                        "loads (two linear programs a failure: milliseconds on GEANT, seconds on Cogentco); "
                        "see docs/counters.md")
    p.add_argument("--db", help="SQLAlchemy URL of the history (default: the data directory's SQLite file)")
    p.add_argument("--out", metavar="FILE.csv|FILE.parquet", help="write the per-failure table (every failure)")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    add_max_memory_option(p)
    p.set_defaults(func=run)


@with_max_memory
def run(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else None
    if out is not None:
        check_out_path(out, args.out)
    check_db_folder(args.db)  # a SQLite --db in a missing folder: refused, no folder made
    _check_window(args)
    if args.bounds and not args.link_loads:
        raise InputError("--bounds", "only applies with --link-loads (the range the measured loads allow)")
    if args.bounds and args.forecast:
        raise InputError("--bounds", "does not apply with --forecast (it bounds the measured steps' figures)")
    model = traffic_model(args)  # before any work: refused with replayed traffic or --link-loads
    deduction = link_loads_as_traffic(args)  # with --link-loads, args.traffic is now the deduced demands
    from netdrift.cli.errors import FLAGS
    from netdrift.service.sweeps import SweepSettings, run_sweep
    from netdrift.storage.database import open_database

    settings = SweepSettings(args.kind, args.start, args.stop, args.steps, args.traffic, args.step_minutes,
                             args.seed, args.peak_utilization, forecast=args.forecast, interval=args.interval,
                             traffic_model=model)
    bar = StderrProgress(enabled=False)

    def size(cells: int) -> None:  # a bar only for sweeps long enough to need one
        bar.enabled = cells > 20_000_000

    progress = CountProgress(bar, "sweeping")  # done/total, rate and time left

    stored = run_sweep(lambda: open_database(args.db), args.topology, settings, srlg=args.srlg,
                       workers=args.workers, executor=args.executor, ray_address=args.ray_address,
                       device=args.device, progress=progress, names=FLAGS, size=size)
    result = stored.outcome
    assert result is not None  # run_sweep returns the engine's result with the record
    summary: dict[str, Any] = {"sweep_id": stored.id, **result.to_dict(top=args.top)}
    if deduction is not None:
        summary["deduction"] = deduction.report.summary()
        if args.bounds:  # the failures listed; kept with the sweep in the history too
            from netdrift.engine.sweep.deduction_bounds import deduction_bounds
            from netdrift.service.sweeps import store_deduction_bounds

            counted = CountProgress(StderrProgress(), "bounding failures", quiet_for_s=PROGRESS_AFTER_S)
            bounds = deduction_bounds(stored.topology, deduction.loads, deduction.traffic, summary["failures"], counted)
            store_deduction_bounds(open_database(args.db), stored, bounds)
            for f, b in zip(summary["failures"], bounds):
                f["deduction_bounds"] = b
    if out is not None:
        import pandas as pd

        frame = pd.DataFrame(result.table())
        write_table_atomically(frame, out, f"--out '{args.out}' (the sweep itself is stored as sweep {stored.id})")
        summary["out"] = str(out)
        summary["rows"] = len(frame)
    if args.json:
        print_json(summary)
    else:
        for line in summary_lines(summary, stored.topology):
            print(line)
    return 0


def _check_window(args: argparse.Namespace) -> None:
    """The flags' combinations: --from/--to, or --from/--horizon with --forecast (then --to =
    --from + --horizon); the window itself is checked by the service (one rule for CLI and dashboard)."""
    if args.forecast is None:
        if args.interval is not None:
            raise InputError("--interval", "only applies with --forecast MODEL")
        if args.horizon is not None:
            raise InputError("--horizon", "only applies with --forecast MODEL")
        if args.stop is None:
            raise InputError("--to", "is required (the end of the window, exclusive)")
        return
    if args.horizon is None:
        raise InputError("--forecast", "needs --horizon H (the steps forecast ahead of --from)")
    if args.stop is not None:
        raise InputError("--to", "does not apply with --forecast (the window is --from .. --from + --horizon)")
    args.stop = args.start + args.horizon


def summary_lines(s: dict[str, Any], topology: Topology | None = None) -> list[str]:
    """The readable result printed without --json: nodes by name when ``topology`` is given, ids
    kept beside them (failures and links can still be looked up by id)."""
    names = {n.id: n.label or n.id for n in topology.nodes} if topology is not None else {}
    ends = {lk.id: (lk.u, lk.v) for lk in topology.links} if topology is not None else {}

    def node(node_id: str) -> str:
        return names.get(node_id, node_id)

    def failed(f: dict[str, Any]) -> str:
        parts = [f"{node(ends[x][0])} - {node(ends[x][1])}" for x in f["links"] if x in ends and not f["nodes"]]
        parts += [node(x) for x in f["nodes"] if node(x) != x]
        return f" ({', '.join(parts)})" if parts else ""

    lines = [f"{s['topology']}: {s['n_failures']} {s['kind']} failures over steps [{s['from']}, {s['to']}) "
             f"(sweep {s['sweep_id']}); severity = worst utilisation, ties by dropped demand"]
    if s.get("forecast"):
        fc = s["forecast"]
        lines.append(f"on the demands {fc['model']} forecasts at step {s['from']} for the next {fc['horizon']} steps"
                     + (f", upper bound at level {fc['interval']['level']}" if fc.get("interval") else ""))
    for f in s["failures"]:
        wu = f["worst_utilization"]
        wd = f["worst_direction"]
        head = f"{f['rank']:>4}. {f['target']}{failed(f)}: "
        head += (f"worst {100 * wu:.1f}% on {node(wd['src'])} -> {node(wd['dst'])} (link {wd['link_id']}) "
                 f"at step {f['worst_step']}" if wu is not None else "no traffic data")
        if f["overloaded"]:
            head += f"; {len(f['overloaded'])} directions over 100%"
        if f["dropped_mbps_max"]:
            head += f"; dropped up to {f['dropped_mbps_max']:.6g} Mbit/s"
        if f["cut_pairs"]:
            head += f"; {f['cut_pairs']} node pairs cut off"
        if f.get("deduction_bounds"):
            b = f["deduction_bounds"]
            if b.get("timed_out"):
                from netdrift.engine.sweep.deduction_bounds import LP_TIME_LIMIT_S

                head += f"; the counters' range was not found within {LP_TIME_LIMIT_S:g} s"
            elif b["pinned"]:
                head += "; pinned by the counters"
            elif b["high"] is None:
                head += f"; the counters allow {100 * b['low']:.1f}% or more there (nothing measured bounds it above)"
            else:
                head += f"; the counters allow {100 * b['low']:.1f}-{100 * b['high']:.1f}% there"
        lines.append(head)
    if s.get("out"):
        lines.append(f"wrote {s['rows']} rows to {s['out']}")
    lines.append(f"done in {s['seconds']:.2f} s")
    return lines
