"""What the Impact page sweeps when the operator changes nothing.

With a Live run on the same topology the page sweeps that run's own traffic (the same steps,
step length, seed, peak, traffic model or replay) over the window from the run's current step to
its end, so Impact and Live talk about the same traffic; a toggle gives a separate window with
the page's own defaults. A forecast needs observed steps before its start: when the window
would start at step 0, a forecast-aware sweep starts after the first day (or half-way through a
shorter run) instead of refusing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from netdrift.engine.traffic.time_grid import steps_per_day

if TYPE_CHECKING:
    from netdrift.engine.experiments.scenario import LiveScenario

__all__ = ["SweepDefaults", "OWN_DEFAULTS", "live_defaults", "forecast_start"]


@dataclass(frozen=True)
class SweepDefaults:
    """The Impact form's values: traffic (``steps`` of ``step_minutes``, ``seed``, ``peak_pct`` of
    capacity at the busiest direction, ``traffic`` "synthetic" or a replay, ``traffic_model``) and
    the window ``[start, stop)``; ``source`` says where they come from, for the caption."""

    steps: int
    step_minutes: float
    seed: int
    peak_pct: float
    start: int
    stop: int
    traffic: str = "synthetic"
    traffic_model: str | None = None
    source: str = "page"


#: A day of 5-minute steps of synthetic traffic at a 60 % peak, the whole day swept.
OWN_DEFAULTS = SweepDefaults(steps=288, step_minutes=5.0, seed=0, peak_pct=60.0, start=0, stop=288)


def live_defaults(live: LiveScenario) -> SweepDefaults:
    """The Live run's traffic, swept from its current step to its end.

    >>> from netdrift.engine.experiments.scenario import LiveScenario
    >>> from netdrift.engine.experiments.spec import ScenarioSpec
    >>> run = LiveScenario.from_spec(ScenarioSpec(topology="abilene", steps=60, train_steps=30,
    ...                                           step_minutes=15, models=("persistence",), seed=4))
    >>> run.train()
    >>> d = live_defaults(run)
    >>> (d.steps, d.step_minutes, d.seed, d.start, d.stop, d.source)
    (60, 15.0, 4, 30, 60, 'live')
    """
    spec = live.spec
    steps = int(live.total_steps)
    start = min(int(live.step), steps - 1)
    peak = spec.peak_utilization if spec is not None and spec.peak_utilization is not None else 0.6
    return SweepDefaults(
        steps=steps, step_minutes=float(live.traffic.step_minutes), seed=int(live.seed), peak_pct=100.0 * float(peak),
        start=start, stop=steps, traffic=spec.traffic if spec is not None else "synthetic",
        traffic_model=getattr(spec, "traffic_model", None) if spec is not None else None, source="live")


def forecast_start(start: int, steps: int, step_minutes: float) -> int:
    """The first step of a forecast-aware sweep: ``start``, or when that is step 0 (nothing observed
    before it) the first day's end, or half the run when the run is a day or shorter.

    >>> forecast_start(0, 288, 5.0), forecast_start(0, 2016, 5.0), forecast_start(40, 288, 5.0)
    (144, 288, 40)
    """
    if start > 0:
        return start
    day = steps_per_day(step_minutes)
    return day if day < steps else max(1, steps // 2)
