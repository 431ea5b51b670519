"""The stepwise scenario driver: build, train, step through the evaluation loop, fail and restore.

:class:`LiveScenario` is what the dashboard steps and what the batch run drives to the end. It
owns the simulator, the fitted models, the observation stream and the recorder; the loop
(:func:`netdrift.engine.evaluation.loop.iter_evaluate`) does the forecasting and the metrics live in
:mod:`netdrift.engine.evaluation`. Same spec and seed -> identical numbers on CPU.

Examples
--------
>>> spec = ScenarioSpec(topology="abilene", steps=40, train_steps=30, step_minutes=60,
...                     models=("persistence", "seasonal"), failures=("0-1@33",))
>>> result = run_scenario(spec)
>>> result.actual.shape[0], sorted(result.forecasts)
(40, ['persistence', 'seasonal'])
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.evaluation.calibration import calibrated_radii, replay_training
from netdrift.engine.evaluation.interval_shape import interval_shape
from netdrift.engine.evaluation.intervals import ConformalTracker, initial_radius
from netdrift.engine.evaluation.loop import ForecastCache, StepRecord, iter_evaluate
from netdrift.engine.evaluation.recorder import ForecastRecorder
from netdrift.engine.evaluation.scoring import score_result
from netdrift.engine.evaluation.stream import ObservationStream
from netdrift.engine.experiments import live_reads
from netdrift.engine.experiments.spec import CheckedSpec, ModelEntry, ScenarioSpec, check_event_step, check_spec
from netdrift.engine.forecasting.base import Forecaster
from netdrift.engine.forecasting.catalogue import make_forecaster, model_info
from netdrift.engine.forecasting.protocol import Forecast
from netdrift.engine.forecasting.settings import ForecastConfig
from netdrift.engine.network.events import FailureEvent, in_log_order
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.network.simulation import Simulator
from netdrift.engine.network.topology import Topology
from netdrift.engine.results import ScenarioResult
from netdrift.engine.traffic.series import TrafficMatrixSeries
from netdrift.engine.traffic.sources import make_traffic
from netdrift.engine.traffic.time_grid import steps_per_day

__all__ = ["LiveScenario", "run_scenario", "run_to_end", "Progress"]

Progress = Callable[[str, float], None]


def routed_memory_bytes(traffic: TrafficMatrixSeries, common: ForecastConfig, routed: Sequence[ModelEntry]) -> float:
    """What routed models add: the observed/estimated demand rows, plus a day of rows per seasonal one
    and the routing matrices (a few per failure state, ~ pairs x mean path length)."""
    row = traffic.n_pairs * 4.0
    seasonal = sum(1 for e in routed if e.kind == "routed-seasonal")
    return row * (traffic.steps + 2 * common.window + seasonal * common.steps_per_day) + row * 3 * 16


def _epoch_reporter(progress: Progress, label: str, i: int, n: int) -> Callable[[float], None]:
    """A model's fit progress (fraction of its epochs) as the run's, with the time it has left
    at the pace of its epochs so far, e.g. ``"fitting liquid (1/3): 50 % of its epochs, ~12 s left"``."""
    start = time.perf_counter()

    def report(done: float) -> None:
        elapsed = time.perf_counter() - start
        left = elapsed * (1.0 - done) / done if done > 0 else float("nan")
        eta = f", ~{left:.0f} s left for it" if done < 1.0 and np.isfinite(left) else ""
        progress(f"fitting {label} ({i + 1}/{n}): {done:.0%} of its epochs{eta}", (i + done) / n)

    return report


def _calibrated_or(calibrated: np.ndarray | None, start: np.ndarray) -> np.ndarray:
    """The calibration pass's radius where it is finite, the generic start elsewhere."""
    if calibrated is None:
        return start
    return np.where(np.isfinite(calibrated), calibrated, start)


class LiveScenario:
    """A scenario driven step by step (the dashboard's live view, the CLI's batch loop).

    ``step`` is the next step to be observed: steps ``[0, step)`` have happened. Failures
    made with :meth:`fail`/:meth:`restore`/:meth:`toggle` take effect from ``step`` on.
    """

    def __init__(self, spec: ScenarioSpec | CheckedSpec, topology: Topology, traffic: TrafficMatrixSeries) -> None:
        """The run ``spec`` describes, on ``topology`` with ``traffic`` (the spec's steps long).

        The spec is validated here unless it comes checked against this topology
        (:func:`~netdrift.engine.experiments.spec.check_spec`, as :meth:`from_spec` does before it
        makes the traffic); its scheduled failures take effect as the run reaches them.
        """
        checked = check_spec(spec, topology)
        spec = checked.spec
        if traffic.steps != spec.steps:
            raise InputError("traffic", f"has {traffic.steps} steps, the spec {spec.steps}")
        day = steps_per_day(traffic.step_minutes)
        self.spec = spec
        self.settings = spec.forecast.with_steps_per_day(day)
        self.interval, self.warn_utilization = spec.interval, spec.warn_utilization
        self.pre_steps = int(spec.pre_steps) if spec.pre_steps is not None else day
        self.topology = topology
        self.traffic = traffic
        self.train_steps = spec.train_steps
        self.seed = spec.seed
        self.device = spec.device
        self.metrics_config = spec.metrics
        self.entries = list(checked.entries)
        routed = [e for e in self.entries if model_info(e.kind).space == "demands"]
        if routed:
            check_memory(f"routed models on '{topology.name}' ({traffic.n_pairs} node pairs)",
                         routed_memory_bytes(traffic, self.settings.common, routed))
        self.simulator = Simulator(topology, traffic)
        for e in checked.events:
            self.simulator.add_event(e)
        common = self.settings.common
        self.stream = ObservationStream(self.simulator, common.window, common.horizon, spec.observe, bool(routed))
        self.recorder = ForecastRecorder([e.label for e in self.entries], traffic.steps, topology.n_directions,
                                         intervals=spec.interval is not None)
        self.intervals: dict[str, ConformalTracker] = {}
        self.models: dict[str, Forecaster] = {}
        self.total_steps = traffic.steps
        self.step = 0
        #: each step's model forecasts, shared by the look-ahead (live_reads.next_bands) and the loop
        self.forecast_cache = ForecastCache()
        #: the look-ahead last computed (see live_reads.next_bands) and a count of model (re)loads, its key
        self.look_ahead: tuple[Any, dict[str, Forecast]] | None = None
        self.models_epoch = 0

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: ScenarioSpec, topology: Topology | None = None) -> "LiveScenario":
        """Load the topology (unless given), check the spec against it, make the traffic."""
        topo = topology if topology is not None else load_topology(spec.topology, weights=spec.weights)
        checked = check_spec(spec, topo)  # before the traffic: no work for a bad spec
        traffic = make_traffic(spec.traffic, topo, spec.steps, spec.step_minutes, spec.seed, spec.peak_utilization,
                               require_steps=True, model=spec.traffic_model)
        return cls(checked, topo, traffic)

    def _check_event_step(self, event: FailureEvent) -> None:
        check_event_step(event, self.train_steps, self.traffic.steps)

    @property
    def config(self) -> ForecastConfig:
        """The settings every model shares (window, horizon, day length)."""
        return self.settings.common

    @property
    def events(self) -> list[FailureEvent]:
        """Every failure and restore of the run (scheduled or clicked), sorted."""
        return self.simulator.events

    @property
    def forecasts(self) -> dict[str, np.ndarray]:
        """{model: (T, D)} recorded H-step-ahead forecasts in Mbit/s (NaN where none yet)."""
        return self.recorder.forecasts

    @property
    def capacity(self) -> np.ndarray:
        return self.stream.capacity

    # --- training ---------------------------------------------------------------------------
    def train(self, progress: Progress | None = None) -> None:
        """Fit every model on the training period; afterwards ``step == train_steps``."""
        k = self.train_steps
        self.stream.fill(k)
        stream = self.stream
        history, feats = stream.observed[:k], stream.features[:k]
        demands = None if stream.demands is None else stream.demands[:k]
        n = len(self.entries)
        for i, entry in enumerate(self.entries):
            if progress:
                progress(f"fitting {entry.label} ({i + 1}/{n})", i / n)
            model = make_forecaster(entry.kind, entry.settings(self.settings), seed=self.seed, device=self.device)
            model.fit(history, feats, demands, stream.pairs,
                      progress=None if progress is None else _epoch_reporter(progress, entry.label, i, n))
            self.models[entry.label] = model
        self.models_epoch += 1
        self.forecast_cache.clear()
        self._start_streaming()
        if progress:
            progress("trained", 1.0)

    def _start_streaming(self) -> None:
        """What follows the fit: the interval trackers, and ``step = train_steps``."""
        k, common = self.train_steps, self.settings.common
        members = {label: m for label, m in self.models.items() if not getattr(m, "combines", False)}
        for m in self.models.values():
            if getattr(m, "combines", False):
                m.attach(members)  # type: ignore[attr-defined]  # only combiners (the ensemble) have attach
        combiners = [m for m in self.models.values() if getattr(m, "combines", False)]
        replay = (replay_training(self.models, self.stream, k, min(common.steps_per_day, 144))
                  if combiners or self.interval is not None else None)
        if replay is not None:
            for m in combiners:
                m.warm_start(replay.replayed_points(), replay.actual, replay.capacity)  # type: ignore[attr-defined]  # a combiner has it
        if self.interval is not None:
            history = self.simulator.loads.loads[:k]
            shape = interval_shape(history, common.horizon, common.steps_per_day)
            start = initial_radius(history, common.horizon, self.interval, shape)
            calibrated, shapes = calibrated_radii(self.models, replay, self.interval, shape)
            self.intervals = {e.label: ConformalTracker(
                self.interval, _calibrated_or(calibrated.get(e.label), start),
                shifts_with_routing=self.models[e.label].space == "demands", step_from=start,
                shape=shapes.get(e.label, shape))
                for e in self.entries}
        self.step = k

    def export_models(self) -> bytes:
        """The fitted models as bytes (``torch.save`` of the model objects: weights, optimiser-free
        state, RNGs), to be taken right after :meth:`train`; :meth:`load_models` takes them back.

        With them a stored run is rebuilt without training again (:meth:`resume`). The bytes are
        a pickle: load only what this program stored.
        """
        if not self.trained or self.step != self.train_steps:
            raise InputError("trained models", f"export them right after training (the run is at step {self.step})")
        import io

        import torch

        buf = io.BytesIO()
        torch.save({"labels": [e.label for e in self.entries], "models": self.models}, buf)
        return buf.getvalue()

    def load_models(self, blob: bytes) -> None:
        """Take the models :meth:`export_models` gave instead of training; afterwards
        ``step == train_steps``, as after :meth:`train`."""
        import io
        import pickle

        import torch

        if self.trained:
            raise InputError("trained models", "this run is trained already")
        try:
            saved = torch.load(io.BytesIO(blob), map_location=self.device, weights_only=False)
        except (pickle.UnpicklingError, EOFError, RuntimeError, AttributeError, ImportError) as err:
            raise InputError("trained models", f"cannot be read ({err})") from err
        labels = [e.label for e in self.entries]
        if not isinstance(saved, dict) or saved.get("labels") != labels:
            raise InputError("trained models", f"they are not this run's models ({', '.join(labels)})")
        self.stream.fill(self.train_steps)
        self.models = dict(saved["models"])
        self.models_epoch += 1
        self.forecast_cache.clear()
        self._start_streaming()

    @classmethod
    def resume(cls, spec: ScenarioSpec, events: Iterable[FailureEvent], step: int, models: bytes | None = None,
               topology: Topology | None = None, progress: Progress | None = None) -> "LiveScenario":
        """A stored live run rebuilt at ``step``: the spec's traffic, its ``events`` (clicked ones
        included), the exported ``models`` (trained again from the seed when None), and the steps
        from the end of training to ``step`` replayed. Same numbers as the run that was never
        interrupted: every part is deterministic for the spec and seed.
        """
        live = cls.from_spec(spec, topology)
        # The stored log holds the spec's own events too: each is skipped once, every other event
        # (a repeated click included) is applied in the log's order.
        known = Counter(live.events)
        for e in in_log_order(events):
            if known[e] > 0:
                known[e] -= 1
                continue
            live._check_event_step(e)
            live.simulator.add_event(e)
        if not live.train_steps <= step <= live.total_steps:
            raise InputError("step", f"a run is resumed between {live.train_steps} and {live.total_steps}, got {step}")
        if models is None:
            live.train(progress)
        else:
            live.load_models(models)
        live.advance(step - live.step, progress)
        return live

    @property
    def trained(self) -> bool:
        return bool(self.models)

    # --- streaming --------------------------------------------------------------------------
    def records(self, k: int) -> Iterator[StepRecord]:
        """The next ``k`` steps as loop records (each one recorded as it is yielded)."""
        if not self.trained:
            raise RuntimeError("train() the scenario before advancing it")
        stop = min(self.step + k, self.total_steps)
        for record in iter_evaluate(self.stream, self.models, self.step, stop, self.intervals, self.forecast_cache):
            self.recorder.add(record)
            self.step = record.step + 1
            yield record

    def advance(self, k: int = 1, progress: Progress | None = None) -> int:
        """Run ``k`` more steps (forecast, actual arrives, observe); returns the new ``step``."""
        start = self.step
        stop = min(start + k, self.total_steps)
        every = max(1, (stop - start) // 100)
        for _record in self.records(k):
            if progress and (self.step % every == 0 or self.step == stop):
                progress(f"step {self.step}/{self.total_steps}", self.step / self.total_steps)
        return self.step

    @property
    def finished(self) -> bool:
        return self.step >= self.total_steps

    # --- failures ---------------------------------------------------------------------------
    def _state(self) -> tuple[frozenset[str], frozenset[str]]:
        """(down links, down nodes) in force at ``step``, read from the simulator's state segments."""
        return self.simulator.state_at(min(self.step, self.total_steps - 1))

    @property
    def down_links(self) -> frozenset[str]:
        return self._state()[0]

    @property
    def down_nodes(self) -> frozenset[str]:
        return self._state()[1]

    def _apply(self, action: str, target: str, kind: str) -> FailureEvent:
        """The one event path: ``action`` the ``kind`` element ``target`` (already known to be one) now."""
        if self.step >= self.total_steps:
            raise InputError(f"{action} '{target}'", "the run has ended")
        down = self._state()[0 if kind == "link" else 1]
        if action == "fail" and target in down:
            raise InputError(f"fail '{target}'", "it is already down")
        if action == "restore" and target not in down:
            raise InputError(f"restore '{target}'", "it is not down")
        event = FailureEvent(self.step, action, target, kind)  # type: ignore[arg-type]  # the callers pass fail/restore and link/node
        self._check_event_step(event)
        self.simulator.add_event(event)
        return event

    def fail(self, target: str) -> FailureEvent:
        """Fail a link or node from the current step on."""
        return self._apply("fail", target, self.topology.check_element(target))

    def restore(self, target: str) -> FailureEvent:
        """Restore a failed link or node from the current step on."""
        return self._apply("restore", target, self.topology.check_element(target))

    def toggle(self, target: str) -> FailureEvent:
        """Fail ``target`` if it is up, restore it if it is down (a click on the map)."""
        kind = self.topology.check_element(target)
        down = self._state()[0 if kind == "link" else 1]
        return self._apply("restore" if target in down else "fail", target, kind)

    # --- reading ----------------------------------------------------------------------------
    def time_of(self, step: int) -> datetime:
        return self.traffic.time_of(step)

    def loads_at(self, step: int) -> np.ndarray:
        """(2L,) Mbit/s at ``step`` under the failures known now (NaN if the interval is missing)."""
        return self.simulator.loads.loads[step]

    def utilization_at(self, step: int) -> np.ndarray:
        return self.loads_at(step) / self.capacity

    def dropped_mbps_at(self, step: int) -> float:
        return float(self.simulator.loads.dropped_mbps[step])

    def next_forecasts(self) -> dict[str, np.ndarray]:
        """{model: (2L,) Mbit/s} forecast for ``step`` (no state change); see :mod:`.live_reads`."""
        return live_reads.next_forecasts(self)

    def next_bands(self) -> dict[str, Forecast]:
        """{model: Forecast} of steps ``step .. step + H - 1`` in Mbit/s with each model's current
        interval; no state change (see :func:`.live_reads.next_bands`)."""
        return live_reads.next_bands(self)

    def window(self, direction: int, last: int = 288) -> pd.DataFrame:
        """Recent actual and recorded forecasts of one link direction (see :func:`.live_reads.window`)."""
        return live_reads.window(self, direction, last)

    def running_errors(self, last: int = 288, direction: int | None = None) -> dict[str, dict[str, float]]:
        """RMSE and MAPE of each model over the last ``last`` steps (see :func:`.live_reads.running_errors`)."""
        return live_reads.running_errors(self, last, direction)

    def last_retrain_step(self, label: str = "incremental") -> int | None:
        """Absolute step at which ``label`` last re-fitted, or None."""
        m = self.models.get(label)
        if m is None or not m.retrain_steps:
            return None
        return self.train_steps + int(m.retrain_steps[-1])

    def model_stats(self) -> dict[str, dict[str, Any]]:
        """Per model: kind, re-fits and when, fit time, forecast + observe time per step."""
        return live_reads.model_stats(self)

    def snapshot(self) -> ScenarioResult:
        """Everything observed so far (steps [0, step)), without metrics (see :func:`.live_reads.snapshot`)."""
        return live_reads.snapshot(self)

    def result(self, counterfactual: ScenarioResult | None = None) -> ScenarioResult:
        """:meth:`snapshot` with its metrics (and, given the counterfactual run's snapshot, the
        drift and excess errors measured against it)."""
        common = self.settings.common
        snap = self.snapshot()
        snap.config["warnings"] = self.warnings()
        return score_result(snap, common.steps_per_day, self.metrics_config, common.horizon,
                            self.interval, self.warn_utilization, counterfactual, self.pre_steps)

    def warnings(self) -> list[str]:
        """What the user should know about how this run is scored (e.g. a short pre-failure period)."""
        fails = sorted(e.step for e in self.events if e.action == "fail")
        out = []
        if fails and fails[0] - self.train_steps < self.pre_steps:
            out.append(f"the pre-failure period has {fails[0] - self.train_steps} steps, fewer than the "
                       f"{self.pre_steps} asked (pre_steps): 'pre' figures rest on less than that")
        return out

    def fork(self) -> "LiveScenario":
        """An independent copy (trained models included), e.g. to try another failure.

        The topology and the traffic are shared (neither is ever modified), not copied.
        """
        return copy.deepcopy(self, {id(self.topology): self.topology, id(self.traffic): self.traffic})

    def counterfactual_twin(self) -> "LiveScenario":
        """A fork with every failure removed: the same traffic and fitted models, no failure.

        Made before the first failure takes effect, so both runs have observed the same steps.
        """
        if any(e.step < self.step for e in self.events):
            raise InputError("counterfactual", f"a failure already took effect before step {self.step}")
        twin = self.fork()
        for event in list(twin.simulator.events):
            twin.simulator.remove_event(event)
        return twin


def run_to_end(live: LiveScenario, progress: Progress | None = None, counterfactual: bool = True) -> ScenarioResult:
    """Train (if needed), stream to the end and score; with failures and ``counterfactual``, the
    same models also forecast the run without them, for the drift and excess errors."""
    if not live.trained:
        live.train(progress)
    twin = live.counterfactual_twin() if counterfactual and live.events else None
    live.advance(live.total_steps - live.step, progress)
    if twin is None:
        return live.result()
    if progress:
        progress("counterfactual run (the same traffic without the failures)", 0.99)
    twin.advance(twin.total_steps - twin.step)
    return live.result(counterfactual=twin.snapshot())


def run_scenario(spec: ScenarioSpec, progress: Progress | None = None,
                 topology: Topology | None = None) -> ScenarioResult:
    """Batch mode: build, train, stream to the end, return the result with its metrics."""
    return run_to_end(LiveScenario.from_spec(spec, topology), progress, spec.counterfactual)
