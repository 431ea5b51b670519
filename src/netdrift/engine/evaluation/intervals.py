"""Prediction intervals for any model: online conformal quantile tracking, and what a failure does.

Each model's interval is ``point +- q`` in Mbit/s, with one radius ``q[h, d]`` per horizon h and
link direction d, learnt online from the model's own residuals by conformal quantile tracking
(the proportional part of conformal PID control: Angelopoulos, Candes and Tibshirani, "Conformal
PID control for time series prediction", NeurIPS 2023; in the family of adaptive conformal
inference, Gibbs and Candes, NeurIPS 2021). When the actual of a step arrives, every forecast that
targeted it (the h-step-ahead one made h - 1 steps earlier, for each h) is scored:
``err = |actual - point| > q_issued`` (the radius that interval was shown with) and
``q += lr * q_start * (err - alpha)`` with ``alpha = 1 - level``. Long-run miscoverage is alpha
whatever the model, without a quantile over a buffer: O(H x D) per step. The step is a fraction
``lr`` of the generic start radius of each (h, d), so it fits each direction's size.

The step size (ACI's gamma, Gibbs and Candes 2021): ``LR / h = 0.05 / h`` of the generic radius
for horizon row h in steady state, ``FAILURE_LR = 0.05`` for every row during the
``FAILURE_STEPS = 288`` updates (a day at 5 minutes) after a failure or a restore. Why 1 / h:
row h learns of a miss h steps after the interval was shown, so a step fit for h = 1 makes a delayed loop that
overshoots at long horizons, where errors come in runs along the daily cycle (a 3-hour-ahead
persistence error is large for the whole ramp): with 0.05 at every row, coverage before a
failure was 83-86 % for persistence 3 hours ahead at 15-minute steps (89-91 % with a smaller
step; the calibrated start is already near the quantile, docs/forecasting.md). At an event the
errors' distribution changes, so every row steps at 0.05 for a while (routed models, which are
not widened, fell to 78 % day-1 coverage without it). One step ahead nothing changed. The
long-run guarantee of quantile tracking holds for any bounded step sequence that changes
finitely often (Angelopoulos, Candes and Tibshirani 2023).

Over the day and the week (:mod:`netdrift.engine.evaluation.interval_shape`): a forecast made at
step m is shown with ``q * shape(m)``, the shape learnt at the end of training from how fast the
load changes by hour of the day and day of the week, raised per model and horizon to the power
its calibration errors follow it with (about 1 for persistence, whose error is the load's
change; less for a model that forecasts the daily ramps). ``q`` is then in the shape's units:
the calibration quantile and the generic start are of errors divided by the shape. A quiet
hour's interval is narrower than a busy one's, and a weekend no longer over-covers while a
weekday under-covers (docs/forecasting.md).

Start (a calibration pass, :func:`netdrift.engine.evaluation.calibration.calibrated_radii`):
``q`` starts at the split-conformal quantile of the model's own absolute errors at
``min(1 day, 144)`` origins spread over the training period (a copy of the fitted model
forecasts them), so coverage is near nominal from the first step. Where that is not available ``q`` starts
at the ``level`` quantile of ``|u[t] - u[t-h]|`` over the training period
(:func:`initial_radius`, the h-step change of the load).

A known failure (the documented rule), for every model whose forecast does not already move with
the routing (link-level models; demand-space, routed, models' forecasts carry the shift, so their
radius is kept). At the step a failure takes effect the observation stream routes the last
observed per-node totals (spread by the gravity model) before and after the change: ``before[d]``,
``after[d]`` and the expected shift ``|after - before|``.

- **The jump, while it is unseen:** the forecasts made from the failure step on are widened by the
  shift, **capped at the radius** (at most doubled), on row h for the h forecasts made before
  that row scores one made since the failure (its misses are known h steps late). Then the
  tracking, at the event step size, has the row's own post-failure errors. One step ahead only
  the forecast of the failure step is widened: persistence is right again the step after, and a
  widening kept for the day over-covered it (first-day coverage over 95 % in 3 of 8 runs on
  Abilene with the backbone proxy, up to 95.8 %; docs/forecasting.md).
- **The new level:** each radius is scaled by ``(after / before) ** 0.75`` (:func:`load_growth`,
  within ``[1 / GROWTH_LIMIT, GROWTH_LIMIT]``): a direction's errors grow and shrink with the
  load it carries, as the standard deviation of traffic does under the mean-variance law ``var ~
  mean^c`` (Cao, Davis, Vander Wiel and Yu, JASA 2000; ``c = 1.5``, between Poisson-like 1 and
  constant-CV 2, the backbone proxy's own, docs/traffic.md). On Abilene with the proxy, link 6-7
  failed, re-routed directions carried 3.5-20x their load and their errors grew 2.6-15x; a
  growth capped at 2x left the tracking to find the rest, one miss at a time (first-day coverage
  three hours ahead 83.7 % for liquid).
- **Bounded:** until the routing is restored, a radius stays within ``MAX_GROWTH`` (2) x the
  largest of its value just before the failure, the generic radius of the load's h-step change
  (``step_from``, persistence's: a residual model falls back to its base on re-routed directions,
  so it may need that much) and the expected shift (a direction that carried nothing before).
  Without a bound a model that misses systematically after a failure adds a step per miss for as
  long as it misses.

A **restore** that brings every link back (the routing returns) ends any widening, the growth and
the bound: each radius goes back to what it was just before the first failure (it may have shrunk
with the load a direction lost). A restore while another link is still down is one more routing
change (:func:`netdrift.engine.evaluation.loop.iter_evaluate` calls :meth:`ConformalTracker.widen`
as at a failure: the shift, the growth, the bound) until the last link is back.
"""

from __future__ import annotations

import numpy as np

from netdrift.engine.errors import InputError
from netdrift.engine.evaluation.interval_shape import IntervalShape
from netdrift.engine.forecasting.protocol import Forecast

__all__ = ["ConformalTracker", "initial_radius", "load_growth", "MAX_GROWTH", "GROWTH_LIMIT", "GROWTH_EXPONENT"]

#: The tracking step of row h, LR / h of the generic radius per miss or cover (module docstring).
LR = 0.05
#: The step of every row for FAILURE_STEPS updates after a failure or restore.
FAILURE_LR = 0.05
FAILURE_STEPS = 288
#: The most a failure scales a radius by, up or down (:func:`load_growth`), and the exponent of
#: the load ratio (half the mean-variance law's c = 1.5).
GROWTH_LIMIT = 10.0
GROWTH_EXPONENT = 0.75
#: After a failure a radius stays within MAX_GROWTH x max(its value before, the generic radius,
#: the expected shift) until the restore.
MAX_GROWTH = 2.0


def load_growth(before_mbps: np.ndarray, after_mbps: np.ndarray) -> np.ndarray:
    """(D,) how a routing change is expected to scale each direction's errors: ``(after /
    before) ** GROWTH_EXPONENT`` within ``[1 / GROWTH_LIMIT, GROWTH_LIMIT]`` (a direction that
    carried nothing before grows by the limit; one that carries nothing after, a failed link's,
    shrinks by it).

    >>> load_growth(np.array([10.0, 10.0, 10.0, 0.0, 8.0]), np.array([10.0, 160.0, 1.0, 3.0, 0.0])).round(3).tolist()
    [1.0, 8.0, 0.178, 10.0, 0.1]
    """
    b = np.asarray(before_mbps, dtype=np.float64)
    a = np.asarray(after_mbps, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(b > 0, a / np.where(b > 0, b, 1.0), np.where(a > 0, np.inf, 1.0))
    g = np.where(np.isnan(ratio), 1.0, ratio) ** GROWTH_EXPONENT
    return np.clip(g, 1.0 / GROWTH_LIMIT, GROWTH_LIMIT)


def initial_radius(history_mbps: np.ndarray, horizon: int, level: float,
                   shape: IntervalShape | None = None) -> np.ndarray:
    """(H, D) start radius: the ``level`` quantile of |load[t] - load[t-h]| over the history
    (divided by the ``shape`` of the forecast made at ``t - h + 1`` that it is the error of).

    >>> import numpy as np
    >>> initial_radius(np.arange(10.0)[:, None] * [1.0, 2.0], 2, 0.9).tolist()
    [[1.0, 2.0], [2.0, 4.0]]
    """
    x = np.asarray(history_mbps, dtype=np.float64)
    out = np.zeros((horizon, x.shape[1]))
    for h in range(1, horizon + 1):
        if x.shape[0] > h:
            diff = np.abs(x[h:] - x[:-h])
            if shape is not None:
                diff = diff / shape.at_many(np.arange(1, x.shape[0] - h + 1))[:, h - 1]
            with np.errstate(all="ignore"):
                q = np.nanquantile(diff, level, axis=0) if np.isfinite(diff).any() else np.zeros(x.shape[1])
            out[h - 1] = np.nan_to_num(q)
    return out


class ConformalTracker:
    """Interval radii of one model, updated online from its residuals (see the module docstring).

    Parameters
    ----------
    level : float
        Nominal coverage in (0, 1), e.g. 0.9.
    start : numpy.ndarray, shape (H, D)
        Starting radius per horizon and direction (Mbit/s), see :func:`initial_radius`.
    lr : float
        Step of the quantile tracking, as a fraction of the start radius of each (h, d).
    shifts_with_routing : bool
        True for demand-space models (their point forecast moves with a known re-routing).
    step_from : numpy.ndarray, shape (H, D), optional
        What the step is a fraction of (default ``start``); a calibrated start gives the generic
        :func:`initial_radius` here, so a model that was precise in training still adapts at a
        useful pace after a failure.
    shape : IntervalShape, optional
        The radius over the day and the week (:mod:`netdrift.engine.evaluation.interval_shape`):
        a forecast made at step m is shown with ``radius * shape.at(m)``; ``start`` and
        ``step_from`` are then in the shape's units (errors divided by it).

    Examples
    --------
    >>> import numpy as np
    >>> t = ConformalTracker(0.9, np.ones((1, 2)))
    >>> f = t.bound(Forecast(np.array([[10.0, 20.0]])), step=0)
    >>> f.lower.tolist(), f.upper.tolist()
    ([[9.0, 19.0]], [[11.0, 21.0]])
    >>> t.update(np.array([15.0, 20.5]), step=0)   # direction 0 missed, 1 covered
    >>> bool(t.radius[0, 0] > 1.0 > t.radius[0, 1])
    True
    """

    def __init__(self, level: float, start: np.ndarray, lr: float = LR, shifts_with_routing: bool = False,
                 step_from: np.ndarray | None = None, failure_lr: float = FAILURE_LR,
                 failure_steps: int = FAILURE_STEPS, shape: IntervalShape | None = None) -> None:
        if not (isinstance(level, (int, float)) and 0.0 < level < 1.0):
            raise InputError("interval", f"must be a coverage level between 0 and 1 (e.g. 0.9), got {level!r}")
        self.level = float(level)
        self.alpha = 1.0 - self.level
        self.radius = np.array(start, dtype=np.float64)
        self.horizon, self.n_directions = self.radius.shape
        self.shifts_with_routing = shifts_with_routing
        self.shape = shape
        # A constant step per (h, d): with it, quantile tracking's long-run coverage guarantee
        # holds (a step that grows with recent errors biased coverage low on bursty residuals).
        base = self.radius if step_from is None else np.asarray(step_from, dtype=np.float64)
        rows = np.arange(1, self.horizon + 1, dtype=np.float64)[:, None]  # h: its misses are known h steps late
        self.step_size = float(lr) / rows * np.maximum(base, 1e-6)
        self._failure_step = float(failure_lr) * np.maximum(base, 1e-6)  # the step for a while after an event
        self._failure_steps = int(failure_steps)
        self._fast_left = 0  # updates left at the failure step size (after an event)
        self._generic = np.array(base, dtype=np.float64)  # the load's h-step change radius (the bound's floor)
        self._points = np.full((self.horizon, self.horizon, self.n_directions), np.nan)  # ring of recent points
        self._radii = np.zeros_like(self._points)  # the radius each of them was issued with
        self._made = np.full(self.horizon, -1, dtype=np.int64)  # step each ring slot's forecast was made at
        self._before_failure: np.ndarray | None = None  # the radius before the first unrestored widening
        self._cap: np.ndarray | None = None  # the bound on the radius until the routing is restored
        self._widening: np.ndarray | None = None  # (H, D) added to the forecasts made just after a failure
        self._since_widening = 0  # forecasts made since the failure (row h is widened while this < h)

    def bound(self, forecast: Forecast, step: int) -> Forecast:
        """``forecast`` (Mbit/s, made at ``step``) with its interval; remembered for scoring."""
        point = np.asarray(forecast.point, dtype=np.float64)
        slot = step % self.horizon
        radius = self.shown_radius(step)
        self._points[slot] = point
        self._radii[slot] = radius
        self._made[slot] = step
        if self._widening is not None:
            self._since_widening += 1
            if self._since_widening >= self.horizon:
                self._widening = None
        return self._with(forecast, radius)

    def preview(self, forecast: Forecast, step: int | None = None) -> Forecast:
        """``forecast`` (made at ``step``) with the current interval, remembering nothing (a
        display's look ahead)."""
        return self._with(forecast, self.shown_radius(step))

    def shown_radius(self, step: int | None = None) -> np.ndarray:
        """(H, D) the radius a forecast made at ``step`` is shown with: the tracked radius (times
        the shape at that step), plus a failure's widening on the rows that have not yet scored
        a forecast made since the failure."""
        radius = self.radius if self.shape is None or step is None else self.radius * self.shape.at(step)
        if self._widening is None:
            return radius
        rows = np.arange(1, self.horizon + 1)[:, None] > self._since_widening
        return radius + np.where(rows, self._widening, 0.0)

    @staticmethod
    def _with(forecast: Forecast, radius: np.ndarray) -> Forecast:
        point = np.asarray(forecast.point, dtype=np.float64)
        lower = np.maximum(point - radius, 0.0)
        return Forecast(forecast.point, lower.astype(np.float32), (point + radius).astype(np.float32))

    def update(self, actual_mbps: np.ndarray, step: int) -> None:
        """Score every remembered forecast that targeted ``step`` against its actual, and adapt."""
        y = np.asarray(actual_mbps, dtype=np.float64)
        for h in range(1, self.horizon + 1):
            made = step - h + 1
            slot = made % self.horizon
            if made < 0 or self._made[slot] != made:
                continue
            pred = self._points[slot, h - 1]
            ok = np.isfinite(y) & np.isfinite(pred)
            if not ok.any():
                continue
            # Scored against the radius the interval was issued with: the guarantee is then on the
            # coverage of the intervals actually shown, even while the radius moves (H > 1).
            score = np.abs(y - pred)
            err = (score > self._radii[slot, h - 1]).astype(np.float64)
            delta = (self._failure_step if self._fast_left > 0 else self.step_size)[h - 1]
            self.radius[h - 1, ok] = np.maximum(self.radius[h - 1, ok] + delta[ok] * (err[ok] - self.alpha), 0.0)
        if self._cap is not None:
            np.minimum(self.radius, self._cap, out=self.radius)
        self._fast_left = max(0, self._fast_left - 1)

    def widen(self, shift_mbps: np.ndarray, restore: bool = False, growth: np.ndarray | None = None) -> None:
        """A failure took effect (link-level models): the forecasts made before each row sees
        one made since are widened by the expected re-routing shift, at most doubling each radius;
        the radius is scaled by ``growth`` (D,) (the expected load growth, :func:`load_growth`)
        and bounded until the restore. ``restore``: the routing returned; the widening, the
        growth and the bound are undone.

        >>> t = ConformalTracker(0.9, np.full((1, 2), 2.0))
        >>> t.widen(np.array([1.0, 10.0]), growth=np.array([1.0, 1.5]))
        >>> t.shown_radius().tolist(), t.radius.tolist(), t.bound_radius.tolist()
        ([[3.0, 5.0]], [[2.0, 3.0]], [[4.0, 20.0]])
        >>> t.widen(np.array([1.0, 10.0]), restore=True); t.radius.tolist(), t.bound_radius
        ([[2.0, 2.0]], None)
        """
        self._fast_left = self._failure_steps  # every model's errors change at an event: adapt faster for a while
        if restore:
            self._widening = None
            if self._before_failure is not None:
                self.radius = self._before_failure  # the routing is back: so is the error scale
                self._before_failure = None
                self._cap = None
            return
        if self.shifts_with_routing:
            return
        shift = np.nan_to_num(np.abs(np.asarray(shift_mbps, dtype=np.float64)))
        if self._before_failure is None:
            self._before_failure = self.radius.copy()
        cap = MAX_GROWTH * np.maximum(np.maximum(self._before_failure, self._generic), shift[None, :])
        self._cap = cap if self._cap is None else np.maximum(self._cap, cap)
        self._widening = np.minimum(shift[None, :], self.radius)
        self._since_widening = 0
        if growth is not None:
            np.minimum(self.radius * np.asarray(growth, dtype=np.float64)[None, :], self._cap, out=self.radius)

    @property
    def bound_radius(self) -> np.ndarray | None:
        """(H, D) the bound on the radius while a failure is unrestored (None otherwise)."""
        return self._cap
