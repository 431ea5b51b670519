"""Residual learning: a learnt model forecasts a shrunk correction to a strong base.

With ``ForecastConfig.residual`` on (the default), every learnt link-level model (liquid CfC /
LTC, gru, liquid-stateful, frozen, incremental; the routed twins' inner nets and the hybrid's
two inner models are such models too) runs through :class:`ResidualCorrection`, applied by
:class:`~netdrift.engine.forecasting.base.Forecaster` around the model's own code:

1. **Robust scaling per direction.** The net sees ``z = (u - median) / IQR`` of each direction's
   training utilisation (the IQR floored at 5 % of the median and at 1e-4), so a heavy-tailed
   direction does not dominate the loss and every direction's changes are of the same size.
   The nets keep their inputs: the window relative to its last value, the level, and the
   time-of-day and time-of-week features (:func:`~netdrift.engine.forecasting.features.time_features`).
   Their zero output is persistence; they train on the whole training period.
2. **The base.** Per horizon row ``k`` (``k + 1`` steps ahead) the base is the blend
   ``b_k = last + w_k (seasonal_k - last)`` of persistence and the value one day before the
   target, ``w_k`` in [0, 1] the least-squares weight over the training period (all directions
   pooled, in z units): about 0 one step ahead, larger at long horizons on daily traffic.
3. **The shrunk correction.** ``c = clip(net - b, -c_k, c_k)`` (``c_k``: the 99th percentile of
   the base's training error) and the forecast is ``b + p c`` with ``p`` in [0, 1] per row and
   direction: the weight of the expert ``b + c`` against the expert ``b`` in an exponentially
   weighted average (:func:`~netdrift.engine.forecasting.hedge.exp_weights`) of their losses,
   scored as the actuals arrive. A loss is the squared error divided by the base's mean squared
   training error of that row and direction, the error clipped to ``+- R`` (R = 3).
   Start: ``p`` from the two experts' losses over the last day of training (in-sample, so
   capped to [0.2, 0.8]); the stateful liquid model, whose state cannot be replayed, starts at 1/2.
   At a failure or restore, the directions whose routing changed restart at ``p = 0.2``: what
   the net learnt of their traffic no longer holds, so the base is favoured until the losses
   after the event say otherwise. For one period their base is the **rescaled seasonal**
   ``last + v_k (last * s_k / a - last)``: the value a day before the target (``s_k``) was
   routed differently, but its ratio to the value a day before the origin (``a``) is still the
   daily shape, carried at the new level (ratios in utilisation, each term offset by 5 % of the
   direction's median, within [1/4, 4]; ``v_k`` in [0, 1] its least-squares weight against
   persistence over training, pooled). Measured three hours ahead at 15-minute steps on the
   backbone proxy (Geant2001, link 2-3 failed): on the re-routed directions after the first H
   steps, persistence's RMSE is 21.4 Mbit/s, this base alone 10.6, the day-before delta
   ``last + s_k - a`` 13.7, and liquid went from 17.1 (persistence base) to 9.5.

Guarantee (per row and direction, on steps whose normalised errors are within R): squared
loss is ``1 / (2 R^2)``-exp-concave there, so with ``eta = 1 / (2 R^2)`` the weighted
forecast's cumulative normalised loss exceeds the base's by at most ``ln(1 / p_base,0) / eta
<= 2 R^2 ln 5 ~ 29`` (Kivinen & Warmuth 1999; Cesa-Bianchi & Lugosi 2006, Prop. 3.1): the
model is never worse than its base by more than ~29 typical squared base errors over a whole
run, however bad its net is. Over T steps that is a mean squared error at most ``29 / T``
(relative) above the base's.

``residual=False`` is the paper's form: the net on raw utilisation, its forecast used as is.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from netdrift.engine.forecasting.features import fill_forward
from netdrift.engine.forecasting.hedge import PendingForecasts

__all__ = ["ResidualCorrection", "CLIP_R", "ETA"]

#: Normalised errors are clipped to +- CLIP_R before they are squared.
CLIP_R = 3.0
#: The exp-concave learning rate of squared loss on errors within CLIP_R.
ETA = 1.0 / (2.0 * CLIP_R**2)
#: Start weights of the model expert are kept within [P_MIN, 1 - P_MIN].
P_MIN = 0.2


class ResidualCorrection:
    """Scaling, base and online shrinkage of one learnt model (see the module docstring).

    ``fit`` on the (T, D) training utilisation; then per step ``combine`` (the net's z forecast
    -> the utilisation forecast) and ``observe`` (the actual). Its own clock counts steps from the
    end of training, so a forecast is scored against the actual observed ``k`` steps later.

    Examples
    --------
    A net that forecasts 9 IQRs above the median while the actual stays at the median: its
    correction is clipped, then its weight falls as its losses arrive.

    >>> rng = np.random.default_rng(0)
    >>> r = ResidualCorrection(horizon=1, steps_per_day=4)
    >>> z = r.fit(0.5 + 0.1 * rng.standard_normal((40, 2)))
    >>> start = r.weights()[0, 0]
    >>> for _ in range(40):
    ...     _ = r.combine(np.full((1, 2), 9.0))
    ...     _ = r.observe(r.from_z(np.full(2, 0.0)))
    >>> float(start), bool(r.weights()[0, 0] < 0.1)
    (0.5, True)
    """

    def __init__(self, horizon: int, steps_per_day: int) -> None:
        self.horizon = int(horizon)
        self.period = int(steps_per_day)

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, history: np.ndarray) -> np.ndarray:
        """Learn the scaling, base weights and error scales from (T, D) utilisation; returns z."""
        x = np.asarray(history, dtype=np.float64)
        d = x.shape[1]
        with np.errstate(all="ignore"):
            med = np.nan_to_num(np.nanmedian(x, axis=0)) if np.isfinite(x).any() else np.zeros(d)
            q75, q25 = (np.nan_to_num(np.nanquantile(x, q, axis=0)) for q in (0.75, 0.25))
        self.median = med
        self.scale = np.maximum(q75 - q25, np.maximum(0.05 * np.abs(med), 1e-4))
        z = self.to_z(x)
        zf = fill_forward(z.astype(np.float32)).astype(np.float64)
        h, t, p = self.horizon, zf.shape[0], self.period
        self.blend = np.zeros(h)
        self.rescale_blend = self._fit_rescale_blend(zf)
        self.clip = np.full(h, np.inf)
        self.err_scale = np.ones((h, d))
        for k in range(h):
            lo = max(0, p - k - 1)  # the first origin whose seasonal value exists
            n = t - k - 1 - lo
            if n < 1:
                continue
            last = zf[lo : lo + n]
            y = z[lo + k + 1 : lo + k + 1 + n]
            ok = np.isfinite(y)
            if k + 1 <= p:
                seas = zf[lo + k + 1 - p : lo + k + 1 - p + n]
                a, b = np.where(ok, y - last, 0.0), seas - last
                den = float(np.sum(np.where(ok, b * b, 0.0)))
                self.blend[k] = float(np.clip(np.sum(a * b) / den, 0.0, 1.0)) if den > 0 else 0.0
                base = last + self.blend[k] * b
            else:
                base = last
            err = np.where(ok, y - base, np.nan)
            with np.errstate(all="ignore"):
                if np.isfinite(err).any():
                    self.clip[k] = float(np.nanquantile(np.abs(err), 0.99))
                    ms = np.nanmean(err**2, axis=0)
                    self.err_scale[k] = np.where(np.isfinite(ms) & (ms > 0), ms, np.nanmean(err**2) or 1.0)
        self.err_scale = np.maximum(self.err_scale, 1e-4)  # (1 % of the IQR)^2
        self._ring = zf[-p:].copy() if t >= p else np.vstack([np.repeat(zf[:1], p - t, axis=0), zf])
        # The whole training period (z, gaps filled), for forecasts from earlier origins (the
        # interval calibration pass replays them over the period); dropped at the first observe.
        self._history: np.ndarray | None = zf.astype(np.float32)
        self._pos = 0  # index of the oldest ring row
        self._last = zf[-1].copy()
        self._losses = np.zeros((2, h, d))  # cumulative normalised losses: base, base + correction
        self._pending = PendingForecasts(2, h, d)
        self._clock = 0
        self._seasonal_from = np.zeros(d, dtype=np.int64)  # clock from which the seasonal value is usable
        self._anchor = zf[-p - 1].copy() if t > p else zf[0].copy()  # z one period before the last observed
        return z

    def _rescaled(self, last: np.ndarray, seas: np.ndarray, anchor: np.ndarray) -> np.ndarray:
        """(H, D) z: the last value times the day-before ratio ``seas / anchor`` of each target
        (in utilisation, each term offset by 5 % of the direction's median, the ratio within
        [1/4, 4]): the daily shape carried at the newest level."""
        eps = np.maximum(0.05 * np.abs(self.median), 1e-4)
        ratio = (np.maximum(self.from_z(seas), 0.0) + eps) / (np.maximum(self.from_z(anchor), 0.0) + eps)
        return self.to_z(np.maximum(self.from_z(last), 0.0) * np.clip(ratio, 0.25, 4.0))

    def _fit_rescale_blend(self, zf: np.ndarray) -> np.ndarray:
        """(H,) least-squares weight of the rescaled-seasonal base against persistence over the
        training period (all directions pooled, z units, within [0, 1])."""
        h, t, p = self.horizon, zf.shape[0], self.period
        out = np.zeros(h)
        for k in range(min(h, p)):
            n = t - k - 1 - p  # origins o = p .. t - k - 2: anchor o - p, seasonal o + k + 1 - p, target o + k + 1
            if n < 1:
                continue
            last, anchor = zf[p : p + n], zf[:n]
            seas, y = zf[k + 1 : k + 1 + n], zf[p + k + 1 : p + k + 1 + n]
            b = self._rescaled(last, seas, anchor) - last
            den = float(np.sum(b * b))
            out[k] = float(np.clip(np.sum((y - last) * b) / den, 0.0, 1.0)) if den > 0 else 0.0
        return out

    def calibrate(self, history_z: np.ndarray, forecast: Callable[[int], np.ndarray], window: int,
                  steps: int) -> None:
        """Start weights from the net's in-sample forecasts of the last ``steps`` origins.

        ``forecast(t)`` is the net's (H, D) z forecast from the window ending before step ``t``.
        """
        z = np.asarray(history_z, dtype=np.float64)
        zf = fill_forward(z.astype(np.float32)).astype(np.float64)
        t_all, h, p = z.shape[0], self.horizon, self.period
        origins = [t for t in range(max(window, p, t_all - h - steps + 1), t_all - h + 1)]
        if not origins:
            return
        loss = np.zeros_like(self._losses)
        count = np.zeros((h, z.shape[1]))
        for t in origins:
            seas = zf[t - p : t - p + h] if p >= h else np.vstack([zf[t - p : t], np.repeat(zf[t - 1 : t], h - p, 0)])
            base, corr = self._base_corr(forecast(t), zf[t - 1], seas)
            y = z[t : t + h]
            for e, pred in enumerate((base, base + corr)):
                loss[e] += np.nan_to_num(self._loss(y, pred))
            count += np.isfinite(y)
        mean = loss / np.maximum(count, 1.0)
        # As a loss offset: the start weight of the model expert, kept within [P_MIN, 1 - P_MIN].
        cap = np.log((1.0 - P_MIN) / P_MIN) / ETA
        diff = np.clip((mean[1] - mean[0]) * count, -cap, cap)
        self._losses[0] = 0.0
        self._losses[1] = diff

    def restart(self, rerouted: np.ndarray) -> None:
        """The routing of the ``rerouted`` (D,) directions changed: their weights restart at P_MIN.
        An event that re-routes nothing (a link no path uses) changes nothing."""
        if not np.any(rerouted):
            return
        self._losses[:, :, rerouted] = 0.0
        self._losses[1][:, rerouted] = np.log((1.0 - P_MIN) / P_MIN) / ETA
        self._seasonal_from[rerouted] = self._clock + self.period
        self._pending.forget()

    # -- per step ---------------------------------------------------------------------------------
    def to_z(self, u: np.ndarray) -> np.ndarray:
        return (np.asarray(u, dtype=np.float64) - self.median) / self.scale

    def from_z(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float64) * self.scale + self.median

    def weights(self) -> np.ndarray:
        """(H, D) weight of the model's correction (the model expert's Hedge weight)."""
        # exp_weights of the two experts, in closed form: the logistic of their loss difference.
        return 0.5 * (1.0 + np.tanh(0.5 * ETA * (self._losses[0] - self._losses[1])))

    def _base_corr(self, net_z: np.ndarray, last: np.ndarray, seas: np.ndarray,
                   blend: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        blend = self.blend[:, None] if blend is None else blend
        base = last[None, :] + blend * (seas - last[None, :])
        corr = np.clip(np.nan_to_num(np.asarray(net_z, np.float64) - base), -self.clip[:, None], self.clip[:, None])
        return base, corr

    def _seasonal(self, last: np.ndarray, behind: int) -> np.ndarray:
        """(H, D) z value one period before each target, the forecast made ``behind`` steps before
        the next step to observe; ``last`` where the ring does not hold it."""
        # The ring holds steps [c - P, c) (c: the next step to observe), the oldest at _pos; the
        # seasonal value of row k from origin c - behind is step c - behind + k - P.
        rows = [(self._pos + k - behind) % self.period if behind <= k < self.period else None
                for k in range(self.horizon)]
        history = getattr(self, "_history", None)  # (models pickled before it existed have none)
        if history is not None and self._clock == 0:
            # Before the first observe, steps count from the end of training: row k's seasonal
            # value from origin T - behind is training step T - behind + k - P.
            t = history.shape[0]
            past = [t - behind + k - self.period for k in range(self.horizon)]
            return np.stack([self._ring[r] if r is not None
                             else (history[i].astype(np.float64) if 0 <= i < t and k < self.period else last)
                             for k, (r, i) in enumerate(zip(rows, past))])
        return np.stack([self._ring[r] if r is not None else last for r in rows])

    def combine(self, net_z: np.ndarray, last: np.ndarray | None = None, behind: int = 0) -> np.ndarray:
        """The (H, D) utilisation forecast from the net's (H, D) z forecast and the window's last z
        value (default: the last observed). ``behind`` > 0: a forecast from an earlier origin (the
        calibration pass), neither remembered nor scored."""
        last = self._last if last is None else np.asarray(last, dtype=np.float64)
        # (an earlier origin before any restart may use it: _seasonal_from is 0 until a restart)
        usable = ((self._clock - behind >= self._seasonal_from) | (self._seasonal_from == 0))[None, :]
        seas = self._seasonal(last, behind)
        base, corr = self._base_corr(net_z, last, seas, self.blend[:, None] * usable)
        anchor = getattr(self, "_anchor", None)  # (models pickled before it existed have none)
        if behind == 0 and anchor is not None and not usable.all():
            # Re-routed directions, for a period after the event: the value a day before the target
            # was routed differently, but its ratio to the value a day before the origin is still
            # the daily shape; carried at the new level (the last value).
            w = getattr(self, "rescale_blend", np.zeros(self.horizon))[:, None]
            rescaled = last[None, :] + w * (self._rescaled(last, seas, anchor) - last[None, :])
            base = np.where(usable, base, rescaled)
            corr = np.clip(np.nan_to_num(np.asarray(net_z, np.float64) - base), -self.clip[:, None], self.clip[:, None])
        if behind == 0:
            self._pending.remember(self._clock, np.stack([base, base + corr]))
        return self.from_z(base + self.weights() * corr)

    def _loss(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        e = np.clip((y - pred) / np.sqrt(self.err_scale), -CLIP_R, CLIP_R)
        return e * e

    def observe(self, value: np.ndarray) -> np.ndarray:
        """Take in the actual utilisation (NaN = missing); returns its z form for the net."""
        z = self.to_z(value)
        self._history = None  # only forecasts from before the first step needed it
        k, preds = self._pending.due_stacked(self._clock)  # (n,), (n, 2, D): both experts at once
        if k.size:
            ok = np.isfinite(z)
            e = (z[None, None, :] - preds) / np.sqrt(self.err_scale[k])[:, None, :]
            np.clip(e, -CLIP_R, CLIP_R, out=e)
            e *= e
            if not ok.all():
                e[:, :, ~ok] = 0.0
            self._losses[:, k] += e.transpose(1, 0, 2)
        self._last = np.where(np.isfinite(z), z, self._last)
        self._anchor = self._ring[self._pos].copy()  # leaves the ring: one period before the new last
        self._ring[self._pos] = self._last
        self._pos = (self._pos + 1) % self.period
        self._clock += 1
        return z
