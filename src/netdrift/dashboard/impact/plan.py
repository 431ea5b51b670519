"""What the Impact page's Plan view shows, computed without Streamlit: the upgrades as a table,
the timeline of when each is needed, the before / after worst-case maps (charts) and the report to take
to the meeting (HTML; the table as CSV and the timeline as PNG / SVG / PDF go through the usual
export buttons). The plan itself is :func:`netdrift.engine.planning.plan` (docs/planning.md)."""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, cast

import altair as alt
import pandas as pd

from netdrift.dashboard.map.model import BAND_COLOURS, band_colour, legend
from netdrift.dashboard.map.names import link_name, node_name
from netdrift.engine.network.topology import Topology
from netdrift.engine.planning import PlanResult, parse_costs, parse_growth, parse_modules, plan
from netdrift.engine.traffic.sources import make_traffic

__all__ = ["PlanForm", "run_plan", "upgrades_table", "timeline_chart", "worst_case_rows", "plan_map_chart", "plan_caption", "report_html",
           "report_pdf",
           "UPGRADE_COLUMNS"]

#: Columns of :func:`upgrades_table`, with their units.
UPGRADE_COLUMNS = ["Link", "Needed from", "Days after the history", "Needed when this fails",
                   "Capacity before (Mbit/s)", "Modules added", "Capacity after (Mbit/s)", "Cost",
                   "Worst before (%)", "Worst after (%)", "Sized for (failure, time)"]


@dataclass(frozen=True)
class PlanForm:
    """The Plan view's inputs, as the operator typed them (texts are parsed by the engine's rules)."""

    steps: int
    step_minutes: float
    seed: int
    peak_utilization: float
    horizon_days: float
    growth: str
    survive: str
    target_utilization: float
    modules: str
    cost_per_module: str | None = None
    cost_per_km: float = 0.0
    interval: float | None = None


def run_plan(topology: Topology, form: PlanForm, progress: Callable[[int, int], None] | None = None) -> PlanResult:
    """Synthetic history as the form says, then the plan (threads only: a server must not fork).
    Bad input raises :class:`netdrift.engine.errors.InputError` (one line)."""
    rate = parse_growth(form.growth)
    modules = parse_modules(form.modules)
    costs = parse_costs(form.cost_per_module or None, len(modules))
    history = make_traffic("synthetic", topology, form.steps, form.step_minutes, form.seed,
                           peak_utilization=form.peak_utilization, require_steps=True)
    return plan(topology, history, horizon_days=form.horizon_days, growth=rate, survive=form.survive,
                target_utilization=form.target_utilization, modules=modules, cost_per_module=costs,
                cost_per_km=form.cost_per_km, interval=form.interval, processes=False, progress=progress)


def _modules_text(u: Mapping[str, Any]) -> str:
    return " + ".join(f"{m['count']} x {m['mbps'] / 1000:g} Gbit/s" for m in u["modules"])


def _failure(topology: Topology, target: str) -> str:
    if target == "none":
        return "no failure"
    if target in topology.link_index:
        return link_name(topology, target)
    if target in topology.node_index:
        return node_name(topology, target)
    return target


def upgrades_table(result: PlanResult) -> pd.DataFrame:
    """One row per upgrade, in the order they are needed."""
    t = result.topology
    rows = []
    for u in result.report["upgrades"]:
        need, sized = u["needed_from"], u["sized_for"]
        rows.append([link_name(t, u["link_id"]), need["time"].replace("T", " "), need["days_from_history_end"],
                     _failure(t, need["failure"]), u["capacity_before_mbps"], _modules_text(u),
                     u["capacity_after_mbps"], u["cost"], round(100 * u["utilization_before"], 1),
                     round(100 * u["utilization_after"], 1),
                     f"{_failure(t, sized['failure'])}, {sized['time'].replace('T', ' ')}"])
    return pd.DataFrame(rows, columns=UPGRADE_COLUMNS)


def timeline_chart(result: PlanResult) -> alt.LayerChart:
    """When each upgrade is needed: one point per link on a time axis from the history's end to the
    horizon's end (the plan week shaded), labelled with the modules added."""
    r = result.report
    table = upgrades_table(result)
    df = pd.DataFrame({"link": table["Link"], "needed": pd.to_datetime(table["Needed from"]),
                       "modules": table["Modules added"], "failure": table["Needed when this fails"]})
    start, end = pd.to_datetime(r["history"]["to"]), pd.to_datetime(r["horizon"]["end"])
    week = pd.DataFrame({"from": [pd.to_datetime(r["plan_week"]["from"])], "to": [end]})
    scale = alt.Scale(domain=[start.isoformat(), end.isoformat()])
    band = alt.Chart(_inline(week)).mark_rect(opacity=0.12, color="#e0301e").encode(
        x=alt.X("from:T", scale=scale), x2="to:T")
    order = alt.EncodingSortField("needed", order="ascending")
    points = alt.Chart(_inline(df)).mark_circle(size=90, color="#2b3a55").encode(
        x=alt.X("needed:T", scale=scale, title="Needed from (the plan week shaded)"),
        y=alt.Y("link:N", sort=order, title=None),
        tooltip=[alt.Tooltip("link:N", title="Link"), alt.Tooltip("needed:T", title="Needed from", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("modules:N", title="Modules"), alt.Tooltip("failure:N", title="When this fails")])
    labels = alt.Chart(_inline(df)).mark_text(align="left", dx=8, fontSize=10).encode(
        x=alt.X("needed:T", scale=scale), y=alt.Y("link:N", sort=order), text="modules:N")
    return cast(alt.LayerChart, alt.layer(band, points, labels).properties(
        title=f"{r['topology']}: when each upgrade is needed ({len(df)} upgrades)",
        width=560, height=max(60, 26 * len(df))))


def _inline(df: pd.DataFrame) -> alt.InlineData:
    return alt.InlineData(values=json.loads(df.to_json(orient="records", date_format="iso")))


def _band_label(u: float) -> str:
    entries = legend()
    colours = [e["colour"] for e in entries]
    return entries[colours.index(band_colour(u))]["label"]


def worst_case_rows(result: PlanResult, after: bool) -> pd.DataFrame:
    """One row per link direction: its worst utilisation (%) over every failure and step of the
    plan week on the capacities before or after the upgrades (the loads are the same: capacity does
    not move routes), the failure causing it and the upgrade of its link."""
    t = result.upgraded if after else result.topology
    loads, states = result.worst_load_mbps, result.worst_state
    assert loads is not None and states is not None
    ups = {u["link_id"]: u for u in result.report["upgrades"]}
    cap = t.direction_capacity
    rows = []
    for d, (lid, a, b) in enumerate(t.direction_names()):
        u = ups.get(lid)
        rows.append({"direction": f"{lid}: {node_name(t, a)} -> {node_name(t, b)}",
                     "worst_pct": round(100 * float(loads[d] / cap[d]), 2), "capacity_mbps": float(cap[d]),
                     "caused_by": _failure(result.topology, states[d] or "none"),
                     "upgrade": f"+{_modules_text(u)}" if u is not None else ""})
    return pd.DataFrame(rows)


def plan_map_chart(result: PlanResult, positions: Mapping[str, tuple[float, float]], after: bool) -> alt.LayerChart:
    """The worst-case map before or after the upgrades as a chart: each direction a segment (the two
    of a link side by side) coloured by its worst utilisation band, upgraded links drawn wider."""
    t = result.topology
    table = worst_case_rows(result, after)
    rows = []
    for i, link in enumerate(t.links):
        (x1, y1), (x2, y2) = positions[link.u], positions[link.v]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        ox, oy = -(y2 - y1) / length * 3.0, (x2 - x1) / length * 3.0  # 3 px apart, one side each
        for d, sign in ((2 * i, 1.0), (2 * i + 1, -1.0)):
            r = table.iloc[d]
            rows.append({"x": x1 + sign * ox, "y": y1 + sign * oy, "x2": x2 + sign * ox, "y2": y2 + sign * oy,
                         **r.to_dict(), "width": 4.0 if r["upgrade"] else 1.5,
                         "band": _band_label(r["worst_pct"] / 100.0)})
    edges = pd.DataFrame(rows)
    nodes = pd.DataFrame([{"x": positions[n.id][0], "y": positions[n.id][1], "node": node_name(t, n.id)}
                          for n in t.nodes])
    xs, ys = [p[0] for p in positions.values()], [p[1] for p in positions.values()]
    sx = alt.Scale(domain=[min(xs) - 20, max(xs) + 20], nice=False)
    sy = alt.Scale(domain=[min(ys) - 20, max(ys) + 20], nice=False, reverse=True)
    bands = [e["label"] for e in legend()[:len(BAND_COLOURS)]]
    lines = alt.Chart(_inline(edges)).mark_rule().encode(
        x=alt.X("x:Q", scale=sx, axis=None), y=alt.Y("y:Q", scale=sy, axis=None), x2="x2:Q", y2="y2:Q",
        strokeWidth=alt.StrokeWidth("width:Q", legend=None),
        color=alt.Color("band:N", scale=alt.Scale(domain=bands, range=list(BAND_COLOURS)), title="Worst utilisation"),
        tooltip=[alt.Tooltip("direction:N", title="Direction"), alt.Tooltip("worst_pct:Q", title="Worst (%)"),
                 alt.Tooltip("capacity_mbps:Q", title="Capacity (Mbit/s)", format=",.0f"),
                 alt.Tooltip("caused_by:N", title="When this fails"), alt.Tooltip("upgrade:N", title="Upgrade")])
    points = alt.Chart(_inline(nodes)).mark_circle(size=30, color="#2b3a55").encode(
        x=alt.X("x:Q", scale=sx, axis=None), y=alt.Y("y:Q", scale=sy, axis=None), tooltip=["node:N"])
    span_x, span_y = max(xs) - min(xs) + 40.0, max(ys) - min(ys) + 40.0
    when = "after the upgrades" if after else "before the upgrades"
    return cast(alt.LayerChart, alt.layer(lines, points).properties(
        title=f"{t.name}: worst case per direction {when}", width=420,
        height=int(min(700, max(160, 420 * span_y / span_x)))))


def plan_caption(result: PlanResult) -> str:
    """One paragraph: what the plan holds for and what it costs."""
    r = result.report
    g = r["growth"]
    growth = f"+{100 * g['rate_per_year']:g} % a year" if g["mode"] == "rate" else "a trend fitted per origin"
    bound = " (on the forecast's upper bound)" if r["plan_week"]["bound"] == "upper" else ""
    return (f"Every link direction at or under {100 * r['target_utilization']:g} % under each of the "
            f"{r['n_failures']} failures ({r['survive']}) and without failure, {r['horizon']['days']:g} days after "
            f"the history ({growth}){bound}: {r['n_upgrades']} upgrades, {r['modules_added']} modules, total cost "
            f"{r['total_cost']:g}. Worst case {100 * r['worst_before']['utilization']:.1f} % before, "
            f"{100 * r['worst_after']['utilization']:.1f} % after. The cheapest plan under the module rule "
            "(parallel circuits; capacity does not move IGP routes, so each link is sized exactly).")


def report_html(result: PlanResult) -> bytes:
    """A self-contained HTML report (no scripts, no external resources): the summary, the upgrades,
    the failures that cut demand off and the method."""
    r = result.report
    esc = html.escape
    table = upgrades_table(result).to_html(index=False, border=0, classes="upgrades", escape=True)
    cut = "".join(f"<li>{esc(_failure(result.topology, c['failure']))}: {c['cut_pairs']:,} node pairs cut off, up to "
                  f"{c['dropped_mbps_max']:,.1f} Mbit/s dropped</li>" for c in r["cut_off"])
    body = (f"<h1>Capacity plan: {esc(r['topology'])}</h1><p>{esc(plan_caption(result))}</p>"
            f"<p>History {esc(r['history']['from'])} to {esc(r['history']['to'])} ({r['history']['steps']} steps of "
            f"{r['history']['step_minutes']:g} min); horizon end {esc(r['horizon']['end'])}; plan week "
            f"{esc(r['plan_week']['from'])} to {esc(r['plan_week']['to'])}.</p>"
            f"<h2>Upgrades, in the order they are needed</h2>{table if r['upgrades'] else '<p>None needed.</p>'}"
            "<h2>Demand cut off by a failure</h2>"
            + (f"<ul>{cut}</ul><p>{esc(r['cut_off_note'])}.</p>" if cut else "<p>No failure cuts demand off.</p>")
            + f"<h2>Method</h2><p>{esc(r['method'])}. Cost rule: {esc(r['cost']['rule'])}.</p>")
    style = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
             "td,th{padding:4px 8px;border-bottom:1px solid #ccc;text-align:left;font-size:13px}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Capacity plan: {esc(r['topology'])}</title>"
            f"<style>{style}</style></head><body>{body}</body></html>").encode("utf-8")


def report_pdf(result: PlanResult, positions: Mapping[str, tuple[float, float]] | None = None) -> bytes:
    """The report as a PDF: the same summary, upgrades, cut-off demand and method as
    :func:`report_html`, with the timeline and the after-upgrade worst-case map as images."""
    from netdrift.dashboard.common.export import chart_to_png
    from netdrift.dashboard.common.pdf import PdfDocument
    from netdrift.dashboard.map.model import node_positions

    r = result.report
    doc = PdfDocument(f"Capacity plan: {r['topology']}")
    doc.heading(f"Capacity plan: {r['topology']}", 15)
    doc.text(plan_caption(result))
    doc.text(f"History {r['history']['from']} to {r['history']['to']} ({r['history']['steps']} steps of "
             f"{r['history']['step_minutes']:g} min); horizon end {r['horizon']['end']}; plan week "
             f"{r['plan_week']['from']} to {r['plan_week']['to']}.", 8.5)
    doc.heading("Upgrades, in the order they are needed", 12)
    table = upgrades_table(result)
    if r["upgrades"]:
        doc.text(" | ".join(str(c) for c in table.columns), 8.5)
        for row in table.itertuples(index=False):
            doc.text(" | ".join(str(v) for v in row), 8.5)
        doc.image(chart_to_png(timeline_chart(result), scale=1.5), max_height=260)
    else:
        doc.text("None needed.")
    doc.heading("Worst case per direction after the upgrades", 12)
    where = positions if positions is not None else node_positions(result.topology)
    doc.image(chart_to_png(plan_map_chart(result, where, after=True), scale=1.5), max_height=360)
    doc.heading("Demand cut off by a failure", 12)
    for c in r["cut_off"]:
        doc.text(f"- {_failure(result.topology, c['failure'])}: {c['cut_pairs']:,} node pairs cut off, up to "
                 f"{c['dropped_mbps_max']:,.1f} Mbit/s dropped")
    doc.text(f"{r['cut_off_note']}." if r["cut_off"] else "No failure cuts demand off.")
    doc.heading("Method", 12)
    doc.text(f"{r['method']}. Cost rule: {r['cost']['rule']}.")
    return doc.build()
