"""``--link-loads SOURCE`` and ``--deduce METHOD``: measured link loads in, demands deduced.

Shared by ``simulate``, ``run``, ``sweep`` and ``deduce``: the loads are read
(:func:`read_link_loads`), the demands deduced at every step
(:func:`netdrift.engine.traffic.deduce.deduce_demands`), and the command goes on with the
deduced demands exactly as with given ones.
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from netdrift.cli.prometheus_options import add_prometheus_options, check_prometheus_options, read_prometheus_link_loads
from netdrift.engine.errors import InputError
from netdrift.engine.traffic.deduce import DEFAULT_METHOD, METHODS

if TYPE_CHECKING:
    from netdrift.engine.network.topology import Topology
    from netdrift.engine.traffic.deduce import DeductionReport
    from netdrift.engine.traffic.link_loads import LinkLoadSeries
    from netdrift.engine.traffic.series import TrafficMatrixSeries

__all__ = ["add_link_loads_options", "read_link_loads", "deduced_traffic", "deduced_traffic_file", "Deduced"]


@dataclass(frozen=True)
class Deduced:
    """Demands deduced from measured loads: the loads, the demands and the report."""

    loads: LinkLoadSeries
    traffic: TrafficMatrixSeries
    report: DeductionReport


def add_link_loads_options(p: argparse.ArgumentParser, exclusive: argparse._MutuallyExclusiveGroup | None = None,
                           required: bool = False) -> None:
    """``--link-loads`` (in ``exclusive``, the group that holds ``--traffic``: argparse then
    refuses both in one line, exit 2) and ``--deduce``."""
    (exclusive or p).add_argument(
        "--link-loads", metavar="FILE.csv|http://HOST:PORT", required=required,
        help="measured link loads instead of demands: a CSV of per-direction rates 'time,src,dst,mbps' or "
             "counters 'time,src,dst,octets' (see docs/counters.md; netdrift simulate --out tables are read "
             "as they are), or a Prometheus server (with --prom-mapping and a window, see docs/prometheus.md); "
             "the demands are deduced at every step (--deduce)")
    p.add_argument("--deduce", choices=METHODS, default=None,
                   help=f"how demands are deduced from --link-loads: '{DEFAULT_METHOD}' (default: a gravity model "
                        "fitted to the loads and carried from step to step) or 'tomogravity' (gravity from the sums "
                        "of each node's loads at the step); both then reproduce every measured load")
    add_prometheus_options(p)


def check_deduce_option(args: argparse.Namespace) -> str:
    """The method, refusing ``--deduce`` (and the ``--prom-*`` options) without ``--link-loads``."""
    if getattr(args, "deduce", None) is not None and not getattr(args, "link_loads", None):
        raise InputError("--deduce", "only applies with --link-loads")
    check_prometheus_options(args, getattr(args, "link_loads", None))
    return args.deduce or DEFAULT_METHOD


def read_link_loads(source: str, topology: Topology, args: argparse.Namespace | None = None) -> LinkLoadSeries:
    """The loads ``source`` names (a CSV file, or a Prometheus server read with the ``--prom-*``
    options of ``args``) in ``topology``'s direction order."""
    from netdrift.engine.traffic.link_load_csv import load_link_loads_csv

    check_prometheus_options(args or argparse.Namespace(), source)
    if source.strip().lower().startswith(("http://", "https://")):
        return read_prometheus_link_loads(source.strip(), topology, args or argparse.Namespace())
    if not Path(source).expanduser().suffix.lower() == ".csv":
        raise InputError(f"--link-loads '{source}'", "unknown format: expected a .csv file")
    return load_link_loads_csv(source, topology)


def deduced_traffic(args: argparse.Namespace, topology: Topology, steps: int | None = None
                    ) -> tuple[TrafficMatrixSeries, DeductionReport]:
    """Demands deduced from ``args.link_loads`` (its first ``steps`` steps; fewer is refused)."""
    d = _deduce(args, topology, steps)
    return d.traffic, d.report


def _deduce(args: argparse.Namespace, topology: Topology, steps: int | None) -> Deduced:
    from netdrift.engine.traffic.deduce import deduce_demands

    method = check_deduce_option(args)
    loads = read_link_loads(args.link_loads, topology, args)
    if steps is not None:
        if loads.steps < steps:
            raise InputError(f"--link-loads '{args.link_loads}'",
                             f"has {loads.steps} steps, fewer than the {steps} steps asked (lower --steps)")
        loads = loads.slice(0, steps)
    step_minutes = getattr(args, "step_minutes", None)
    if step_minutes is not None and abs(step_minutes - loads.step_minutes) > 1e-9 * loads.step_minutes:
        raise InputError("--step-minutes", f"{step_minutes:g} does not match the link loads '{args.link_loads}', "
                                           f"whose steps are {loads.step_minutes:g} minutes (leave it out)")
    from netdrift.cli.common import CountProgress, StderrProgress

    progress = CountProgress(StderrProgress(), "deducing demands", "steps", quiet_for_s=PROGRESS_AFTER_S)
    traffic, report = deduce_demands(topology, loads, method, progress=progress)
    return Deduced(loads, traffic, report)


#: Seconds a deduction runs before its progress shows on stderr: a deduction of a few seconds stays
#: quiet, one of minutes (a large network, a month of steps) says how far it is.
PROGRESS_AFTER_S = 3.0


def deduced_traffic_file(args: argparse.Namespace, topology: Topology, steps: int) -> tuple[Path, Deduced]:
    """The deduced demands written as a ``time,src,dst,mbps`` CSV in the data directory
    (``deduced/<hash>.csv``, named by the loads file, the topology and the method), so a stored
    scenario can replay them; an existing file of the same name is reused."""
    from netdrift.cli.common import write_table_atomically
    from netdrift.engine.traffic.demand_csv import demands_frame
    from netdrift.service.history import default_data_dir

    deduced = _deduce(args, topology, steps)
    traffic, report = deduced.traffic, deduced.report
    h = hashlib.sha256()
    source = Path(args.link_loads).expanduser()  # a Prometheus source: named by the demands deduced from it
    h.update(source.read_bytes() if source.is_file() else traffic.demands.tobytes())
    h.update(f"\0{topology.name}\0{len(topology.nodes)}\0{topology.n_directions}\0{report.method}\0{steps}".encode())
    folder = default_data_dir() / "deduced"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{h.hexdigest()[:20]}.csv"
    if not out.exists():
        write_table_atomically(demands_frame(traffic), out)
    return out, deduced


def link_loads_as_traffic(args: argparse.Namespace) -> Deduced | None:
    """For ``sweep`` and ``run``, whose traffic is a replayable spec: with ``--link-loads``, the
    demands are deduced and kept as a replay file (:func:`deduced_traffic_file`) that becomes
    ``args.traffic`` (its step the loads'); what was deduced, or None without ``--link-loads``."""
    if not getattr(args, "link_loads", None):
        check_deduce_option(args)
        return None
    from netdrift.engine.network.loaders import load_topology

    topology = load_topology(args.topology, weights=getattr(args, "weights", None))
    path, deduced = deduced_traffic_file(args, topology, args.steps)
    args.traffic, args.step_minutes = str(path), None
    return deduced
