"""The shape of interval radii over the day and the week: how hard the load is to forecast when.

A load changes fastest on the daily ramps and least in the night and on weekend days, and a
forecast's errors follow (a persistence error three hours ahead *is* the load's three-hour
change). One radius for every time of the week then over-covers the quiet times and
under-covers the busy ones: on the backbone proxy a radius from the training week covered the
weekend and the Monday after it (which starts on the US Sunday evening) 92-96 % and the weekdays
87-88 % (docs/forecasting.md). A radius is therefore ``q * shape(step)``: ``q`` is tracked per
horizon and direction as before (:mod:`netdrift.engine.evaluation.intervals`), ``shape`` is fixed
at the end of training from the load alone, as normalised conformal prediction scales its scores
by a difficulty estimate (Papadopoulos, Gammerman and Vovk 2008; Lei et al., JASA 2018):

``shape[h, d](m) = day_profile[hour(m), h, d] * week_factor[weekday(m), h]`` for a forecast made at
step ``m`` (its row h targets ``m + h - 1``; it knows the loads up to ``m - 1``):

- ``day_profile``: the mean h-step change ``|u[m + h - 1] - u[m - 1]|`` of each direction over
  the training period by hour of the day (24 bins, or one per step when a day has fewer steps),
  lightly smoothed over the neighbouring hours (weights 1/4, 1/2, 1/4), divided by its mean over
  the day, at least ``FLOOR``. Needs two days of training (otherwise flat);
- ``week_factor``: the mean of the change divided by ``day_profile`` on each day of the week,
  the median over directions (one factor per weekday and horizon, common to the network: a
  weekend is network-wide, and one week gives each weekday a single sample), divided by its mean
  over the week. Needs seven days of training (otherwise 1).

Hours and weekdays count from the first step of the traffic (no calendar needed: the shape is
learnt and used on the same clock). A shape estimated from the training loads, not from the
scored errors, keeps split conformal's calibration: the calibration pass takes the quantile of
``error / shape`` (:mod:`netdrift.engine.evaluation.calibration`).
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["IntervalShape", "interval_shape", "fit_power", "FLOOR", "MIN_DAYS", "WEEK_DAYS"]

#: No time of day's radius is below this fraction of the day's mean radius.
FLOOR = 0.1
#: Days of training the hour-of-day profile needs; the weekday factor needs WEEK_DAYS.
MIN_DAYS = 2
WEEK_DAYS = 7


class IntervalShape:
    """Multipliers of the interval radius by the step a forecast is made at (see the module doc).

    Examples
    --------
    >>> s = IntervalShape(np.array([[[1.0]], [[3.0]]]), np.ones((7, 1)), steps_per_day=2)
    >>> [float(s.at(m)[0, 0]) for m in range(4)]
    [1.0, 3.0, 1.0, 3.0]
    """

    def __init__(self, day_profile: np.ndarray, week_factor: np.ndarray, steps_per_day: int) -> None:
        self.day_profile = np.asarray(day_profile, dtype=np.float64)  # (bins, H, D)
        self.week_factor = np.asarray(week_factor, dtype=np.float64)  # (7, H)
        self.steps_per_day = int(steps_per_day)
        self.bins = self.day_profile.shape[0]

    def powered(self, power: np.ndarray) -> IntervalShape:
        """The shape raised to ``power`` (H,) per horizon row (0: flat, 1: this shape)."""
        p = np.asarray(power, dtype=np.float64)
        return IntervalShape(self.day_profile ** p[None, :, None], self.week_factor ** p[None, :], self.steps_per_day)

    def at(self, step: int) -> np.ndarray:
        """(H, D) the multipliers of a forecast made at ``step``."""
        return self.at_many(np.array([step]))[0]

    def at_many(self, steps: np.ndarray) -> np.ndarray:
        """(n, H, D) the multipliers of forecasts made at each of ``steps``."""
        s = np.asarray(steps, dtype=np.int64)
        day, pos = np.divmod(s, self.steps_per_day)
        b = pos * self.bins // self.steps_per_day
        return self.day_profile[b] * self.week_factor[day % WEEK_DAYS][:, :, None]


def _changes(loads: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """The made-steps m (1 .. T - h) and |u[m + h - 1] - u[m - 1]| (n, D)."""
    made = np.arange(1, loads.shape[0] - h + 1)
    return made, np.abs(loads[made + h - 1] - loads[made - 1])


def interval_shape(train_loads_mbps: np.ndarray, horizon: int, steps_per_day: int) -> IntervalShape | None:
    """The shape learnt from the training period's loads (T, D) in Mbit/s, or None (flat) when
    training is shorter than ``MIN_DAYS`` days.

    >>> t = np.arange(96 * 2)
    >>> u = np.where(t % 96 < 48, t % 2, 4 * (t % 2)).astype(float)[:, None]  # a calm and a busy half day
    >>> s = interval_shape(u, 1, 96)
    >>> round(float(s.at(10)[0, 0]), 1), round(float(s.at(70)[0, 0]), 1)
    (0.4, 1.6)
    """
    x = np.asarray(train_loads_mbps, dtype=np.float64)
    spd = int(steps_per_day)
    if spd < 1 or x.ndim != 2 or x.shape[0] < MIN_DAYS * spd or x.shape[0] <= horizon:
        return None
    bins = min(24, spd)
    n_dir = x.shape[1]
    profile = np.ones((bins, horizon, n_dir))
    week = np.ones((WEEK_DAYS, horizon))
    weekly = x.shape[0] >= WEEK_DAYS * spd
    for h in range(1, horizon + 1):
        made, change = _changes(x, h)
        ok = np.isfinite(change)
        val = np.where(ok, change, 0.0)
        b = (made % spd) * bins // spd
        sums, counts = np.zeros((bins, n_dir)), np.zeros((bins, n_dir))
        np.add.at(sums, b, val)
        np.add.at(counts, b, ok)
        # light circular smoothing over the neighbouring hours
        sums = 0.5 * sums + 0.25 * (np.roll(sums, 1, axis=0) + np.roll(sums, -1, axis=0))
        counts = 0.5 * counts + 0.25 * (np.roll(counts, 1, axis=0) + np.roll(counts, -1, axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(counts > 0, sums / np.maximum(counts, 1e-12), np.nan)
            level = np.nanmean(mean, axis=0) if np.isfinite(mean).any() else np.full(n_dir, np.nan)
            prof = mean / level[None, :]
        prof = np.where(np.isfinite(prof), np.maximum(prof, FLOOR), 1.0)  # a direction that never changes: flat
        profile[:, h - 1] = prof
        if weekly:
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(ok, change / (prof[b] * level[None, :]), np.nan)
            days = (made // spd) % WEEK_DAYS
            factor = np.ones(WEEK_DAYS)
            for k in range(WEEK_DAYS):
                rows = ratio[days == k]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # a day with no value of a direction
                    per_dir = np.nanmean(rows, axis=0) if rows.size else np.full(n_dir, np.nan)
                    f = np.nanmedian(per_dir) if np.isfinite(per_dir).any() else np.nan
                factor[k] = f if np.isfinite(f) and f > 0 else np.nan
            if np.isfinite(factor).all():
                week[:, h - 1] = np.maximum(factor / factor.mean(), FLOOR)
    return IntervalShape(profile, week, spd)


def fit_power(errors: np.ndarray, shape_at: np.ndarray) -> np.ndarray:
    """(H,) how strongly a model's absolute errors (n, H, D) follow the shape at their origins
    (n, H, D): the slope of log error on log shape within each direction, pooled over the
    directions, within [0, 1] (0 where nothing varies).

    >>> rng = np.random.default_rng(0)
    >>> s = np.exp(rng.normal(0, 0.5, (500, 2, 3)))
    >>> e = np.abs(rng.normal(size=(500, 2, 3))) * np.stack([s[:, 0], np.ones((500, 3))], axis=1)
    >>> fit_power(e, s).round(1).tolist()
    [1.0, 0.0]
    """
    e = np.asarray(errors, dtype=np.float64)
    s = np.asarray(shape_at, dtype=np.float64)
    out = np.zeros(e.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a direction without a usable error
        ok = np.isfinite(e) & (e > 0) & np.isfinite(s) & (s > 0)
        y = np.where(ok, np.log(np.where(ok, e, 1.0)), np.nan)
        x = np.where(ok, np.log(np.where(ok, s, 1.0)), np.nan)
        y = y - np.nanmean(y, axis=0, keepdims=True)  # each direction's own level
        x = x - np.nanmean(x, axis=0, keepdims=True)
        for h in range(e.shape[1]):
            xx, yy = x[:, h], y[:, h]
            sxx = np.nansum(xx * xx)
            if sxx > 1e-12:
                out[h] = np.nansum(xx * yy) / sxx
    return np.clip(out, 0.0, 1.0)
