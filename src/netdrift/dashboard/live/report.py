"""A failure-impact report to hand on, from the Live page: the event, a static map, the directions
over capacity, the dropped and cut-off traffic, what changed, the forecasts and the warnings, as one
HTML file (standard library only, the images inline) or one PDF (:mod:`netdrift.dashboard.common.pdf`).

The map is the Live map's data (:func:`netdrift.dashboard.live.helpers.map_data`) drawn as a
Vega-Lite chart of lines and points and rendered by vl-convert, so nothing is fetched and no browser
is needed. :func:`build_report` gathers everything (no Streamlit); :func:`report_html` and
:func:`report_pdf` write it.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from netdrift.dashboard.common.export import chart_bytes, chart_to_png
from netdrift.dashboard.common.pdf import PdfDocument
from netdrift.dashboard.live import helpers as lh
from netdrift.dashboard.live.chart import link_chart_spec, scenario_line
from netdrift.dashboard.live.impact_panel import impact_of_last_event
from netdrift.dashboard.map.model import FAILED_COLOUR, OVERLOAD_COLOUR
from netdrift.dashboard.map.names import element_name, failed_text
from netdrift.dashboard.map.overload import direction_short_names

if TYPE_CHECKING:
    from netdrift.dashboard.common.state import LiveSession

__all__ = ["Report", "build_report", "map_spec", "report_html", "report_pdf"]

#: Node names are written on the static map up to this many nodes (else only the ends of failed or
#: overloaded links).
NAMED_NODES_MAX = 60


@dataclass(frozen=True)
class Report:
    """What the report says, as text, tables and PNG images."""

    title: str
    run: str
    event: str
    summary: list[tuple[str, str]]
    overloads: list[str]
    warnings: list[str]
    tables: list[tuple[str, pd.DataFrame]]
    map_png: bytes
    map_note: str
    forecast_title: str = ""
    forecast_png: bytes | None = None
    events_log: list[str] = field(default_factory=list)
    #: Whether the report is about a run with forecasts (a sweep's has none: no warnings section).
    has_forecasts: bool = True


def map_spec(data: dict, width: int = 640) -> dict:
    """A static Vega-Lite map of :func:`netdrift.dashboard.map.model.build_map` data: each link one
    line coloured by its busier direction (dashed black when failed, wider when over capacity),
    the PoPs as dots, over-capacity directions labelled with their utilisation."""
    pos = {n["id"]: (float(n["x"]), float(n["y"])) for n in data["nodes"]}
    links: dict[str, dict] = {}
    for e in data["edges"]:
        a, b = pos[e["from"]], pos[e["to"]]
        u = e["util"] if e["util"] is not None else -1.0
        row = links.get(e["link"])
        if row is None or u > row["u"]:
            links[e["link"]] = {"x": a[0], "y": a[1], "x2": b[0], "y2": b[1], "u": u, "colour": e["color"],
                                "width": e["width"], "failed": e["failed"], "over": bool(e.get("overload")),
                                "text": f"{e['util'] * 100:.0f} %" if e.get("overload") else ""}
    rows = list(links.values())
    xs = [p[0] for p in pos.values()] or [0.0, 1.0]
    ys = [p[1] for p in pos.values()] or [0.0, 1.0]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    pad = 0.04 * max(x1 - x0, y1 - y0, 1.0)
    height = int(min(800, max(300, width * (y1 - y0 + 2 * pad) / max(x1 - x0 + 2 * pad, 1e-9))))
    x = {"field": "x", "type": "quantitative", "axis": None, "scale": {"domain": [x0 - pad, x1 + pad]}}
    y = {"field": "y", "type": "quantitative", "axis": None, "scale": {"domain": [y0 - pad, y1 + pad], "reverse": True}}
    ends = {e["from"] for e in data["edges"] if e["failed"] or e.get("overload")} | \
           {e["to"] for e in data["edges"] if e["failed"] or e.get("overload")}
    named = [{"x": n["x"], "y": n["y"], "name": n["label"]} for n in data["nodes"]
             if n["label"] and (len(data["nodes"]) <= NAMED_NODES_MAX or n["id"] in ends)]
    line = {"x": x, "y": y, "x2": {"field": "x2"}, "y2": {"field": "y2"},
            "color": {"field": "colour", "type": "nominal", "scale": None},
            "strokeWidth": {"field": "width", "type": "quantitative", "scale": None}}
    mid = [{"x": (r["x"] + r["x2"]) / 2, "y": (r["y"] + r["y2"]) / 2, "text": r["text"]} for r in rows if r["over"]]
    nodes = [{"x": n["x"], "y": n["y"], "colour": n["color"]["background"]} for n in data["nodes"]]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": width, "height": height, "background": "#f8fafc", "view": {"stroke": None},
        "layer": [
            {"data": {"values": [r for r in rows if not r["failed"]]}, "mark": {"type": "rule", "opacity": 0.9},
             "encoding": line},
            {"data": {"values": [r for r in rows if r["failed"]]},
             "mark": {"type": "rule", "strokeDash": [6, 4], "color": FAILED_COLOUR, "strokeWidth": 2.5},
             "encoding": {k: v for k, v in line.items() if k in ("x", "y", "x2", "y2")}},
            {"data": {"values": nodes}, "mark": {"type": "circle", "size": 28, "opacity": 1},
             "encoding": {"x": x, "y": y, "color": {"field": "colour", "type": "nominal", "scale": None}}},
            {"data": {"values": named}, "mark": {"type": "text", "dy": -8, "fontSize": 9, "color": "#1f2937"},
             "encoding": {"x": x, "y": y, "text": {"field": "name"}}},
            {"data": {"values": mid}, "mark": {"type": "text", "fontSize": 10, "fontWeight": "bold",
                                                "color": OVERLOAD_COLOUR, "dy": 10},
             "encoding": {"x": x, "y": y, "text": {"field": "text"}}},
        ],
    }


def build_report(sess: LiveSession, step: int | None = None, model: str | None = None,
                 direction: int | None = None) -> Report:
    """The report of the run in ``sess`` at its live step (or at an earlier ``step``, as the time
    slider shows it): the latest event in force there, its impact, ``model``'s warnings (live step
    only), the forecasts of the over-capacity directions and the forecast panel of ``direction``."""
    live = sess.live
    topo = live.topology
    now = lh.shown_step(live)
    k = now if step is None or step >= now else max(0, int(step))
    impact = impact_of_last_event(live, step=k)
    down_links, down_nodes = live.simulator.state_at(k)
    when = f"step {k} ({live.time_of(k):%a %Y-%m-%d %H:%M})"
    if impact is None:
        event = f"No failure or restore in force at {when}."
    elif impact.event_names:
        event = (f"{', '.join(impact.event_names)} at step {impact.event_step} "
                 f"({live.time_of(impact.event_step):%a %Y-%m-%d %H:%M}); shown at {when}.")
    else:
        event = f"The failures and restores at step {impact.event_step} cancel out; shown at {when}."
    summary = [("Topology", f"{topo.name} ({len(topo.nodes)} nodes, {len(topo.links)} links)"),
               ("Step shown", when + ("" if k == now else f" (the run is at step {live.step})")),
               ("Failed now", failed_text(topo, down_links, down_nodes)),
               ("Dropped traffic", f"{live.dropped_mbps_at(k):,.0f} Mbit/s")]
    tables: list[tuple[str, pd.DataFrame]] = []
    if impact is not None:
        summary += [("Dropped before the event", f"{impact.dropped_before:,.0f} Mbit/s"),
                    ("Cut-off nodes", ", ".join(impact.cut_off_names) or "none"),
                    ("Directions over 100 %", str(len(impact.overloads)))]
        tables += [("Over capacity (worst first)", impact.overloads),
                   ("Top dropped node pairs (traffic cut off)", impact.dropped_pairs),
                   ("Largest changes against the state before the event", impact.changes)]
    data = lh.map_data(sess, None, step=None if k == now else k,
                       highlight=frozenset(impact.cut_off) if impact else frozenset())
    overloads = [text for _, text in lh.overload_rows(sess)] if k == now else []
    warnings = [text for _, text in (lh.warning_rows(sess, model) or [])] if k == now and model else []
    tables.append(("Forecasts of the directions over capacity (Mbit/s)", _forecast_table(sess, k, now)))
    forecast_title, forecast_png = "", None
    if direction is not None:
        spec = link_chart_spec(live, direction, end=None if k == now else k + 1)
        spec = {**spec, "width": 640, "datasets": {n: pd.DataFrame(c).to_dict(orient="records")
                                                   for n, c in spec["datasets"].items()}}
        forecast_title = f"Load and forecasts, {direction_short_names(topo)[direction]}"
        forecast_png = chart_bytes(spec, "png")
    log = [f"step {e.step}: {e.action} {element_name(topo, e.target, e.kind)}" for e in live.events if e.step <= k]
    return Report(
        title=f"netdrift failure-impact report: {topo.name}, {when}",
        run=scenario_line(live), event=event, summary=summary, overloads=overloads, warnings=warnings,
        tables=[(t, df) for t, df in tables if len(df)],
        map_png=chart_to_png(map_spec(data), scale=1.5),
        map_note=("Each link in the colour of its busier direction's utilisation band (the Live map's legend); "
                  "dashed black: failed; magenta and labelled: over capacity; violet dots: cut off."),
        forecast_title=forecast_title, forecast_png=forecast_png, events_log=log)


def _forecast_table(sess: LiveSession, k: int, now: int) -> pd.DataFrame:
    """Load, capacity and each model's forecast of step ``k`` for the directions over capacity at ``k``."""
    live = sess.live
    loads = np.asarray(live.loads_at(k), dtype=float)
    cap = np.asarray(live.capacity, dtype=float)
    up = np.repeat(live.topology.link_up_mask(*live.simulator.state_at(k)), 2)
    over = [d for d in np.flatnonzero(up & (loads > cap)).tolist()]
    over.sort(key=lambda d: -loads[d] / cap[d])
    forecasts = lh.next_forecasts(sess) if k == now else {m: f[k] for m, f in live.forecasts.items()}
    names = direction_short_names(live.topology)
    rows = {"direction": [names[d] for d in over[:12]],
            "load (Mbit/s)": [round(float(loads[d])) for d in over[:12]],
            "capacity (Mbit/s)": [round(float(cap[d])) for d in over[:12]]}
    for m, f in forecasts.items():
        rows[f"{m} forecast (Mbit/s)"] = [None if not np.isfinite(f[d]) else round(float(f[d])) for d in over[:12]]
    return pd.DataFrame(rows)


def _html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else f'{v:,}' if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v))}</td>"
                                    for v in row) + "</tr>" for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(report: Report) -> bytes:
    """The report as one self-contained HTML page (UTF-8; images inline, nothing fetched)."""
    esc = html.escape
    img = base64.b64encode(report.map_png).decode("ascii")
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(report.title)}</title>",
             "<style>body{font-family:system-ui,sans-serif;max-width:980px;margin:24px auto;color:#1f2937}"
             "table{border-collapse:collapse;margin:6px 0 14px}td,th{border:1px solid #d0d5dd;padding:3px 8px;"
             "font-size:13px;text-align:left}th{background:#f2f4f7}img{max-width:100%}"
             ".note{color:#555;font-size:13px}</style></head><body>",
             f"<h1>{esc(report.title)}</h1>", f"<p class=\"note\">{esc(report.run)}</p>",
             f"<h2>Event</h2><p id=\"event\">{esc(report.event)}</p>",
             "<dl>" + "".join(f"<dt><b>{esc(a)}</b></dt><dd>{esc(b)}</dd>" for a, b in report.summary) + "</dl>",
             f"<h2>Map</h2><img alt=\"map of the network\" src=\"data:image/png;base64,{img}\">",
             f"<p class=\"note\">{esc(report.map_note)}</p>"]
    if report.overloads:
        parts.append("<h2>Overloads now</h2><ul>" + "".join(f"<li>{esc(t)}</li>" for t in report.overloads) + "</ul>")
    if report.has_forecasts:
        parts.append("<h2>Overload warnings</h2>" + ("<ul>" + "".join(f"<li>{esc(t)}</li>" for t in report.warnings)
                                                      + "</ul>" if report.warnings else "<p>None.</p>"))
    for title, df in report.tables:
        parts.append(f"<h2>{esc(title)}</h2>{_html_table(df)}")
    if report.forecast_png is not None:
        chart = base64.b64encode(report.forecast_png).decode("ascii")
        parts.append(f"<h2>{esc(report.forecast_title)}</h2>"
                     f"<img alt=\"{esc(report.forecast_title)}\" src=\"data:image/png;base64,{chart}\">")
    if report.events_log:
        parts.append("<h2>Event log</h2><ol>" + "".join(f"<li>{esc(t)}</li>" for t in report.events_log) + "</ol>")
    parts.append("</body></html>")
    return "\n".join(parts).encode("utf-8")


def report_pdf(report: Report) -> bytes:
    """The report as a PDF (text kept as text, the map and the forecast chart as images)."""
    doc = PdfDocument(report.title)
    doc.heading(report.title, 15)
    doc.text(report.run, 8.5)
    doc.heading("Event", 12)
    doc.text(report.event)
    for a, b in report.summary:
        doc.text(f"{a}: {b}")
    doc.heading("Map", 12)
    doc.image(report.map_png, max_height=430)
    doc.text(report.map_note, 8.5)
    if report.overloads:
        doc.heading("Overloads now", 12)
        for t in report.overloads:
            doc.text("- " + t)
    if report.has_forecasts:
        doc.heading("Overload warnings", 12)
        for t in report.warnings or ["None."]:
            doc.text("- " + t if report.warnings else t)
    for title, df in report.tables:
        doc.heading(title, 12)
        doc.text(" | ".join(str(c) for c in df.columns), 8.5)
        for row in df.itertuples(index=False):
            doc.text(" | ".join("" if v is None else f"{v:,}" if isinstance(v, (int, float)) else str(v)
                                for v in row), 8.5)
    if report.forecast_png is not None:
        doc.heading(report.forecast_title, 12)
        doc.image(report.forecast_png, max_height=300)
    if report.events_log:
        doc.heading("Event log", 12)
        for t in report.events_log:
            doc.text(t, 9)
    return doc.build()
