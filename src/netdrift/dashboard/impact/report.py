"""The failure-impact report of one failure of a sweep (the Impact page's details), written like the
Live page's (:mod:`netdrift.dashboard.live.report`): the failure, the worst-case map with its links
dashed, its overloaded directions, dropped and cut-off traffic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import pandas as pd

from netdrift.dashboard.common.export import chart_to_png
from netdrift.dashboard.impact import data as idt
from netdrift.dashboard.live.report import Report, map_spec
from netdrift.dashboard.map.model import FAILED_COLOUR

if TYPE_CHECKING:
    from netdrift.service.sweeps import StoredSweep

__all__ = ["sweep_report"]


def sweep_report(stored: StoredSweep, rank: int, positions: Mapping[str, tuple[float, float]]) -> Report:
    """The report of the failure at ``rank`` (1 = most severe) of ``stored``."""
    d = idt.failure_details(stored, rank)
    f = stored.failures[rank - 1]
    worst = "n/a" if d["worst_utilization_pct"] is None else f"{d['worst_utilization_pct']:.1f} %"
    event = (f"{d['name']} fails (rank {rank} of {len(stored.failures)}): worst utilisation {worst}"
             + (f" on {d['worst_direction']} at step {d['worst_step']}" if d["worst_direction"] else "") + ".")
    summary = [("Topology", f"{stored.topology.name} ({len(stored.topology.nodes)} nodes, "
                            f"{len(stored.topology.links)} links)"),
               ("Peak dropped traffic", f"{d['dropped_mbps_max']:,.1f} Mbit/s"),
               ("Dropped volume", f"{(d['dropped_mbit'] or 0.0) / 1000:,.1f} Gbit"),
               ("Cut node pairs", f"{d['cut_pairs']:,}"),
               ("Node pairs losing an end", f"{d['lost_endpoint_pairs']:,}")]
    data = idt.worst_case_map(stored, positions)
    links = set(f.get("links") or [])
    for e in data["edges"]:
        if e["link"] in links or e["from"] in (f.get("nodes") or []) or e["to"] in (f.get("nodes") or []):
            e.update(failed=True, color=FAILED_COLOUR, overload=False)
    tables = [("Directions over 100 % under this failure", d["overloaded"]),
              ("Node pairs cut off (a sample)", pd.DataFrame({"pair": d["cut_pairs_sample"]}))]
    return Report(
        title=f"netdrift failure-impact report: {stored.topology.name}, {d['name']}",
        run=idt.sweep_caption(stored), event=event, summary=summary,
        overloads=[f"{r['Link direction']}: {r['Utilisation (%)']} % at step {r['Step']}"
                   for r in d["overloaded"].to_dict(orient="records")],
        warnings=[], tables=[(t, df) for t, df in tables if len(df)],
        map_png=chart_to_png(map_spec(data), scale=1.5),
        map_note=("Each link in the colour of its busier direction's worst utilisation over all the sweep's "
                  "failures; dashed black: this failure's links; magenta and labelled: over capacity."),
        has_forecasts=False)
