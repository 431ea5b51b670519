"""Small helpers behind the Live view: the quick preset, starting, ticking, saving, charts.

Kept out of ``views/live.py`` so that file reads like a description of the screen.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable

import numpy as np
import pandas as pd

from dashboard.colours import colour_range
from dashboard.map_model import MapFrame, build_map, node_positions

__all__ = [
    "QUICK_PRESET",
    "PRESET_TEXT",
    "make_spec",
    "start_history",
    "save_history",
    "tick",
    "map_data",
    "preview_map_data",
    "shown_step",
    "direction_options",
    "busiest_direction",
    "link_chart_spec",
    "errors_table",
]

#: The dashboard's quick preset: 15-minute steps, 3 days and 9 hours of training (so the live
#: part opens on a Thursday morning, when links are busy), 4 more days to watch, short
#: training, so the first scenario is ready within seconds on a CPU.
QUICK_PRESET: dict[str, Any] = {
    "step_minutes": 15.0,
    # Busiest link peaks at 85 %: the weathermap bands are all in use on the first screen.
    "peak_utilization": 0.85,
    "train_steps": 3 * 96 + 36,
    "steps": 7 * 96 + 36,
    # ForecastConfig fields (applied when the engine has them): short windows, few epochs.
    "forecast": {"window": 24, "horizon": 1, "epochs": 6, "train_windows": 2048, "ltc_epochs": 1,
                 "il_batch": 24, "il_window": 192, "il_epochs": 2, "mlp_hidden": 32},
}
PRESET_TEXT = (
    "Quick preset: 15-minute steps, {train} training steps ({train_days:g} days), "
    "{watch} live steps, window 24 steps, 6 short training epochs, incremental re-fit every "
    "24 steps on the last 192; made to start in seconds on a CPU. "
    "Use `netdrift run` for the paper's full setup."
)


def make_spec(topology: str, steps: int, train_steps: int, seed: int, models: list[str],
              device: str = "cpu", forecast: dict[str, Any] | None = None) -> Any:
    """A ScenarioSpec with the quick preset's forecast settings, or ``forecast`` (from Settings)."""
    from engine.scenario import ScenarioSpec

    base = ScenarioSpec()
    fc = base.forecast
    known = {f.name for f in dataclasses.fields(fc)}
    chosen = forecast if forecast is not None else QUICK_PRESET["forecast"]
    fc = dataclasses.replace(fc, **{k: v for k, v in chosen.items() if k in known})
    return dataclasses.replace(
        base,
        topology=topology,
        steps=int(steps),
        train_steps=int(train_steps),
        step_minutes=QUICK_PRESET["step_minutes"],
        peak_utilization=QUICK_PRESET["peak_utilization"],
        models=tuple(models),
        forecast=fc,
        seed=int(seed),
        device=device,
    )


def start_history(sessionmaker: Any, live: Any, label: str | None = None) -> tuple[int | None, str | None]:
    """Create the scenario row for a live run; (id, None) or (None, error message)."""
    if sessionmaker is None:
        return None, "No history database is configured."
    from storage.repository import ScenarioRepository

    spec = live.spec
    try:
        with sessionmaker.begin() as s:
            sid = ScenarioRepository(s).create_scenario(
                live.topology, spec.to_dict() if spec else {}, live.seed,
                [e.label for e in live.entries], label=label,
            )
        return int(sid), None
    except Exception as err:  # noqa: BLE001 - the live run goes on without a history row
        return None, f"History not written: {err}"


def save_history(sessionmaker: Any, scenario_id: int | None, live: Any) -> str:
    """Store what the live run observed so far as the scenario's result; a message."""
    if sessionmaker is None or scenario_id is None:
        return "Not saved: no history row for this run."
    from storage.repository import ScenarioRepository

    try:
        with sessionmaker.begin() as s:
            ScenarioRepository(s).save_result(scenario_id, live.result())
    except Exception as err:  # noqa: BLE001
        return f"Not saved: {err}"
    return f"Saved to history as scenario {scenario_id} (steps 0..{live.step - 1})."


def tick(live: Any, steps: int) -> float:
    """Advance the live scenario by ``steps`` and forecast the next step; engine time in ms."""
    t0 = time.perf_counter()
    if not live.finished:
        live.advance(steps)
        _next_forecasts(live)  # the map's hover shows them: part of the tick's engine work
    return (time.perf_counter() - t0) * 1000.0


def shown_step(live: Any) -> int:
    """The step the map shows: the current one (its loads already reflect new failures)."""
    return min(live.step, live.total_steps - 1)


_FORECAST_CACHE: str = "_netdrift_next_forecasts"


def _next_forecasts(live: Any) -> dict[str, np.ndarray]:
    # A failure at the current step does not change the observed window, so the forecasts
    # for the current step depend on the step only: compute once per step.
    cached = getattr(live, _FORECAST_CACHE, None)
    if cached is None or cached[0] != live.step:
        cached = (live.step, live.next_forecasts() if not live.finished else {})
        setattr(live, _FORECAST_CACHE, cached)
    return cached[1]


def map_data(live: Any, selected_link: str | None, seed: int = 0) -> dict:
    """Data for the topology map component at the shown step."""
    topo = live.topology
    positions = getattr(live, "_netdrift_positions", None)
    if positions is None:
        positions = node_positions(topo, seed=seed)
        live._netdrift_positions = positions
    step = shown_step(live)
    frame = MapFrame(
        loads_mbps=live.loads_at(step),
        forecasts_mbps=_next_forecasts(live),
        down_links=frozenset(live.down_links),
        down_nodes=frozenset(live.down_nodes),
        selected_link=selected_link,
    )
    data = build_map(topo, positions, frame)
    data.update(topology=topo.name, step=step, down_links=sorted(frame.down_links))
    return data


def preview_map_data(topology: Any) -> dict:
    """Map data of a topology before any run: positions and capacities, no loads yet."""
    data = build_map(topology, node_positions(topology), None)
    data.update(topology=topology.name, step=None, down_links=[])
    return data


def direction_options(topology: Any) -> list[tuple[int, str]]:
    """(direction index, "link: src -> dst") for every link direction."""
    labels = {n.id: n.label for n in topology.nodes}
    return [(d, f"{lid}: {labels.get(s, s)} \u2192 {labels.get(t, t)}")
            for d, (lid, s, t) in enumerate(topology.direction_names())]


def busiest_direction(live: Any) -> int:
    """Direction with the highest utilisation at the shown step (0 when all are NaN)."""
    u = np.asarray(live.utilization_at(shown_step(live)), dtype=float)
    return int(np.nanargmax(u)) if np.isfinite(u).any() else 0


def errors_table(live: Any, last: int = 96) -> pd.DataFrame:
    """Running error of every model over the last ``last`` steps, all directions."""
    rows = [{"model": m, "RMSE (Mbit/s)": v["rmse_mbps"], "MAPE (%)": v["mape_pct"]}
            for m, v in live.running_errors(last=last).items()]
    return pd.DataFrame(rows)


ProgressFn = Callable[[str, float], None]


def link_chart_spec(live: Any, direction: int, last: int = 192) -> dict:
    """Actual load vs every model's forecast on one direction over the last ``last`` steps,
    failures and the last incremental re-fit as rules; a plain Vega-Lite dict.

    The data sit in three named ``datasets`` (``series``, ``events``, ``retrain``, each a
    column dict, possibly empty) and the rest of the spec depends only on the models. So a
    click or a tick sends a spec Streamlit's frontend has already embedded, and it swaps the
    data in place instead of re-compiling the chart (~100 ms in the browser per re-embed).
    Built without Altair (its ``to_dict`` costs 100-200 ms, too much for a click's rerun).
    """
    lo = max(0, live.step - last)
    names = ["actual", *live.forecasts]
    arrays = [np.asarray(live.simulator.loads.loads[lo:live.step, direction], dtype=float)]
    arrays += [np.asarray(f[lo:live.step, direction], dtype=float) for f in live.forecasts.values()]
    steps = np.arange(lo, live.step)
    keep = [np.isfinite(a) for a in arrays]
    series = {
        "step": np.concatenate([steps[k] for k in keep]).astype(np.int64),
        "series": np.concatenate([np.full(int(k.sum()), n, dtype=object) for n, k in zip(names, keep)]),
        "Mbit/s": np.round(np.concatenate([a[k] for a, k in zip(arrays, keep)]), 2),
    }
    evs = [e for e in live.events if e.step >= lo]
    events = {"step": np.array([e.step for e in evs], dtype=np.int64),
              "event": np.array([f"{e.action} {e.target}" for e in evs], dtype=object)}
    retrain = live.last_retrain_step("incremental") if "incremental" in live.forecasts else None
    shown = retrain is not None and retrain >= lo
    refit = {"step": np.array([retrain] if shown else [], dtype=np.int64),
             "event": np.array(["incremental retrained"] if shown else [], dtype=object)}
    rule_tip = [{"field": "event", "type": "nominal"}, {"field": "step", "type": "quantitative"}]
    # Rules are placed on the lines' x scale instead of feeding it: an empty rule dataset in
    # the scale's domain makes Vega warn "Infinite extent" on every tick.
    on_series_scale = {"value": {"expr": "scale('x', datum.step)"}}
    return {
        "height": 260,
        "datasets": {"series": series, "events": events, "retrain": refit},
        "layer": [
            {
                "data": {"name": "series"},
                "mark": {"type": "line", "strokeWidth": 1.6},
                "encoding": {
                    "x": {"field": "step", "type": "quantitative", "title": "step", "scale": {"zero": False}},
                    "y": {"field": "Mbit/s", "type": "quantitative", "title": "load (Mbit/s)"},
                    "color": {"field": "series", "type": "nominal", "title": None, "sort": names,
                              "scale": {"domain": names, "range": colour_range(names)}},
                    "strokeDash": {"condition": {"test": "datum.series === 'actual'", "value": [1, 0]},
                                   "value": [4, 2]},
                    "tooltip": [{"field": "step", "type": "quantitative"}, {"field": "series", "type": "nominal"},
                                {"field": "Mbit/s", "type": "quantitative", "format": ",.1f"}],
                },
            },
            {"data": {"name": "events"},
             "mark": {"type": "rule", "color": "#d62728", "strokeDash": [5, 3], "strokeWidth": 1.5, "clip": True},
             "encoding": {"x": on_series_scale, "tooltip": rule_tip}},
            {"data": {"name": "retrain"},
             "mark": {"type": "rule", "color": "#888888", "strokeDash": [2, 2], "clip": True},
             "encoding": {"x": on_series_scale, "tooltip": rule_tip}},
        ],
    }
