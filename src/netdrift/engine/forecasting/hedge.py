"""Online expert weights from losses known only when the actual arrives (shared by the residual
correction and the ensemble).

A forecast made at step ``m`` for ``m + k`` (horizon row ``k``, ``k + 1`` steps ahead) is scored
when the actual of step ``m + k`` arrives, ``k`` steps after it was made.
:class:`PendingForecasts` keeps the last H forecasts of every expert and hands back, for an
actual, the rows that targeted it. :func:`exp_weights` turns cumulative losses into the
exponentially weighted (Hedge / EWA) weights ``w_i ~ prior_i * exp(-eta * L_i)``.

Numpy only; importing this module does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from netdrift.engine.forecasting.protocol import ForecastInput

__all__ = ["PendingForecasts", "exp_weights", "rerouted_directions"]


def rerouted_directions(inp: "ForecastInput") -> np.ndarray:
    """(D,) True where the routing at ``inp.step`` differs from the step before (all without routing)."""
    if inp.rerouted_at is not None:
        return inp.rerouted_at(inp.step)
    if inp.routing_at is None:
        return np.ones(inp.n_directions, dtype=bool)
    before, after = inp.routing_at(inp.step - 1), inp.routing_at(inp.step)
    if before is after:
        return np.zeros(inp.n_directions, dtype=bool)
    diff = (after.matrix - before.matrix).tocsr()
    diff.data[np.abs(diff.data) <= 1e-12] = 0.0  # ECMP shares summed in another order differ by ~1e-16
    diff.eliminate_zeros()
    return np.diff(diff.indptr) > 0


def exp_weights(losses: np.ndarray, eta: float, axis: int = 0) -> np.ndarray:
    """Exponential weights ``exp(-eta * L_i) / sum_j exp(-eta * L_j)`` along ``axis``.

    ``losses`` are cumulative losses (a prior enters as a loss offset ``-ln(prior_i) / eta``).
    Computed from ``L - min L`` so that large losses do not underflow.

    >>> exp_weights(np.array([0.0, np.log(3.0)]), 1.0).round(3).tolist()
    [0.75, 0.25]
    """
    x = np.asarray(losses)
    x = x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)
    w = x - x.min(axis=axis, keepdims=True)
    w *= -eta
    np.exp(w, out=w)
    w /= w.sum(axis=axis, keepdims=True)
    return w


class PendingForecasts:
    """The last H forecasts of N experts, (N, H, D) each, kept until their actuals arrive.

    Examples
    --------
    >>> p = PendingForecasts(n_experts=1, horizon=2, n_directions=1)
    >>> p.remember(5, np.array([[[1.0], [2.0]]]))   # made at step 5 for steps 5 and 6
    >>> [(k, rows.ravel().tolist()) for k, rows in p.due(6)]
    [(1, [2.0])]
    """

    def __init__(self, n_experts: int, horizon: int, n_directions: int, dtype: type = np.float64) -> None:
        self.horizon = int(horizon)
        self._points: np.ndarray = np.full((self.horizon, n_experts, self.horizon, n_directions), np.nan, dtype=dtype)
        self._made = np.full(self.horizon, -1, dtype=np.int64)

    def remember(self, step: int, points: np.ndarray) -> None:
        """Keep the (N, H, D) forecasts made at ``step`` (a second call at the same step replaces them)."""
        slot = step % self.horizon
        self._points[slot] = points
        self._made[slot] = step

    def due(self, step: int) -> list[tuple[int, np.ndarray]]:
        """``[(k, (N, D) forecasts)]``: every remembered row ``k`` that targeted ``step``."""
        out = []
        for k in range(self.horizon):
            made = step - k
            slot = made % self.horizon
            if made >= 0 and self._made[slot] == made:
                out.append((k, self._points[slot, :, k]))
        return out

    def due_stacked(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows that targeted ``step`` at once: their row indices k (n,) and (n, N, D) forecasts."""
        k = np.arange(self.horizon)
        made = step - k
        ok = (made >= 0) & (self._made[made % self.horizon] == made)
        k = k[ok]
        return k, self._points[(step - k) % self.horizon, :, k]

    def forget(self) -> None:
        """Drop every pending forecast (they will not be scored)."""
        self._made[:] = -1
