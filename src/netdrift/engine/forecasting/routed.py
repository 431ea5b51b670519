"""Failure-aware forecasting: forecast node-pair demands, route them through the network as it is.

A routed model forecasts the traffic between node pairs and turns it into link loads with the
routing in force at each target step under the failures known when the forecast is made
(``ForecastInput.routing_at``). A failure the engine has just applied therefore moves the forecast
at once, instead of reaching the model as unexplained drift; a pair cut off by a partition
forecasts as dropped (its routing column is empty), never as load elsewhere.

Representation (demand space is large: Geant2001 has 702 pairs, Cogentco 38,612):

- ``routed-persistence`` and ``routed-seasonal`` work per pair: the last demand matrix, or the
  one a day earlier. They cost one (P,) copy per step and keep the exact meaning of the baseline
  (routed persistence *is* "the last demand matrix re-routed").
- The learnt models (``routed-frozen``, ``routed-incremental``, ``routed-liquid``) forecast each
  origin's total egress (N series instead of N^2, each scaled by its training peak) with the same
  network, settings and training as their link-level namesake, and fan it out to destinations
  with each origin's shares over the model's window (mean demand to d / mean egress of o). Totals
  are smooth aggregates a model can learn; who-talks-to-whom changes slowly. The cost per step is
  that of a link-level model over N series plus one sparse product per routing state, so it
  scales to Cogentco (197 origins) where per-pair learnt models would run 38,612 sequences a step.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.base import Forecaster
from netdrift.engine.forecasting.protocol import ForecastInput
from netdrift.engine.forecasting.settings import ForecastConfig, ModelSettings

__all__ = ["RoutedForecaster", "RoutedPersistence", "RoutedSeasonal", "RoutedFrozen", "RoutedIncremental",
           "RoutedLiquid", "route_demands"]


def route_demands(inp: ForecastInput, demands: np.ndarray) -> np.ndarray:
    """(H, D) link loads (Mbit/s) of (H, P) demands, each row through the routing at its target step."""
    if inp.routing_at is None:
        raise InputError("forecast input", "a routed model needs the routing in force (routing_at)")
    out = np.empty((demands.shape[0], inp.n_directions), dtype=np.float64)
    by_state: dict[int, tuple[sp.csr_matrix, list[int]]] = {}
    for h in range(demands.shape[0]):
        routing = inp.routing_at(inp.step + h)
        by_state.setdefault(id(routing), (routing.matrix, []))[1].append(h)
    for matrix, rows in by_state.values():
        out[rows] = (matrix @ demands[rows].T.astype(np.float64)).T
    return out


class RoutedForecaster(Forecaster[ModelSettings]):
    """A link-level model kind run in demand space (see the module docstring).

    Subclasses set ``inner_kind`` (the catalogue kind whose network and settings they use) and
    ``per_pair`` (True: the inner model runs on every pair's demand; False: on origin totals).

    Examples
    --------
    >>> import numpy as np
    >>> from netdrift.engine.network.loaders import load_topology
    >>> from netdrift.engine.forecasting import ForecastConfig, ForecastInput, time_features
    >>> from netdrift.engine.forecasting.protocol import Pairs
    >>> from netdrift.engine.network.routing import all_pairs, routing_matrix
    >>> topo = load_topology("abilene")
    >>> src, dst = all_pairs(len(topo.nodes))
    >>> r = routing_matrix(topo, src=src, dst=dst)
    >>> d = np.full((6, len(src)), 2.0, "float32")
    >>> m = RoutedPersistence(ForecastConfig(window=4, steps_per_day=24))
    >>> m.fit(np.zeros((6, topo.n_directions)), np.zeros((6, 4)), d, Pairs(src, dst, len(topo.nodes)))
    >>> inp = ForecastInput(6, np.zeros((4, topo.n_directions)), np.zeros((5, 4)),
    ...                     capacity_mbps=topo.direction_capacity, routing_at=lambda s: r, demands=d[2:])
    >>> bool(np.allclose(m.forecast(inp).point[0] * topo.direction_capacity, r.matrix @ d[-1]))
    True
    """

    space = "demands"
    inner_kind: str = ""
    per_pair: bool = False

    def __init__(self, config: ForecastConfig, settings: ModelSettings | None = None, seed: int = 0,
                 device: str = "cpu") -> None:
        from netdrift.engine.forecasting.catalogue import model_info

        inner_class = model_info(self.inner_kind).forecaster_class()
        self._inner_class = inner_class
        super().__init__(config, settings if settings is not None else inner_class.default_settings(), seed, device)
        self.inner: Forecaster = inner_class(config, self.settings, seed=seed, device=device)
        self._scale: np.ndarray | None = None
        self._to_origin: sp.csr_matrix | None = None

    @classmethod
    def default_settings(cls) -> ModelSettings:
        from netdrift.engine.forecasting.catalogue import model_info

        return model_info(cls.inner_kind).forecaster_class().default_settings()

    # -- the inner model's series -------------------------------------------------------------
    def _series(self, demands: np.ndarray) -> np.ndarray:
        """What the inner model sees of (T, P) demands: themselves, or scaled origin totals."""
        if self.per_pair:
            return demands
        assert self._to_origin is not None and self._scale is not None
        return np.asarray(self._to_origin.T @ demands.T, dtype=np.float32).T / self._scale

    def _fit(self, history: np.ndarray, features: np.ndarray) -> None:
        demands, pairs = self._demands_fit, self._pairs
        assert demands is not None and pairs is not None
        if not self.per_pair:
            p = pairs.n_pairs
            self._to_origin = sp.csr_matrix((np.ones(p, np.float32), (np.arange(p), pairs.src)),
                                            shape=(p, pairs.n_nodes))
            totals = np.asarray(self._to_origin.T @ np.nan_to_num(demands).T, dtype=np.float32).T
            peak = totals.max(axis=0)
            self._scale = np.where(peak > 0, peak, 1.0).astype(np.float32)
        self._src = pairs.src
        self.inner.fit(self._series(demands), features, progress=self._fit_progress)  # its epochs are ours

    def _forecast(self, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        raise NotImplementedError  # routed models forecast from the whole input

    def _forecast_input(self, inp: ForecastInput, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        if inp.demands is None or inp.capacity_mbps is None:
            raise InputError(f"model {self.name!r}", "needs the demand window and the capacities in its input")
        demands = np.asarray(inp.demands, dtype=np.float32)
        series = self._series(demands)
        point = self.inner.forecast(ForecastInput(inp.step, series, features)).point
        if self.per_pair:
            forecast = point
        else:
            assert self._to_origin is not None and self._scale is not None
            mean = demands.mean(axis=0)
            origin_mean = np.asarray(self._to_origin.T @ mean).ravel()[self._src]
            shares = np.divide(mean, origin_mean, out=np.zeros_like(mean), where=origin_mean > 0)
            forecast = (point * self._scale)[:, self._src] * shares
        return route_demands(inp, forecast) / inp.capacity_mbps

    def _observe(self, value: np.ndarray, features: np.ndarray) -> None:
        return None  # the demands arrive through _observe_demands

    def _observe_demands(self, demands: np.ndarray, features: np.ndarray) -> None:
        self.inner.observe(self._series(demands[None, :])[0], features)
        self.retrains, self.retrain_steps = self.inner.retrains, self.inner.retrain_steps

    @property
    def retrain_seconds(self) -> list[float]:
        return getattr(self.inner, "retrain_seconds", [])


class RoutedPersistence(RoutedForecaster):
    """The last demand matrix, routed through the routing in force at each target."""

    name, inner_kind, per_pair = "routed-persistence", "persistence", True


class RoutedSeasonal(RoutedForecaster):
    """The demand matrix one day before each target, routed as it is now."""

    name, inner_kind, per_pair = "routed-seasonal", "seasonal", True
    replays_from_window = False  # its inner seasonal model's buffer follows the newest step


class RoutedFrozen(RoutedForecaster):
    """The frozen MLP on origin totals, fanned out and routed."""

    name, inner_kind = "routed-frozen", "frozen"


class RoutedIncremental(RoutedForecaster):
    """Incremental learning on origin totals (re-fit every B steps on the last N), fanned out and routed."""

    name, inner_kind = "routed-incremental", "incremental"


class RoutedLiquid(RoutedForecaster):
    """The liquid network on origin totals, fanned out and routed."""

    name, inner_kind = "routed-liquid", "liquid"
