"""Plain result types shared by the scenario runner, metrics, storage and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.topology import Topology

__all__ = ["MetricRow", "ScenarioResult"]


@dataclass(frozen=True)
class MetricRow:
    """One metric value.

    ``period``: ``"pre"`` (after training, before the first failure), ``"post"`` (from the
    first failure on) or ``"event:K"`` (K-th failure event, from it to the next event or end).
    ``metric``: ``rmse``/``mae`` (Mbit/s), ``nrmse``/``mape``/``smape`` (%),
    ``mape_excluded`` (count of steps left out of MAPE), ``ttc`` (steps; None = censored),
    ``drift`` (relative change of mean load, fraction).
    ``direction``: link-direction index, or None for the aggregate over directions.
    """

    model: str
    period: str
    metric: str
    value: float | None
    direction: int | None = None


@dataclass
class ScenarioResult:
    """Everything a finished (or stopped) scenario produced; arrays are over steps x directions."""

    topology: Topology
    config: dict[str, Any]
    seed: int
    events: list[FailureEvent]
    step_minutes: float
    start: datetime
    train_steps: int
    actual: np.ndarray                      # (T, 2L) Mbit/s, NaN where the interval is missing
    forecasts: dict[str, np.ndarray]        # model -> (T, 2L) H-step-ahead forecast for each step, Mbit/s, NaN before the first
    link_up: np.ndarray                     # (T, L) bool
    dropped_mbps: np.ndarray                # (T,)
    metrics: list[MetricRow] = field(default_factory=list)
    lower: dict[str, np.ndarray] = field(default_factory=dict)   # model -> (T, 2L) interval bounds of the
    upper: dict[str, np.ndarray] = field(default_factory=dict)   # H-step-ahead forecast, Mbit/s (when intervals ran)
    peak_upper: dict[str, np.ndarray] = field(default_factory=dict)  # model -> (T, 2L) highest upper bound of the forecasts made at each step
    model_stats: dict[str, dict[str, Any]] = field(default_factory=dict)  # retrains, fit_seconds, predict_ms_per_step, retrain_steps
