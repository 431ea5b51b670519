"""What a screen reads from a live scenario without changing it: the models' look-ahead (bands),
a direction's recent window, the running errors.

The look-ahead of a step is computed once per (step, failure state, event count, fitted models)
and kept on the scenario: the hover forecasts and the bands of one step share one pass over the
models, and a click that changes the failure state makes a new one. The models' forecasts go
through the scenario's :class:`~netdrift.engine.evaluation.loop.ForecastCache`, so the loop that
then observes the step reuses them: each model forecasts each step once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from netdrift.engine.evaluation.loop import known_down
from netdrift.engine.evaluation.scoring import running_errors as _running_errors
from netdrift.engine.forecasting.protocol import Forecast, zero_down
from netdrift.engine.results import ScenarioResult

if TYPE_CHECKING:
    from netdrift.engine.experiments.scenario import LiveScenario

__all__ = ["next_bands", "next_forecasts", "window", "running_errors", "model_stats", "snapshot"]


def _look_ahead_key(live: LiveScenario) -> tuple[Any, ...]:
    return (live.step, live.down_links, live.down_nodes, len(live.events), id(live.models), live.models_epoch)


def next_bands(live: LiveScenario) -> dict[str, Forecast]:
    """{model: Forecast} of steps ``step .. step + H - 1`` in Mbit/s with each model's current
    interval (bounds None when intervals are off); no state changes. What a warning list or a
    map coloured by the forecast upper bound shows. Empty before training and after the end."""
    if not live.trained or live.step >= live.total_steps:
        return {}
    key = _look_ahead_key(live)
    cached = live.look_ahead
    if cached is not None and cached[0] == key:
        return cached[1]
    live.stream.fill(live.step)
    inp = live.stream.input_at(live.step)
    down = known_down(inp, live.models)
    cache = live.forecast_cache  # the loop takes these forecasts when it observes this step
    raw = {label: cache.forecast(label, m, inp)[0] for label, m in live.models.items()
           if not getattr(m, "combines", False)}
    out = {}
    for label, m in live.models.items():
        # A combiner (the ensemble) combines the members' forecasts just made, remembering nothing.
        fc = m.combine(inp, raw, remember=False) if label not in raw else raw[label]  # type: ignore[attr-defined]  # a combiner (the ensemble) has combine
        fc = fc.scaled(live.capacity)
        tracker = live.intervals.get(label)
        out[label] = zero_down(tracker.preview(fc, live.step), down) if tracker is not None else fc
    live.look_ahead = (key, out)
    return out


def next_forecasts(live: LiveScenario) -> dict[str, np.ndarray]:
    """{model: (2L,) Mbit/s} each model's forecast of ``step`` (the first step of its look-ahead)."""
    return {label: fc.point[0] for label, fc in next_bands(live).items()}


def window(live: LiveScenario, direction: int, last: int = 288) -> pd.DataFrame:
    """Recent actual and the recorded (H-step-ahead) forecasts of one link direction, in Mbit/s."""
    lo = max(0, live.step - last)
    data: dict[str, Any] = {
        "step": np.arange(lo, live.step),
        "time": live.traffic.times()[lo:live.step],
        "actual_mbps": live.simulator.loads.loads[lo:live.step, direction],
    }
    recorder = live.recorder
    for label, f in live.forecasts.items():
        data[f"{label}_mbps"] = f[lo:live.step, direction]
        if label in recorder.lower:
            data[f"{label}_lower_mbps"] = recorder.lower[label][lo:live.step, direction]
            data[f"{label}_upper_mbps"] = recorder.upper[label][lo:live.step, direction]
    return pd.DataFrame(data)


def running_errors(live: LiveScenario, last: int = 288, direction: int | None = None) -> dict[str, dict[str, float]]:
    """RMSE (Mbit/s) and MAPE (%) of each model over the last ``last`` forecast steps.

    All directions pooled, or only ``direction``; the metrics' definitions (MAPE floor).
    """
    lo = max(live.train_steps, live.step - last)
    cols = slice(None) if direction is None else slice(direction, direction + 1)
    actual = live.simulator.loads.loads[lo:live.step, cols]
    forecasts = {label: f[lo:live.step, cols] for label, f in live.forecasts.items()}
    return _running_errors(actual, forecasts, live.capacity[cols], live.metrics_config.low_load_fraction)


def model_stats(live: LiveScenario) -> dict[str, dict[str, Any]]:
    """Per model: kind, re-fits and when, fit time, forecast + observe time per step."""
    kinds = {e.label: e.kind for e in live.entries}
    return {
        label: {
            "kind": kinds[label],
            "retrains": int(m.retrains),
            "retrain_steps": [live.train_steps + int(s) for s in m.retrain_steps],
            "fit_seconds": float(m.fit_seconds),
            "predict_ms_per_step": live.recorder.ms_per_step(label),
        }
        for label, m in live.models.items()
    }


def snapshot(live: LiveScenario) -> ScenarioResult:
    """Everything observed so far (steps [0, step)), without metrics."""
    t = live.step
    loads = live.simulator.loads
    config = live.spec.to_dict() if live.spec else {}
    config.update({"forecast": {**live.settings.to_flat()}, "steps_observed": t, "device": live.device,
                   "total_steps": live.total_steps, "train_steps": live.train_steps,
                   "observe": live.stream.observe, "tm_estimation": live.stream.estimation_errors(),
                   "interval": live.interval, "warn_utilization": live.warn_utilization,
                   "interval_ms_per_step": live.recorder.interval_ms_per_step()})
    return ScenarioResult(
        topology=live.topology,
        config=config,
        seed=live.seed,
        events=[e for e in live.events if e.step < t],
        step_minutes=live.traffic.step_minutes,
        start=live.traffic.start,
        train_steps=live.train_steps,
        actual=loads.loads[:t].astype(np.float32),
        forecasts={k: v[:t].copy() for k, v in live.forecasts.items()},
        link_up=loads.link_up[:t].copy(),
        dropped_mbps=loads.dropped_mbps[:t].copy(),
        model_stats=model_stats(live),
        lower={k: v[:t].copy() for k, v in live.recorder.lower.items()},
        upper={k: v[:t].copy() for k, v in live.recorder.upper.items()},
        peak_upper={k: v[:t].copy() for k, v in live.recorder.peak_upper.items()},
    )
