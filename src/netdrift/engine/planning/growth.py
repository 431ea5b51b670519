"""The demand forecast a plan is made against: per-origin growth times a per-pair weekly profile.

Model, for pair ``p`` from origin ``o`` at a step ``k`` after the history (steps ``0..N-1``)::

    demand[k, p] = profile[(k - N) mod W, p] * exp(slope[o] * (k - N))

``W`` is one week of steps. ``slope`` (per step) comes from the growth:

- a stated rate ``r`` (``--growth 0.3``): **r is the growth per year**, compounded, the same for
  every origin: ``slope = log(1 + r) / 365 days``; over a 90-day horizon ``0.3`` gives
  ``1.3 ** (90 / 365) = 1.067``, i.e. +6.7 % at the horizon's end. ``r`` must be >= 0;
- ``auto``: per origin, a robust log-linear trend of the origin's daily mean traffic over the
  whole history: the Theil-Sen slope (median of pairwise slopes) of ``log(daily mean)`` taken
  only over pairs of days a whole number of weeks apart, so the weekly cycle (quiet weekends)
  cannot bias it. A falling trend is held at 0 (a plan never counts on traffic falling); the
  fitted value is reported beside the one used.

``profile`` is each pair's weekly profile over the last ``K = min(4, whole weeks of history)``
weeks, every past step first brought to the level of step ``N`` by the same growth
(``demand[j] / exp(slope (j - N))``), then averaged per step of the week (missing intervals
skipped; a step of the week missing in all K weeks is interpolated from its neighbours).

With an interval level ``L`` the plan uses the forecast's upper bound: per pair, the ``L``
quantile of its relative residuals ``x[j] / profile - 1`` over the K weeks, widened by
``sqrt((K + 1) / (K - 1))`` (a new week's error around a K-week mean against the in-sample
residual's, for independent weeks), added to the profile: ``profile * (1 + q)``. It bounds the
week-to-week variation around the profile, pair by pair (all pairs at their bound together,
a conservative sum), not the uncertainty of the growth rate itself. It needs K >= 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from netdrift.engine.errors import InputError
from netdrift.engine.traffic.series import TrafficMatrixSeries

__all__ = ["DemandForecast", "fit_forecast", "theil_sen_weekly", "parse_growth", "PROFILE_WEEKS",
           "MAX_RATE_HORIZON_DAYS", "AUTO_MIN_DAYS"]

#: Weeks of history the weekly profile averages (at most).
PROFILE_WEEKS = 4
#: Longest horizon with a stated rate (the history only supplies the weekly profile then).
MAX_RATE_HORIZON_DAYS = 5 * 365
#: History an automatic trend needs: two whole weeks (pairs of days a week apart).
AUTO_MIN_DAYS = 14
_DAY_MINUTES = 1440.0


def parse_growth(text: str) -> float | None:
    """``"auto"`` -> None; ``"0.3"`` -> 0.3 (growth per year); anything else: InputError
    naming ``growth``.

    >>> parse_growth("auto") is None, parse_growth("0.3")
    (True, 0.3)
    """
    if text.strip().lower() == "auto":
        return None
    try:
        rate = float(text)
    except ValueError:
        raise InputError(f"growth '{text}'", "expected 'auto' or a growth rate per year such as 0.3 "
                                             "(= +30 % a year)") from None
    if not math.isfinite(rate) or rate < 0:
        raise InputError(f"growth '{text}'", "the rate per year must be a finite number >= 0 (a plan does "
                                             "not count on traffic falling)")
    return rate


def theil_sen_weekly(y: np.ndarray, period: int = 7) -> float:
    """Slope per index of ``y`` (NaN = no value) by Theil-Sen over pairs ``(i, j)`` with ``j - i``
    a positive multiple of ``period``: the median of ``(y[j] - y[i]) / (j - i)``; 0 without a pair.

    >>> round(theil_sen_weekly(np.array([0.1 * d + (d % 7 == 5) for d in range(21)], float)), 6)
    0.1
    """
    idx = np.flatnonzero(np.isfinite(y))
    slopes = []
    for gap in range(period, len(y), period):
        i = idx[np.isin(idx + gap, idx)]
        if len(i):
            slopes.append((y[i + gap] - y[i]) / gap)
    return float(np.median(np.concatenate(slopes))) if slopes else 0.0


@dataclass(frozen=True, eq=False)
class DemandForecast:
    """The fitted forecast: ``profile`` (W, P) Mbit/s at the level of step ``history_steps``,
    ``slope`` (P,) log-growth per step of each pair (its origin's), ``upper`` (P,) the relative
    widening of the upper bound (zeros without an interval)."""

    history: TrafficMatrixSeries
    week_steps: int
    profile: np.ndarray
    slope: np.ndarray
    upper: np.ndarray
    growth: dict

    @property
    def history_steps(self) -> int:
        return self.history.steps

    def base(self, upper: bool) -> np.ndarray:
        """(W, P) the profile, or its upper bound."""
        return self.profile * (1.0 + self.upper)[None, :] if upper else self.profile

    def demands(self, start: int, stop: int, upper: bool = False) -> np.ndarray:
        """(stop - start, P) forecast demands of absolute steps ``[start, stop)`` (>= N)."""
        k = np.arange(start, stop) - self.history_steps
        pos = np.mod(k, self.week_steps)
        return self.base(upper)[pos] * np.exp(np.outer(k, self.slope))

    def series(self, start: int, stop: int, upper: bool = False) -> TrafficMatrixSeries:
        """Steps ``[start, stop)`` as a series (float32 values, as the sweep computes with and as
        ``--out-demands`` writes them, so a re-sweep of that file sees the same numbers)."""
        h = self.history
        d = self.demands(start, stop, upper).astype(np.float32).astype(np.float64)
        return TrafficMatrixSeries(h.node_ids, h.src, h.dst, d, h.step_minutes, h.time_of(start))


def _origin_slopes(history: TrafficMatrixSeries, steps_per_day: int) -> np.ndarray:
    """Per node: the Theil-Sen weekly-pair slope of log(daily mean of its origin traffic), per day."""
    n_nodes = len(history.node_ids)
    d = np.asarray(history.demands, dtype=np.float64)
    days = history.steps // steps_per_day
    out = np.zeros(n_nodes)
    src = np.asarray(history.src)
    totals = np.zeros((history.steps, n_nodes))
    present = ~history.missing
    for o in range(n_nodes):
        cols = np.flatnonzero(src == o)
        if len(cols):
            totals[:, o] = np.nansum(d[:, cols], axis=1)
    for o in range(n_nodes):
        y = np.full(days, np.nan)
        for day in range(days):
            sl = slice(day * steps_per_day, (day + 1) * steps_per_day)
            ok = present[sl]
            if ok.sum() * 2 >= steps_per_day:
                m = totals[sl, o][ok].mean()
                if m > 0:
                    y[day] = math.log(m)
        out[o] = theil_sen_weekly(y)
    return out


def fit_forecast(history: TrafficMatrixSeries, rate: float | None, horizon_days: float,
                 interval: float | None = None) -> DemandForecast:
    """Fit the forecast on ``history``: growth ``rate`` per year, or ``None`` (auto).

    Rules (InputError otherwise): a week must be a whole number of steps; the history must hold
    one whole week (auto: ``AUTO_MIN_DAYS`` days, an interval: two weeks); the horizon must be at
    least a week (the plan is made against its last week) and at most as long as the history
    with auto (a trend is extrapolated no further than it was observed), at most
    ``MAX_RATE_HORIZON_DAYS`` with a rate.
    """
    step = history.step_minutes
    week = 7 * _DAY_MINUTES / step
    if not math.isclose(week, round(week), abs_tol=1e-9):
        raise InputError("step_minutes", f"{step:g} minutes does not divide a week; the weekly profile needs a "
                                         "step such as 5, 15 or 60 minutes")
    W = int(round(week))
    per_day = int(round(_DAY_MINUTES / step)) if math.isclose(_DAY_MINUTES / step, round(_DAY_MINUTES / step)) else 0
    N = history.steps
    hist_days = N * step / _DAY_MINUTES
    if not (math.isfinite(horizon_days) and horizon_days >= 7):
        raise InputError("horizon_days", f"must be at least 7 days, the plan is made against the horizon's last "
                                         f"week (got {horizon_days:g})")
    if N < W:
        raise InputError("steps", f"the history holds {hist_days:.3g} days ({N} steps of {step:g} min); a plan needs "
                                  f"at least one whole week ({W} steps) for the weekly profile")
    K = min(PROFILE_WEEKS, N // W)
    if interval is not None:
        if not (math.isfinite(interval) and 0.0 < interval < 1.0):
            raise InputError("interval", f"must be a level between 0 and 1 (got {interval:g})")
        if K < 2:
            raise InputError("interval", f"needs at least two whole weeks of history ({2 * W} steps) to measure "
                                         f"the week-to-week spread (the history holds {hist_days:.3g} days)")
    if rate is None:
        if hist_days < AUTO_MIN_DAYS or not per_day:
            raise InputError("growth", f"auto needs at least {AUTO_MIN_DAYS} days of history and a step dividing "
                                       f"a day (the history holds {hist_days:.3g} days); state a rate instead, "
                                       "e.g. --growth 0.3")
        if horizon_days > hist_days:
            raise InputError("horizon_days", f"{horizon_days:g} days is beyond what {hist_days:.3g} days of history "
                                             "support with --growth auto (a fitted trend is extrapolated at most as "
                                             "far ahead as the history is long); give more history or state a rate")
        fitted = _origin_slopes(history, per_day)
        used = np.maximum(fitted, 0.0)
        growth: dict[str, Any] = {"mode": "auto", "method": "per origin: Theil-Sen slope of log(daily mean) over pairs of days whole "
                                            "weeks apart; a falling trend is held at 0",
                  "per_origin": {nid: {"fitted_per_year": math.expm1(365 * f), "used_per_year": math.expm1(365 * u)}
                                 for nid, f, u in zip(history.node_ids, fitted, used)}}
    else:
        if horizon_days > MAX_RATE_HORIZON_DAYS:
            raise InputError("horizon_days", f"{horizon_days:g} days is beyond the longest horizon a stated rate "
                                             f"plans for ({MAX_RATE_HORIZON_DAYS} days)")
        used = np.full(len(history.node_ids), math.log1p(rate))  # per year, every origin
        used = used / 365.0
        growth = {"mode": "rate", "rate_per_year": rate,
                  "meaning": f"{rate:g} = {100 * rate:g} % growth per year, compounded: demand x (1 + {rate:g})^(days / 365)",
                  "factor_at_horizon": (1 + rate) ** (horizon_days / 365.0)}
    slope = used[np.asarray(history.src)] * step / _DAY_MINUTES          # per step, per pair
    a = N - K * W
    profile = _weekly_mean(history, a, K, W, slope)
    upper = np.zeros(history.n_pairs)
    if interval is not None:
        upper = _upper_widening(history, a, K, W, slope, profile, interval)
        growth["interval"] = {"level": interval, "weeks": K, "bound": "upper",
                              "method": "per pair: the level quantile of its relative residuals around the K-week "
                                        "profile, x sqrt((K+1)/(K-1)); every pair at its bound"}
    growth["profile_weeks"] = K
    return DemandForecast(history, W, profile, slope, upper, growth)


def _week(history: TrafficMatrixSeries, a: int, w: int, W: int, slope: np.ndarray) -> np.ndarray:
    """(W, P) week ``w`` of the profile weeks, brought to the level of step N by the growth."""
    N = history.steps
    j0 = a + w * W
    x = np.asarray(history.demands[j0:j0 + W], dtype=np.float64)
    return x * np.exp(-np.outer(np.arange(j0, j0 + W) - N, slope))


def _weekly_mean(history: TrafficMatrixSeries, a: int, K: int, W: int, slope: np.ndarray) -> np.ndarray:
    """(W, P) per-pair mean over the K weeks from step ``a`` (NaN skipped), gaps filled."""
    total = np.zeros((W, history.n_pairs))
    count = np.zeros((W, history.n_pairs))
    for w in range(K):
        x = _week(history, a, w, W, slope)
        ok = np.isfinite(x)
        total += np.where(ok, x, 0.0)
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        profile = total / count
    return _fill_gaps(profile)


def _upper_widening(history: TrafficMatrixSeries, a: int, K: int, W: int, slope: np.ndarray,
                    profile: np.ndarray, level: float) -> np.ndarray:
    """(P,) the widened ``level`` quantile of each pair's relative residuals (>= 0)."""
    rel = np.empty((K * W, history.n_pairs))
    with np.errstate(invalid="ignore", divide="ignore"):
        for w in range(K):
            rel[w * W:(w + 1) * W] = np.where(profile > 0, _week(history, a, w, W, slope) / profile - 1.0, np.nan)
    has = np.isfinite(rel).any(axis=0)
    q = np.zeros(history.n_pairs)
    if has.any():
        q[has] = np.nanquantile(rel[:, has], level, axis=0)
    return np.maximum(q, 0.0) * math.sqrt((K + 1) / (K - 1))


def _fill_gaps(profile: np.ndarray) -> np.ndarray:
    """Steps of the week with no observation in any profile week: interpolated linearly (and
    circularly) between the nearest observed steps, per pair; a pair never observed is 0."""
    bad = np.isnan(profile).all(axis=1)
    if bad.all():
        raise InputError("traffic", "has no observed interval in the weeks the weekly profile is fitted on")
    if bad.any():
        W = len(profile)
        good = np.flatnonzero(~bad)
        for s in np.flatnonzero(bad):
            after = good[np.searchsorted(good, s) % len(good)]
            before = good[np.searchsorted(good, s) - 1]
            da, db = (after - s) % W, (s - before) % W
            profile[s] = (profile[before] * da + profile[after] * db) / (da + db)
    return np.nan_to_num(profile, nan=0.0)
