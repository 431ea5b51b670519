"""``ensemble``: an online aggregation of the run's other models, per direction and horizon.

The evaluation loop lets every other model (the *members*) forecast first, then hands their
forecasts to the ensemble (:meth:`EnsembleForecaster.combine`), which forecasts, per horizon row
``k`` and direction ``d``, the weighted mean ``sum_i w_i[k, d] f_i[k, d]`` with exponential
weights (EWA / Hedge)::

    w_i[k, d] ~ exp(-eta * L_i[k, d])

``L_i`` is member i's cumulative loss since the last restart: when the actual of step ``s``
arrives, each row ``k`` forecast made at ``s - k`` is scored (losses are known only then). A
loss is the squared error divided by ``sigma2[k, d]``, the mean squared ``k + 1``-step change
of the direction over the training period (persistence's error, so losses are ~1 and every
direction counts alike), the normalised error clipped to ``+- R`` (R = 3); ``eta = 1 / (2 R^2)``.

Guarantees (Cesa-Bianchi & Lugosi, *Prediction, Learning, and Games*, 2006):

- for any losses in ``[0, B]`` (here ``B = R^2``), EWA with learning rate eta over T steps has
  cumulative (weighted) loss at most ``ln(N) / eta + eta T B^2 / 8`` above the best of the N
  members (Thm 2.2); with ``eta = sqrt(8 ln N / T) / B`` that is ``B sqrt(T ln N / 2)``;
- squared loss is ``1 / (2 R^2)``-exp-concave on errors within R, so the ensemble's own
  forecast (the weighted mean) has cumulative loss at most ``ln(N) / eta = 2 R^2 ln N`` above
  the best member's (Prop. 3.1; Kivinen & Warmuth 1999), a constant that does not grow with T.
  With N = 6 that is 32 normalised units over the whole run, per row and direction.

Warm start: the members do not start equal. The calibration pass replays the fitted members over
the training period (:func:`~netdrift.engine.evaluation.calibration.replay_training`, 144 origins
spread over it) and :meth:`EnsembleForecaster.warm_start` starts member i ``o_i = min(L_i -
min_j L_j, CAP)`` behind, ``L_i`` its normalised loss summed over those origins, CAP = ln(4 N) /
eta; a member that cannot be replayed (seasonal, the stateful liquid model) starts as far
behind as the furthest replayed one. Start weights are then at least ``1 / (4 N^2)``, so the
bound above becomes ``ln(4 N^2) / eta`` against any member and stays ``ln(N) / eta`` against
the member best over the replay (its start weight is at least 1 / N). Why: from uniform weights
the ensemble spent the first day learning what the training period already showed (three hours
ahead at 15 minutes on the backbone proxy its RMSE before the failure was 7.6 Mbit/s, 26 % above
liquid's 6.0; warm: 5.7, under every member). The replayed errors of learnt members are
in-sample ones (they were trained on that period), hence the cap.

Failure-aware: at the step a failure or restore takes effect, the directions whose routing
changed (rows of the routing matrix before and after that differ) restart by a **fixed share**
at a known change point (Herbster & Warmuth, "Tracking the best expert", 1998): each member's
weight becomes ``(1 - SHARE) w_i + SHARE / N`` (SHARE = 1/4), so a member that was good before
keeps most of its weight and every member gets at least SHARE / N. After it, Hedge goes on from
those weights: the regret over the steps after the event is at most ``ln(N / SHARE) / eta``
against any member and ``ln(1 / ((1 - SHARE) w_i)) / eta`` against member i (the same bound as
above with that start). For the forecast made at the event's own step, whose link-level
members' windows end before the event (they have not seen the new routing), the routed
(demand-space) members together get FAVOUR / (FAVOUR + 1) = 80 % of the weight, in their
proportions (one of each: 4 : 1); from the next step on every member has seen a post-event load.
Forecasts made before the event are not scored after it. With no routed member there is no favour.

Why a share and not a uniform restart (measured with ``netdrift run`` on Geant2001, link 2-3
failed a day after a week of training, seed 0, RMSE after the failure; the table in the README):
a uniform restart put a fifth of the weight on persistence three hours ahead, where it is 50 %
worse than the learnt members, and the ensemble trailed the best member by 6.6 % (backbone
proxy, 15-minute steps, H = 12); SHARE = 1/2: 3.1 %, 1/4: 2.0 %; one step ahead on the same
traffic the ensemble beat every member with each of them (8.30-8.34 vs 8.50 at 5 minutes).
SHARE was chosen on these proxy and sine runs, not on real traffic.

Numpy only; importing this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from netdrift.engine.forecasting.base import Forecaster
from netdrift.engine.forecasting.hedge import PendingForecasts, exp_weights, rerouted_directions
from netdrift.engine.forecasting.protocol import Forecast, ForecastInput
from netdrift.engine.forecasting.settings import ForecastConfig, NoSettings

__all__ = ["EnsembleForecaster", "CLIP_R", "ETA", "FAVOUR", "SHARE", "favoured"]

CLIP_R = 3.0
ETA = 1.0 / (2.0 * CLIP_R**2)
FAVOUR = 4.0
FAVOUR_STEPS = 1
SHARE = 0.25


def favoured(w: np.ndarray, routed: np.ndarray) -> np.ndarray:
    """(N, ...) weights with the ``routed`` members' share set to FAVOUR / (FAVOUR + 1) and the
    others' to the rest, each group's members in their proportions in ``w``.

    >>> favoured(np.array([0.5, 0.25, 0.25]), np.array([False, False, True])).round(4).tolist()
    [0.1333, 0.0667, 0.8]
    """
    out = np.array(w, dtype=np.float64)
    for members, share in ((routed, FAVOUR / (FAVOUR + 1.0)), (~routed, 1.0 / (FAVOUR + 1.0))):
        total = out[members].sum(axis=0, keepdims=True)
        out[members] = share * np.where(total > 0, out[members] / np.where(total > 0, total, 1.0), 1.0 / members.sum())
    return out.astype(w.dtype)


class EnsembleForecaster(Forecaster[NoSettings]):
    """Exponentially weighted aggregation of the run's other models (module docstring).

    Examples
    --------
    Two members, one always right: its weight grows with every scored step.

    >>> from netdrift.engine.forecasting.settings import ForecastConfig
    >>> e = EnsembleForecaster(ForecastConfig(window=2, steps_per_day=4))
    >>> e.fit(np.linspace(0.1, 0.9, 10)[:, None], np.zeros((10, 4)))
    >>> inp = ForecastInput(10, np.full((2, 1), 0.5, "float32"), np.zeros((3, 4)))
    >>> for _ in range(30):
    ...     f = e.combine(inp, {"good": Forecast(np.array([[0.5]])), "bad": Forecast(np.array([[0.7]]))})
    ...     e.observe(np.array([0.5]), np.zeros(4))
    >>> e.weights()[:, 0, 0].round(3).tolist()
    [1.0, 0.0]
    """

    name = "ensemble"
    #: The loop forecasts with :meth:`combine` after the other models (see the module docstring).
    combines = True

    def __init__(self, config: ForecastConfig, settings: NoSettings | None = None, seed: int = 0,
                 device: str = "cpu") -> None:
        super().__init__(config, settings, seed, device)
        self._members: dict[str, Forecaster] = {}
        self._labels: tuple[str, ...] = ()
        self._routed = np.zeros(0, dtype=bool)
        self._losses: np.ndarray | None = None
        self._pending: PendingForecasts | None = None
        self._favour_until: int | None = None
        self._weights: np.ndarray | None = None
        self._prior: dict[str, np.ndarray] = {}

    def _fit(self, history: np.ndarray, features: np.ndarray) -> None:
        from netdrift.engine.forecasting.features import fill_forward

        x = fill_forward(history).astype(np.float64)
        h, d = self.config.horizon, x.shape[1]
        sigma2 = np.zeros((h, d))
        for k in range(h):
            diff = x[k + 1 :] - x[: -k - 1] if x.shape[0] > k + 1 else np.zeros((1, d))
            sigma2[k] = np.mean(diff**2, axis=0)
        floor = max(float(np.mean(sigma2)) * 1e-3, 1e-10)
        self.sigma2 = np.maximum(sigma2, floor)
        self._inv_sd = (1.0 / np.sqrt(self.sigma2)).astype(np.float32)
        self._clock = 0
        self._weights = None
        self._prior = {}

    def warm_start(self, points: Mapping[str, np.ndarray], actual: np.ndarray, capacity: np.ndarray) -> None:
        """Start weights from the members' forecasts of the training period (the calibration
        replay): ``points[label]`` and ``actual`` (n, H, D) in Mbit/s at n origins, ``capacity``
        (D,). Each member starts ``min(L_i - min_j L_j, CAP)`` behind, ``L_i`` its normalised loss
        summed over the origins, CAP = ln(4 N) / eta; a member not replayed starts as far behind
        as the furthest replayed one (module docstring)."""
        self._require_fitted()
        if not points:
            return
        cap = np.asarray(capacity, dtype=np.float64)
        y = np.asarray(actual, dtype=np.float64) / cap
        losses = {}
        for label, p in points.items():
            e = (np.asarray(p, dtype=np.float64) / cap - y) / np.sqrt(self.sigma2)[None, :, :]
            losses[label] = np.nansum(np.clip(e, -CLIP_R, CLIP_R) ** 2, axis=0)
        best = np.min(np.stack(list(losses.values())), axis=0)
        n = len(self._members) or len(points)
        limit = np.log(4.0 * n) / ETA
        self._prior = {label: np.minimum(v - best, limit) for label, v in losses.items()}
        self._losses = None  # the next combine starts from the prior

    def _start_losses(self, labels: tuple[str, ...]) -> np.ndarray:
        """(N, H, D) the losses the members start with: their warm-start offsets (or 0)."""
        d = self._n_dirs or 0
        out = np.zeros((len(labels), self.config.horizon, d), dtype=np.float32)
        prior = getattr(self, "_prior", {})  # (models pickled before it existed have none)
        if prior:
            furthest = np.max(np.stack(list(prior.values())), axis=0)
            for i, label in enumerate(labels):
                out[i] = prior.get(label, furthest)
        return out

    def start_combination(self, points: Mapping[str, np.ndarray]) -> np.ndarray:
        """(n, H, D) the start weights' combination of (n, H, D) member forecasts (the weights
        of the members given, renormalised among them)."""
        labels = tuple(points)
        w = exp_weights(self._start_losses(labels).astype(np.float64), ETA)
        return np.einsum("nhd,inhd->ihd", w, np.stack([np.asarray(points[label], dtype=np.float64)
                                                        for label in labels], axis=1))

    def attach(self, members: Mapping[str, Forecaster]) -> None:
        """The models it combines (the loop and the scenario call this); their order is kept."""
        self._members = {label: m for label, m in members.items() if m is not self}

    def _start(self, labels: tuple[str, ...]) -> None:
        self._labels = labels
        n = len(labels)
        spaces = [getattr(self._members.get(label), "space", "links") for label in labels]
        self._routed = np.array([s == "demands" for s in spaces], dtype=bool)
        # float32 throughout the per-step path: a weight is a ratio of exponentials of loss
        # differences, which float32 holds to ~1e-3 of a normalised loss over 10^4 steps.
        self._losses = self._start_losses(labels)
        self._favour: np.ndarray | None = None  # the directions re-routed at the last event
        self._favour_until = None
        self._weights = None
        self._pending = PendingForecasts(n, self.config.horizon, self._n_dirs or 0, dtype=np.float32)

    def weights(self) -> np.ndarray:
        """(N, H, D) current weights of the members (in ``labels`` order)."""
        assert self._losses is not None
        w = exp_weights(self._losses, ETA)
        if self._favour_until is not None and self._favour is not None:
            w[:, :, self._favour] = favoured(w[:, :, self._favour], self._routed)
        return w

    @property
    def labels(self) -> tuple[str, ...]:
        """The members, in the order of :meth:`weights`."""
        return self._labels

    def _restart(self, rerouted: np.ndarray) -> None:
        assert self._losses is not None and self._pending is not None
        if not np.any(rerouted):  # an event that re-routes nothing (a link no path uses) changes nothing
            return
        n = self._losses.shape[0]
        before = exp_weights(self._losses[:, :, rerouted], ETA)
        # Fixed share at a known change point: half of each column's weight is shared out evenly.
        self._losses[:, :, rerouted] = -np.log((1.0 - SHARE) * before + SHARE / n) / ETA
        if self._routed.any() and not self._routed.all():
            self._favour = rerouted.copy()
            self._favour_until = self._clock + FAVOUR_STEPS
        self._pending.forget()
        self._weights = None

    def combine(self, inp: ForecastInput, forecasts: Mapping[str, Forecast], remember: bool = True) -> Forecast:
        """The ensemble's (H, D) utilisation forecast from the members' ``forecasts`` of ``inp``.

        ``remember=False`` changes nothing (a display's look ahead).
        """
        self._require_fitted()
        labels = tuple(label for label in forecasts if self._members.get(label) is not self)
        if not labels:
            return self.forecast(inp)
        if labels != self._labels or self._losses is None:
            self._start(labels)
        assert self._pending is not None
        if remember and any(e.step == inp.step for e in inp.events):
            self._restart(rerouted_directions(inp))
        points = np.stack([np.asarray(forecasts[label].point, dtype=np.float32) for label in labels])
        if not np.isfinite(points).all():
            with np.errstate(all="ignore"):
                points = np.where(np.isfinite(points), points, np.nanmean(points, axis=0, keepdims=True))
            points = np.nan_to_num(points)
        if remember:
            self._pending.remember(self._clock, points)
        if self._weights is None:
            self._weights = self.weights()
        out = np.einsum("nhd,nhd->hd", self._weights, points)
        return Forecast(np.maximum(out, 0.0).astype(np.float32))

    def _forecast_input(self, inp: ForecastInput, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Alone (no loop): the attached members forecast, combined without remembering anything;
        with none attached, persistence."""
        if not self._members:
            return np.broadcast_to(window[-1], (self.config.horizon, window.shape[1])).copy()
        fcs = {label: m.forecast(inp) for label, m in self._members.items()}
        return self.combine(inp, fcs, remember=False).point

    def _forecast(self, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        return np.broadcast_to(window[-1], (self.config.horizon, window.shape[1])).copy()

    def _observe(self, value: np.ndarray, features: np.ndarray) -> None:
        if self._pending is not None and self._losses is not None:
            ok = np.isfinite(value)
            k, preds = self._pending.due_stacked(self._clock)  # (n,), (n, N, D)
            if k.size:
                e = preds - np.where(ok, value, 0.0).astype(np.float32)  # in place from here: cost
                e *= self._inv_sd[k][:, None, :]
                np.clip(e, -CLIP_R, CLIP_R, out=e)
                e *= e
                if not ok.all():
                    e[:, :, ~ok] = 0.0
                self._losses[:, k] += e.transpose(1, 0, 2)
                self._weights = None
        self._clock += 1
        if self._favour_until is not None and self._clock >= self._favour_until:
            self._favour_until, self._favour, self._weights = None, None, None
