"""`netdrift topology info|list`: inspect a topology file or the bundled topologies."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from netdrift.cli.common import quiet_broken_pipe
from netdrift.engine.network.loaders import WEIGHT_SCHEMES, bundled_topologies, load_topology, topology_to_dict
from netdrift.engine.network.topology import Topology

__all__ = ["register", "summary_lines"]

_WEIGHTS_HELP = (
    "IGP link weights: hop (every link 1; the default unless the file has its own weights, "
    "as SNDlib routing costs and netdrift JSON do), distance (link length in km; links without "
    "coordinates get the median length), inv-capacity (OSPF auto-cost, 100 Gbit/s reference). "
    "Naming a scheme replaces the file's own weights."
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "topology",
        help="inspect a topology file or the bundled topologies",
        description="Inspect a topology: Topology Zoo .graphml/.gml, SNDlib .xml/.txt, netdrift .json, "
        "or the name of a bundled topology (see `netdrift topology list`).",
    )
    tsub = p.add_subparsers(dest="topology_command", required=True, metavar="{info,list}")

    info = tsub.add_parser("info", help="load a topology and summarise it (or print it as JSON)")
    info.add_argument("source", metavar="PATH_OR_NAME", help="a topology file, or a bundled name such as geant2001")
    info.add_argument("--weights", choices=WEIGHT_SCHEMES, default=None, help=_WEIGHTS_HELP)
    info.add_argument(
        "--json",
        action="store_true",
        help="print the normalised topology as JSON (name, nodes, links, warnings); "
        "the output is itself a loadable netdrift .json topology",
    )
    info.set_defaults(func=_info)

    lst = tsub.add_parser("list", help="list the bundled topologies with their node and link counts")
    lst.add_argument("--json", action="store_true", help="print the list as JSON")
    lst.set_defaults(func=_list)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.6g}"


def _range(values: Sequence[float], unit: str = "") -> str:
    if not values:
        return "n/a"
    lo, hi = min(values), max(values)
    text = _num(lo) if lo == hi else f"{_num(lo)}-{_num(hi)}"
    return f"{text} {unit}".rstrip()


def summary_lines(t: Topology) -> list[str]:
    """A short human-readable summary of a topology (no warnings; those go to stderr)."""
    located = sum(1 for n in t.nodes if n.lat is not None)
    lengths = [round(l.length_km) for l in t.links if l.length_km is not None]
    caps = [l.capacity_mbps for l in t.links]
    return [
        f"{t.name}: {len(t.nodes)} nodes, {len(t.links)} links",
        f"  capacity   {_range(caps, 'Mbit/s')} per direction ({len(set(caps))} distinct)",
        f"  weights    {_range([l.weight for l in t.links])}",
        f"  coordinates {located}/{len(t.nodes)} nodes; link lengths {_range(lengths, 'km')}",
        f"  warnings   {len(t.warnings)}",
    ]


@quiet_broken_pipe
def _info(args: argparse.Namespace) -> int:
    t = load_topology(args.source, weights=args.weights)
    if args.json:
        print(json.dumps(topology_to_dict(t), indent=1, ensure_ascii=False))
        return 0
    for w in t.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print("\n".join(summary_lines(t)))
    return 0


@quiet_broken_pipe
def _list(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for name, path in bundled_topologies().items():
        t = load_topology(path)
        rows.append({"name": name, "file": path.name, "nodes": len(t.nodes), "links": len(t.links)})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    if not rows:
        print("no bundled topologies found (set NETDRIFT_SAMPLES_DIR?)")
        return 0
    width = max(len(r["name"]) for r in rows)
    print(f"{'name':<{width}}  {'nodes':>5}  {'links':>5}  file")
    for r in rows:
        print(f"{r['name']:<{width}}  {r['nodes']:>5}  {r['links']:>5}  {r['file']}")
    return 0
