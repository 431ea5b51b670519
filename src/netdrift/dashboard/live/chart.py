"""The Live view's forecast panel: the selected direction's actual load against every model's
forecast and interval on the simulated clock, its capacity, failures, restores and re-fits (a
plain Vega-Lite dict the browser updates in place), and its exports, titled and naming the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from netdrift.dashboard.common.export import chart_bytes, dataframe_to_csv, scenario_text
from netdrift.dashboard.live.helpers import refitting_models
from netdrift.dashboard.map.colours import FAILURE_RULE, colour_range
from netdrift.dashboard.map.names import element_name
from netdrift.dashboard.map.overload import direction_short_names

if TYPE_CHECKING:
    from netdrift.engine.experiments.scenario import LiveScenario

__all__ = ["MARKERS", "KEEP_EVENT_STEPS", "chart_window", "link_chart_spec", "scenario_line", "chart_export"]

#: The chart's rules, in the legend's order, each with its colour and dash (no model's colour:
#: the catalogue's incremental models are red, so a failure is black dashed, as on the map).
MARKERS = {"failure": FAILURE_RULE, "restore": ("#2b6cb0", [1, 3]),
           "re-fit": ("#8a8a8a", [2, 2]), "capacity": ("#5f5f5f", [10, 4])}
#: The chart keeps the last failure or restore in view up to this many steps back (a week of 15 min).
KEEP_EVENT_STEPS = 672


def chart_window(live: LiveScenario, last: int = 192, end: int | None = None) -> int:
    """First step the chart shows: the last ``last`` steps before ``end`` (the live step by
    default), reaching back to keep the latest event (and a few steps before it) in view, up to
    :data:`KEEP_EVENT_STEPS` back."""
    end = live.step if end is None else end
    lo = max(0, end - last)
    past = [e.step for e in live.events if e.step < end]
    if past:
        lo = min(lo, max(past) - 8)
    return max(0, lo, end - KEEP_EVENT_STEPS)


def _epoch_ms(live: LiveScenario, steps: np.ndarray) -> np.ndarray:
    """The simulated clock of ``steps`` as milliseconds since 1970 (a naive start counts as UTC)."""
    start = pd.Timestamp(live.traffic.start)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    step_ms = int(round(live.traffic.step_minutes * 60_000))
    return start.value // 1_000_000 + np.asarray(steps, dtype=np.int64) * step_ms


def link_chart_spec(live: LiveScenario, direction: int, last: int = 192, end: int | None = None) -> dict:
    """Actual load vs every model's forecast on one direction against the simulated clock, each
    model's prediction interval as a translucent band of its colour (when the run has intervals),
    the direction's capacity, failures, restores and each re-fitting model's last re-fit as rules
    with a legend of their own; the actual is drawn on top; a plain Vega-Lite dict.

    The window is the last ``last`` steps, widened to keep the latest event in view
    (:func:`chart_window`). The data sit in named ``datasets`` (``actual``, ``events``, ``retrain``,
    ``capacity`` and, once the window holds them, ``bands`` and ``forecasts``: each a column dict
    with ``step`` and ``time`` (ms since 1970, UTC = the simulated clock), possibly empty) and
    the rest of the spec depends only on the models, whether there are bands and whether the
    capacity is within the loads' range. So a click or a tick sends a spec Streamlit's frontend
    has already embedded, and it swaps the data in place instead of re-compiling the chart (~100 ms
    in the browser per re-embed). Built without Altair (its ``to_dict`` costs 100-200 ms, too
    much for a click's rerun). The band of a step is the interval of its H-step-ahead forecast,
    the one the line shows. With ``end`` (at most the live step) the chart stops before that step:
    the run as it was then (the time slider).
    """
    end = live.step if end is None else max(0, min(int(end), live.step))
    lo = chart_window(live, last, end)
    names = ["actual", *live.forecasts]
    arrays = [np.asarray(live.simulator.loads.loads[lo:end, direction], dtype=float)]
    arrays += [np.asarray(f[lo:end, direction], dtype=float) for f in live.forecasts.values()]
    steps = np.arange(lo, end)
    keep = [np.isfinite(a) for a in arrays]

    def lines(which: slice) -> dict[str, np.ndarray]:
        kept = np.concatenate([steps[k] for k in keep[which]] or [np.zeros(0)]).astype(np.int64)
        return {"step": kept, "time": _epoch_ms(live, kept),
                "series": np.concatenate([np.full(int(k.sum()), n, dtype=object)
                                          for n, k in zip(names[which], keep[which])] or [np.zeros(0, object)]),
                "Mbit/s": np.round(np.concatenate([a[k] for a, k in zip(arrays[which], keep[which])]
                                                  or [np.zeros(0)]), 2)}

    actual, forecasts = lines(slice(0, 1)), lines(slice(1, None))
    evs = [e for e in live.events if lo <= e.step < max(end, lo + 1)]
    ev_steps = np.array([e.step for e in evs], dtype=np.int64)
    events = {"step": ev_steps, "time": _epoch_ms(live, ev_steps),
              "event": np.array([f"{e.action} {element_name(live.topology, e.target, e.kind)}" for e in evs],
                                dtype=object),
              "marker": np.array(["failure" if e.action == "fail" else "restore" for e in evs], dtype=object)}
    refits = [(label, step) for label in refitting_models(live)
              if (step := live.last_retrain_step(label)) is not None and lo <= step < max(end, lo + 1)]
    rf_steps = np.array([step for _, step in refits], dtype=np.int64)
    refit = {"step": rf_steps, "time": _epoch_ms(live, rf_steps),
             "event": np.array([f"{label} re-fitted" for label, _ in refits], dtype=object),
             "marker": np.full(len(refits), "re-fit", dtype=object)}
    cap = float(live.capacity[direction])
    capacity = {"Mbit/s": np.array([cap]), "marker": np.array(["capacity"], dtype=object)}
    rule_tip = [{"field": "event", "type": "nominal"}, {"field": "step", "type": "quantitative"}]
    colour = {"field": "series", "type": "nominal", "title": None, "sort": names,
              "scale": {"domain": names, "range": colour_range(names)}}
    marker_names = list(MARKERS)
    dash = {"field": "marker", "type": "nominal", "title": None,
            "scale": {"domain": marker_names, "range": [MARKERS[m][1] for m in marker_names]},
            "legend": {"symbolType": "stroke", "symbolStrokeWidth": 2, "orient": "bottom"}}
    x = {"field": "time", "type": "temporal", "title": f"simulated time ({live.traffic.step_minutes:g}-min steps)",
         "scale": {"type": "utc"}, "axis": {"format": "%a %H:%M", "labelOverlap": True}}
    y_title = "load (Mbit/s)"
    datasets = {"actual": actual, "events": events, "retrain": refit, "capacity": capacity}
    layers = []
    bands = _bands(live, direction, lo, end) if live.recorder.lower else None
    highest = max([float(np.nanmax(a)) for a, k in zip(arrays, keep) if k.any()] or [0.0])
    # Only with bounds to draw: an empty dataset in the scales' domains makes Vega warn "Infinite
    # extent" on every tick. So the spec changes (one re-embed) when the first bounds arrive.
    if bands is not None and len(bands["step"]):
        datasets["bands"] = bands
        highest = max(highest, float(np.max(bands["upper"])))
        layers.append({
            "data": {"name": "bands"},
            "mark": {"type": "area", "fillOpacity": 0.16},
            "encoding": {
                "x": x,
                "y": {"field": "lower", "type": "quantitative", "title": y_title},
                "y2": {"field": "upper"},
                "color": colour,
                "tooltip": [{"field": "step", "type": "quantitative"}, {"field": "series", "type": "nominal"},
                            {"field": "lower", "type": "quantitative", "format": ",.3~s"},
                            {"field": "upper", "type": "quantitative", "format": ",.3~s"}],
            },
        })
    line_tip = [{"field": "time", "type": "temporal", "title": "time", "format": "%a %H:%M", "formatType": "utc"},
                {"field": "step", "type": "quantitative"}, {"field": "series", "type": "nominal"},
                {"field": "Mbit/s", "type": "quantitative", "format": ",.3~r"}]
    line_y = {"field": "Mbit/s", "type": "quantitative", "title": y_title}
    # The legend shows lines (the bands' area symbols would fill it otherwise).
    line_colour = {**colour, "legend": {"symbolType": "stroke", "symbolOpacity": 1, "symbolStrokeWidth": 2}}
    # Rules are placed on the lines' x scale instead of feeding it: an empty rule dataset in
    # the scale's domain makes Vega warn "Infinite extent" on every tick.
    on_x = {"value": {"expr": "scale('x', datum.time)"}}
    # The capacity feeds the y scale only when the loads come near it; else the lines would be
    # squashed at the bottom, and the rule stays out of view (the title gives the capacity).
    cap_y = ({"field": "Mbit/s", "type": "quantitative", "title": y_title} if highest >= 0.4 * cap
             else {"value": {"expr": "scale('y', datum['Mbit/s'])"}})
    # Like the bands, the forecasts' layer comes with its first forecast (an empty dataset in the
    # scales' domains makes Vega warn "Infinite extent" on every tick).
    if len(forecasts["step"]):
        datasets["forecasts"] = forecasts
        layers.append({"data": {"name": "forecasts"},
                       "mark": {"type": "line", "strokeWidth": 1.5, "strokeDash": [4, 2]},
                       "encoding": {"x": x, "y": line_y, "color": line_colour, "tooltip": line_tip}})
    return {
        "height": 260,
        "title": {"text": f"{direction_short_names(live.topology)[direction]}: capacity {cap:,.0f} Mbit/s",
                  "fontSize": 12, "fontWeight": "normal", "anchor": "start"},
        "datasets": datasets,
        "layer": [
            *layers,
            *[{"data": {"name": "events"}, "transform": [{"filter": f"datum.marker === '{m}'"}],
               "mark": {"type": "rule", "strokeWidth": 1.8, "clip": True, "color": MARKERS[m][0]},
               "encoding": {"x": on_x, "strokeDash": dash, "tooltip": rule_tip}} for m in ("failure", "restore")],
            {"data": {"name": "retrain"},
             "mark": {"type": "rule", "strokeWidth": 1.2, "clip": True, "color": MARKERS["re-fit"][0]},
             "encoding": {"x": on_x, "strokeDash": dash, "tooltip": rule_tip}},
            {"data": {"name": "capacity"},
             "mark": {"type": "rule", "strokeWidth": 1.2, "clip": True, "color": MARKERS["capacity"][0]},
             "encoding": {"y": cap_y, "strokeDash": dash,
                          "tooltip": [{"field": "marker", "type": "nominal", "title": "rule"},
                                      {"field": "Mbit/s", "type": "quantitative", "format": ",.0f"}]}},
            # The actual last, on top of every forecast.
            {"data": {"name": "actual"}, "mark": {"type": "line", "strokeWidth": 2.0},
             "encoding": {"x": x, "y": line_y, "color": line_colour, "tooltip": line_tip}},
        ],
    }


def scenario_line(live: LiveScenario) -> str:
    """The run as an export names it: topology, failures and restores by name, models, horizon."""
    events = [f"{e.action} {element_name(live.topology, e.target, e.kind)} at step {e.step}"
              for e in live.events if e.step < live.step]
    return scenario_text(live.topology.name, events, [e.label for e in live.entries],
                         live.settings.common.horizon, live.traffic.step_minutes)


def chart_export(live: LiveScenario, direction: int, fmt: str, last: int = 192) -> bytes:
    """The forecast panel of ``direction`` as a ``fmt`` file (png, svg, pdf: the chart; csv: its
    window of actual, forecasts and bounds in Mbit/s), titled and naming the scenario."""

    title = f"Load and forecasts, {direction_short_names(live.topology)[direction]} (step {live.step})"
    scenario = scenario_line(live)
    if fmt == "csv":
        return dataframe_to_csv(live.window(direction, live.step - chart_window(live, last)), title, scenario)
    spec = link_chart_spec(live, direction, last)
    datasets = {name: pd.DataFrame(cols).to_dict(orient="records") for name, cols in spec["datasets"].items()}
    return chart_bytes({**spec, "datasets": datasets, "width": 640}, fmt, title, scenario)  # type: ignore[arg-type]  # fmt: png, svg or pdf here (csv returned above)


def _bands(live: LiveScenario, direction: int, lo: int, end: int) -> dict[str, np.ndarray]:
    """The chart's ``bands`` dataset: every model's recorded interval on one direction from
    step ``lo`` to ``end`` (steps without a bound left out), with its ``time``."""
    steps = np.arange(lo, end)
    parts = []
    for label in live.forecasts:
        if label not in live.recorder.lower:
            continue
        low = np.asarray(live.recorder.lower[label][lo:end, direction], dtype=float)
        high = np.asarray(live.recorder.upper[label][lo:end, direction], dtype=float)
        keep = np.isfinite(low) & np.isfinite(high)
        parts.append((label, steps[keep], low[keep], high[keep]))
    band_steps = np.concatenate([p[1] for p in parts] or [np.zeros(0)]).astype(np.int64)
    return {
        "step": band_steps,
        "time": _epoch_ms(live, band_steps),
        "series": np.concatenate([np.full(len(p[1]), p[0], dtype=object) for p in parts] or [np.zeros(0, object)]),
        "lower": np.round(np.concatenate([p[2] for p in parts] or [np.zeros(0)]), 2),
        "upper": np.round(np.concatenate([p[3] for p in parts] or [np.zeros(0)]), 2),
    }
