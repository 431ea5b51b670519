"""What a scenario runs: topology, traffic, failures, models with their settings, seed.

A spec is plain data. :func:`check_spec` validates it once against its topology (models and their
settings, run lengths, interval settings, the failures) and gives a :class:`CheckedSpec`, what a
:class:`netdrift.engine.experiments.scenario.LiveScenario` is built from. Same spec, same seed ->
the same numbers, bit for bit on CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from netdrift.engine.errors import InputError
from netdrift.engine.evaluation.metrics import MetricsConfig
from netdrift.engine.forecasting.catalogue import DEFAULT_MODELS, MODEL_NAMES, model_info
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.engine.network.events import FailureEvent, events_from_specs, refuse_repeated_failures
from netdrift.engine.network.topology import Topology

__all__ = ["ModelEntry", "ScenarioSpec", "CheckedSpec", "check_spec", "check_event_step", "parse_models",
           "check_run_lengths", "check_interval_settings", "spec_from_dict"]


@dataclass(frozen=True)
class ModelEntry:
    """A model in a scenario: ``label`` (unique in the run) -> catalogue ``kind`` + setting overrides.

    Variants let one run compare e.g. ``incremental-b12`` and ``incremental-b144``; the
    overrides use the flat setting names (``("il_batch", 12)``) and may only touch the kind's
    own settings.

    Examples
    --------
    >>> e = ModelEntry("incremental-b12", "incremental", (("il_batch", 12),))
    >>> e.settings(ForecastSettings()).incremental.il_batch
    12
    >>> ModelEntry("x", "persistence", (("il_batch", 12),)).settings(ForecastSettings())
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: model 'x': setting 'il_batch' is not a persistence setting
    """

    label: str
    kind: str
    overrides: tuple[tuple[str, Any], ...] = ()

    def settings(self, base: ForecastSettings) -> ForecastSettings:
        """``base`` with this entry's overrides applied (checked against the kind's settings)."""
        if not self.overrides:
            return base
        own = {f for f in model_info(self.kind).settings_class.__dataclass_fields__}
        for name, _ in self.overrides:
            if name not in own:
                raise InputError(f"model '{self.label}'", f"setting '{name}' is not a {self.kind} setting")
        return base.with_flat(dict(self.overrides))


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
        raise InputError("models", "at least one model is needed")
    return entries


def check_interval_settings(interval: float | None, warn_utilization: float | None) -> None:
    """Refuse a coverage level outside (0, 1) or a non-positive warning threshold."""
    if interval is not None and not (isinstance(interval, (int, float)) and 0.0 < interval < 1.0):
        raise InputError("interval", f"must be a coverage level between 0 and 1 (e.g. 0.9), got {interval!r}")
    if warn_utilization is not None and not (isinstance(warn_utilization, (int, float))
                                             and 0.0 < warn_utilization < 100.0):
        raise InputError("warn_utilization", f"must be a utilisation above 0 (e.g. 0.9), got {warn_utilization!r}")


def check_run_lengths(steps: int, train_steps: int, settings: ForecastSettings) -> None:
    """Refuse runs too short for training and for the models' window."""
    window, horizon = settings.common.window, settings.common.horizon
    if steps < 2:
        raise InputError("steps", f"must be at least 2, got {steps}")
    if train_steps >= steps:
        raise InputError("train_steps", f"{train_steps} must be smaller than the run's steps ({steps})")
    if train_steps < window + horizon:
        raise InputError("train_steps", f"{train_steps} is too short for window {window} + horizon {horizon}")


def check_event_step(event: FailureEvent, train_steps: int, steps: int) -> None:
    """Refuse a failure or restore inside the training period or past the run's end."""
    if event.step < train_steps:
        raise InputError(f"failure '{event.target}@{event.step}'",
                         f"step {event.step} is inside the training period (0..{train_steps - 1})")
    if event.step >= steps:
        raise InputError(f"failure '{event.target}@{event.step}'", "step is outside the run")


def check_pre_steps(pre_steps: int | None) -> None:
    """Refuse a pre-failure period that is not a whole number of steps >= 1 (None: one day)."""
    if pre_steps is not None and (isinstance(pre_steps, bool) or int(pre_steps) != pre_steps or pre_steps < 1):
        raise InputError("pre_steps", f"must be a whole number of steps >= 1, got {pre_steps!r}")


@dataclass(frozen=True)
class ScenarioSpec:
    """What to run. Steps are counted from the start of the traffic series.

    ``observe`` says what the demand-space (routed) models see: ``"links"`` (link loads and node
    totals; demands estimated by tomogravity) or ``"demands"`` (the true demands). ``interval``
    is the nominal coverage of every model's prediction interval (None: no intervals);
    ``warn_utilization`` the utilisation (fraction of capacity) an overload warning watches for.
    ``pre_steps``: the "pre" period is that many steps before the first failure (None: one day).
    ``counterfactual``: with failures, the same models also forecast the traffic without them.
    ``traffic_model``: the generator of synthetic traffic (``sine``, the paper's, or ``backbone``,
    a proxy for real backbone traffic: :data:`netdrift.engine.traffic.sources.TRAFFIC_MODELS`);
    specs stored before it existed load as ``sine``, which is what they ran.
    """

    topology: str = "geant2001"
    weights: str | None = None
    traffic: str = "synthetic"
    traffic_model: str = "sine"
    steps: int = 4032
    train_steps: int = 2016
    step_minutes: float = 5.0
    peak_utilization: float = 0.6
    models: tuple[str | ModelEntry, ...] = DEFAULT_MODELS
    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    failures: tuple[str, ...] = ()
    observe: str = "links"
    interval: float | None = 0.9
    warn_utilization: float | None = 0.9
    pre_steps: int | None = None
    counterfactual: bool = True
    seed: int = 0
    device: str = "cpu"
    metrics: MetricsConfig = field(default_factory=MetricsConfig)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (stored with the scenario); settings under their flat names."""
        d = asdict(self)
        d["forecast"] = self.forecast.to_flat()
        d["models"] = [m.label if isinstance(m, ModelEntry) else m for m in self.models]
        d["model_entries"] = [asdict(e) for e in parse_models(self.models)]
        d["failures"] = list(self.failures)
        return d


def spec_from_dict(stored: dict[str, Any]) -> ScenarioSpec:
    """The :class:`ScenarioSpec` whose :meth:`ScenarioSpec.to_dict` (or a run's stored config, which
    extends it) is ``stored``; keys that are not the spec's are ignored.

    >>> spec_from_dict(ScenarioSpec(topology="abilene", seed=3).to_dict()) == ScenarioSpec(topology="abilene", seed=3)
    True
    """
    names = set(ScenarioSpec.__dataclass_fields__)
    values = {k: v for k, v in stored.items() if k in names}
    if "model_entries" in stored:
        values["models"] = tuple(
            e["kind"] if e["label"] == e["kind"] and not e.get("overrides")  # a plain name stays a name
            else ModelEntry(e["label"], e["kind"], tuple(tuple(o) for o in e.get("overrides", ())))
            for e in stored["model_entries"])
    elif "models" in values:
        values["models"] = tuple(values["models"])
    if "forecast" in values:
        # A run stored before residual learning existed (issue 19) ran the paper's form.
        values["forecast"] = ForecastSettings.from_flat({"residual": False, **values["forecast"]})
    if "metrics" in values:
        values["metrics"] = MetricsConfig(**values["metrics"])
    values["failures"] = tuple(values.get("failures", ()))
    return ScenarioSpec(**values)


@dataclass(frozen=True)
class CheckedSpec:
    """A :class:`ScenarioSpec` validated once against ``topology`` (made by :func:`check_spec`):
    its model ``entries`` and its scheduled failure ``events``, in log order."""

    spec: ScenarioSpec
    topology: Topology
    entries: tuple[ModelEntry, ...]
    events: tuple[FailureEvent, ...]


def check_spec(spec: ScenarioSpec | CheckedSpec, topology: Topology) -> CheckedSpec:
    """Validate ``spec`` against ``topology``, once: the models and their overrides, the run
    lengths, the interval settings, the pre-failure period and the failures (known elements,
    inside the run and after training, none repeated). InputError names the first bad input.

    A spec already checked against this very topology is returned as it is.

    >>> from netdrift.engine.network.loaders import load_topology
    >>> checked = check_spec(ScenarioSpec(topology="abilene", steps=40, train_steps=30, failures=("0-1@33",)),
    ...                      load_topology("abilene"))
    >>> [e.step for e in checked.events], len(checked.entries) > 0
    ([33], True)
    """
    if isinstance(spec, CheckedSpec):
        if spec.topology is topology:
            return spec
        spec = spec.spec
    entries = parse_models(spec.models)
    for e in entries:
        e.settings(spec.forecast)
    check_run_lengths(spec.steps, spec.train_steps, spec.forecast)
    check_interval_settings(spec.interval, spec.warn_utilization)
    check_pre_steps(spec.pre_steps)
    events = events_from_specs(spec.failures, topology, spec.steps)
    refuse_repeated_failures(events)
    for event in events:
        check_event_step(event, spec.train_steps, spec.steps)
    return CheckedSpec(spec, topology, tuple(entries), tuple(events))
