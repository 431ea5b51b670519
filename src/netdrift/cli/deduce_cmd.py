"""`netdrift deduce`: the demands behind measured link loads, written as `time,src,dst,mbps`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from netdrift.cli.common import (
    STEPS_BOUND,
    check_out_path,
    print_json,
    quiet_broken_pipe,
    steps_arg,
    write_table_atomically,
)
from netdrift.cli.link_loads_options import add_link_loads_options, deduced_traffic

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "deduce", help="deduce the demands (traffic matrix) behind measured link loads",
        description="Read per-direction link loads (rates or interface counters), deduce the demand of every node "
                    "pair at every step so that the routed demands reproduce every measured load, and write them as "
                    "'time,src,dst,mbps' (readable back by --traffic). Prints the link fit per step.")
    p.add_argument("--topology", required=True, help="bundled name (e.g. geant2001) or a topology file")
    p.add_argument("--weights", choices=("hop", "distance", "inv-capacity"),
                   help="IGP weights (default: the file's own, else hop)")
    add_link_loads_options(p, required=True)
    p.add_argument("--steps", type=steps_arg, help=f"only the first N steps of the loads ({STEPS_BOUND})")
    p.add_argument("--out", required=True, metavar="FILE.csv|FILE.parquet",
                   help="where the deduced demands go (written atomically)")
    p.add_argument("--json", action="store_true", help="print the link fit per step and its summary as JSON")
    p.set_defaults(func=run)


@quiet_broken_pipe
def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    check_out_path(out, args.out)
    from netdrift.engine.network.loaders import load_topology
    from netdrift.engine.traffic.demand_csv import demands_frame

    t0 = time.perf_counter()
    topology = load_topology(args.topology, weights=args.weights)
    traffic, report = deduced_traffic(args, topology, args.steps)
    frame = demands_frame(traffic)
    write_table_atomically(frame, out)
    summary: dict[str, Any] = {"topology": topology.name, "link_loads": args.link_loads,
                               "step_minutes": traffic.step_minutes, "pairs": traffic.n_pairs,
                               "deduction": report.summary(), "out": str(out), "rows": len(frame),
                               "seconds": round(time.perf_counter() - t0, 3)}
    if args.json:
        print_json({**summary, "steps": report.per_step()})
        return 0
    fit = report.summary()["link_fit"]
    print(f"{topology.name}: {report.summary()['steps']} steps of {traffic.step_minutes:g} min, {traffic.n_pairs} "
          f"demand pairs deduced by '{report.method}' ({report.ms_per_step:.1f} ms a step)")
    for row in report.per_step():
        lf = row["link_fit"]
        print(f"  step {row['step']:>5} {row['time']}: link fit " + ("missing" if lf is None else f"{100 * lf:.4f} %"))
    if fit["median"] is not None:
        print(f"link fit (relative L2 over the measured directions): median {100 * fit['median']:.4f} %, "
              f"max {100 * fit['max']:.4f} %")
    print(f"wrote {len(frame)} rows to {out}")
    return 0
