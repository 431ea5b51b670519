"""What the Impact page shows of a stored failure sweep, as plain data: the ranked table with
names instead of ids, the selected failure's details, the map coloured by each direction's worst
case over all failures, the Live page's request, and the two exportable charts.

Pure functions over :class:`netdrift.service.sweeps.StoredSweep` and engine types (no Streamlit), so they
are unit-tested directly. The sweep's definitions (severity, overloaded, dropped, cut pairs) are
:mod:`netdrift.engine.sweep`'s; :data:`SEVERITY_TEXT` states them for the screen.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Mapping

import altair as alt
import numpy as np
import pandas as pd

from netdrift.dashboard.map.model import BAND_COLOURS, MapFrame, band_colour, build_map, legend
from netdrift.dashboard.map.names import cached_end_names, element_name, junction_members, link_name, node_name

if TYPE_CHECKING:
    from netdrift.engine.network.topology import Topology
    from netdrift.service.sweeps import StoredSweep

__all__ = ["SEVERITY_TEXT", "KIND_LABELS", "APPLY_FAILURE_KEY", "failure_name", "direction_name",
           "ranking_table", "failure_details", "worst_case_table", "worst_case_map", "worst_failure_rank", "apply_request",
           "severity_chart", "worst_case_chart", "sweep_caption", "bounds_table", "BOUNDS_COLUMNS"]

#: The Live page's key for a failure to apply (consumed by the Live view).
APPLY_FAILURE_KEY = "netdrift_apply_failure"

SEVERITY_TEXT = ("Severity = the worst utilisation (load / capacity) of any link direction at any step of the "
                 "window under the failure; ties are broken by the dropped traffic (total). Most severe first. "
                 "A direction is overloaded above 100 %; its excess is its worst load minus its capacity.")

#: Failure kinds as the page names them (the engine's kind -> label).
KIND_LABELS: dict[str, str] = {
    "link": "Each link",
    "node": "Each node",
    "link-pairs": "Each pair of links",
    "srlg": "Shared-risk link groups (upload a file)",
}

#: Columns of :func:`ranking_table` with their units.
RANK_COLUMNS = ["Rank", "Failure", "Worst utilisation (%)", "Worst link direction", "Worst step",
                "Overloaded directions", "Max excess (Mbit/s)", "Dropped max (Mbit/s)",
                "Dropped total (Mbit/s x steps)", "Cut node pairs"]


def failure_name(topology: Topology, failure: Mapping[str, Any], kind: str) -> str:
    """A failure by name: ``"AT – DE (4-29)"`` for a link, ``"Vienna (4)"`` for a node, the
    links joined by `` + `` for a pair, ``"<group>: <links>"`` for a shared-risk group.

    >>> from netdrift.engine.network.topology import Link, Node, Topology
    >>> t = Topology("t", (Node("a", "A"), Node("b", "B"), Node("c", "C")),
    ...              (Link("a-b", "a", "b", 1.0), Link("b-c", "b", "c", 1.0)))
    >>> failure_name(t, {"target": "a-b+b-c", "links": ["a-b", "b-c"], "nodes": []}, "link-pairs")
    'A – B (a-b) + B – C (b-c)'
    >>> failure_name(t, {"target": "duct", "links": ["a-b"], "nodes": []}, "srlg")
    'duct: A – B (a-b)'
    """
    links = " + ".join(link_name(topology, x) for x in failure.get("links", []))
    nodes = " + ".join(element_name(topology, x, "node") for x in failure.get("nodes", []))
    parts = " + ".join(p for p in (links, nodes) if p)
    if kind == "srlg":
        return f"{failure['target']}: {parts}" if parts else str(failure["target"])
    return parts or str(failure["target"])


def direction_name(topology: Topology, direction: Mapping[str, Any] | None) -> str:
    """``"4-29: AT -> DE"`` for a ``{link_id, src, dst}`` direction ("" for None)."""
    if not direction:
        return ""
    i = topology.link_index.get(direction["link_id"])
    if i is not None:  # a hyperedge junction's end by the PoPs behind it, never "hyperedge 148"
        src, dst = cached_end_names(topology)[2 * i + int(direction["src"] != topology.links[i].u)]
    else:
        src, dst = node_name(topology, direction["src"]), node_name(topology, direction["dst"])
    return f"{direction['link_id']}: {src} -> {dst}"


def _pct(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(100.0 * x, 2)


def ranking_table(stored: StoredSweep) -> pd.DataFrame:
    """One row per failure in the sweep's rank order, with names instead of ids (:data:`RANK_COLUMNS`)."""
    t = stored.topology
    rows = [{
        "Rank": f["rank"],
        "Failure": failure_name(t, f, stored.kind),
        "Worst utilisation (%)": _pct(f["worst_utilization"]),
        "Worst link direction": direction_name(t, f["worst_direction"]),
        "Worst step": f["worst_step"],
        "Overloaded directions": len(f["overloaded"]),
        "Max excess (Mbit/s)": round(max((o["excess_mbps"] for o in f["overloaded"]), default=0.0), 1),
        "Dropped max (Mbit/s)": round(f["dropped_mbps_max"], 1),
        "Dropped total (Mbit/s x steps)": round(f["dropped_mbps_total"], 1),
        "Cut node pairs": f["cut_pairs"],
    } for f in stored.failures]
    return pd.DataFrame(rows, columns=RANK_COLUMNS)


#: Columns of :func:`bounds_table`.
BOUNDS_COLUMNS = ["Rank", "Failure", "Worst utilisation (%)", "Worst link direction", "Worst step",
                  "Counters allow from (%)", "Counters allow to (%)", "Pinned by the counters"]


def bounds_table(stored: StoredSweep) -> pd.DataFrame:
    """The bounds kept with the sweep's leading failures (the range of each one's worst direction at
    its worst step over every demand matrix that reproduces the measured loads, see
    :func:`netdrift.engine.sweep.deduction_bounds.deduction_bounds`), a row each; empty when none
    were computed. "to" is empty when nothing measured bounds it."""
    from netdrift.service.sweeps import stored_deduction_bounds

    t = stored.topology
    rows = []
    for f, b in zip(stored.failures, stored_deduction_bounds(stored)):
        rows.append({"Rank": f["rank"], "Failure": failure_name(t, f, stored.kind),
                     "Worst utilisation (%)": _pct(f["worst_utilization"]),
                     "Worst link direction": direction_name(t, f["worst_direction"]), "Worst step": f["worst_step"],
                     "Counters allow from (%)": _pct(b["low"]) if b else None,
                     "Counters allow to (%)": _pct(b["high"]) if b else None,
                     "Pinned by the counters": _pinned_text(b)})
    return pd.DataFrame(rows, columns=BOUNDS_COLUMNS)


def _pinned_text(b: Mapping[str, Any] | None) -> str:
    if not b:
        return "n/a"
    if b.get("timed_out"):
        from netdrift.engine.sweep.deduction_bounds import LP_TIME_LIMIT_S

        return f"not found within {LP_TIME_LIMIT_S:g} s"
    return "yes" if b["pinned"] else "no"


def failure_details(stored: StoredSweep, rank: int) -> dict[str, Any]:
    """The failure at ``rank`` (1 = most severe): its name, headline figures, its overloaded
    directions (a frame: direction, utilisation %, step, excess Mbit/s) and the cut pairs by name."""
    f = stored.failures[rank - 1]
    t = stored.topology
    over = pd.DataFrame(
        [{"Link direction": direction_name(t, o), "Utilisation (%)": _pct(o["utilization"]), "Step": o["step"],
          "Excess (Mbit/s)": round(o["excess_mbps"], 1)} for o in f["overloaded"]],
        columns=["Link direction", "Utilisation (%)", "Step", "Excess (Mbit/s)"])
    pairs = [f"{node_name(t, a)} -> {node_name(t, b)}" for a, b in f.get("cut_pairs_sample", [])]
    return {"name": failure_name(t, f, stored.kind), "rank": f["rank"], "target": f["target"],
            "worst_utilization_pct": _pct(f["worst_utilization"]),
            "worst_direction": direction_name(t, f["worst_direction"]), "worst_step": f["worst_step"],
            "overloaded": over, "dropped_mbps_max": f["dropped_mbps_max"],
            "dropped_mbps_total": f["dropped_mbps_total"], "dropped_mbit": f.get("dropped_mbit"),
            "cut_pairs": f["cut_pairs"], "cut_pairs_sample": pairs,
            "lost_endpoint_pairs": f.get("lost_endpoint_pairs", 0)}


def _names_by_target(stored: StoredSweep) -> dict[str, str]:
    return {f["target"]: failure_name(stored.topology, f, stored.kind) for f in stored.failures}


def _direction_worst(stored: StoredSweep) -> list[dict[str, Any]]:
    """The per-direction worst cases in the topology's direction order (2i: u->v, 2i+1: v->u)."""
    by_key = {(d["link_id"], d["src"], d["dst"]): d for d in stored.per_direction.values()}
    return [by_key.get(k, {}) for k in stored.topology.direction_names()]


def worst_case_table(stored: StoredSweep) -> pd.DataFrame:
    """Each link direction's worst utilisation over all failures, when, and the failure causing it."""
    t = stored.topology
    names = _names_by_target(stored)
    rows = []
    for (lid, src, dst), d in zip(t.direction_names(), _direction_worst(stored)):
        cause = d.get("failure") or ""
        rows.append({"Link direction": direction_name(t, {"link_id": lid, "src": src, "dst": dst}),
                     "Worst utilisation (%)": _pct(d.get("worst_utilization")), "Step": d.get("step"),
                     "Caused by": names.get(cause, cause),
                     "Without failure (%)": _pct(d.get("no_failure_utilization"))})
    return pd.DataFrame(rows, columns=["Link direction", "Worst utilisation (%)", "Step", "Caused by",
                                       "Without failure (%)"])


def worst_case_map(stored: StoredSweep, positions: Mapping[str, tuple[float, float]],
                   selected_link: str | None = None, labels: bool = False) -> dict:
    """Map data (:func:`netdrift.dashboard.map.model.build_map`) coloured by each direction's worst
    utilisation over all failures; its hover names the failure that causes it, the step and the
    utilisation without any failure. A click on the map fails nothing (``click_mode`` inspect)."""
    t = stored.topology
    worst = _direction_worst(stored)
    util = np.array([np.nan if d.get("worst_utilization") is None else d["worst_utilization"] for d in worst])
    frame = MapFrame(loads_mbps=util * t.direction_capacity, forecasts_mbps={}, selected_link=selected_link,
                     utilisation_labels=labels)
    data = build_map(t, positions, frame)
    names = _names_by_target(stored)
    for e in data["edges"]:
        d = worst[e["dir"]]
        head = e["title"].split("\n", 1)[0]
        if d.get("worst_utilization") is None:
            e["title"] = f"{head}\nno worst case (no traffic data)"
            continue
        base = d.get("no_failure_utilization")
        e["title"] = "\n".join([
            head,
            f"worst case over all failures: {100 * d['worst_utilization']:.1f} % at step {d['step']}",
            f"when {names.get(d['failure'], d['failure'])} fails",
            "without failure: " + ("n/a" if base is None else f"{100 * base:.1f} %"),
            f"capacity {t.direction_capacity[e['dir']]:,.0f} Mbit/s",
        ])
    data.update(topology=f"impact:{t.name}", step=None, down_links=[], click_mode="inspect")
    return data


def worst_failure_rank(stored: StoredSweep, link_id: str) -> int | None:
    """Rank of the failure causing the worse of the link's two directions' worst cases (None when
    neither has one, e.g. an unknown link)."""
    cases = [d for d in stored.per_direction.values()
             if d.get("link_id") == link_id and d.get("worst_utilization") is not None and d.get("failure")]
    if not cases:
        return None
    target = max(cases, key=lambda d: d["worst_utilization"])["failure"]
    return next((f["rank"] for f in stored.failures if f["target"] == target), None)


def apply_request(stored: StoredSweep, rank: int) -> dict[str, Any]:
    """What the Live page is asked to apply for the failure at ``rank``
    (``st.session_state[APPLY_FAILURE_KEY]``): the topology's name (what the Live run's topology
    is called), the links and nodes to fail (ids), the failure's name, and the step of the sweep
    where it hurts most (``worst_step``, None when the sweep did not record it)."""
    f = stored.failures[rank - 1]
    worst = f.get("worst_step")
    return {"topology": stored.topology.name, "links": list(f["links"]), "nodes": list(f["nodes"]),
            "label": failure_name(stored.topology, f, stored.kind),
            "worst_step": None if worst is None else int(worst)}


def sweep_caption(stored: StoredSweep) -> str:
    """One line saying what the sweep is: topology, kind, count, window, step length, record, time."""
    c = stored.config
    minutes = c.get("step_minutes")
    secs = f", computed in {stored.seconds:.2f} s" if stored.seconds is not None else ""
    return (f"Sweep #{stored.id}: {len(stored.failures)} failures ({KIND_LABELS.get(stored.kind, stored.kind).lower()}) "
            f"on {stored.topology.name}, steps [{c.get('from')}, {c.get('to')})"
            + (f" of {minutes:g} min" if minutes else "") + f", {c.get('traffic', 'synthetic')} traffic, "
            f"seed {c.get('seed')}" + (f", on the demands {c['forecast']} forecasts at step {c.get('from')}"
                                       if c.get("forecast") else "")
            + f"{secs}; stored {stored.created_at[:19].replace('T', ' ')} UTC.")


def _inline(df: pd.DataFrame) -> alt.InlineData:
    return alt.InlineData(values=json.loads(df.to_json(orient="records")))


def _band_scale() -> alt.Scale:
    labels = [e["label"] for e in legend()[:len(BAND_COLOURS)]]
    return alt.Scale(domain=labels, range=list(BAND_COLOURS))


def _band_label(u: float | None) -> str:
    labels = [e["label"] for e in legend()]
    colours = [e["colour"] for e in legend()]
    return labels[colours.index(band_colour(np.nan if u is None else u))]


def severity_chart(table: pd.DataFrame, top: int = 20) -> alt.Chart:
    """Bars of the ``top`` most severe failures' worst utilisation (%), coloured by band, most severe on top."""
    df = table.head(top)[["Rank", "Failure", "Worst utilisation (%)"]].copy()
    df["band"] = [_band_label(None if pd.isna(x) else x / 100.0) for x in df["Worst utilisation (%)"]]
    return alt.Chart(_inline(df)).mark_bar().encode(
        y=alt.Y("Failure:N", sort=alt.EncodingSortField("Rank", order="ascending"), title=None),
        x=alt.X("Worst utilisation (%):Q", title="Worst utilisation under the failure (%)"),
        color=alt.Color("band:N", scale=_band_scale(), title="Utilisation band"),
        tooltip=["Rank:Q", "Failure:N", "Worst utilisation (%):Q"],
    ).properties(title=f"The {len(df)} most severe failures", width=420, height=max(60, 18 * len(df)))


def worst_case_chart(stored: StoredSweep, positions: Mapping[str, tuple[float, float]]) -> alt.LayerChart:
    """The worst-case map as a static chart for export: each direction a segment (the two
    directions of a link side by side) coloured by its worst utilisation band, nodes on top."""
    t = stored.topology
    table = worst_case_table(stored)
    rows = []
    for i, link in enumerate(t.links):
        (x1, y1), (x2, y2) = positions[link.u], positions[link.v]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        ox, oy = -(y2 - y1) / length * 3.0, (x2 - x1) / length * 3.0  # 3 px apart, one side each
        for d, sign in ((2 * i, 1.0), (2 * i + 1, -1.0)):
            r = table.iloc[d]
            u = r["Worst utilisation (%)"]
            rows.append({"x": x1 + sign * ox, "y": y1 + sign * oy, "x2": x2 + sign * ox, "y2": y2 + sign * oy,
                         "direction": r["Link direction"], "worst_pct": None if pd.isna(u) else float(u),
                         "caused_by": r["Caused by"],
                         "band": _band_label(None if pd.isna(u) else float(u) / 100.0)})
    edges = pd.DataFrame(rows)
    junctions = junction_members(t)  # unnamed points on the map: their PoPs name the links
    nodes = pd.DataFrame([{"x": positions[n.id][0], "y": positions[n.id][1],
                           "node": "" if n.id in junctions else node_name(t, n.id)} for n in t.nodes])
    xs, ys = [p[0] for p in positions.values()], [p[1] for p in positions.values()]
    span_x, span_y = max(xs) - min(xs) + 40.0, max(ys) - min(ys) + 40.0
    scale_x = alt.Scale(domain=[min(xs) - 20, max(xs) + 20], nice=False)
    scale_y = alt.Scale(domain=[min(ys) - 20, max(ys) + 20], nice=False, reverse=True)
    axis: dict[str, Any] = dict(axis=None)
    lines = alt.Chart(_inline(edges)).mark_rule(strokeWidth=2).encode(
        x=alt.X("x:Q", scale=scale_x, **axis), y=alt.Y("y:Q", scale=scale_y, **axis), x2="x2:Q", y2="y2:Q",
        color=alt.Color("band:N", scale=_band_scale(), title="Worst utilisation over all failures"),
        tooltip=["direction:N", "worst_pct:Q", "caused_by:N"])
    points = alt.Chart(_inline(nodes)).mark_circle(size=40, color="#2b3a55").encode(
        x=alt.X("x:Q", scale=scale_x, **axis), y=alt.Y("y:Q", scale=scale_y, **axis), tooltip=["node:N"])
    names = alt.Chart(_inline(nodes)).mark_text(fontSize=9, dy=-9, color="#2b3a55").encode(
        x=alt.X("x:Q", scale=scale_x, **axis), y=alt.Y("y:Q", scale=scale_y, **axis), text="node:N")
    layers = [lines, points] + ([names] if len(t.nodes) <= 60 else [])  # names would cover a large map
    return alt.layer(*layers).properties(
        title=f"{t.name}: each link direction's worst case over {len(stored.failures)} failures",
        width=600, height=int(min(900, max(200, 600 * span_y / span_x)))).configure_view(stroke=None)
