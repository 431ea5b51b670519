"""Model settings: what every model shares, and one settings class per model kind.

:class:`ForecastConfig` holds what every forecaster of a scenario shares (window, horizon, the
initial fit's passes and optimiser). Each model kind has its own settings class (liquid cell,
incremental batch and window, MLP width); a kind with nothing to set has :class:`NoSettings`.
:class:`ForecastSettings` bundles the shared settings with one object per kind and is what a
scenario carries. Its flat form (``{"window": 24, "il_batch": 48, ...}``) is what the CLI flags,
the dashboard's Settings page and the stored history use; an unknown name is refused.

Importing this module does not import torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Mapping

import numpy as np

from netdrift.engine.errors import InputError

__all__ = [
    "ForecastConfig",
    "ModelSettings",
    "NoSettings",
    "LiquidSettings",
    "MLPSettings",
    "IncrementalSettings",
    "HybridSettings",
    "OnlineARSettings",
    "StatefulSettings",
    "StatefulLiquidSettings",
    "ForecastSettings",
    "LIQUID_CELLS",
    "LIQUID_WIRINGS",
    "IL_MODES",
]

LIQUID_CELLS = ("cfc", "ltc")
LIQUID_WIRINGS = ("full", "autoncp")
IL_MODES = ("refit", "warm")


def _check_positive_ints(obj: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise InputError(name, f"must be an integer, got {value!r}")
        if value < 1:
            raise InputError(name, f"must be >= 1, got {value}")


def _check_choice(name: str, value: object, valid: tuple[str, ...], what: str) -> None:
    if value not in valid:
        raise InputError(f"{name} {value!r}", f"unknown {what}; valid: {', '.join(valid)}")


@dataclass(frozen=True)
class ForecastConfig:
    """Settings every forecaster of a scenario shares.

    Parameters
    ----------
    window : int
        W, observations fed to the model.
    horizon : int
        H, steps forecast ahead.
    steps_per_day : int
        Steps in one day (288 at 5-minute steps); the seasonal baseline's lag. A scenario sets
        it from its step length.
    epochs : int
        Initial fit of the learnt models (CfC, MLPs): passes, each over ``train_windows``
        windows sampled afresh from the training period (all directions).
    lr : float
        Adam learning rate for every fit and re-fit.
    train_windows : int
        Windows sampled per pass (fewer when fewer exist).
    batch_size : int
        Mini-batch size of every fit.
    residual : bool
        True (default): every learnt model forecasts a correction to a strong base on robustly
        scaled inputs, shrunk online towards that base (:mod:`netdrift.engine.forecasting.residual`).
        False: the paper's original form (the nets on raw utilisation, their forecast used as is);
        ``netdrift paper`` uses it so that the paper's comparison stays reproducible.

    Examples
    --------
    >>> ForecastConfig(window=12).horizon
    1
    >>> ForecastConfig(window=0)
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: window: must be >= 1, got 0
    """

    window: int = 24
    horizon: int = 1
    steps_per_day: int = 288
    epochs: int = 24
    lr: float = 3e-3
    train_windows: int = 8192
    batch_size: int = 256
    residual: bool = True

    def __post_init__(self) -> None:
        _check_positive_ints(self, ("window", "horizon", "steps_per_day", "epochs", "train_windows", "batch_size"))
        if not isinstance(self.residual, (bool, np.bool_)):
            raise InputError("residual", f"must be true or false, got {self.residual!r}")
        if not (isinstance(self.lr, (int, float)) and np.isfinite(self.lr) and self.lr > 0):
            raise InputError("lr", f"must be a positive number, got {self.lr!r}")


@dataclass(frozen=True)
class ModelSettings:
    """Base of the per-kind settings; :meth:`check` validates them against the shared ones."""

    def check(self, common: ForecastConfig) -> None:
        """Refuse settings that cannot work with ``common`` (InputError); nothing by default."""


@dataclass(frozen=True)
class NoSettings(ModelSettings):
    """A model with nothing to set (persistence, seasonal naive)."""


@dataclass(frozen=True)
class LiquidSettings(ModelSettings):
    """The liquid network.

    Parameters
    ----------
    liquid_cell : {"cfc", "ltc"}
        CfC (closed-form, fast) or LTC (the ODE of the paper, ~10x slower per step).
    liquid_units : int
        Neurons of the cell. With ``"autoncp"`` wiring a quarter of them are motor neurons, so
        it must be >= 8.
    liquid_wiring : {"full", "autoncp"}
        Fully connected cell or an ``ncps.wirings.AutoNCP`` sparse wiring.
    ltc_epochs : int
        Initial fit passes when ``liquid_cell="ltc"``: LTC is much slower per step than CfC on
        CPU, so by default it gets 1/3 of CfC's epochs (about the same fit time).
    ltc_unfolds : int
        Solver steps of LTC's ODE per input step (ncps' ``ode_unfolds``; ncps defaults to 6).
        Measured on Geant2001 (2 weeks, 5-minute steps, drastic failure): 3 unfolds gave the
        same RMSE as 6 (4.205 vs 4.204 Mbit/s post-failure) at half the fit time and 20 vs
        30 ms per forecast step; the time saved goes into ``ltc_epochs``.

    Examples
    --------
    >>> LiquidSettings(liquid_wiring="autoncp", liquid_units=4)
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: liquid_units (4): AutoNCP wiring needs at least 8 units
    """

    liquid_cell: str = "cfc"
    liquid_units: int = 16
    liquid_wiring: str = "full"
    ltc_epochs: int = 8
    ltc_unfolds: int = 3

    def __post_init__(self) -> None:
        _check_positive_ints(self, ("liquid_units", "ltc_epochs", "ltc_unfolds"))
        _check_choice("liquid_cell", self.liquid_cell, LIQUID_CELLS, "cell")
        _check_choice("liquid_wiring", self.liquid_wiring, LIQUID_WIRINGS, "wiring")
        if self.liquid_wiring == "autoncp" and self.liquid_units < 8:
            raise InputError(f"liquid_units ({self.liquid_units})", "AutoNCP wiring needs at least 8 units")


@dataclass(frozen=True)
class MLPSettings(ModelSettings):
    """The MLP of the frozen baseline (and of incremental learning).

    ``mlp_hidden`` is the width of its two hidden layers.
    """

    mlp_hidden: int = 64

    def __post_init__(self) -> None:
        _check_positive_ints(self, ("mlp_hidden",))


@dataclass(frozen=True)
class IncrementalSettings(MLPSettings):
    """Incremental learning: the MLP re-fitted every B new samples on the last N.

    Parameters
    ----------
    il_batch : int
        B: the model re-fits each time B new samples have been observed.
    il_window : int
        N: each re-fit uses the most recent N observed steps (all directions). Must be > B and
        > window + horizon.
    il_mode : {"refit", "warm"}
        ``"warm"`` (default) continues from the current weights for ``il_epochs`` passes: it
        keeps what the model knew, and fits the 0.3 s re-fit budget. ``"refit"`` re-initialises
        the MLP (seeded per re-fit) and trains it for ``epochs`` passes on the last N steps only.
    il_epochs : int
        Passes of a warm re-fit over windows of the last N steps.
    il_replay : float
        Share of each re-fit's windows replayed from the training period (rehearsal against
        forgetting what the last N steps do not show, e.g. the other days of the week); 0 = none.

    Examples
    --------
    >>> IncrementalSettings(il_batch=5, il_window=60).il_mode
    'warm'
    >>> IncrementalSettings(il_batch=48, il_window=48)
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: il_window (N=48): must be greater than il_batch (B=48)
    """

    il_batch: int = 48
    il_window: int = 288
    il_mode: str = "warm"
    il_epochs: int = 2
    il_replay: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_positive_ints(self, ("il_batch", "il_window", "il_epochs"))
        _check_choice("il_mode", self.il_mode, IL_MODES, "mode")
        if not (isinstance(self.il_replay, (int, float)) and 0.0 <= self.il_replay <= 0.9):
            raise InputError("il_replay", f"must be a share between 0 and 0.9, got {self.il_replay!r}")
        if self.il_window <= self.il_batch:
            raise InputError(f"il_window (N={self.il_window})", f"must be greater than il_batch (B={self.il_batch})")

    def check(self, common: ForecastConfig) -> None:
        if self.il_window <= common.window + common.horizon:
            raise InputError(
                f"il_window (N={self.il_window})",
                f"must be greater than window + horizon ({common.window + common.horizon}) "
                "so that a re-fit has at least one training window",
            )


@dataclass(frozen=True)
class OnlineARSettings(ModelSettings):
    """The online autoregressive baseline on first differences (recursive least squares).

    Parameters
    ----------
    ar_order : int
        p: past differences the AR model regresses the next difference on. Measured on the
        forecaster benchmark's synthetic data (H=12): RMSE 0.0160 with 24, 0.0186 with 12
        (persistence 0.0301), at about 0.25 and 0.15 ms per step for 76 directions.
    ar_forgetting : float
        RLS forgetting factor in (0, 1]: past samples weigh ``ar_forgetting ** age``, so the
        model remembers about ``1 / (1 - ar_forgetting)`` steps (500 at 0.998); 1 never forgets.
    ar_max_norm : float
        Largest L2 norm of a direction's AR coefficients (on differences scaled by their running
        spread); a larger estimate is scaled back to it after every update.

    Examples
    --------
    >>> OnlineARSettings().ar_order
    24
    >>> OnlineARSettings(ar_forgetting=1.5)
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: ar_forgetting: must be in (0, 1], got 1.5
    """

    ar_order: int = 24
    ar_forgetting: float = 0.998
    ar_max_norm: float = 3.0

    def __post_init__(self) -> None:
        _check_positive_ints(self, ("ar_order",))
        f = self.ar_forgetting
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not (np.isfinite(f) and 0 < f <= 1):
            raise InputError("ar_forgetting", f"must be in (0, 1], got {f!r}")
        n = self.ar_max_norm
        if isinstance(n, bool) or not isinstance(n, (int, float)) or not (np.isfinite(n) and n > 0):
            raise InputError("ar_max_norm", f"must be a positive number, got {n!r}")


@dataclass(frozen=True)
class StatefulSettings(ModelSettings):
    """What the stateful liquid network adds to the liquid settings: its training sequences.

    Parameters
    ----------
    stateful_seq_len : int
        Steps of each training sequence (one direction, a stretch of the training period; fewer
        when the period is shorter). Each pass uses about ``train_windows * window`` sequence
        steps, the same number of cell steps as the windowed liquid model's pass.
    stateful_tbptt : int
        Truncated back-propagation: after a warm-up of ``min(stateful_tbptt, seq_len // 4)``
        steps (no loss), the sequence is cut into chunks of this many steps, one optimizer step
        each, the state carried (detached) from one chunk to the next.

    Notes
    -----
    Measured on Geant2001 (5-minute steps, H=12, 4 training days, RMSE over the next 20 h):
    192/16 0.0021, 128/16 0.0021, 256/16 0.0026, 256/32 0.0024 (the windowed liquid model
    0.0022). The trained cell forgets its start within ~64 steps, so longer sequences add
    little; shorter chunks give more optimizer steps per pass, which is what helped.
    """

    stateful_seq_len: int = 192
    stateful_tbptt: int = 16

    def __post_init__(self) -> None:
        _check_positive_ints(self, ("stateful_seq_len", "stateful_tbptt"))
        if self.stateful_seq_len < 2:
            raise InputError("stateful_seq_len", f"must be >= 2, got {self.stateful_seq_len}")


@dataclass(frozen=True)
class StatefulLiquidSettings(StatefulSettings, LiquidSettings):
    """The stateful liquid network's settings: the liquid ones (units, wiring) and its own.

    Its cell is always CfC (``liquid_cell`` is not used). :class:`ForecastSettings` keeps the
    liquid part once (shared with ``liquid``) and the rest in :class:`StatefulSettings`.

    Examples
    --------
    >>> s = StatefulLiquidSettings(liquid_units=8, stateful_tbptt=8)
    >>> s.liquid_units, s.stateful_seq_len, s.stateful_tbptt
    (8, 192, 8)
    """

    def __post_init__(self) -> None:
        LiquidSettings.__post_init__(self)
        StatefulSettings.__post_init__(self)


@dataclass(frozen=True)
class HybridSettings(IncrementalSettings, LiquidSettings):
    """The hybrid's settings: those of its two inner models, the liquid and the incremental one.

    Flat (the liquid names, then the incremental ones), so a variant such as ``hybrid-b12``
    overrides ``il_batch`` as ``incremental-b12`` does; :class:`ForecastSettings` keeps no copy of
    its own (the hybrid uses the scenario's ``liquid`` and ``incremental`` settings).

    Examples
    --------
    >>> s = HybridSettings(liquid_units=8, il_batch=12)
    >>> s.liquid.liquid_units, s.incremental.il_batch, s.incremental.il_window
    (8, 12, 288)
    """

    def __post_init__(self) -> None:
        LiquidSettings.__post_init__(self)
        IncrementalSettings.__post_init__(self)

    @property
    def liquid(self) -> LiquidSettings:
        """The inner liquid model's settings."""
        return LiquidSettings(**{n: getattr(self, n) for n in _names(LiquidSettings)})

    @property
    def incremental(self) -> IncrementalSettings:
        """The inner incremental model's settings."""
        return IncrementalSettings(**{n: getattr(self, n) for n in _names(IncrementalSettings)})


def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class ForecastSettings:
    """Every model setting of a scenario: the shared ones and one object per settings class.

    Settings classes, not model kinds, are the unit: ``frozen`` and ``incremental`` share the
    MLP width (the frozen model is the incremental one with re-fitting off, so the two must be
    the same network). :meth:`for_class` gives a model its own settings.

    Examples
    --------
    >>> s = ForecastSettings.from_flat({"window": 12, "il_batch": 12, "mlp_hidden": 32})
    >>> s.common.window, s.for_class(IncrementalSettings).il_batch, s.for_class(MLPSettings).mlp_hidden
    (12, 12, 32)
    >>> ForecastSettings.from_flat({"windw": 12})
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: model setting 'windw': unknown; valid: window, horizon, steps_per_day, epochs, lr, train_windows, batch_size, residual, liquid_cell, liquid_units, liquid_wiring, ltc_epochs, ltc_unfolds, mlp_hidden, il_batch, il_window, il_mode, il_epochs, il_replay, ar_order, ar_forgetting, ar_max_norm, stateful_seq_len, stateful_tbptt
    """

    common: ForecastConfig = field(default_factory=ForecastConfig)
    liquid: LiquidSettings = field(default_factory=LiquidSettings)
    incremental: IncrementalSettings = field(default_factory=IncrementalSettings)
    online_ar: OnlineARSettings = field(default_factory=OnlineARSettings)
    stateful: StatefulSettings = field(default_factory=StatefulSettings)

    #: Settings classes in the order their names are listed; MLPSettings' one field is read
    #: from (and written to) ``incremental``, which extends it; StatefulLiquidSettings is
    #: ``liquid`` plus ``stateful``.
    @staticmethod
    def flat_names() -> tuple[str, ...]:
        """Every valid flat setting name, shared ones first."""
        return (_names(ForecastConfig) + _names(LiquidSettings) + _names(IncrementalSettings)
                + _names(OnlineARSettings) + _names(StatefulSettings))

    @classmethod
    def from_flat(cls, values: Mapping[str, Any]) -> "ForecastSettings":
        """Build from flat names (unknown names refused, the rest left at their defaults)."""
        return cls().with_flat(values)

    def with_flat(self, values: Mapping[str, Any]) -> "ForecastSettings":
        """A copy with the flat ``values`` applied; every setting checked, unknown names refused."""
        valid = self.flat_names()
        for name in values:
            if name not in valid:
                raise InputError(f"model setting '{name}'", f"unknown; valid: {', '.join(valid)}")

        def pick(obj: Any) -> Any:
            chosen = {k: v for k, v in values.items() if k in _names(type(obj))}
            return replace(obj, **chosen) if chosen else obj

        out = ForecastSettings(pick(self.common), pick(self.liquid), pick(self.incremental), pick(self.online_ar),
                               pick(self.stateful))
        out.incremental.check(out.common)
        return out

    def to_flat(self) -> dict[str, Any]:
        """All settings under their flat names (what the history stores as ``forecast``)."""
        return {**asdict(self.common), **asdict(self.liquid), **asdict(self.incremental), **asdict(self.online_ar),
                **asdict(self.stateful)}

    def for_class(self, settings_class: type[ModelSettings]) -> ModelSettings:
        """The settings object of ``settings_class`` (MLPSettings from the incremental ones,
        StatefulLiquidSettings from the liquid and stateful ones, HybridSettings from the liquid and
        incremental ones)."""
        if settings_class is NoSettings:
            return NoSettings()
        if settings_class is LiquidSettings:
            return self.liquid
        if settings_class is IncrementalSettings:
            return self.incremental
        if settings_class is MLPSettings:
            return MLPSettings(mlp_hidden=self.incremental.mlp_hidden)
        if settings_class is OnlineARSettings:
            return self.online_ar
        if settings_class is StatefulLiquidSettings:
            return StatefulLiquidSettings(**asdict(self.liquid), **asdict(self.stateful))
        if settings_class is HybridSettings:
            return HybridSettings(**asdict(self.liquid), **asdict(self.incremental))
        raise InputError("settings class", f"{settings_class.__name__} is not a netdrift model settings class")

    def with_steps_per_day(self, steps_per_day: int) -> "ForecastSettings":
        """A copy whose shared settings know the scenario's day length."""
        return replace(self, common=replace(self.common, steps_per_day=int(steps_per_day)))
