"""The forecaster interface every model implements.

One streaming protocol (the shape of river's ``iter_evaluate``): ``fit`` once on the training
period, then at each step ``forecast`` the next H utilisations of every link direction from one
:class:`~netdrift.engine.forecasting.protocol.ForecastInput`, and ``observe`` the actual when it arrives.
One global model per approach, batched over link directions. Settings: the shared
:class:`~netdrift.engine.forecasting.settings.ForecastConfig` and the model's own settings object.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Callable, Generic, TypeVar

import numpy as np

from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.features import fill_forward
from netdrift.engine.forecasting.hedge import rerouted_directions
from netdrift.engine.forecasting.protocol import Forecast, ForecastInput, Pairs, down_directions, zero_down
from netdrift.engine.forecasting.residual import ResidualCorrection
from netdrift.engine.forecasting.settings import ForecastConfig, ModelSettings, NoSettings

__all__ = ["Forecaster"]

S = TypeVar("S", bound=ModelSettings)


class Forecaster(ABC, Generic[S]):
    """A streaming multi-step forecaster of link-direction utilisation.

    Subclasses implement ``_fit``, ``_forecast`` and ``_observe``; the public methods here check
    shapes, fill gaps (NaN = missing interval) and guarantee finite float32 output.

    Attributes
    ----------
    name : str
        Model name as in ``catalogue.MODEL_NAMES``.
    retrains : int
        Re-fits after the initial fit (0 for every model but ``incremental``).
    retrain_steps : list of int
        Observation counts since ``fit`` at which the re-fits happened.
    fit_seconds : float
        Wall time of the initial fit.
    """

    name: str = "base"

    def __init__(self, config: ForecastConfig, settings: S | None = None, seed: int = 0,
                 device: str = "cpu") -> None:
        self.config = config
        self.settings: S = settings if settings is not None else self.default_settings()
        self.settings.check(config)
        self.seed = int(seed)
        self.device = device
        self.retrains = 0
        self.retrain_steps: list[int] = []
        self.fit_seconds = 0.0
        self.n_observed = 0
        self._n_dirs: int | None = None
        self._n_feat: int | None = None
        self._last_known: np.ndarray | None = None
        self._demands_fit: np.ndarray | None = None
        self._pairs: Pairs | None = None
        self._residual: ResidualCorrection | None = None
        self._fit_steps = 0

    #: True for the learnt link-level models: with ``config.residual`` their net forecasts a shrunk
    #: correction to a base on robustly scaled inputs (:mod:`netdrift.engine.forecasting.residual`).
    residual_capable: bool = False
    #: Whether the residual weights may start from in-sample forecasts of the training tail
    #: (False for a model whose forecast depends on a carried state rather than on its window).
    residual_calibrate: bool = True
    #: Whether a forecast from an earlier origin is that origin's forecast (it depends on the
    #: input window, not on a state carried to the newest step): the interval calibration pass
    #: replays such models over the training period; of the others, seasonal naive (its day
    #: buffer) is rebuilt from the history (:meth:`replay_at`), and routed-seasonal and the
    #: stateful liquid model (its state) start from the generic radius.
    replays_from_window: bool = True

    def replay_at(self, observed: np.ndarray, origin: int) -> np.ndarray | None:
        """(H, D) the utilisation forecast this model makes at ``origin`` from the observed
        utilisation ``observed[:origin]`` alone, for a model whose forecast follows a state
        carried to the newest step (``replays_from_window = False``) but is a function of the
        history (seasonal naive: the value a day before); None (the default) when it is not."""
        return None

    # -- public protocol ------------------------------------------------------------------
    #: "links": forecasts link utilisation from link observations; "demands": forecasts
    #: node-pair demands and routes them (needs ``demands`` and ``pairs`` in ``fit``).
    space: str = "links"

    def fit(self, history: np.ndarray, features: np.ndarray, demands: np.ndarray | None = None,
            pairs: Pairs | None = None, progress: Callable[[float], None] | None = None) -> None:
        """Train on the history period.

        Parameters
        ----------
        history : numpy.ndarray, shape (T, D)
            Utilisation (load / capacity) of D link directions; NaN marks a missing interval.
        features : numpy.ndarray, shape (T, F)
            Time features of the same steps (see ``features.time_features``).
        demands : numpy.ndarray, shape (T, P), optional
            Node-pair demands (Mbit/s) of the same steps, observed or estimated; demand-space
            models need them (and ``pairs``), link-level models ignore them.
        pairs : Pairs, optional
            Which node pair each demand column is.
        progress : callable, optional
            Called with the fraction of the fit done (0..1) after each training epoch by the
            models that train in epochs (liquid, MLPs); never kept with the model.
        """
        if self.space == "demands":
            if demands is None or pairs is None:
                raise InputError(f"model {self.name!r}", "forecasts demands: fit() needs the demands and their pairs")
            demands = np.asarray(demands, dtype=np.float32)
            if demands.shape != (np.shape(history)[0], pairs.n_pairs):
                raise InputError("demands", f"expected shape ({np.shape(history)[0]}, {pairs.n_pairs}), "
                                            f"got {demands.shape}")
        self._demands_fit, self._pairs = demands, pairs
        history = np.asarray(history, dtype=np.float32)
        features = np.asarray(features, dtype=np.float32)
        if history.ndim != 2 or history.shape[0] < 1 or history.shape[1] < 1:
            raise InputError("history", f"expected a non-empty (T, D) array, got shape {history.shape}")
        if features.ndim != 2 or features.shape[0] != history.shape[0]:
            raise InputError(
                "features",
                f"expected shape ({history.shape[0]}, F) to match history, got {features.shape}",
            )
        if not np.isfinite(features).all():
            raise InputError("features", "contains non-finite values")
        self._n_dirs, self._n_feat = history.shape[1], features.shape[1]
        start = time.perf_counter()
        self._residual = None
        if self.residual_capable and self.config.residual:
            self._residual = ResidualCorrection(self.config.horizon, self.config.steps_per_day)
            history = self._residual.fit(history).astype(np.float32)  # the net sees z units
        self._last_known = fill_forward(history)[-1].copy()
        self.retrains, self.retrain_steps, self.n_observed = 0, [], 0
        self._fit_steps = history.shape[0]
        self._fit_progress = progress
        try:
            self._fit(history, features)
        finally:
            self._fit_progress = None  # a callback is not part of the model (models are pickled)
        if self._residual is not None and self.residual_calibrate:
            self._calibrate_residual(history, features)
        self._demands_fit = None  # routed models keep what they need; the history is the caller's
        self.fit_seconds = time.perf_counter() - start

    def forecast(self, inp: ForecastInput) -> Forecast:
        """Forecast the next H utilisations of every direction from one step's input.

        ``inp.window`` (W, D) may hold NaN (forward-filled inside); ``inp.features`` is
        (W + H, F). Returns a :class:`Forecast` whose point is finite, non-negative float32 of
        shape (H, D).
        """
        self._require_fitted()
        cfg = self.config
        window = np.asarray(inp.window, dtype=np.float32)
        features = np.asarray(inp.features, dtype=np.float32)
        if window.shape != (cfg.window, self._n_dirs):
            raise InputError("window", f"expected shape {(cfg.window, self._n_dirs)}, got {window.shape}")
        if features.shape != (cfg.window + cfg.horizon, self._n_feat):
            raise InputError(
                "features",
                f"expected shape {(cfg.window + cfg.horizon, self._n_feat)}, got {features.shape}",
            )
        if self._residual is not None:
            if any(e.step == inp.step for e in inp.events):
                self._residual.restart(rerouted_directions(inp))
            window = self._residual.to_z(window).astype(np.float32)
        filled = fill_forward(window, fallback=self._last_known)
        out = np.asarray(self._forecast_input(inp, filled, features), dtype=np.float32)
        if self._residual is not None:
            behind = max(0, self._fit_steps + self.n_observed - int(inp.step))  # > 0: an earlier origin
            out = self._residual.combine(out, filled[-1], behind).astype(np.float32)
        else:
            persistence = np.broadcast_to(filled[-1], out.shape)
            out = np.where(np.isfinite(out), out, persistence)
        return zero_down(Forecast(np.maximum(out, 0.0).astype(np.float32)), down_directions(inp, paper_form=not self.config.residual))

    def observe(self, value: np.ndarray, features: np.ndarray, demands: np.ndarray | None = None) -> None:
        """Take in the actual utilisations of the step just forecast.

        Parameters
        ----------
        value : numpy.ndarray, shape (D,)
            Observed utilisation per direction (NaN = missing).
        features : numpy.ndarray, shape (F,)
            Time features of that step.
        """
        self._require_fitted()
        value = np.asarray(value, dtype=np.float32).reshape(-1)
        features = np.asarray(features, dtype=np.float32).reshape(-1)
        if value.shape != (self._n_dirs,):
            raise InputError("value", f"expected shape ({self._n_dirs},), got {value.shape}")
        if features.shape != (self._n_feat,):
            raise InputError("features", f"expected shape ({self._n_feat},), got {features.shape}")
        assert self._last_known is not None
        if self._residual is not None:
            value = self._residual.observe(value).astype(np.float32)
        self._last_known = np.where(np.isfinite(value), value, self._last_known)
        self.n_observed += 1
        self._observe(value, features)
        if self.space == "demands":
            if demands is None:
                raise InputError(f"model {self.name!r}", "forecasts demands: observe() needs the step's demands")
            self._observe_demands(np.asarray(demands, dtype=np.float32).reshape(-1), features)

    def _calibrate_residual(self, history: np.ndarray, features: np.ndarray) -> None:
        """Start the residual weights from the net's forecasts of the last day of training."""
        assert self._residual is not None
        cfg = self.config
        filled = fill_forward(history)
        w, h = cfg.window, cfg.horizon

        def net(t: int) -> np.ndarray:
            return np.asarray(self._forecast(filled[t - w : t], features[t - w : t + h]), dtype=np.float64)

        self._residual.calibrate(history, net, w, min(cfg.steps_per_day, 288))

    # -- for subclasses ---------------------------------------------------------------------
    _fit_progress: Callable[[float], None] | None = None

    def _epoch_done(self, done: int, total: int) -> None:
        """A training epoch of the initial fit ended (re-fits report nothing)."""
        if self._fit_progress is not None and total > 0:
            self._fit_progress(min(1.0, done / total))

    @abstractmethod
    def _fit(self, history: np.ndarray, features: np.ndarray) -> None: ...

    @abstractmethod
    def _forecast(self, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        """``window`` is already gap-free here; return (H, D)."""

    @abstractmethod
    def _observe(self, value: np.ndarray, features: np.ndarray) -> None: ...

    def _forecast_input(self, inp: ForecastInput, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        """The (H, D) utilisation forecast; link-level models forecast from the gap-free window."""
        return self._forecast(window, features)

    def _observe_demands(self, demands: np.ndarray, features: np.ndarray) -> None:
        """Take in one step's node-pair demands (demand-space models)."""

    @classmethod
    def default_settings(cls) -> S:
        """The model's own settings when none are given (models without any: NoSettings)."""
        return NoSettings()  # type: ignore[return-value]  # S is NoSettings for the models that take none

    def _require_fitted(self) -> None:
        if self._n_dirs is None:
            raise InputError(f"forecaster {self.name!r}", "call fit() before forecast()/observe()")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(seed={self.seed}, device={self.device!r}, config={self.config}, "
                f"settings={self.settings})")
