"""One schema of the model settings: each flat setting's flag, label, help, choices and bounds.

The values and their checks live in :mod:`netdrift.engine.forecasting.settings` (every default
is written there once, in the dataclasses); this schema says how a user sets each one. The
CLI options (``--window``...), the error-to-flag map and the dashboard's Settings form are
generated from it, so a setting is named and bounded in one place.

>>> f = setting("il_batch")
>>> f.flag, f.minimum, f.default
('--il-batch', 1, 48)
>>> setting("liquid_cell").choices
('cfc', 'ltc')
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.settings import IL_MODES, LIQUID_CELLS, LIQUID_WIRINGS, ForecastSettings

__all__ = ["SettingField", "SETTINGS_SCHEMA", "setting", "cli_fields", "form_fields", "parse_value"]


@dataclass(frozen=True)
class SettingField:
    """How one flat model setting is set: ``label`` (a form's), ``help`` (both), ``kind`` (int,
    float, str or bool), ``choices`` (for str), ``minimum``/``maximum`` (for numbers), and where
    it is offered: ``cli`` (a ``netdrift run`` / ``paper`` flag) and ``form`` (the dashboard's)."""

    name: str
    label: str
    help: str
    kind: type
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    cli: bool = True
    form: bool = False

    @property
    def flag(self) -> str:
        """The CLI flag: ``--`` and the name with dashes."""
        return "--" + self.name.replace("_", "-")

    @property
    def default(self) -> Any:
        """The engine's default (written once, in the settings dataclasses)."""
        return _defaults()[self.name]

    def bounds_text(self) -> str:
        """``"1..4096"``, ``"0..0.9"``, or the choices, for help texts."""
        if self.choices:
            return " | ".join(self.choices)
        if self.kind is bool:
            return "on | off"
        return f"{_number_text(self.minimum)}..{_number_text(self.maximum)}"

    @property
    def metavar(self) -> str | None:
        """The flag's value in help: N (whole number), X (number), on|off; None with choices."""
        if self.choices:
            return None
        return {int: "N", float: "X", bool: "on|off"}.get(self.kind, "TEXT")


def _number_text(x: float | None) -> str:
    if x is None:
        return ""
    return f"{int(x):,}" if float(x).is_integer() and abs(x) >= 1 else f"{x:g}"


@lru_cache(maxsize=1)
def _defaults() -> dict[str, Any]:
    return ForecastSettings().to_flat()


_I, _F, _S, _B = int, float, str, bool
#: Every flat setting, in the order forms and help list them.
SETTINGS_SCHEMA: tuple[SettingField, ...] = (
    SettingField("window", "Window W (steps fed to the model)", "W: observations fed to each model", _I, None, 1,
                 10_000, form=True),
    SettingField("horizon", "Horizon H (steps ahead)", "H: steps forecast ahead", _I, None, 1, 10_000, form=True),
    SettingField("steps_per_day", "Steps per day", "set from the step length", _I, None, 1, 1_440_000, cli=False),
    SettingField("epochs", "Epochs (initial fit)", "training epochs of the initial fit", _I, None, 1, 10_000,
                 form=True),
    SettingField("lr", "Learning rate", "Adam learning rate of every fit", _F, None, 1e-6, 1.0, cli=False),
    SettingField("train_windows", "Training windows per pass", "windows sampled per training pass", _I, None, 1,
                 10_000_000),
    SettingField("batch_size", "Batch size", "mini-batch size of every fit", _I, None, 1, 1_000_000, cli=False),
    SettingField("residual", "Learn a correction to a strong base",
                 "on: learnt models forecast a shrunk correction to a persistence/seasonal base on robustly scaled "
                 "inputs; off: the paper's original form (the default of netdrift paper)", _B, form=True),
    SettingField("liquid_cell", "Liquid cell", "liquid network cell: CfC (closed form, fast) or LTC (ODE, slower)",
                 _S, LIQUID_CELLS, form=True),
    SettingField("liquid_units", "Liquid units", "liquid network hidden units", _I, None, 1, 4096, form=True),
    SettingField("liquid_wiring", "Liquid wiring", "fully connected or an AutoNCP sparse wiring", _S, LIQUID_WIRINGS),
    SettingField("ltc_epochs", "LTC epochs", "training epochs of the LTC fit", _I, None, 1, 10_000),
    SettingField("ltc_unfolds", "LTC unfolds", "LTC ODE solver steps per input step", _I, None, 1, 64),
    SettingField("mlp_hidden", "MLP width", "hidden units of the MLPs (frozen, incremental)", _I, None, 1, 4096,
                 cli=False),
    SettingField("il_batch", "IL batch B (re-fit every B samples)", "B: incremental re-fit every B new samples", _I,
                 None, 1, 100_000, form=True),
    SettingField("il_window", "IL window N (re-fit on last N steps)", "N: incremental re-fit on the last N samples",
                 _I, None, 1, 1_000_000, form=True),
    SettingField("il_mode", "IL mode", "incremental re-fit from scratch (refit) or warm start (warm)", _S, IL_MODES,
                 form=True),
    SettingField("il_epochs", "IL epochs (warm re-fit)", "passes of a warm incremental re-fit", _I, None, 1, 10_000,
                 cli=False),
    SettingField("il_replay", "IL replay share", "share of each incremental re-fit's windows replayed from the "
                 "training period", _F, None, 0.0, 0.9),
    SettingField("ar_order", "AR order p", "past differences the online AR model regresses on", _I, None, 1, 1024,
                 cli=False),
    SettingField("ar_forgetting", "AR forgetting factor", "RLS forgetting factor in (0, 1]", _F, None, 1e-6, 1.0,
                 cli=False),
    SettingField("ar_max_norm", "AR coefficient norm limit", "largest norm of a direction's AR coefficients", _F,
                 None, 1e-6, 1e6, cli=False),
    SettingField("stateful_seq_len", "Stateful sequence length", "steps of each training sequence", _I, None, 2,
                 100_000, cli=False),
    SettingField("stateful_tbptt", "Stateful TBPTT chunk", "steps per truncated back-propagation chunk", _I, None,
                 1, 100_000, cli=False),
)

_BY_NAME = {f.name: f for f in SETTINGS_SCHEMA}
if set(_BY_NAME) != set(ForecastSettings.flat_names()):  # pragma: no cover - a setting added without its field
    raise RuntimeError(f"settings schema and ForecastSettings disagree: "
                       f"{sorted(set(_BY_NAME) ^ set(ForecastSettings.flat_names()))}")


def setting(name: str) -> SettingField:
    """The schema field of flat setting ``name`` (InputError naming the valid ones)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise InputError(f"model setting '{name}'", f"unknown; valid: {', '.join(_BY_NAME)}") from None


def cli_fields() -> tuple[SettingField, ...]:
    """The settings offered as ``netdrift run`` / ``paper`` flags."""
    return tuple(f for f in SETTINGS_SCHEMA if f.cli)


def form_fields() -> tuple[SettingField, ...]:
    """The settings on the dashboard's Settings form."""
    return tuple(f for f in SETTINGS_SCHEMA if f.form)


def parse_value(field: SettingField, text: str) -> Any:
    """A flag's text as the setting's value, within its bounds (ValueError with the reason:
    argparse words it as one line naming the flag).

    >>> parse_value(setting("il_replay"), "0.25"), parse_value(setting("residual"), "off")
    (0.25, False)
    >>> parse_value(setting("window"), "0")
    Traceback (most recent call last):
    ...
    ValueError: must be a whole number in 1..10,000, got '0'
    """
    if field.kind is bool:
        if text not in ("on", "off"):
            raise ValueError(f"must be on or off, got {text!r}")
        return text == "on"
    if field.kind is str:
        if field.choices and text not in field.choices:
            raise ValueError(f"must be one of {', '.join(field.choices)}, got {text!r}")
        return text
    try:
        value = int(text) if field.kind is int else float(text)
    except ValueError:
        raise ValueError(f"must be a {'whole ' if field.kind is int else ''}number in {field.bounds_text()}, "
                         f"got {text!r}") from None
    if value != value or (field.minimum is not None and value < field.minimum) \
            or (field.maximum is not None and value > field.maximum):
        raise ValueError(f"must be a {'whole ' if field.kind is int else ''}number in {field.bounds_text()}, "
                         f"got {text!r}")
    return value
