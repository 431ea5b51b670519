"""Online autoregression on first differences: recursive least squares over every direction at once.

Per direction d the model is an AR(p) on the differences ``x[t] = u[t] - u[t-1]`` of utilisation,
each scaled by a running spread ``s[d]`` and winsorised at ``±CLIP``::

    z[t] = clip(x[t] / s, -CLIP, CLIP),    z[t+1] ~ w[d] . (z[t], z[t-1], ..., z[t-p+1])

and the H-step forecast iterates it on its own predictions: ``u[t+h] = u[t] + s * (z^[t+1] +
... + z^[t+h])``. The coefficients follow the data by recursive least squares with a forgetting
factor (``ar_forgetting``), one RLS per direction, all directions updated together: the inverse
covariances are one (D, p, p) array and a step is a handful of batched numpy operations (no
Python loop over directions). ``fit`` runs the same updates over the training period.

Guards for a level shift (a failure moves a direction's load at once). An ARIMA(p, 1, 0) fitted
to noisy traffic learns coefficients that smooth (they pull the forecast back towards recent
levels); after a shift the one huge difference sits in the regressor for p steps and the
iterated H-step forecast swings far off (river's SNARIMAX ARIMA(24,1,0) overshot badly at H=12 in
our tests). Here:

- the differences are winsorised at ``CLIP`` running spreads, in the regressor, in the RLS
  target and in every iterated prediction, so a shift enters as a bounded event: an h-step
  forecast moves at most ``h * CLIP * s`` from the last value, whatever the coefficients;
- the coefficient vector's L2 norm is kept <= ``ar_max_norm`` after every update;
- the trace of each inverse covariance is kept <= its initial ``p * P0``, so forgetting cannot
  wind it up while a direction is idle (a failed link's differences are all zero);
- the spread is an exponentially weighted RMS of the winsorised differences (one shift barely
  moves it), floored so an idle direction does not divide by zero.

From an earlier origin (the interval calibration pass and the ensemble's warm start replay the
training period) the forecast takes that origin's lags from its window (a lag older than the
window counts as 0) with the coefficients and spread as they are now, like a learnt model
replayed with its final weights; from the newest origin, the lags it carries.

Why numpy and not river: river is not a dependency of netdrift, its ARIMA (SNARIMAX) is one
model per series updated observation by observation in Python (76 models per step), and it is
the model that overshot; the batched RLS costs well under a millisecond per step for 76
directions.
"""

from __future__ import annotations

import numpy as np

from netdrift.engine.forecasting.base import Forecaster
from netdrift.engine.forecasting.features import fill_forward
from netdrift.engine.forecasting.protocol import ForecastInput
from netdrift.engine.forecasting.settings import ForecastConfig, OnlineARSettings

__all__ = ["OnlineARForecaster", "CLIP"]

#: Differences are winsorised at this many running spreads.
CLIP = 3.0
_P0 = 1.0  # initial inverse covariance: P = _P0 * I (the scaled regressors are ~1)
_SCALE_RATE = 0.01  # weight of the newest difference in the running spread (memory ~100 steps)
_SCALE_FLOOR = 1e-5  # utilisation; the spread of an idle direction


class OnlineARForecaster(Forecaster[OnlineARSettings]):
    """AR(p) on scaled, winsorised first differences, fitted online by recursive least squares.

    Examples
    --------
    >>> import numpy as np
    >>> from netdrift.engine.forecasting import ForecastConfig, ForecastInput
    >>> rng = np.random.default_rng(0)
    >>> u = (0.5 + np.cumsum(rng.normal(0, 0.01, (300, 2)), axis=0)).astype("float32")
    >>> m = OnlineARForecaster(ForecastConfig(window=4, horizon=3), OnlineARSettings(ar_order=4))
    >>> m.fit(u, np.zeros((300, 4), "float32"))
    >>> m.forecast(ForecastInput(300, u[-4:], np.zeros((7, 4)))).point.shape
    (3, 2)
    >>> m.coefficients.shape
    (2, 4)
    """

    name = "online-ar"

    def __init__(self, config: ForecastConfig, settings: OnlineARSettings | None = None, seed: int = 0,
                 device: str = "cpu") -> None:
        super().__init__(config, settings, seed, device)

    @classmethod
    def default_settings(cls) -> OnlineARSettings:
        return OnlineARSettings()

    # -- the model ---------------------------------------------------------------------------------
    def _fit(self, history: np.ndarray, features: np.ndarray) -> None:
        p = self.settings.ar_order
        filled = fill_forward(history).astype(np.float64)
        d = filled.shape[1]
        diffs = np.diff(filled, axis=0)
        if len(diffs):  # robust spread of the training differences (MAD as a standard deviation)
            mad = np.median(np.abs(diffs - np.median(diffs, axis=0)), axis=0)
            self._scale = np.maximum(1.4826 * mad, _SCALE_FLOOR)
        else:
            self._scale = np.full(d, _SCALE_FLOOR)
        self._w = np.zeros((d, p))
        self._p = np.broadcast_to(_P0 * np.eye(p), (d, p, p)).copy()
        self._lags = np.zeros((d, p))  # raw differences, newest first
        self._prev = filled[0].copy()
        for row in filled[1:]:
            self._update(row)

    def _regressor(self) -> np.ndarray:
        return np.clip(self._lags / self._scale[:, None], -CLIP, CLIP)

    def _update(self, value: np.ndarray) -> None:
        """One RLS step of every direction with the newest (gap-free) utilisation."""
        lam, p = self.settings.ar_forgetting, self.settings.ar_order
        x = value - self._prev
        phi = self._regressor()  # (D, p)
        y = np.clip(x / self._scale, -CLIP, CLIP)
        p_phi = np.einsum("dij,dj->di", self._p, phi)
        gain = p_phi / (lam + np.einsum("di,di->d", phi, p_phi))[:, None]
        err = y - np.einsum("di,di->d", self._w, phi)
        self._w += gain * err[:, None]
        pm = (self._p - gain[:, :, None] * p_phi[:, None, :]) / lam
        pm = 0.5 * (pm + pm.transpose(0, 2, 1))
        trace = np.einsum("dii->d", pm)
        pm *= np.minimum(1.0, p * _P0 / np.maximum(trace, 1e-12))[:, None, None]
        self._p = pm
        norm = np.sqrt(np.einsum("di,di->d", self._w, self._w))
        self._w *= np.minimum(1.0, self.settings.ar_max_norm / np.maximum(norm, 1e-12))[:, None]
        clipped = np.minimum(x * x, (CLIP * self._scale) ** 2)
        self._scale = np.maximum(np.sqrt((1 - _SCALE_RATE) * self._scale**2 + _SCALE_RATE * clipped), _SCALE_FLOOR)
        self._lags[:, 1:] = self._lags[:, :-1]
        self._lags[:, 0] = x
        self._prev = value.copy()

    def _forecast_input(self, inp: ForecastInput, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        """From an earlier origin (the interval calibration pass replays the training period), the
        lags are that origin's, from its window (a lag older than the window counts as 0), with the
        coefficients and spread as they are now; from the newest origin, the carried lags."""
        if int(inp.step) >= self._fit_steps + self.n_observed:
            return self._forecast(window, features)
        diffs = np.diff(window.astype(np.float64), axis=0)[::-1][: self.settings.ar_order]  # newest first
        lags = np.zeros_like(self._lags)
        lags[:, : diffs.shape[0]] = diffs.T
        return self._iterate(window, np.clip(lags / self._scale[:, None], -CLIP, CLIP))

    def _forecast(self, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        return self._iterate(window, self._regressor())

    def _iterate(self, window: np.ndarray, phi: np.ndarray) -> np.ndarray:
        horizon = self.config.horizon
        out = np.empty((horizon, phi.shape[0]))
        level = window[-1].astype(np.float64)
        for h in range(horizon):
            z = np.clip(np.einsum("di,di->d", self._w, phi), -CLIP, CLIP)
            level = level + z * self._scale
            out[h] = level
            if h + 1 < horizon:
                phi = np.concatenate([z[:, None], phi[:, :-1]], axis=1)
        return out

    def _observe(self, value: np.ndarray, features: np.ndarray) -> None:
        assert self._last_known is not None
        self._update(self._last_known.astype(np.float64))  # gaps carry the last value

    @property
    def coefficients(self) -> np.ndarray:
        """(D, p) AR coefficients on the scaled differences, newest lag first (a copy)."""
        self._require_fitted()
        return self._w.copy()

    @property
    def scale(self) -> np.ndarray:
        """(D,) running spread of each direction's differences (utilisation; a copy)."""
        self._require_fitted()
        return self._scale.copy()
