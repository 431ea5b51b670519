"""The calibration pass: interval radii from each model's own errors over the training period.

Each fitted model is copied (the run's model is not touched) and the copy forecasts ``origins``
origins spread evenly over the whole training period (every time of day and day of the week
in proportion) from the stream's inputs (:func:`replay_training`; models whose forecast comes from
a state carried to the newest step, ``replays_from_window = False``, are not replayed: they keep
the generic start);
its absolute H-step errors against the actuals give,
per horizon row and direction, the split-conformal quantile ``ceil((n + 1) level) / n`` of the n
errors, each divided by the model's interval shape at its origin (:func:`calibrated_radii`: the
run's shape over the day and the week, :mod:`netdrift.engine.evaluation.interval_shape`, to the
power the model's errors follow it with, fitted on the same errors: one number per horizon row,
pooled over the directions).

Why the whole period, not its end: a forecast's errors are not exchangeable across the day and
the week (a persistence error is largest on the daily ramps and small in the night and on
weekend dips). The last 144 origins of a week of 5-minute training are the Sunday's last 12
hours, the last 96 of 15-minute training the whole Sunday: calibrated there, the radii were
too narrow for the Monday that follows (coverage before the failure 79-88 % for persistence on
the backbone proxy, 92-94 % on sine at 5 minutes where the tail was a night). Origins spread over
the week are a sample of the time of week the run goes on into (88.6-93 % at a fixed radius,
before the online tracking; measured in docs/forecasting.md). A combiner (the ensemble) starts from
weights the same replay gave it (:meth:`~netdrift.engine.forecasting.ensemble.EnsembleForecaster.warm_start`),
so its errors are those of its start combination of the replayed members. The radii replace the generic start of
:func:`~netdrift.engine.evaluation.intervals.initial_radius` where they are finite.

The copies forecast from their state at the end of training (a stateful model's carried state,
the residual shrinkage), so the errors are slightly optimistic in-sample ones; the online
tracking corrects the rest.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from netdrift.engine.evaluation.interval_shape import IntervalShape, fit_power
from netdrift.engine.evaluation.stream import ObservationStream
from netdrift.engine.forecasting.base import Forecaster

__all__ = ["TrainingReplay", "replay_training", "calibrated_radii", "calibration_origins", "conformal_quantile"]


def conformal_quantile(errors: np.ndarray, level: float) -> np.ndarray:
    """Split-conformal quantile along axis 0 of (n, ...) absolute errors (NaN ignored).

    The ``ceil((n + 1) level)``-th smallest of n errors (the largest when that exceeds n).

    >>> conformal_quantile(np.arange(1.0, 11.0)[:, None], 0.8).tolist()
    [9.0]
    """
    x = np.sort(np.asarray(errors, dtype=np.float64), axis=0)  # NaN sort last
    n = np.sum(np.isfinite(x), axis=0)
    rank = np.minimum(np.ceil((n + 1) * level).astype(np.int64), n) - 1
    out = np.take_along_axis(x, np.maximum(rank, 0)[None, ...], axis=0)[0]
    return np.where(n > 0, out, np.nan)


def calibration_origins(window: int, horizon: int, train_steps: int, origins: int) -> np.ndarray:
    """At most ``origins`` forecast origins spread evenly over the training period, each with
    a full window before it and its H targets inside training.

    >>> calibration_origins(4, 2, 20, 5).tolist()
    [4, 8, 11, 14, 18]
    """
    first, last = window, train_steps - horizon  # the last origin whose H-th target is in training
    if last < first:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.linspace(first, last, max(1, min(origins, last - first + 1))).round().astype(np.int64))


@dataclass(frozen=True)
class TrainingReplay:
    """The replayed models' forecasts at the calibration origins and the actuals they targeted.

    ``points[label]`` and ``actual`` are (n, H, D) in Mbit/s: row k of origin i targets
    ``origins[i] + k``; ``capacity`` (D,) turns them into utilisation.
    """

    origins: np.ndarray
    points: dict[str, np.ndarray]
    actual: np.ndarray
    capacity: np.ndarray
    #: Models whose points were rebuilt from the history (``Forecaster.replay_at``: seasonal
    #: naive), not replayed from windows; a combiner starts from the replayed ones only.
    rebuilt: frozenset[str] = frozenset()

    def replayed_points(self) -> dict[str, np.ndarray]:
        """``points`` of the models replayed from their windows (what a combiner starts from)."""
        return {label: p for label, p in self.points.items() if label not in self.rebuilt}


def replay_training(models: Mapping[str, Forecaster], stream: ObservationStream, train_steps: int,
                    origins: int) -> TrainingReplay | None:
    """Copies of the fitted models forecast ``origins`` origins spread over the training period
    (models whose forecast follows the origin; a model whose forecast is a function of the
    history, seasonal naive, is rebuilt from it; never a combiner); None if too short."""
    h, w = stream.horizon, stream.window
    picked = calibration_origins(w, h, train_steps, origins)
    if len(picked) < 2:
        return None
    first = int(picked[0])
    actual = np.stack([stream.actual_mbps(t) for t in range(first, train_steps)]).astype(np.float64)
    # Only models whose forecast at an earlier origin is that origin's (not a state carried to the
    # newest step: seasonal's day buffer, the stateful liquid model) are replayed.
    members = {label: m for label, m in models.items()
               if not getattr(m, "combines", False) and getattr(m, "replays_from_window", True)}
    # Models whose forecast is a function of the history (seasonal naive) are rebuilt from it.
    rebuilt = {label: m for label, m in models.items()
               if not getattr(m, "combines", False) and label not in members
               and m.replay_at(stream.observed[:w], w) is not None}
    rows: dict[str, list[np.ndarray]] = {label: [] for label in (*members, *rebuilt)}
    copies = {label: copy.deepcopy(m) for label, m in members.items()}
    for t in picked:
        inp = stream.input_at(int(t))
        for label, m in copies.items():
            rows[label].append(np.asarray(m.forecast(inp).point, dtype=np.float64) * stream.capacity)
        for label, m in rebuilt.items():
            rows[label].append(np.asarray(m.replay_at(stream.observed[:t], int(t)), dtype=np.float64) * stream.capacity)
    idx = (picked - first)[:, None] + np.arange(h)[None, :]
    return TrainingReplay(picked, {label: np.stack(r) for label, r in rows.items()}, actual[idx],
                          np.asarray(stream.capacity, dtype=np.float64), frozenset(rebuilt))


def _replay_errors(models: Mapping[str, Forecaster], replay: TrainingReplay) -> dict[str, np.ndarray]:
    """{label: (n, H, D) absolute errors in Mbit/s} of each replayed model (a combiner's: of its
    start combination of the replayed members)."""
    errors = {label: np.abs(replay.actual - p) for label, p in replay.points.items()}
    if replay.replayed_points():
        for label, m in models.items():
            if getattr(m, "combines", False):
                errors[label] = np.abs(replay.actual - m.start_combination(replay.replayed_points()))  # type: ignore[attr-defined]  # a combiner has it
    return errors


def calibrated_radii(models: Mapping[str, Forecaster], replay: TrainingReplay | None, level: float,
                     shape: IntervalShape | None = None) -> tuple[dict[str, np.ndarray], dict[str, IntervalShape]]:
    """({label: (H, D) start radius}, {label: its interval shape}) of each replayed model (a
    combiner's from its start combination of the replayed members).

    The shape is the run's ``shape`` raised to the power the model's errors follow it with
    (:func:`~netdrift.engine.evaluation.interval_shape.fit_power`: persistence's errors are the
    load's change, about 1; a model that forecasts the daily ramps, less); the radius is the
    split-conformal quantile of the errors divided by that shape at their origins, so it is in
    the shape's units (in Mbit/s without a shape)."""
    if replay is None:
        return {}, {}
    errors = _replay_errors(models, replay)
    shapes: dict[str, IntervalShape] = {}
    if shape is not None:
        at = shape.at_many(replay.origins)
        shapes = {label: shape.powered(fit_power(err, at)) for label, err in errors.items()}
    radii = {label: conformal_quantile(err / (shapes[label].at_many(replay.origins) if label in shapes else 1.0), level)
             for label, err in errors.items()}
    return radii, shapes
