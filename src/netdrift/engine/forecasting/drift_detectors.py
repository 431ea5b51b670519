"""Change detectors on streams of values, vectorised over many series (one per link direction).

:class:`PageHinkley` is the Page-Hinkley test (E. S. Page, "Continuous inspection schemes",
Biometrika 41(1/2), 1954, pp. 100-115; D. V. Hinkley, "Inference about the change-point from
cumulative sum tests", Biometrika 58(3), 1971), in the form used in stream mining (J. Gama,
R. Sebastiao, P. P. Rodrigues, "On evaluating stream learning algorithms", Machine Learning 90,
2013; river's and scikit-multiflow's ``PageHinkley``). It detects an *increase* of a series' mean,
e.g. of a forecaster's absolute error; feed ``-x`` to detect a decrease. For each series, after
``t`` values since the last reset::

    mean_t = (x_1 + ... + x_t) / t                       # running mean, x_t included
    m_t    = alpha * m_{t-1} + (x_t - mean_t - delta)    # cumulative deviation, m_0 = 0
    M_t    = min(M_{t-1}, m_t)                           # its running minimum, M_0 = 0
    change at t  <=>  t >= min_instances  and  m_t - M_t > threshold

``delta`` is the magnitude of change tolerated (per value), ``threshold`` (Page's lambda) trades
detection delay against false alarms, and ``alpha`` (1 = none) is Gama et al.'s fading factor.
A series whose test fires is reset (its next value starts a new run); NaN values are skipped.

Importing this module does not import torch.
"""

from __future__ import annotations

import numpy as np

from netdrift.engine.errors import InputError

__all__ = ["PageHinkley"]


class PageHinkley:
    """The Page-Hinkley test on ``n`` series at once (see the module docstring).

    Parameters
    ----------
    n : int
        Number of series (e.g. link directions).
    delta : float
        Change magnitude tolerated per value (>= 0).
    threshold : float
        Page's lambda (> 0): the cumulative deviation above its minimum that signals a change.
    alpha : float
        Fading factor of the cumulative deviation, in (0, 1]; 1 is the classical test.
    min_instances : int
        Values a series needs since its last reset before it may signal (>= 1).

    Examples
    --------
    >>> ph = PageHinkley(2, delta=0.1, threshold=1.0, min_instances=1)
    >>> [ph.update(np.array([x, 0.0])).tolist() for x in (0, 0, 0, 0, 1, 1)]
    [[False, False], [False, False], [False, False], [False, False], [False, False], [True, False]]
    """

    def __init__(self, n: int, delta: float = 0.005, threshold: float = 50.0, alpha: float = 1.0,
                 min_instances: int = 30) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError("n", f"must be an integer >= 1, got {n!r}")
        if not (np.isfinite(delta) and delta >= 0):
            raise InputError("delta", f"must be a finite number >= 0, got {delta!r}")
        if not (np.isfinite(threshold) and threshold > 0):
            raise InputError("threshold", f"must be a finite number > 0, got {threshold!r}")
        if not (0 < alpha <= 1):
            raise InputError("alpha", f"must be in (0, 1], got {alpha!r}")
        if isinstance(min_instances, bool) or not isinstance(min_instances, (int, np.integer)) or min_instances < 1:
            raise InputError("min_instances", f"must be an integer >= 1, got {min_instances!r}")
        self.n = int(n)
        self.delta, self.threshold, self.alpha = float(delta), float(threshold), float(alpha)
        self.min_instances = int(min_instances)
        self.count = np.zeros(self.n, dtype=np.int64)
        self.mean = np.zeros(self.n)
        self.cumulative = np.zeros(self.n)  # m_t
        self.minimum = np.zeros(self.n)  # M_t

    @property
    def statistic(self) -> np.ndarray:
        """(n,) ``m_t - M_t``, the value compared with ``threshold``."""
        return self.cumulative - self.minimum

    def update(self, x: np.ndarray) -> np.ndarray:
        """Take one value per series (NaN = none); (n,) bool, True where a change is signalled.

        Series that signal are reset before returning.
        """
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if x.shape != (self.n,):
            raise InputError("x", f"expected shape ({self.n},), got {x.shape}")
        ok = np.isfinite(x)
        xs = np.where(ok, x, 0.0)
        count = self.count + ok
        mean = np.where(ok, self.mean + (xs - self.mean) / np.maximum(count, 1), self.mean)
        cumulative = np.where(ok, self.alpha * self.cumulative + (xs - mean - self.delta), self.cumulative)
        self.count, self.mean, self.cumulative = count, mean, cumulative
        self.minimum = np.minimum(self.minimum, cumulative)
        fired = ok & (count >= self.min_instances) & (self.statistic > self.threshold)
        self.reset(fired)
        return fired

    def reset(self, which: np.ndarray | None = None) -> None:
        """Restart the series where ``which`` (a bool mask, default all) is True."""
        mask = np.ones(self.n, dtype=bool) if which is None else np.asarray(which, dtype=bool)
        self.count[mask] = 0
        self.mean[mask] = 0.0
        self.cumulative[mask] = 0.0
        self.minimum[mask] = 0.0
