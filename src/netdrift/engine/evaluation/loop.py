"""The one evaluation loop (river's ``iter_evaluate`` shape): a generator of one record per step.

At each step every model forecasts the next H steps from one
:class:`~netdrift.engine.forecasting.protocol.ForecastInput`, the actual arrives, every model observes it,
and the record carries the forecasts (in Mbit/s), the actual and the events of that step. The
metrics, the recorder, the CLI and the dashboard consume records; the loop computes no metric.

The generator reads the simulator when it is advanced, so a failure added between two records
(a click in the dashboard) applies to the next one.

A :class:`ForecastCache` shared with a screen's look-ahead (which forecasts the step about to be
observed, for its bands) makes each model forecast each step once: the loop takes the look-ahead's
forecasts when they were made from the same input (same step, same failures known).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from netdrift.engine.evaluation.intervals import ConformalTracker, load_growth
from netdrift.engine.evaluation.stream import ObservationStream
from netdrift.engine.forecasting.base import Forecaster
from netdrift.engine.forecasting.protocol import Forecast, ForecastInput, down_directions, links_up, zero_down
from netdrift.engine.network.events import FailureEvent

__all__ = ["StepRecord", "ForecastCache", "iter_evaluate", "known_down"]


@dataclass(frozen=True)
class StepRecord:
    """One step of the loop.

    ``forecasts[model]`` is that model's forecast of steps ``step .. step + H - 1`` in Mbit/s,
    made before ``actual_mbps`` (the load at ``step``) arrived; ``target`` is the step its last
    row (the H-step-ahead forecast, the one the metrics score) is for. ``events`` are the
    failures and restores that took effect at ``step``; ``seconds`` each model's forecast +
    observe time; ``interval_seconds`` the time all intervals took (their bounds and updates),
    including the widening at an event.
    """

    step: int
    actual_mbps: np.ndarray
    forecasts: Mapping[str, Forecast]
    target: int
    events: tuple[FailureEvent, ...]
    seconds: Mapping[str, float]
    interval_seconds: float = 0.0


class ForecastCache:
    """The models' forecasts of one step, each made once and kept until the models observe it.

    Keyed by the input's step and the failures known at it (what, with the observed window, a
    forecast depends on): a click that changes the failure state makes new forecasts. Holds one
    step: asking for another step, or :meth:`clear` (models observed or reloaded), drops it.
    Forecasting is free of side effects beyond the step's own bookkeeping, which the second call
    would redo identically, so a kept forecast is the one the loop would make.
    """

    def __init__(self) -> None:
        self._key: tuple[int, tuple[FailureEvent, ...]] | None = None
        self._made: dict[str, tuple[Forecast, float]] = {}

    def forecast(self, label: str, model: Forecaster, inp: ForecastInput) -> tuple[Forecast, float]:
        """``model``'s forecast of ``inp`` (utilisation) and the seconds it took when it was made."""
        key = (inp.step, inp.events)
        if key != self._key:
            self._key, self._made = key, {}
        made = self._made.get(label)
        if made is None:
            t0 = time.perf_counter()
            fc = model.forecast(inp)
            made = self._made[label] = (fc, time.perf_counter() - t0)
        return made

    def clear(self) -> None:
        """Forget the kept forecasts (the models observed a step or were replaced)."""
        self._key, self._made = None, {}


def known_down(inp: ForecastInput, models: Mapping[str, Forecaster]) -> np.ndarray | None:
    """(D,) the directions of links known down at ``inp.step``, whose forecasts and bounds are 0;
    None in the paper's form (every model ``residual=False``), which forecasts them as they are."""
    return down_directions(inp, paper_form=not any(m.config.residual for m in models.values()))


def iter_evaluate(stream: ObservationStream, models: Mapping[str, Forecaster], start: int,
                  stop: int, intervals: Mapping[str, ConformalTracker] | None = None,
                  cache: ForecastCache | None = None) -> Iterator[StepRecord]:
    """Forecast, observe and yield steps ``[start, stop)`` with fitted ``models``.

    ``stream`` must have observed steps ``[0, start)``; afterwards it has observed ``[0, stop)``
    (or up to where the caller stopped iterating). With ``intervals`` (one tracker per model),
    each forecast carries its interval and the trackers learn from the actuals. With ``cache``,
    forecasts already made of a step's input (a look-ahead's) are taken instead of made again.
    """
    h = stream.horizon
    intervals = intervals or {}
    # Combiners (the ensemble) forecast after the other models, from their forecasts.
    combiners = {label: m for label, m in models.items() if getattr(m, "combines", False)}
    members = {label: m for label, m in models.items() if label not in combiners}
    for combiner in combiners.values():
        combiner.attach(members)  # type: ignore[attr-defined]  # only combiners (the ensemble) have attach
    for t in range(start, stop):
        inp = stream.input_at(t)
        interval_seconds = 0.0
        if intervals and any(e.step == t for e in inp.events):
            t1 = time.perf_counter()
            before, after = stream.reroute_levels(t)
            # A restore while another link is still down is one more routing change, not the end.
            up = links_up(inp)
            restore = all(e.action == "restore" for e in inp.events if e.step == t) and (up is None or bool(up.all()))
            for each in intervals.values():
                each.widen(np.abs(after - before), restore=restore, growth=load_growth(before, after))
            interval_seconds += time.perf_counter() - t1
        stream.fill(t + 1)
        observed, feats = stream.observed[t], stream.features[t]
        demands = None if stream.demands is None else stream.demands[t]
        down = known_down(inp, models)  # the models' forecasts there are 0: so are their bounds
        forecasts: dict[str, Forecast] = {}
        seconds: dict[str, float] = {}
        raw: dict[str, Forecast] = {}
        for label, model in [*members.items(), *combiners.items()]:
            t0 = time.perf_counter()
            made = 0.0  # a kept forecast's own time, counted as this step's
            if label in combiners:
                fc = model.combine(inp, raw)  # type: ignore[attr-defined]  # a combiner (the ensemble) has combine
            elif cache is not None:
                fc, made = cache.forecast(label, model, inp)
                raw[label] = fc
                t0 = time.perf_counter()
            else:
                fc = raw[label] = model.forecast(inp)
            model.observe(observed, feats, demands)
            seconds[label] = made + time.perf_counter() - t0
            fc = fc.scaled(stream.capacity)
            tracker = intervals.get(label)
            if tracker is not None:
                t1 = time.perf_counter()
                fc = zero_down(tracker.bound(fc, t), down)
                tracker.update(stream.actual_mbps(t), t)
                interval_seconds += time.perf_counter() - t1
            forecasts[label] = fc
        if cache is not None:
            cache.clear()
        yield StepRecord(t, stream.actual_mbps(t), forecasts, t + h - 1,
                         tuple(e for e in inp.events if e.step == t), seconds, interval_seconds)
