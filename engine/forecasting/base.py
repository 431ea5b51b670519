"""The forecaster interface every model implements, and its configuration.

One streaming protocol (the shape of river's ``iter_evaluate``): ``fit`` once on the training
period, then at each step ``forecast`` the next H utilisations of every link direction from the
last W observations, and ``observe`` the actual when it arrives. One global model per approach,
batched over link directions.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from engine.errors import InputError
from engine.forecasting.features import fill_forward

__all__ = ["ForecastConfig", "Forecaster", "LIQUID_CELLS", "LIQUID_WIRINGS", "IL_MODES"]

LIQUID_CELLS = ("cfc", "ltc")
LIQUID_WIRINGS = ("full", "autoncp")
IL_MODES = ("refit", "warm")


@dataclass(frozen=True)
class ForecastConfig:
    """Settings shared by all forecasters (each model reads the fields it needs).

    Parameters
    ----------
    window : int
        W, observations fed to the model.
    horizon : int
        H, steps forecast ahead.
    steps_per_day : int
        Steps in one day (288 at 5-minute steps); the seasonal baseline's lag.
    liquid_cell : {"cfc", "ltc"}
        CfC (closed-form, fast) or LTC (the ODE of the paper, ~10x slower per step).
    liquid_units : int
        Neurons of the liquid cell. With ``"autoncp"`` wiring, a quarter of them are motor
        neurons, so it must be >= 8.
    liquid_wiring : {"full", "autoncp"}
        Fully connected cell or an ``ncps.wirings.AutoNCP`` sparse wiring.
    epochs : int
        Initial fit of the CfC and MLP models: passes, each over ``train_windows`` windows
        sampled afresh from the training period (all directions).
    il_batch : int
        B: the incremental model re-fits each time B new samples have been observed.
    il_window : int
        N: each re-fit uses the most recent N observed steps (all directions). Must be > B and
        > window + horizon.
    il_mode : {"refit", "warm"}
        ``"warm"`` (default) continues from the current weights for ``il_epochs`` passes: it
        keeps what the model knew, and fits the 0.3 s re-fit budget. ``"refit"`` re-initialises
        the MLP (seeded per re-fit) and trains it for ``epochs`` passes on the last N steps only.
    lr : float
        Adam learning rate for every fit and re-fit.
    ltc_epochs : int
        Initial fit of the liquid model when ``liquid_cell="ltc"``: LTC is much slower per step
        than CfC on CPU, so by default it gets 1/3 of CfC's epochs (about the same fit time).
    ltc_unfolds : int
        Solver steps of LTC's ODE per input step (ncps' ``ode_unfolds``; ncps defaults to 6).
        Each is a handful of small tensor operations, so LTC's time per step grows with it.
        Measured on Geant2001 (2 weeks, 5-minute steps, drastic failure): 3 unfolds gave the
        same RMSE as 6 (4.205 vs 4.204 Mbit/s post-failure) at half the fit time and
        20 vs 30 ms per forecast step; the time saved goes into ``ltc_epochs``.
    il_epochs : int
        Passes of a warm re-fit over windows of the last N steps.
    train_windows : int
        Windows sampled per pass (fewer when fewer exist).
    batch_size : int
        Mini-batch size of every fit.
    mlp_hidden : int
        Width of the two hidden layers of the (incremental / frozen) MLP.

    Examples
    --------
    >>> ForecastConfig(il_batch=5, il_window=60).il_mode
    'warm'
    >>> ForecastConfig(il_batch=48, il_window=48)
    Traceback (most recent call last):
    ...
    engine.errors.InputError: il_window (N=48): must be greater than il_batch (B=48)
    """

    window: int = 24
    horizon: int = 1
    steps_per_day: int = 288
    liquid_cell: str = "cfc"
    liquid_units: int = 16
    liquid_wiring: str = "full"
    epochs: int = 24
    il_batch: int = 48
    il_window: int = 288
    il_mode: str = "warm"
    lr: float = 3e-3
    ltc_epochs: int = 8
    ltc_unfolds: int = 3
    il_epochs: int = 2
    train_windows: int = 8192
    batch_size: int = 256
    mlp_hidden: int = 64

    def __post_init__(self) -> None:
        for name in (
            "window", "horizon", "steps_per_day", "liquid_units", "epochs", "il_batch",
            "il_window", "ltc_epochs", "ltc_unfolds", "il_epochs", "train_windows", "batch_size", "mlp_hidden",
        ):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise InputError(name, f"must be an integer, got {value!r}")
            if value < 1:
                raise InputError(name, f"must be >= 1, got {value}")
        if self.liquid_cell not in LIQUID_CELLS:
            raise InputError(
                f"liquid_cell {self.liquid_cell!r}", f"unknown cell; valid: {', '.join(LIQUID_CELLS)}"
            )
        if self.liquid_wiring not in LIQUID_WIRINGS:
            raise InputError(
                f"liquid_wiring {self.liquid_wiring!r}",
                f"unknown wiring; valid: {', '.join(LIQUID_WIRINGS)}",
            )
        if self.il_mode not in IL_MODES:
            raise InputError(f"il_mode {self.il_mode!r}", f"unknown mode; valid: {', '.join(IL_MODES)}")
        if self.liquid_wiring == "autoncp" and self.liquid_units < 8:
            raise InputError(
                f"liquid_units ({self.liquid_units})", "AutoNCP wiring needs at least 8 units"
            )
        if self.il_window <= self.il_batch:
            raise InputError(
                f"il_window (N={self.il_window})",
                f"must be greater than il_batch (B={self.il_batch})",
            )
        if self.il_window <= self.window + self.horizon:
            raise InputError(
                f"il_window (N={self.il_window})",
                f"must be greater than window + horizon ({self.window + self.horizon}) "
                "so that a re-fit has at least one training window",
            )
        if not (isinstance(self.lr, (int, float)) and np.isfinite(self.lr) and self.lr > 0):
            raise InputError("lr", f"must be a positive number, got {self.lr!r}")


class Forecaster(ABC):
    """A streaming multi-step forecaster of link-direction utilisation.

    Subclasses implement ``_fit``, ``_forecast`` and ``_observe``; the public methods here check
    shapes, fill gaps (NaN = missing interval) and guarantee finite float32 output.

    Attributes
    ----------
    name : str
        Model name as in ``registry.MODEL_NAMES``.
    retrains : int
        Re-fits after the initial fit (0 for every model but ``incremental``).
    retrain_steps : list of int
        Observation counts since ``fit`` at which the re-fits happened.
    fit_seconds : float
        Wall time of the initial fit.
    """

    name: str = "base"

    def __init__(self, config: ForecastConfig, seed: int = 0, device: str = "cpu") -> None:
        self.config = config
        self.seed = int(seed)
        self.device = device
        self.retrains = 0
        self.retrain_steps: list[int] = []
        self.fit_seconds = 0.0
        self.n_observed = 0
        self._n_dirs: int | None = None
        self._n_feat: int | None = None
        self._last_known: np.ndarray | None = None

    # -- public protocol ------------------------------------------------------------------
    def fit(self, history: np.ndarray, features: np.ndarray) -> None:
        """Train on the history period.

        Parameters
        ----------
        history : numpy.ndarray, shape (T, D)
            Utilisation (load / capacity) of D link directions; NaN marks a missing interval.
        features : numpy.ndarray, shape (T, F)
            Time features of the same steps (see ``features.time_features``).
        """
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
        self._last_known = fill_forward(history)[-1].copy()
        self.retrains, self.retrain_steps, self.n_observed = 0, [], 0
        start = time.perf_counter()
        self._fit(history, features)
        self.fit_seconds = time.perf_counter() - start

    def forecast(self, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Forecast the next H utilisations of every direction.

        Parameters
        ----------
        window : numpy.ndarray, shape (W, D)
            The last W observed utilisations (NaN allowed: forward-filled inside).
        features : numpy.ndarray, shape (W + H, F)
            Time features of those W steps followed by the H future steps.

        Returns
        -------
        numpy.ndarray, float32, shape (H, D)
            Finite, non-negative utilisation forecasts.
        """
        self._require_fitted()
        cfg = self.config
        window = np.asarray(window, dtype=np.float32)
        features = np.asarray(features, dtype=np.float32)
        if window.shape != (cfg.window, self._n_dirs):
            raise InputError("window", f"expected shape {(cfg.window, self._n_dirs)}, got {window.shape}")
        if features.shape != (cfg.window + cfg.horizon, self._n_feat):
            raise InputError(
                "features",
                f"expected shape {(cfg.window + cfg.horizon, self._n_feat)}, got {features.shape}",
            )
        filled = fill_forward(window, fallback=self._last_known)
        out = np.asarray(self._forecast(filled, features), dtype=np.float32)
        persistence = np.broadcast_to(filled[-1], out.shape)
        out = np.where(np.isfinite(out), out, persistence)
        return np.maximum(out, 0.0).astype(np.float32)

    def observe(self, value: np.ndarray, features: np.ndarray) -> None:
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
        self._last_known = np.where(np.isfinite(value), value, self._last_known)
        self.n_observed += 1
        self._observe(value, features)

    # -- for subclasses ---------------------------------------------------------------------
    @abstractmethod
    def _fit(self, history: np.ndarray, features: np.ndarray) -> None: ...

    @abstractmethod
    def _forecast(self, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        """``window`` is already gap-free here; return (H, D)."""

    @abstractmethod
    def _observe(self, value: np.ndarray, features: np.ndarray) -> None: ...

    def _require_fitted(self) -> None:
        if self._n_dirs is None:
            raise InputError(f"forecaster {self.name!r}", "call fit() before forecast()/observe()")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed}, device={self.device!r}, config={self.config})"
