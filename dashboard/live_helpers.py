"""Small helpers behind the Live view: the quick preset, starting, ticking, saving, charts.

Kept out of ``views/live.py`` so that file reads like a description of the screen.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable

import altair as alt
import numpy as np
import pandas as pd

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
    "link_chart",
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


def link_chart(live: Any, direction: int, last: int = 192) -> alt.Chart:
    """Actual load vs every model's one-step forecast on one direction, failures as rules."""
    df = live.window(direction, last=last)
    value_cols = [c for c in df.columns if c.endswith("_mbps")]
    long = df.melt(id_vars=["step"], value_vars=value_cols, var_name="series", value_name="Mbit/s")
    long["series"] = long["series"].str.removesuffix("_mbps")
    long = long.dropna(subset=["Mbit/s"])
    order = ["actual"] + [c.removesuffix("_mbps") for c in value_cols if c != "actual_mbps"]
    lines = (
        alt.Chart(long)
        .mark_line(strokeWidth=1.6)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("Mbit/s:Q", title="load (Mbit/s)"),
            color=alt.Color("series:N", sort=order, title=None),
            strokeDash=alt.condition(alt.datum.series == "actual", alt.value([1, 0]), alt.value([4, 2])),
            tooltip=["step:Q", "series:N", alt.Tooltip("Mbit/s:Q", format=",.1f")],
        )
    )
    lo = int(df["step"].min()) if len(df) else 0
    ev = pd.DataFrame(
        [{"step": e.step, "event": f"{e.action} {e.target}"} for e in live.events if e.step >= lo]
    )
    layers: list[alt.Chart] = [lines]
    if len(ev):
        layers.append(
            alt.Chart(ev).mark_rule(color="#d62728", strokeDash=[5, 3], strokeWidth=1.5)
            .encode(x="step:Q", tooltip=["event:N", "step:Q"])
        )
    retrain = live.last_retrain_step("incremental") if "incremental" in live.forecasts else None
    if retrain is not None and retrain >= lo:
        layers.append(
            alt.Chart(pd.DataFrame({"step": [retrain], "event": ["incremental retrained"]}))
            .mark_rule(color="#888888", strokeDash=[2, 2]).encode(x="step:Q", tooltip=["event:N", "step:Q"])
        )
    return alt.layer(*layers).properties(height=260)


def errors_table(live: Any, last: int = 96) -> pd.DataFrame:
    """Running error of every model over the last ``last`` steps, all directions."""
    rows = [{"model": m, "RMSE (Mbit/s)": v["rmse_mbps"], "MAPE (%)": v["mape_pct"]}
            for m, v in live.running_errors(last=last).items()]
    return pd.DataFrame(rows)


ProgressFn = Callable[[str, float], None]


def link_chart_spec(live: Any, direction: int, last: int = 192) -> dict:
    """Same chart as :func:`link_chart` as a plain Vega-Lite dict, built without Altair or
    pandas (Altair's to_dict costs ~100-200 ms, too much for a click's rerun)."""
    lo = max(0, live.step - last)
    actual = np.asarray(live.simulator.loads.loads[lo:live.step, direction], dtype=float)
    series = {"actual": actual}
    for label, f in live.forecasts.items():
        series[label] = np.asarray(f[lo:live.step, direction], dtype=float)
    values = [
        {"step": lo + i, "series": name, "Mbit/s": round(float(v), 2)}
        for name, arr in series.items() for i, v in enumerate(arr) if np.isfinite(v)
    ]
    rules = [{"step": e.step, "event": f"{e.action} {e.target}"} for e in live.events if e.step >= lo]
    retrain = live.last_retrain_step("incremental") if "incremental" in live.forecasts else None
    layers: list[dict] = [{
        "data": {"values": values},
        "mark": {"type": "line", "strokeWidth": 1.6},
        "encoding": {
            "x": {"field": "step", "type": "quantitative", "title": "step", "scale": {"zero": False}},
            "y": {"field": "Mbit/s", "type": "quantitative", "title": "load (Mbit/s)"},
            "color": {"field": "series", "type": "nominal", "title": None, "sort": list(series)},
            "strokeDash": {"condition": {"test": "datum.series === 'actual'", "value": [1, 0]}, "value": [4, 2]},
            "tooltip": [{"field": "step", "type": "quantitative"}, {"field": "series", "type": "nominal"},
                        {"field": "Mbit/s", "type": "quantitative", "format": ",.1f"}],
        },
    }]
    if rules:
        layers.append({"data": {"values": rules},
                       "mark": {"type": "rule", "color": "#d62728", "strokeDash": [5, 3], "strokeWidth": 1.5},
                       "encoding": {"x": {"field": "step", "type": "quantitative"},
                                    "tooltip": [{"field": "event", "type": "nominal"}]}})
    if retrain is not None and retrain >= lo:
        layers.append({"data": {"values": [{"step": retrain, "event": "incremental retrained"}]},
                       "mark": {"type": "rule", "color": "#888888", "strokeDash": [2, 2]},
                       "encoding": {"x": {"field": "step", "type": "quantitative"},
                                    "tooltip": [{"field": "event", "type": "nominal"}]}})
    return {"height": 260, "layer": layers}
