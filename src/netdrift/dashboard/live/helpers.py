"""Small helpers behind the Live view: the quick preset, ticking, the map's data, the running
errors, and the overload warnings and forecast-upper-bound colouring (worded by
:mod:`netdrift.dashboard.map.overload`). The run in the history is :mod:`netdrift.dashboard.live.history`, the
forecast panel :mod:`netdrift.dashboard.live.chart`.

Kept out of ``views/live.py`` so that file reads like a description of the screen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd

from netdrift.dashboard.common.settings_logic import DEFAULT_INTERVAL, DEFAULT_WARN
from netdrift.dashboard.map.model import MapFrame, build_map, node_positions
from netdrift.dashboard.map.names import cached_end_names
from netdrift.dashboard.map.overload import (
    current_overloads,
    direction_short_names,
    duration_text,
    overload_text,
    overload_warnings,
    sustained_warnings,
    upper_utilisation,
    warning_text,
)
from netdrift.engine.evaluation.interval_scores import SUSTAINED
from netdrift.engine.forecasting.catalogue import DEFAULT_MODELS, default_models, model_info
from netdrift.engine.forecasting.settings import ForecastSettings, IncrementalSettings

if TYPE_CHECKING:
    from netdrift.dashboard.common.state import LiveSession
    from netdrift.engine.experiments.scenario import LiveScenario
    from netdrift.engine.experiments.spec import ScenarioSpec
    from netdrift.engine.forecasting.protocol import Forecast
    from netdrift.engine.network.topology import Topology

__all__ = [
    "QuickPreset",
    "QUICK_PRESET",
    "preset_text",
    "start_models",
    "make_spec",
    "tick",
    "steps_due",
    "next_bands",
    "next_forecasts",
    "forget_look_ahead",
    "band_models",
    "default_band_model",
    "horizon_text",
    "warning_rows",
    "map_data",
    "preview_map_data",
    "shown_step",
    "direction_options",
    "busiest_direction",
    "refitting_models",
    "refit_caption",
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
#: Fill of a node cut off from the rest of the network (a violet no utilisation band uses).
CUT_OFF_COLOUR = "#8e24aa"
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


def start_models(n_nodes: int, observe: str = "links") -> tuple[tuple[str, ...], str | None]:
    """The start form's default models for a topology of ``n_nodes`` nodes, and a note saying
    which were left out and why (None when it is the full default list).

    >>> start_models(40)[1] is None, start_models(754)[1].startswith("Routed persistence")
    (True, True)
    """
    chosen = default_models(n_nodes, observe)
    left = [model_info(m).label for m in DEFAULT_MODELS if m not in chosen]
    if not left:
        return chosen, None
    return chosen, (f"{', '.join(left)} left out by default: with link loads observed it deduces all "
                    f"{n_nodes * (n_nodes - 1):,} node-pair demands at every step (minutes on a CPU "
                    "for a map this size); add it to the list to use it.")


def make_spec(topology: str, steps: int, train_steps: int, seed: int, models: Sequence[str],
              device: str = "cpu", forecast: Mapping[str, Any] | None = None,
              observe: str = "links", interval: float | None = DEFAULT_INTERVAL,
              warn_utilization: float | None = DEFAULT_WARN) -> ScenarioSpec:
    """A ScenarioSpec of the quick preset, with the Settings page's changes to its model settings
    (``forecast``: flat names, only what was changed there) applied.

    ``interval`` is the coverage level of every model's prediction interval (None: none),
    ``warn_utilization`` the overload warnings' threshold (fraction of capacity); the defaults
    are the engine's. Bad or unknown settings raise :class:`netdrift.engine.errors.InputError` naming them.
    """
    from netdrift.engine.experiments.spec import ScenarioSpec

    return ScenarioSpec(
        topology=topology,
        steps=int(steps),
        train_steps=int(train_steps),
        step_minutes=QUICK_PRESET.step_minutes,
        peak_utilization=QUICK_PRESET.peak_utilization,
        models=tuple(models),
        forecast=QUICK_PRESET.forecast.with_flat(dict(forecast or {})),
        seed=int(seed),
        device=device,
        observe=observe,
        interval=interval,
        warn_utilization=warn_utilization,
    )


def tick(sess: LiveSession, steps: int) -> float:
    """Advance the live scenario by ``steps`` and forecast the next steps; engine time in ms."""
    t0 = time.perf_counter()
    if not sess.live.finished:
        sess.live.advance(steps)
        next_bands(sess)  # the map's hover and the warnings show them: part of the tick's engine work
    return (time.perf_counter() - t0) * 1000.0


def steps_due(per_tick: int, since: float, tick_seconds: float, carry: float = 0.0) -> tuple[int, float]:
    """Steps to advance on a timed tick ``since`` seconds after the last one, and the fraction of a
    step carried to the next tick, so that playing keeps ``per_tick`` steps per ``tick_seconds``
    even when a frame takes longer than a tick to draw (at most twice the speed's steps, so a stall
    is not made up at once); a first tick (``since`` of a minute or more) gives ``per_tick``.

    >>> [(n, round(c, 2)) for n, c in (steps_due(12, 1.0, 1.0), steps_due(12, 1.6, 1.0), steps_due(12, 9.0, 1.0))]
    [(12, 0.0), (19, 0.2), (24, 0.0)]
    >>> n, c = steps_due(12, 1.04, 1.0, carry=0.6)  # 12.48 + 0.6: one more step now, 0.08 left
    >>> n, round(c, 2)
    (13, 0.08)
    >>> steps_due(1, 0.8, 1.0), steps_due(12, 1e9, 1.0)
    ((0, 0.8), (12, 0.0))
    """
    if since >= 60 * tick_seconds:
        return per_tick, 0.0
    exact = per_tick * since / tick_seconds + carry
    if exact >= 2 * per_tick:
        return 2 * per_tick, 0.0
    n = int(exact)
    return n, exact - n


def shown_step(live: LiveScenario) -> int:
    """The step the map shows: the current one (its loads already reflect new failures)."""
    return min(live.step, live.total_steps - 1)


def next_bands(sess: LiveSession) -> dict[str, Forecast]:
    """Every model's forecast of the next H steps with its interval (Mbit/s, (H, D) arrays;
    bounds None when the run has no intervals), computed once per step and kept in the session.

    A failure clicked at the current step changes it (:func:`forget_look_ahead`): routed models
    route theirs through the network as it is now, every model forecasts a link known down at 0,
    and residual models switch the re-routed directions to their post-event base.
    """
    live = sess.live
    if sess.next_forecasts_step != live.step:
        sess.next_bands = live.next_bands() if not live.finished else {}
        sess.next_forecasts = {m: np.asarray(f.point[0], dtype=float) for m, f in sess.next_bands.items()}
        sess.next_forecasts_step = live.step
    return sess.next_bands


def forget_look_ahead(sess: LiveSession) -> None:
    """A failure or restore took effect at the live step: drop the kept look-ahead so the next
    read recomputes it with the event known (the loop takes those forecasts when it observes the
    step, so each is made once). Until this wave a run of link-level models only kept it, for a
    faster click: its forecasts were taken not to change, which no longer holds (a down link is
    forecast at 0, residual models re-base the re-routed directions)."""
    sess.next_forecasts_step = None


def next_forecasts(sess: LiveSession) -> dict[str, np.ndarray]:
    """Every model's forecast (Mbit/s per direction) for the live step: the first step of
    :func:`next_bands`, computed with it once per step."""
    next_bands(sess)
    return sess.next_forecasts


def band_models(live: LiveScenario) -> list[str]:
    """The run's models in its order, the ensemble (the recommended forecast) first, then the
    routed (failure-aware) ones: the warning model's choices, the first being the default (the map
    is coloured by its upper bound). Empty when the run has no intervals."""
    if live.interval is None:
        return []
    ensemble = [e.label for e in live.entries if e.kind == "ensemble"]
    routed = [e.label for e in live.entries if model_info(e.kind).space == "demands"]
    return ensemble + routed + [e.label for e in live.entries if e.label not in routed + ensemble]


def default_band_model(live: LiveScenario) -> str | None:
    """The ensemble if the run has one, else the first routed model, else its first model; None
    without intervals."""
    models = band_models(live)
    return models[0] if models else None


def horizon_text(live: LiveScenario) -> str:
    """How far the look-ahead reaches, e.g. ``"the next 45 min (3 steps)"``."""
    h = live.settings.common.horizon
    return (f"the next {duration_text(h * live.traffic.step_minutes)}"
            + (f" ({h} steps)" if h > 1 else ""))


def _upper_of(sess: LiveSession, model: str | None) -> np.ndarray | None:
    band = next_bands(sess).get(model) if model else None
    return None if band is None or band.upper is None else np.asarray(band.upper, dtype=float)


def worst_step_text(live: LiveScenario, worst_step: int | None) -> str:
    """Where the sweep found the worst case of a failure sent from the Impact page, said beside
    the click's own message (a failure is applied now: the run cannot fail a link in its past);
    empty when the sweep did not record the step or it lies outside the run.

    >>> from netdrift.engine.experiments.scenario import LiveScenario
    >>> from netdrift.engine.experiments.spec import ScenarioSpec
    >>> run = LiveScenario.from_spec(ScenarioSpec(topology="abilene", steps=60, train_steps=30,
    ...                                           step_minutes=60, models=("persistence",)))
    >>> run.train()
    >>> worst_step_text(run, 41)
    'The sweep found its worst case at step 41 (2024-01-02 17:00), 11 steps ahead.'
    """
    if worst_step is None or not 0 <= worst_step < live.total_steps:
        return ""
    now = live.step
    when = f"step {worst_step} ({live.time_of(worst_step):%Y-%m-%d %H:%M})"
    if worst_step > now:
        return f"The sweep found its worst case at {when}, {worst_step - now} steps ahead."
    if worst_step < now:
        return f"The sweep found its worst case at {when}, already past in this run."
    return "This is the step where the sweep found its worst case."


def overload_rows(sess: LiveSession) -> list[tuple[int, str]]:
    """``(direction, text)`` of every direction over its capacity at the last observed step, the
    most overloaded first (listed before the forecast warnings: they already hurt)."""
    live = sess.live
    if live.step < 1:
        return []
    topo = live.topology
    up = np.repeat(topo.link_up_mask(live.down_links, live.down_nodes), 2)
    names = direction_short_names(topo)
    cap = np.asarray(live.capacity, dtype=float)
    return [(d, overload_text(names[d], util, float(cap[d])))
            for d, util in current_overloads(live.loads_at(live.step - 1), cap, up)]


def warning_rows(sess: LiveSession, model: str | None) -> list[tuple[int, str]] | None:
    """``(direction, text)`` of every direction ``model``'s upper bound warns about under the
    sustained rule, soonest first (see :func:`netdrift.dashboard.map.overload.overload_warnings`
    and :func:`~netdrift.dashboard.map.overload.sustained_warnings`: the bound reaches the
    threshold now and in one of the two forecasts before); None when the run has no intervals or
    no warning threshold, or no look-ahead (finished).

    The current load is the last observed one (the step before the live step), as in the
    warning scores the run stores; failed links are never warned.
    """
    live = sess.live
    upper = _upper_of(sess, model)
    if upper is None or live.warn_utilization is None or live.step < 1:
        return None
    topo = live.topology
    up = np.repeat(topo.link_up_mask(live.down_links, live.down_nodes), 2)
    found = overload_warnings(upper, live.loads_at(live.step - 1), live.capacity, live.warn_utilization, up)
    peaks = live.recorder.peak_upper.get(model) if model else None
    lo = max(live.train_steps, live.step - (SUSTAINED[1] - 1))  # the forecasts made before this one
    earlier = peaks[lo:live.step] if peaks is not None else np.zeros((0, len(up)))
    found = sustained_warnings(found, earlier, live.capacity, live.warn_utilization, SUSTAINED)
    names = direction_short_names(topo)
    return [(w.direction, warning_text(w, names[w.direction], live.warn_utilization, live.traffic.step_minutes))
            for w in found]


def map_data(sess: LiveSession, selected_link: str | None, upper_model: str | None = None,
             colour_by_upper: bool = False, labels: bool = False, highlight: frozenset[str] = frozenset(),
             label_unit: str = "%", step: int | None = None) -> dict:
    """Data for the topology map component at the shown step, or at an earlier ``step`` of the run
    (the time slider: read-only, nothing in the run changes).

    With ``upper_model`` (a model of the run with intervals), each direction's hover also
    shows the highest of that model's upper bounds over the horizon (as a utilisation), and
    with ``colour_by_upper`` the links are coloured by it instead of by their current load;
    with ``labels`` each direction is labelled with the utilisation it is coloured by (or its load
    with ``label_unit`` "Mbit/s"); the nodes in ``highlight`` (cut off by a failure) are filled
    with :data:`CUT_OFF_COLOUR`. Each direction's hover draws its last day of load.

    At an earlier step ``k`` the map shows the loads at ``k`` under the failures in force at ``k``
    (the fold of the event log), the forecasts the models made of ``k`` and their upper bounds.
    """
    live = sess.live
    topo = live.topology
    if sess.positions is None:
        sess.positions = node_positions(topo)
    now = shown_step(live)
    past = step is not None and 0 <= step < now
    k = int(step) if past and step is not None else now
    if past:
        down_links, down_nodes = live.simulator.state_at(k)
        forecasts = {m: np.asarray(f[k], dtype=float) for m, f in live.forecasts.items()}
        bound = live.recorder.upper.get(upper_model) if upper_model else None
        upper = None if bound is None else np.asarray(bound[k], dtype=float)
        upper_label = f"{upper_model} upper bound for step {k}"
    else:
        down_links, down_nodes = live.down_links, live.down_nodes
        forecasts = next_forecasts(sess)
        upper = _upper_of(sess, upper_model)
        upper_label = f"{upper_model} upper bound within {horizon_text(live)}"
    day = max(2, int(round(1440 / live.traffic.step_minutes)))
    with np.errstate(divide="ignore", invalid="ignore"):
        history = np.asarray(live.simulator.loads.loads[max(0, k - day + 1):k + 1], dtype=float) / live.capacity
    frame = MapFrame(
        loads_mbps=live.loads_at(k),
        forecasts_mbps=forecasts,
        down_links=frozenset(down_links),
        down_nodes=frozenset(down_nodes),
        selected_link=selected_link,
        upper_utilisation=None if upper is None else upper_utilisation(upper, live.capacity),
        upper_label=upper_label,
        colour_by_upper=colour_by_upper and upper is not None,
        utilisation_labels=labels,
        label_unit=label_unit,
        history_utilisation=history,
        history_label="last day" if k + 1 >= day else f"last {k + 1} steps",
    )
    data = build_map(topo, sess.positions, frame)
    for node in data["nodes"]:
        if node["id"] in highlight:
            node["color"] = {"background": CUT_OFF_COLOUR, "border": CUT_OFF_COLOUR}
            node["title"] += "\nCUT OFF from the rest of the network"
    data.update(topology=topo.name, step=k, down_links=sorted(frame.down_links), past=past)
    return data


def preview_map_data(topology: Topology) -> dict:
    """Map data of a topology before any run: positions and capacities, no loads yet; a click
    on it changes nothing (``click_mode`` "preview": no pending style in the browser)."""
    data = build_map(topology, node_positions(topology), None)
    data.update(topology=topology.name, step=None, down_links=[], click_mode="preview")
    return data


def direction_options(topology: Topology) -> list[tuple[int, str]]:
    """(direction index, "link: src -> dst") for every link direction; a hyperedge junction's end
    is named by the PoPs behind it ("83-148: Charlotte \u2192 Greensboro / Washington")."""
    ends = cached_end_names(topology)  # asked on every rerun of the Live page
    return [(d, f"{lid}: {ends[d][0]} \u2192 {ends[d][1]}") for d, (lid, _, _) in enumerate(topology.direction_names())]


def busiest_direction(live: LiveScenario) -> int:
    """Direction with the highest utilisation at the shown step (0 when all are NaN)."""
    u = np.asarray(live.utilization_at(shown_step(live)), dtype=float)
    return int(np.nanargmax(u)) if np.isfinite(u).any() else 0


#: The running-error table's columns: the selected direction, then the whole network (pooled).
ERROR_COLUMNS = ["model", "RMSE, this direction (Mbit/s)", "MAPE, this direction (%)",
                 "RMSE, network (Mbit/s)", "MAPE, network (%)"]


def significant(x: float, digits: int = 3) -> float:
    """``x`` rounded to ``digits`` significant digits (NaN and 0 unchanged).

    >>> significant(1234.5), significant(0.012345), significant(7.0)
    (1230.0, 0.0123, 7.0)
    """
    x = float(x)
    if x == 0 or not np.isfinite(x):
        return x
    return float(round(x, digits - 1 - int(np.floor(np.log10(abs(x))))))


def errors_table(live: LiveScenario, direction: int, last: int = 96) -> pd.DataFrame:
    """Running error of every model over the last ``last`` steps on the selected direction beside
    the whole network's (all directions pooled), to 3 significant digits."""
    here = live.running_errors(last=last, direction=direction)
    network = live.running_errors(last=last)
    rows = [[m, significant(v["rmse_mbps"]), significant(v["mape_pct"]),
             significant(network[m]["rmse_mbps"]), significant(network[m]["mape_pct"])] for m, v in here.items()]
    return pd.DataFrame(rows, columns=ERROR_COLUMNS)


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
