"""What a model receives each step and what it returns.

One protocol for every model, link-level or (later) demand-space: at step ``t`` (steps
``[0, t)`` observed) the evaluation loop hands each model one :class:`ForecastInput` and gets
back one :class:`Forecast` of the next H steps ``t .. t + H - 1`` for every link direction.

Arrays are numpy on the host. The learnt models keep their weights on their device and move one
(D, W) window in and one (H, D) forecast out per step, batched over all directions; that is one
transfer each way per step, not one per direction.

Importing this module does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    from netdrift.engine.network.events import FailureEvent
    from netdrift.engine.network.routing import Routing

__all__ = ["ForecastInput", "Forecast", "Pairs", "OBSERVE_CHOICES", "down_directions", "links_up", "zero_down"]

#: What demand-space (routed) models may see: "links" (link loads and per-node totals, demands
#: estimated by tomogravity) or "demands" (the true node-pair demands, like flow export).
OBSERVE_CHOICES = ("links", "demands")


@dataclass(frozen=True)
class Pairs:
    """The node pairs a demand column stands for: ``src[k] -> dst[k]``, node indices < n_nodes.

    Examples
    --------
    >>> Pairs(np.array([0, 1]), np.array([1, 0]), 2).n_pairs
    2
    """

    src: np.ndarray
    dst: np.ndarray
    n_nodes: int

    @property
    def n_pairs(self) -> int:
        return int(len(self.src))


@dataclass(frozen=True)
class ForecastInput:
    """Everything a model may use to forecast steps ``step .. step + H - 1``.

    Parameters
    ----------
    step : int
        The next step to be observed; the forecast's first row is for it.
    window : numpy.ndarray, shape (W, D)
        The last W observed utilisations (load / capacity) per link direction; NaN = missing.
    features : numpy.ndarray, shape (W + H, F)
        Time features of those W steps followed by the H future steps.
    capacity_mbps : numpy.ndarray, shape (D,), optional
        Capacity per direction, to turn utilisation into Mbit/s.
    routing_at : callable, optional
        ``routing_at(s)`` is the routing in force at step ``s`` under the failures known now
        (:class:`netdrift.engine.network.routing.Routing`: the sparse direction x pair matrix); a known failure
        or restore applies to every target after it.
    events : tuple of FailureEvent
        Failures and restores known so far (none after ``step``).
    link_up_at : callable, optional
        ``link_up_at(s)`` is the (L,) links up at step ``s`` under the failures known now (cheap;
        without it the routing's ``link_up`` is used).
    rerouted_at : callable, optional
        ``rerouted_at(s)`` is the (D,) directions whose routing at ``s`` differs from ``s - 1``
        (cheap; without it the two routing matrices are compared).
    demands : numpy.ndarray, shape (W, P), optional
        Node-pair demands (Mbit/s) of the same W steps, when the scenario exposes them.

    Examples
    --------
    >>> inp = ForecastInput(step=5, window=np.zeros((3, 2), "float32"), features=np.zeros((4, 1)))
    >>> inp.horizon, inp.n_directions
    (1, 2)
    """

    step: int
    window: np.ndarray
    features: np.ndarray
    capacity_mbps: np.ndarray | None = None
    routing_at: Callable[[int], "Routing"] | None = None
    events: tuple["FailureEvent", ...] = ()
    demands: np.ndarray | None = None
    link_up_at: Callable[[int], np.ndarray] | None = None
    rerouted_at: Callable[[int], np.ndarray] | None = None

    @property
    def horizon(self) -> int:
        """H: future rows of ``features``."""
        return int(self.features.shape[0] - self.window.shape[0])

    @property
    def n_directions(self) -> int:
        return int(self.window.shape[1]) if self.window.ndim == 2 else 0


@dataclass(frozen=True)
class Forecast:
    """A model's forecast of the next H steps, in utilisation, shape (H, D).

    ``lower`` and ``upper`` are prediction-interval bounds when the model gives them (None
    otherwise).

    Examples
    --------
    >>> f = Forecast(np.array([[0.2, 0.4]], "float32"))
    >>> f.at(1).tolist(), f.lower is None
    ([0.20000000298023224, 0.4000000059604645], True)
    """

    point: np.ndarray
    lower: np.ndarray | None = field(default=None)
    upper: np.ndarray | None = field(default=None)

    def at(self, h: int) -> np.ndarray:
        """The (D,) point forecast ``h`` steps ahead (1 = the next step)."""
        return self.point[h - 1]

    def scaled(self, factor: np.ndarray) -> "Forecast":
        """The same forecast times ``factor`` (e.g. capacity: utilisation -> Mbit/s)."""
        return Forecast(
            self.point * factor,
            None if self.lower is None else self.lower * factor,
            None if self.upper is None else self.upper * factor,
        )


def links_up(inp: ForecastInput) -> np.ndarray | None:
    """(L,) the links up at ``inp.step`` under the failures known now; None without routing."""
    if inp.link_up_at is not None:
        return inp.link_up_at(inp.step)
    return None if inp.routing_at is None else inp.routing_at(inp.step).link_up


def down_directions(inp: ForecastInput, paper_form: bool = False) -> np.ndarray | None:
    """(D,) True for the directions of links known to be down at ``inp.step`` (a down link carries
    nothing, so every model's forecast of it is 0 and so are its bounds); None without routing,
    and in the paper's form (``residual=False``), whose models forecast them as they are, so its
    comparison stays reproducible."""
    up = None if paper_form else links_up(inp)
    if up is None or up.all() or 2 * up.shape[0] != inp.n_directions:
        return None
    return ~np.repeat(up, 2)


def zero_down(forecast: Forecast, down: np.ndarray | None) -> Forecast:
    """``forecast`` with its point and bounds 0 on the ``down`` (D,) directions (unchanged for None).

    >>> f = zero_down(Forecast(np.ones((2, 2)), np.zeros((2, 2)), np.full((2, 2), 2.0)), np.array([True, False]))
    >>> f.point.tolist(), f.upper.tolist()
    ([[0.0, 1.0], [0.0, 1.0]], [[0.0, 2.0], [0.0, 2.0]])
    """
    if down is None or not down.any():
        return forecast

    def zeroed(x: np.ndarray | None) -> np.ndarray | None:
        return None if x is None else np.where(down[None, :], 0, x).astype(np.asarray(x).dtype)

    return Forecast(zeroed(forecast.point), zeroed(forecast.lower), zeroed(forecast.upper))  # type: ignore[arg-type]  # point is never None
