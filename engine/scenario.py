"""Scenario runner: topology + traffic + failures + forecasters -> a streaming evaluation.

One loop for every model (river's ``iter_evaluate`` shape): at each step every model
forecasts the next H steps for all link directions from the last W observations, the actual
arrives, every model observes it, and the H-step-ahead forecast (the last of the H) is
recorded against the step it is for; the metrics score those.

The stepwise API (:class:`LiveScenario`) is what the dashboard drives; :func:`run_scenario` is
the batch mode of the CLI. Same spec and seed -> identical numbers on CPU.

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
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.events import FailureEvent, down_sets_at, events_from_specs
from engine.forecasting.base import ForecastConfig, Forecaster
from engine.forecasting.features import time_features
from engine.forecasting.registry import MODEL_NAMES, make_forecaster
from engine.loaders import load_topology
from engine.metrics import MetricsConfig, scenario_metrics
from engine.results import ScenarioResult
from engine.simulation import Simulator
from engine.topology import Topology
from engine.traffic import TrafficMatrixSeries
from engine.traffic_sources import make_traffic

__all__ = [
    "DEFAULT_MODELS",
    "ModelEntry",
    "ScenarioSpec",
    "LiveScenario",
    "run_scenario",
    "parse_models",
]

DEFAULT_MODELS: tuple[str, ...] = ("liquid", "incremental", "persistence", "seasonal", "frozen")
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class ModelEntry:
    """A model in a scenario: ``label`` (unique in the run) -> registry ``kind`` + its config.

    Variants let one run compare e.g. ``incremental-b12`` and ``incremental-b144``.
    """

    label: str
    kind: str
    overrides: tuple[tuple[str, Any], ...] = ()

    def config(self, base: ForecastConfig) -> ForecastConfig:
        return replace(base, **dict(self.overrides)) if self.overrides else base


def parse_models(models: Iterable[str | ModelEntry]) -> list[ModelEntry]:
    """Model names or entries -> entries, with unknown names and duplicates rejected."""
    entries: list[ModelEntry] = []
    for m in models:
        entry = m if isinstance(m, ModelEntry) else ModelEntry(m.strip(), m.strip())
        if entry.kind not in MODEL_NAMES:
            raise InputError(f"model '{entry.kind}'", f"unknown; choose from {', '.join(MODEL_NAMES)}")
        if any(e.label == entry.label for e in entries):
            raise InputError(f"model '{entry.label}'", "given twice")
        entries.append(entry)
    if not entries:
        raise InputError("--models", "at least one model is needed")
    return entries


@dataclass(frozen=True)
class ScenarioSpec:
    """What to run. Steps are counted from the start of the traffic series."""

    topology: str = "geant2001"
    weights: str | None = None
    traffic: str = "synthetic"
    steps: int = 4032
    train_steps: int = 2016
    step_minutes: float = 5.0
    peak_utilization: float = 0.6
    models: tuple[str | ModelEntry, ...] = DEFAULT_MODELS
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    failures: tuple[str, ...] = ()
    seed: int = 0
    device: str = "cpu"
    metrics: MetricsConfig = field(default_factory=MetricsConfig)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (stored with the scenario)."""
        d = asdict(self)
        d["models"] = [m.label if isinstance(m, ModelEntry) else m for m in self.models]
        d["model_entries"] = [asdict(e) for e in parse_models(self.models)]
        d["failures"] = list(self.failures)
        return d


def _check_run_lengths(steps: int, train_steps: int, config: ForecastConfig) -> None:
    if steps < 2:
        raise InputError("--steps", f"must be at least 2, got {steps}")
    if train_steps >= steps:
        raise InputError("--train-steps", f"{train_steps} must be smaller than --steps ({steps})")
    if train_steps < config.window + config.horizon:
        raise InputError(
            "--train-steps",
            f"{train_steps} is too short for window {config.window} + horizon {config.horizon}",
        )


class LiveScenario:
    """A scenario driven step by step (the dashboard's live view, the CLI's batch loop).

    ``step`` is the next step to be observed: steps ``[0, step)`` have happened. Failures
    made with :meth:`fail`/:meth:`restore`/:meth:`toggle` take effect from ``step`` on.
    """

    def __init__(
        self,
        topology: Topology,
        traffic: TrafficMatrixSeries,
        models: Sequence[str | ModelEntry] = DEFAULT_MODELS,
        forecast_config: ForecastConfig | None = None,
        train_steps: int = 2016,
        seed: int = 0,
        device: str = "cpu",
        events: Iterable[FailureEvent] = (),
        metrics_config: MetricsConfig | None = None,
        spec: ScenarioSpec | None = None,
    ) -> None:
        base = forecast_config or ForecastConfig()
        steps_per_day = max(1, int(round(24 * 60 / traffic.step_minutes)))
        self.config = replace(base, steps_per_day=steps_per_day)
        _check_run_lengths(traffic.steps, train_steps, self.config)
        self.topology = topology
        self.traffic = traffic
        self.train_steps = train_steps
        self.seed = seed
        self.device = device
        self.metrics_config = metrics_config or MetricsConfig()
        self.spec = spec
        self.entries = parse_models(models)
        self.events: list[FailureEvent] = []
        self.simulator = Simulator(topology, traffic)
        for e in sorted(events):
            self._check_event_step(e)
            self.simulator.add_event(e)
            self.events.append(e)
        self.capacity = topology.direction_capacity.astype(np.float32)
        self.total_steps = traffic.steps
        self.step = 0
        horizon = self.config.horizon
        # Features for the H steps past the end too, so the last forecasts have inputs.
        base_time = np.datetime64(traffic.start.replace(tzinfo=None), "s")
        times = base_time + (np.arange(traffic.steps + horizon) * traffic.step_minutes * 60).astype("timedelta64[s]")
        self.features = time_features(times).astype(np.float32)
        self.observed = np.zeros((traffic.steps, topology.n_directions), dtype=np.float32)
        self.forecasts = {
            e.label: np.full((traffic.steps, topology.n_directions), np.nan, dtype=np.float32) for e in self.entries
        }
        self.models: dict[str, Forecaster] = {}
        self.predict_seconds = {e.label: 0.0 for e in self.entries}
        self.predicted_steps = 0

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: ScenarioSpec, topology: Topology | None = None) -> "LiveScenario":
        """Load the topology (unless given), make the traffic and schedule the spec's failures."""
        topo = topology if topology is not None else load_topology(spec.topology, weights=spec.weights)
        parse_models(spec.models)
        _check_run_lengths(spec.steps, spec.train_steps, spec.forecast)
        traffic = make_traffic(spec.traffic, topo, spec.steps, spec.step_minutes, spec.seed, spec.peak_utilization)
        events = events_from_specs(spec.failures, topo, traffic.steps)
        return cls(topo, traffic, spec.models, spec.forecast, spec.train_steps, spec.seed, spec.device,
                   events, spec.metrics, spec)

    def _check_event_step(self, event: FailureEvent) -> None:
        if event.step < self.train_steps:
            raise InputError(
                f"failure '{event.target}@{event.step}'",
                f"step {event.step} is inside the training period (0..{self.train_steps - 1})",
            )
        if event.step >= self.traffic.steps:
            raise InputError(f"failure '{event.target}@{event.step}'", "step is outside the run")

    # --- training ---------------------------------------------------------------------------
    def train(self, progress: Progress | None = None) -> None:
        """Fit every model on the training period; afterwards ``step == train_steps``."""
        k = self.train_steps
        self._fill_observed(0, k)
        history = self.observed[:k]
        feats = self.features[:k]
        for i, entry in enumerate(self.entries):
            if progress:
                progress(f"fitting {entry.label}", i / len(self.entries))
            model = make_forecaster(entry.kind, entry.config(self.config), seed=self.seed, device=self.device)
            model.fit(history, feats)
            self.models[entry.label] = model
        self.step = k
        if progress:
            progress("trained", 1.0)

    @property
    def trained(self) -> bool:
        return bool(self.models)

    def _fill_observed(self, start: int, stop: int) -> None:
        """Utilisation of steps [start, stop) into ``observed``; missing intervals carry the last value."""
        util = self.simulator.loads.loads[start:stop] / self.capacity
        prev = self.observed[start - 1] if start > 0 else np.zeros(self.topology.n_directions, np.float32)
        for t in range(stop - start):
            row = util[t]
            if np.isnan(row).any():
                row = np.where(np.isnan(row), prev, row)
            self.observed[start + t] = row
            prev = self.observed[start + t]

    # --- streaming --------------------------------------------------------------------------
    def advance(self, k: int = 1, progress: Progress | None = None) -> int:
        """Run ``k`` more steps (forecast, actual arrives, observe); returns the new ``step``."""
        if not self.trained:
            raise RuntimeError("train() the scenario before advancing it")
        stop = min(self.step + k, self.total_steps)
        w, h = self.config.window, self.config.horizon
        every = max(1, (stop - self.step) // 100)
        while self.step < stop:
            t = self.step
            window = self.observed[t - w:t]
            feats = self.features[t - w:t + h]
            self._fill_observed(t, t + 1)
            actual = self.observed[t]
            target = t + h - 1  # the H-step-ahead forecast is the one recorded and scored
            for label, model in self.models.items():
                t0 = time.perf_counter()
                pred = model.forecast(window, feats)
                model.observe(actual, self.features[t])
                self.predict_seconds[label] += time.perf_counter() - t0
                if target < self.total_steps:
                    self.forecasts[label][target] = pred[h - 1] * self.capacity
            self.predicted_steps += 1
            self.step += 1
            if progress and (self.step - t) and (self.step % every == 0 or self.step == stop):
                progress(f"step {self.step}/{self.total_steps}", self.step / self.total_steps)
        return self.step

    @property
    def finished(self) -> bool:
        return self.step >= self.total_steps

    # --- failures ---------------------------------------------------------------------------
    @property
    def down_links(self) -> frozenset[str]:
        return down_sets_at(self.events, self.step)[0]

    @property
    def down_nodes(self) -> frozenset[str]:
        return down_sets_at(self.events, self.step)[1]

    def _add(self, action: str, target: str) -> FailureEvent:
        kind = self.topology.check_element(target)
        if self.step >= self.total_steps:
            raise InputError(f"{action} '{target}'", "the run has ended")
        down = self.down_links if kind == "link" else self.down_nodes
        if action == "fail" and target in down:
            raise InputError(f"fail '{target}'", "it is already down")
        if action == "restore" and target not in down:
            raise InputError(f"restore '{target}'", "it is not down")
        event = FailureEvent(self.step, action, target, kind)  # type: ignore[arg-type]
        self._check_event_step(event)
        self.simulator.add_event(event)
        self.events.append(event)
        return event

    def fail(self, target: str) -> FailureEvent:
        """Fail a link or node from the current step on."""
        return self._add("fail", target)

    def restore(self, target: str) -> FailureEvent:
        """Restore a failed link or node from the current step on."""
        return self._add("restore", target)

    def toggle(self, target: str) -> FailureEvent:
        """Fail ``target`` if it is up, restore it if it is down (a click on the map)."""
        kind = self.topology.check_element(target)
        down = self.down_links if kind == "link" else self.down_nodes
        return self.restore(target) if target in down else self.fail(target)

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
        """{model: (2L,) Mbit/s} forecast for ``step`` from the last W observations (no state change)."""
        t, w, h = self.step, self.config.window, self.config.horizon
        if not self.trained or t >= self.total_steps:
            return {}
        window, feats = self.observed[t - w:t], self.features[t - w:t + h]
        return {label: m.forecast(window, feats)[0] * self.capacity for label, m in self.models.items()}

    def window(self, direction: int, last: int = 288) -> pd.DataFrame:
        """Recent actual and the recorded (H-step-ahead) forecasts of one link direction, in Mbit/s."""
        lo = max(0, self.step - last)
        steps = np.arange(lo, self.step)
        data: dict[str, Any] = {
            "step": steps,
            "time": self.traffic.times()[lo:self.step],
            "actual_mbps": self.simulator.loads.loads[lo:self.step, direction],
        }
        for label, f in self.forecasts.items():
            data[f"{label}_mbps"] = f[lo:self.step, direction]
        return pd.DataFrame(data)

    def running_errors(self, last: int = 288) -> dict[str, dict[str, float]]:
        """RMSE (Mbit/s) and MAPE (%) of each model over the last ``last`` forecast steps."""
        lo = max(self.train_steps, self.step - last)
        actual = self.simulator.loads.loads[lo:self.step]
        out: dict[str, dict[str, float]] = {}
        low = actual < self.metrics_config.low_load_fraction * self.capacity
        for label, f in self.forecasts.items():
            err = f[lo:self.step] - actual
            ok = ~np.isnan(err)
            rmse = float(np.sqrt(np.mean(err[ok] ** 2))) if ok.any() else float("nan")
            okm = ok & ~low
            mape = float(np.mean(np.abs(err[okm] / actual[okm])) * 100) if okm.any() else float("nan")
            out[label] = {"rmse_mbps": rmse, "mape_pct": mape}
        return out

    def last_retrain_step(self, label: str = "incremental") -> int | None:
        """Absolute step at which ``label`` last re-fitted, or None."""
        m = self.models.get(label)
        if m is None or not getattr(m, "retrain_steps", None):
            return None
        return self.train_steps + int(m.retrain_steps[-1])

    def model_stats(self) -> dict[str, dict[str, Any]]:
        stats: dict[str, dict[str, Any]] = {}
        n = max(1, self.predicted_steps)
        for label, m in self.models.items():
            stats[label] = {
                "kind": next(e.kind for e in self.entries if e.label == label),
                "retrains": int(getattr(m, "retrains", 0)),
                "retrain_steps": [self.train_steps + int(s) for s in getattr(m, "retrain_steps", [])],
                "fit_seconds": float(getattr(m, "fit_seconds", 0.0)),
                "predict_ms_per_step": 1000.0 * self.predict_seconds[label] / n,
            }
        return stats

    def result(self) -> ScenarioResult:
        """Everything observed so far (steps [0, step)) with its metrics."""
        t = self.step
        loads = self.simulator.loads
        fail_steps = sorted(e.step for e in self.events if e.action == "fail" and e.step < t)
        actual = loads.loads[:t].astype(np.float32)
        forecasts = {k: v[:t].copy() for k, v in self.forecasts.items()}
        metrics = []
        if t > self.train_steps:
            metrics = scenario_metrics(actual, forecasts, self.capacity, self.train_steps, fail_steps,
                                       self.config.steps_per_day, self.metrics_config)
        config = self.spec.to_dict() if self.spec else {}
        config.update({"forecast": asdict(self.config), "steps_observed": t, "device": self.device,
                       "total_steps": self.total_steps, "train_steps": self.train_steps})
        return ScenarioResult(
            topology=self.topology,
            config=config,
            seed=self.seed,
            events=[e for e in self.events if e.step < t],
            step_minutes=self.traffic.step_minutes,
            start=self.traffic.start,
            train_steps=self.train_steps,
            actual=actual,
            forecasts=forecasts,
            link_up=loads.link_up[:t].copy(),
            dropped_mbps=loads.dropped_mbps[:t].copy(),
            metrics=metrics,
            model_stats=self.model_stats(),
        )

    def fork(self) -> "LiveScenario":
        """An independent copy (trained models included), e.g. to try another failure."""
        return copy.deepcopy(self)


def run_scenario(spec: ScenarioSpec, progress: Progress | None = None,
                 topology: Topology | None = None) -> ScenarioResult:
    """Batch mode: build, train, stream to the end, return the result with its metrics."""
    live = LiveScenario.from_spec(spec, topology)
    live.train(progress)
    live.advance(live.total_steps - live.step, progress)
    return live.result()
