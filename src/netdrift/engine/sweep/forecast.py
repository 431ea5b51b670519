"""Forecast-aware sweeps: the node-pair demands of the next H steps as a routed model forecasts them.

``sweep(..., forecast=MODEL)`` ranks failures by the worst case of the *forecast* demands over
``[start, start + H)``: "what will hurt most if it fails now". Only the routed (demand-space)
models of :mod:`netdrift.engine.forecasting.routed` can answer it, since they forecast node-pair demands,
which each failure state then routes its own way; a link-level model forecasts loads of the
no-failure routing only and is refused.

The model is fitted on the demands observed before ``start`` (the per-pair baselines on the last
day, or their window when longer; the learnt models on everything before ``start``) and makes one
forecast from step ``start``, with the data of steps up to ``start - 1`` only. It is asked for its
demands through the public forecaster interface with a routing that maps every pair onto a
direction of its own (an identity matrix, capacity 1): its "loads" are then its demand forecast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from netdrift.engine.errors import InputError
from netdrift.engine.traffic.series import TrafficMatrixSeries
from netdrift.engine.traffic.time_grid import steps_per_day

if TYPE_CHECKING:  # pragma: no cover
    from netdrift.engine.network.routing import LoadPlan

__all__ = ["forecast_traffic", "forecast_models", "upper_radius"]

#: Steps of history the interval radius is measured on (at most: a week of 5-minute steps).
RADIUS_HISTORY = 2016

#: Window W of the models (steps they see), capped by the steps observed before ``start``.
WINDOW = 24


def forecast_models() -> tuple[str, ...]:
    """The models a forecast-aware sweep accepts (the routed ones)."""
    from netdrift.engine.forecasting.catalogue import ROUTED_MODELS

    return ROUTED_MODELS


def _times(traffic: TrafficMatrixSeries, a: int, b: int) -> np.ndarray:
    base = np.datetime64(traffic.start.replace(tzinfo=None), "s")
    return base + (np.arange(a, b) * traffic.step_minutes * 60).astype("timedelta64[s]")


def forecast_traffic(traffic: TrafficMatrixSeries, model: str, start: int, horizon: int, seed: int = 0,
                     device: str = "cpu") -> TrafficMatrixSeries:
    """The demands of steps ``[start, start + horizon)`` as ``model`` forecasts them at ``start``.

    Returns a series of ``horizon`` steps starting at the time of step ``start``. Raises
    :class:`InputError` naming ``forecast '<model>'`` for an unknown model or one that does not
    forecast demands (so cannot be routed per failure state), and ``from`` when no step before
    ``start`` is observed.

    >>> from netdrift.engine.network.loaders import load_topology
    >>> from netdrift.engine.traffic.sources import make_traffic
    >>> topo = load_topology("abilene")
    >>> tm = make_traffic("synthetic", topo, 10, 5.0, 0)
    >>> fc = forecast_traffic(tm, "routed-persistence", 6, 3)
    >>> fc.steps, bool(np.allclose(fc.demands, tm.demands[5]))
    (3, True)
    """
    from netdrift.engine.forecasting import ForecastConfig, ForecastInput
    from netdrift.engine.forecasting.catalogue import CATALOGUE, MODEL_NAMES, make_forecaster
    from netdrift.engine.forecasting.features import time_features
    from netdrift.engine.forecasting.protocol import Pairs
    from netdrift.engine.network.routing import Routing

    info = CATALOGUE.get(model)
    if info is None:
        raise InputError(f"forecast '{model}'", f"unknown model; routed models: {', '.join(forecast_models())}"
                         f" (all models: {', '.join(MODEL_NAMES)})")
    if info.space != "demands":
        raise InputError(f"forecast '{model}'", "forecasts link loads of the no-failure routing, not demands, so "
                                                f"it cannot forecast each failure state; use a routed model: "
                                                f"{', '.join(forecast_models())}")
    if not 1 <= start <= traffic.steps:
        raise InputError("from", f"a forecast from step {start} needs observed steps before it (1..{traffic.steps})")
    if horizon < 1:
        raise InputError("horizon", f"must be >= 1 (got {horizon})")
    day = steps_per_day(traffic.step_minutes)
    window = min(WINDOW, start)
    cls = info.forecaster_class()
    per_pair = bool(getattr(cls, "per_pair", False))
    n_hist = min(start, max(window, day)) if per_pair else start
    a = start - n_hist
    demands = np.asarray(traffic.demands[a:start], dtype=np.float32)
    p = traffic.n_pairs
    features = time_features(_times(traffic, a, start + horizon))
    cfg = ForecastConfig(window=window, horizon=horizon, steps_per_day=day)
    m = make_forecaster(model, cfg, seed=seed, device=device)
    try:
        m.fit(np.zeros((n_hist, p), np.float32), features[:n_hist], demands,
              Pairs(np.asarray(traffic.src), np.asarray(traffic.dst), len(traffic.node_ids)))
    except InputError as err:  # e.g. a learnt model with too little history before ``start``
        raise InputError(f"forecast '{model}'", f"cannot be fitted on the {n_hist} steps before step {start}: "
                                                f"{err}") from None
    # Each pair is its own "direction": the routed model's loads are then its demand forecast.
    ident = Routing(sp.identity(p, dtype=np.float64, format="csr"), np.zeros(p, bool),
                    np.ones(0, bool), np.ones(len(traffic.node_ids), bool))
    inp = ForecastInput(n_hist, np.zeros((window, p), np.float32), features[n_hist - window:],
                        capacity_mbps=np.ones(p), routing_at=lambda s: ident,
                        demands=demands[n_hist - window:])
    point = m.forecast(inp).point
    return TrafficMatrixSeries(traffic.node_ids, traffic.src, traffic.dst, point.astype(np.float64),
                               traffic.step_minutes, traffic.time_of(start))


def upper_radius(plan: "LoadPlan", traffic: TrafficMatrixSeries, start: int, horizon: int,
                 level: float) -> np.ndarray:
    """(H, 2L) radius in Mbit/s of the upper bound: per horizon h and direction, the ``level``
    quantile of |load[t] - load[t-h]| over the no-failure loads of the steps before ``start``
    (at most ``RADIUS_HISTORY``), as :func:`netdrift.engine.evaluation.intervals.initial_radius` starts
    every model's conformal interval. ``plan`` routes the traffic without failure."""
    from netdrift.engine.evaluation.intervals import initial_radius

    a = max(0, start - RADIUS_HISTORY)
    loads, _ = plan.apply(np.asarray(traffic.demands[a:start], dtype=np.float32), np.float32)
    missing = np.isnan(traffic.demands[a:start]).all(axis=1)
    loads = np.where(missing[:, None], np.nan, loads)
    return initial_radius(loads, horizon, level)
