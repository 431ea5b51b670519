"""Small helpers behind the Live view: the quick preset, starting, ticking, saving, charts.

Kept out of ``views/live.py`` so that file reads like a description of the screen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd

from dashboard.colours import colour_range
from dashboard.map_model import MapFrame, build_map, node_positions
from engine.forecasting.catalogue import model_info
from engine.forecasting.settings import ForecastSettings, IncrementalSettings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from dashboard.state import LiveSession
    from engine.experiments.scenario import LiveScenario
    from engine.experiments.spec import ScenarioSpec
    from engine.topology import Topology

__all__ = [
    "QuickPreset",
    "QUICK_PRESET",
    "preset_text",
    "make_spec",
    "start_history",
    "save_history",
    "tick",
    "next_forecasts",
    "map_data",
    "preview_map_data",
    "shown_step",
    "direction_options",
    "busiest_direction",
    "refitting_models",
    "refit_caption",
    "link_chart_spec",
    "errors_table",
]

@dataclass(frozen=True)
class QuickPreset:
    """The dashboard's quick preset: 15-minute steps, 3 days and 9 hours of training (so the live
    part opens on a Thursday morning, when links are busy), 4 more days to watch, short
    training, so the first scenario is ready within seconds on a CPU."""

    step_minutes: float = 15.0
    #: Busiest link peaks at 85 %: the weathermap bands are all in use on the first screen.
    peak_utilization: float = 0.85
    train_steps: int = 3 * 96 + 36
    steps: int = 7 * 96 + 36
    #: Short windows, few epochs (checked by the engine when this module is imported).
    forecast: ForecastSettings = ForecastSettings.from_flat({
        "window": 24, "horizon": 1, "epochs": 6, "train_windows": 2048, "ltc_epochs": 1,
        "il_batch": 24, "il_window": 192, "il_epochs": 2, "mlp_hidden": 32})


QUICK_PRESET = QuickPreset()
_PRESET_TEXT = (
    "Quick preset: 15-minute steps, {train} training steps ({train_days:g} days), "
    "{watch} live steps, window {window} steps, {epochs} short training epochs, incremental re-fit every "
    "{il_batch} steps on the last {il_window}; made to start in seconds on a CPU. "
    "Use `netdrift run` for the paper's full setup."
)


def preset_text(train_steps: int, watch_steps: int) -> str:
    """The start form's caption of the quick preset, with its numbers."""
    fc = QUICK_PRESET.forecast
    return _PRESET_TEXT.format(train=train_steps, train_days=train_steps * QUICK_PRESET.step_minutes / 1440,
                              watch=watch_steps, window=fc.common.window, epochs=fc.common.epochs,
                              il_batch=fc.incremental.il_batch, il_window=fc.incremental.il_window)


def make_spec(topology: str, steps: int, train_steps: int, seed: int, models: Sequence[str],
              device: str = "cpu", forecast: Mapping[str, Any] | None = None,
              observe: str = "links") -> ScenarioSpec:
    """A ScenarioSpec of the quick preset, with the Settings page's flat model settings if given.

    Bad or unknown settings raise :class:`engine.errors.InputError` naming them.
    """
    from engine.experiments.spec import ScenarioSpec

    return ScenarioSpec(
        topology=topology,
        steps=int(steps),
        train_steps=int(train_steps),
        step_minutes=QUICK_PRESET.step_minutes,
        peak_utilization=QUICK_PRESET.peak_utilization,
        models=tuple(models),
        forecast=QUICK_PRESET.forecast if forecast is None else ForecastSettings.from_flat(forecast),
        seed=int(seed),
        device=device,
        observe=observe,
    )


def start_history(sessions: sessionmaker[Session] | None, live: LiveScenario,
                  label: str | None = None) -> tuple[int | None, str | None]:
    """Create the scenario row for a live run; (id, None) or (None, error message)."""
    if sessions is None:
        return None, "No history database is configured."
    from service.scenarios import ScenarioService

    try:
        return ScenarioService(sessions).open_record(live, label), None
    except Exception as err:  # noqa: BLE001 - the live run goes on without a history row
        return None, f"History not written: {err}"


def save_history(sessions: sessionmaker[Session] | None, scenario_id: int | None, live: LiveScenario) -> str:
    """Store what the live run observed so far as the scenario's result; a message."""
    if sessions is None or scenario_id is None:
        return "Not saved: no history row for this run."
    from service.scenarios import ScenarioService

    try:
        ScenarioService(sessions).save(scenario_id, live)
    except Exception as err:  # noqa: BLE001
        return f"Not saved: {err}"
    return f"Saved to history as scenario {scenario_id} (steps 0..{live.step - 1})."


def tick(sess: LiveSession, steps: int) -> float:
    """Advance the live scenario by ``steps`` and forecast the next step; engine time in ms."""
    t0 = time.perf_counter()
    if not sess.live.finished:
        sess.live.advance(steps)
        next_forecasts(sess)  # the map's hover shows them: part of the tick's engine work
    return (time.perf_counter() - t0) * 1000.0


def shown_step(live: LiveScenario) -> int:
    """The step the map shows: the current one (its loads already reflect new failures)."""
    return min(live.step, live.total_steps - 1)


def next_forecasts(sess: LiveSession) -> dict[str, np.ndarray]:
    """Every model's forecast (Mbit/s per direction) for the live step, computed once per step.

    A failure at the current step does not change the observed window, so these depend on
    the step only; they are kept in the session.
    """
    live = sess.live
    if sess.next_forecasts_step != live.step:
        sess.next_forecasts = live.next_forecasts() if not live.finished else {}
        sess.next_forecasts_step = live.step
    return sess.next_forecasts


def map_data(sess: LiveSession, selected_link: str | None) -> dict:
    """Data for the topology map component at the shown step."""
    live = sess.live
    topo = live.topology
    if sess.positions is None:
        sess.positions = node_positions(topo)
    step = shown_step(live)
    frame = MapFrame(
        loads_mbps=live.loads_at(step),
        forecasts_mbps=next_forecasts(sess),
        down_links=frozenset(live.down_links),
        down_nodes=frozenset(live.down_nodes),
        selected_link=selected_link,
    )
    data = build_map(topo, sess.positions, frame)
    data.update(topology=topo.name, step=step, down_links=sorted(frame.down_links))
    return data


def preview_map_data(topology: Topology) -> dict:
    """Map data of a topology before any run: positions and capacities, no loads yet."""
    data = build_map(topology, node_positions(topology), None)
    data.update(topology=topology.name, step=None, down_links=[])
    return data


def direction_options(topology: Topology) -> list[tuple[int, str]]:
    """(direction index, "link: src -> dst") for every link direction."""
    labels = {n.id: n.label for n in topology.nodes}
    return [(d, f"{lid}: {labels.get(s, s)} \u2192 {labels.get(t, t)}")
            for d, (lid, s, t) in enumerate(topology.direction_names())]


def busiest_direction(live: LiveScenario) -> int:
    """Direction with the highest utilisation at the shown step (0 when all are NaN)."""
    u = np.asarray(live.utilization_at(shown_step(live)), dtype=float)
    return int(np.nanargmax(u)) if np.isfinite(u).any() else 0


def errors_table(live: LiveScenario, direction: int, last: int = 96) -> pd.DataFrame:
    """Running error of every model on one link direction over the last ``last`` steps (2 decimals)."""
    rows = [{"model": m, "RMSE (Mbit/s)": round(v["rmse_mbps"], 2), "MAPE (%)": round(v["mape_pct"], 2)}
            for m, v in live.running_errors(last=last, direction=direction).items()]
    return pd.DataFrame(rows, columns=["model", "RMSE (Mbit/s)", "MAPE (%)"])


def refitting_models(live: LiveScenario) -> list[str]:
    """Labels of the run's models that re-fit as they go (incremental learning and its variants)."""
    return [e.label for e in live.entries if issubclass(model_info(e.kind).settings_class, IncrementalSettings)]


def refit_caption(live: LiveScenario) -> str | None:
    """When each re-fitting model last re-fitted, e.g. ``"Last re-fit: incremental at step 400."``; None
    when the run has no such model."""
    labels = refitting_models(live)
    if not labels:
        return None
    parts = []
    for label in labels:
        step = live.last_retrain_step(label)
        parts.append(f"{label} at step {step}" if step is not None else f"{label} not yet since training")
    return "Last re-fit: " + ", ".join(parts) + "."


def link_chart_spec(live: LiveScenario, direction: int, last: int = 192) -> dict:
    """Actual load vs every model's forecast on one direction over the last ``last`` steps,
    failures and each re-fitting model's last re-fit as rules; a plain Vega-Lite dict.

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
    refits = [(label, step) for label in refitting_models(live)
              if (step := live.last_retrain_step(label)) is not None and step >= lo]
    refit = {"step": np.array([step for _, step in refits], dtype=np.int64),
             "event": np.array([f"{label} re-fitted" for label, _ in refits], dtype=object)}
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
