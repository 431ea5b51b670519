"""Small helpers behind the Live view: the quick preset, starting, ticking, saving, charts, and
the overload warnings and forecast-upper-bound colouring (worded by :mod:`dashboard.overload`).

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
from dashboard.names import element_name
from dashboard.overload import (direction_short_names, duration_text, overload_warnings, upper_utilisation,
                                warning_text)
from engine.forecasting.catalogue import model_info
from engine.forecasting.settings import ForecastSettings, IncrementalSettings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from dashboard.state import LiveSession
    from engine.experiments.scenario import LiveScenario
    from engine.experiments.spec import ScenarioSpec
    from engine.forecasting.protocol import Forecast
    from engine.topology import Topology

__all__ = [
    "QuickPreset",
    "QUICK_PRESET",
    "preset_text",
    "make_spec",
    "start_history",
    "save_history",
    "keep_alive",
    "resume_history",
    "claim_history",
    "release_history",
    "unfinished_runs",
    "unfinished_run_text",
    "BEAT_SECONDS",
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
    "link_chart_spec",
    "errors_table",
    "scenario_line",
    "chart_export",
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


def make_spec(topology: str, steps: int, train_steps: int, seed: int, models: Sequence[str],
              device: str = "cpu", forecast: Mapping[str, Any] | None = None,
              observe: str = "links", interval: float | None = 0.9,
              warn_utilization: float | None = 0.9) -> ScenarioSpec:
    """A ScenarioSpec of the quick preset, with the Settings page's flat model settings if given.

    ``interval`` is the coverage level of every model's prediction interval (None: none),
    ``warn_utilization`` the overload warnings' threshold (fraction of capacity); the defaults
    are the engine's. Bad or unknown settings raise :class:`engine.errors.InputError` naming them.
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
        interval=interval,
        warn_utilization=warn_utilization,
    )


def start_history(sessions: sessionmaker[Session] | None, live: LiveScenario,
                  label: str | None = None, owner: str = "") -> tuple[int | None, str | None]:
    """Create the history row of a trained live run driven by tab ``owner``, its fitted models
    stored with it (so a reload or a restart can resume it); (id, None) or (None, error message)."""
    if sessions is None:
        return None, "No history database is configured."
    from service.scenarios import ScenarioService

    try:
        return ScenarioService(sessions).open_live(live, owner, label), None
    except Exception as err:  # noqa: BLE001 - the live run goes on without a history row
        return None, f"History not written: {err}"


#: Seconds between two heartbeats of a live run (the history calls it interrupted after 60 s).
BEAT_SECONDS = 10.0
#: A checkpoint of the series every this many steps (a simulated day)...
CHECKPOINT_STEPS = 96
#: ...but not more often than this many seconds (a checkpoint of Cogentco writes ~10 MB).
CHECKPOINT_SECONDS = 20.0


def keep_alive(sess: LiveSession, sessions: sessionmaker[Session] | None, force: bool = False) -> str | None:
    """Keep the live run's history row alive and complete; an error message or None.

    Every :data:`BEAT_SECONDS` a heartbeat with the step reached (a few ms); the observed series
    (a checkpoint) every :data:`CHECKPOINT_STEPS` steps (at most every :data:`CHECKPOINT_SECONDS`),
    after an event, or when ``force``d (pause, "New scenario"). Nothing to do without a history row.
    """
    if sessions is None or sess.scenario_id is None or sess.owner is None:
        return None
    from service.scenarios import ScenarioService

    now = time.monotonic()
    live, service = sess.live, ScenarioService(sessions)
    new_steps = live.step > sess.checkpoint_step
    series = new_steps and (force or sess.checkpoint_due or (
        live.step - sess.checkpoint_step >= CHECKPOINT_STEPS and now - sess.beat_at >= CHECKPOINT_SECONDS))
    if not series and not force and now - sess.beat_at < BEAT_SECONDS:
        return None
    try:
        if series:
            sess.checkpoint_ms = service.checkpoint(sess.scenario_id, live, sess.owner) * 1000.0
            sess.checkpoint_step, sess.checkpoint_due = live.step, False
        else:
            service.mark_progress(sess.scenario_id, live.step, sess.owner)
    except Exception as err:  # noqa: BLE001 - the run goes on; the next beat tries again
        return f"History not updated: {err}"
    finally:
        sess.beat_at = now
    return None


def resume_history(sessions: sessionmaker[Session], scenario_id: int, owner: str,
                   progress: Any = None) -> LiveScenario:
    """Rebuild stored live run ``scenario_id`` where it was, driven by ``owner`` (see
    :meth:`service.scenarios.ScenarioService.resume_live`); raises InputError naming the problem."""
    from service.scenarios import ScenarioService

    return ScenarioService(sessions).resume_live(scenario_id, owner, progress)


def claim_history(sessions: sessionmaker[Session] | None, scenario_id: int | None, owner: str, step: int) -> None:
    """The tab ``owner`` drives the run now (it was taken back from the server's memory)."""
    if sessions is None or scenario_id is None:
        return
    from service.scenarios import ScenarioService

    ScenarioService(sessions).claim(scenario_id, owner, step)


def release_history(sessions: sessionmaker[Session] | None, sess: LiveSession) -> str | None:
    """Store the run as far as it went and let it go ("New scenario"): it stays resumable."""
    err = keep_alive(sess, sessions, force=True)
    if err or sessions is None or sess.scenario_id is None or sess.owner is None:
        return err
    from service.scenarios import ScenarioService

    try:
        ScenarioService(sessions).release(sess.scenario_id, sess.owner)
    except Exception as e:  # noqa: BLE001
        return f"History not updated: {e}"
    return None


def unfinished_runs(sessions: sessionmaker[Session] | None) -> list[Any]:
    """The history's unfinished live runs (:class:`storage.checkpoints.LiveRun`), newest first."""
    if sessions is None:
        return []
    from service.scenarios import ScenarioService

    try:
        return ScenarioService(sessions).unfinished_live_runs()
    except Exception:  # noqa: BLE001 - an unreadable history offers nothing to resume
        return []


def unfinished_run_text(run: Any, topology: Topology | None = None) -> str:
    """``"Scenario 12, geant2012: step 380 of 708, 1 event (fail AT – DE (4-29) at step 350); interrupted"``."""
    from dashboard.names import element_name

    evs = [f"{e.action} {element_name(topology, e.target, e.kind) if topology else e.target} at step {e.step}"
           for e in run.events]
    total = f" of {run.total_steps}" if run.total_steps else ""
    count = f"{len(evs)} event{'s' if len(evs) != 1 else ''}" + (f" ({'; '.join(evs[-3:])})" if evs else "")
    return f"Scenario {run.id}, {run.topology}: step {run.step}{total}, {count}; {run.status}"


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
    """Advance the live scenario by ``steps`` and forecast the next steps; engine time in ms."""
    t0 = time.perf_counter()
    if not sess.live.finished:
        sess.live.advance(steps)
        next_bands(sess)  # the map's hover and the warnings show them: part of the tick's engine work
    return (time.perf_counter() - t0) * 1000.0


def steps_due(per_tick: int, since: float, tick_seconds: float) -> int:
    """Steps to advance on a timed tick ``since`` seconds after the last one, so that playing keeps
    ``per_tick`` steps per ``tick_seconds`` even when a frame takes longer than a tick to draw (up
    to twice the speed's steps, so a stall is not made up at once); the first tick gives ``per_tick``.

    >>> steps_due(12, 1.0, 1.0), steps_due(12, 1.6, 1.0), steps_due(12, 9.0, 1.0), steps_due(1, 0.8, 1.0)
    (12, 19, 24, 1)
    >>> steps_due(12, 1e9, 1.0)  # first tick: last_tick was 0.0
    12
    """
    if since > 60 * tick_seconds:
        return per_tick
    return int(min(2 * per_tick, max(1, round(per_tick * since / tick_seconds))))


def shown_step(live: LiveScenario) -> int:
    """The step the map shows: the current one (its loads already reflect new failures)."""
    return min(live.step, live.total_steps - 1)


def next_bands(sess: LiveSession) -> dict[str, Forecast]:
    """Every model's forecast of the next H steps with its interval (Mbit/s, (H, D) arrays;
    bounds None when the run has no intervals), computed once per step and kept in the session.

    A failure clicked at the current step does not change the observed window, so link-level
    models' look-ahead depends on the step only; routed models route theirs through the network
    as it is now, which a click changes (:func:`forget_look_ahead`).
    """
    live = sess.live
    if sess.next_forecasts_step != live.step:
        sess.next_bands = live.next_bands() if not live.finished else {}
        sess.next_forecasts = {m: np.asarray(f.point[0], dtype=float) for m, f in sess.next_bands.items()}
        sess.next_forecasts_step = live.step
    return sess.next_bands


def forget_look_ahead(sess: LiveSession) -> None:
    """A failure or restore took effect at the live step: when the run has routed models, drop
    the kept look-ahead so the next read recomputes it under the new routing (a run of
    link-level models only keeps it: its forecasts do not change, and the click stays fast)."""
    if any(model_info(e.kind).space == "demands" for e in sess.live.entries):
        sess.next_forecasts_step = None


def next_forecasts(sess: LiveSession) -> dict[str, np.ndarray]:
    """Every model's forecast (Mbit/s per direction) for the live step: the first step of
    :func:`next_bands`, computed with it once per step."""
    next_bands(sess)
    return sess.next_forecasts


def band_models(live: LiveScenario) -> list[str]:
    """The run's models in its order, routed (failure-aware) ones first: the warning model's
    choices, the first being the default. Empty when the run has no intervals."""
    if live.interval is None:
        return []
    routed = [e.label for e in live.entries if model_info(e.kind).space == "demands"]
    return routed + [e.label for e in live.entries if e.label not in routed]


def default_band_model(live: LiveScenario) -> str | None:
    """The first routed model if the run has one, else its first model; None without intervals."""
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


def warning_rows(sess: LiveSession, model: str | None) -> list[tuple[int, str]] | None:
    """``(direction, text)`` of every direction ``model``'s upper bound warns about, soonest
    first (see :func:`dashboard.overload.overload_warnings`); None when the run has no
    intervals or no warning threshold, or no look-ahead (finished).

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
    names = direction_short_names(topo)
    return [(w.direction, warning_text(w, names[w.direction], live.warn_utilization, live.traffic.step_minutes))
            for w in found]


def map_data(sess: LiveSession, selected_link: str | None, upper_model: str | None = None,
             colour_by_upper: bool = False, labels: bool = False, highlight: frozenset[str] = frozenset()) -> dict:
    """Data for the topology map component at the shown step.

    With ``upper_model`` (a model of the run with intervals), each direction's hover also
    shows the highest of that model's upper bounds over the horizon (as a utilisation), and
    with ``colour_by_upper`` the links are coloured by it instead of by their current load;
    with ``labels`` each direction is labelled with the utilisation it is coloured by; the nodes
    in ``highlight`` (cut off by a failure) are filled with :data:`CUT_OFF_COLOUR`.
    """
    live = sess.live
    topo = live.topology
    if sess.positions is None:
        sess.positions = node_positions(topo)
    step = shown_step(live)
    upper = _upper_of(sess, upper_model)
    frame = MapFrame(
        loads_mbps=live.loads_at(step),
        forecasts_mbps=next_forecasts(sess),
        down_links=frozenset(live.down_links),
        down_nodes=frozenset(live.down_nodes),
        selected_link=selected_link,
        upper_utilisation=None if upper is None else upper_utilisation(upper, live.capacity),
        upper_label=f"{upper_model} upper bound within {horizon_text(live)}",
        colour_by_upper=colour_by_upper and upper is not None,
        utilisation_labels=labels,
    )
    data = build_map(topo, sess.positions, frame)
    for node in data["nodes"]:
        if node["id"] in highlight:
            node["color"] = {"background": CUT_OFF_COLOUR, "border": CUT_OFF_COLOUR}
            node["title"] += "\nCUT OFF from the rest of the network"
    data.update(topology=topo.name, step=step, down_links=sorted(frame.down_links))
    return data


def preview_map_data(topology: Topology) -> dict:
    """Map data of a topology before any run: positions and capacities, no loads yet; a click
    on it changes nothing (``click_mode`` "preview": no pending style in the browser)."""
    data = build_map(topology, node_positions(topology), None)
    data.update(topology=topology.name, step=None, down_links=[], click_mode="preview")
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


#: The chart's rules, in the legend's order, each with its colour and dash (no model's colour:
#: the catalogue's incremental models are red, so a failure is black dashed, as on the map).
MARKERS = {"failure": ("#000000", [6, 3]), "restore": ("#2b6cb0", [1, 3]),
           "re-fit": ("#8a8a8a", [2, 2]), "capacity": ("#5f5f5f", [10, 4])}
#: The chart keeps the last failure or restore in view up to this many steps back (a week of 15 min).
KEEP_EVENT_STEPS = 672


def chart_window(live: LiveScenario, last: int = 192) -> int:
    """First step the chart shows: the last ``last`` steps, reaching back to keep the latest
    event (and a few steps before it) in view, up to :data:`KEEP_EVENT_STEPS` back."""
    lo = max(0, live.step - last)
    past = [e.step for e in live.events if e.step < live.step]
    if past:
        lo = min(lo, max(past) - 8)
    return max(0, lo, live.step - KEEP_EVENT_STEPS)


def _epoch_ms(live: LiveScenario, steps: np.ndarray) -> np.ndarray:
    """The simulated clock of ``steps`` as milliseconds since 1970 (a naive start counts as UTC)."""
    start = pd.Timestamp(live.traffic.start)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    return (start.value // 1_000_000 + np.asarray(steps, dtype=np.int64) * int(round(live.traffic.step_minutes * 60_000)))


def link_chart_spec(live: LiveScenario, direction: int, last: int = 192) -> dict:
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
    the one the line shows.
    """
    lo = chart_window(live, last)
    names = ["actual", *live.forecasts]
    arrays = [np.asarray(live.simulator.loads.loads[lo:live.step, direction], dtype=float)]
    arrays += [np.asarray(f[lo:live.step, direction], dtype=float) for f in live.forecasts.values()]
    steps = np.arange(lo, live.step)
    keep = [np.isfinite(a) for a in arrays]

    def lines(which: slice) -> dict[str, np.ndarray]:
        kept = np.concatenate([steps[k] for k in keep[which]] or [np.zeros(0)]).astype(np.int64)
        return {"step": kept, "time": _epoch_ms(live, kept),
                "series": np.concatenate([np.full(int(k.sum()), n, dtype=object)
                                          for n, k in zip(names[which], keep[which])] or [np.zeros(0, object)]),
                "Mbit/s": np.round(np.concatenate([a[k] for a, k in zip(arrays[which], keep[which])]
                                                  or [np.zeros(0)]), 2)}

    actual, forecasts = lines(slice(0, 1)), lines(slice(1, None))
    evs = [e for e in live.events if lo <= e.step < max(live.step, lo + 1)]
    ev_steps = np.array([e.step for e in evs], dtype=np.int64)
    events = {"step": ev_steps, "time": _epoch_ms(live, ev_steps),
              "event": np.array([f"{e.action} {element_name(live.topology, e.target, e.kind)}" for e in evs],
                                dtype=object),
              "marker": np.array(["failure" if e.action == "fail" else "restore" for e in evs], dtype=object)}
    refits = [(label, step) for label in refitting_models(live)
              if (step := live.last_retrain_step(label)) is not None and step >= lo]
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
    bands = _bands(live, direction, lo) if live.recorder.lower else None
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
        layers.append({"data": {"name": "forecasts"}, "mark": {"type": "line", "strokeWidth": 1.5, "strokeDash": [4, 2]},
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
    from dashboard.export import scenario_text

    events = [f"{e.action} {element_name(live.topology, e.target, e.kind)} at step {e.step}"
              for e in live.events if e.step < live.step]
    return scenario_text(live.topology.name, events, [e.label for e in live.entries],
                         live.settings.common.horizon, live.traffic.step_minutes)


def chart_export(live: LiveScenario, direction: int, fmt: str, last: int = 192) -> bytes:
    """The forecast panel of ``direction`` as a ``fmt`` file (png, svg, pdf: the chart; csv: its
    window of actual, forecasts and bounds in Mbit/s), titled and naming the scenario."""
    from dashboard.export import chart_bytes, dataframe_to_csv

    title = f"Load and forecasts, {direction_short_names(live.topology)[direction]} (step {live.step})"
    scenario = scenario_line(live)
    if fmt == "csv":
        return dataframe_to_csv(live.window(direction, live.step - chart_window(live, last)), title, scenario)
    spec = link_chart_spec(live, direction, last)
    datasets = {name: pd.DataFrame(cols).to_dict(orient="records") for name, cols in spec["datasets"].items()}
    return chart_bytes({**spec, "datasets": datasets, "width": 640}, fmt, title, scenario)  # type: ignore[arg-type]


def _bands(live: LiveScenario, direction: int, lo: int) -> dict[str, np.ndarray]:
    """The chart's ``bands`` dataset: every model's recorded interval on one direction from
    step ``lo`` to the live step (steps without a bound left out), with its ``time``."""
    steps = np.arange(lo, live.step)
    parts = []
    for label in live.forecasts:
        if label not in live.recorder.lower:
            continue
        low = np.asarray(live.recorder.lower[label][lo:live.step, direction], dtype=float)
        high = np.asarray(live.recorder.upper[label][lo:live.step, direction], dtype=float)
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
