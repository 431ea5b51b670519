"""Settings view helpers: defaults, validation and device detection (no Streamlit here).

The Settings view stores in ``st.session_state``:

- ``"device"``: ``"auto"``, ``"cpu"`` or ``"cuda"``;
- ``"db_url"``: the history database URL (only once :func:`netdrift.storage.database.open_database`
  accepted it);
- ``"forecast_settings"``: the model settings under their flat names (see
  :class:`netdrift.engine.forecasting.settings.ForecastSettings`), only once the engine accepted them;
- ``"interval"``: the coverage level of every model's prediction interval, or None (off);
- ``"warn_utilization"``: the overload warnings' threshold, a fraction of capacity.

The rules live in the engine's settings classes; this module only asks them and words the
answer for the form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Protocol, cast

from netdrift.engine.errors import InputError
from netdrift.engine.experiments.spec import ScenarioSpec
from netdrift.engine.forecasting.settings import IL_MODES, LIQUID_CELLS, ForecastSettings
from netdrift.engine.forecasting.settings_schema import form_fields, setting

__all__ = [
    "DEVICES",
    "LIQUID_CELLS",
    "IL_MODES",
    "SETTINGS_KEY",
    "INTERVAL_KEY",
    "WARN_KEY",
    "DEFAULT_INTERVAL",
    "DEFAULT_WARN",
    "interval_settings",
    "FIELD_LABELS",
    "default_forecast_settings",
    "settings_in_use",
    "changed_overrides",
    "overrides_text",
    "forecast_settings_errors",
    "detect_cuda",
    "device_choices",
    "device_label",
    "resolved_device",
    "missing_folder",
]

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
#: st.session_state key of the saved model settings (flat names -> values).
SETTINGS_KEY = "forecast_settings"
#: st.session_state keys of the interval level (None: off) and the warning threshold.
INTERVAL_KEY = "interval"
WARN_KEY = "warn_utilization"
#: The engine's defaults (ScenarioSpec's, written there once): 90 % intervals, warnings at 90 % of capacity.
DEFAULT_INTERVAL: float = cast(float, ScenarioSpec.__dataclass_fields__["interval"].default)
DEFAULT_WARN: float = cast(float, ScenarioSpec.__dataclass_fields__["warn_utilization"].default)
#: Flat setting name -> the Settings form's label for it (from the settings schema: the form's
#: fields and its messages).
FIELD_LABELS: dict[str, str] = {f.name: f.label for f in form_fields()}


def default_forecast_settings() -> dict[str, Any]:
    """Every model setting at its default, under its flat name.

    >>> s = default_forecast_settings()
    >>> s["window"], s["il_mode"]
    (24, 'warm')
    """
    return ForecastSettings().to_flat()


def forecast_settings_errors(values: Mapping[str, Any]) -> list[str]:
    """What the engine refuses in a set of flat model settings, as sentences (empty: all fine).

    The check is :meth:`ForecastSettings.from_flat`'s (unknown names included); its message
    is prefixed with the form field it is about.

    Examples
    --------
    >>> forecast_settings_errors(default_forecast_settings())
    []
    >>> forecast_settings_errors({"il_batch": 288, "il_window": 288})
    ['IL window N (re-fit on last N steps): il_window (N=288): must be greater than il_batch (B=288)']
    >>> forecast_settings_errors({"windw": 12})[0][:34]
    "model setting 'windw': unknown; va"
    """
    try:
        ForecastSettings.from_flat(values)
    except InputError as err:
        name = err.what.split(" ", 1)[0]
        label = FIELD_LABELS.get(name)
        return [f"{label}: {err}" if label else str(err)]
    return []


def settings_in_use(overrides: Mapping[str, Any] | None, baseline: ForecastSettings) -> dict[str, Any]:
    """The model settings a run will use: ``baseline`` (the Live page's preset) with the Settings
    page's ``overrides`` (only what the user changed) applied, under flat names.

    >>> base = ForecastSettings.from_flat({"epochs": 6, "il_batch": 24})
    >>> s = settings_in_use({"window": 12}, base)
    >>> s["window"], s["epochs"], s["il_batch"]
    (12, 6, 24)
    """
    return baseline.with_flat(dict(overrides or {})).to_flat()


def changed_overrides(shown: Mapping[str, Any], submitted: Mapping[str, Any], overrides: Mapping[str, Any] | None,
                      baseline: ForecastSettings) -> dict[str, Any]:
    """The overrides after a save: the ones before, plus each field whose submitted value differs
    from the one shown; an override equal to the baseline's value is dropped (nothing to say).

    >>> base = ForecastSettings.from_flat({"epochs": 6})
    >>> shown = settings_in_use({"window": 12}, base)
    >>> changed_overrides(shown, {**shown, "epochs": 9}, {"window": 12}, base)
    {'window': 12, 'epochs': 9}
    >>> changed_overrides(shown, {**shown, "window": 24}, {"window": 12}, base)   # back to the preset's
    {}
    """
    out = dict(overrides or {})
    out.update({k: v for k, v in submitted.items() if v != shown.get(k)})
    flat = baseline.to_flat()
    return {k: v for k, v in out.items() if flat.get(k) != v}


def overrides_text(overrides: Mapping[str, Any]) -> str:
    """The Settings page's changes, as the Live page states them.

    >>> overrides_text({"window": 12, "il_mode": "refit", "residual": False})
    'Window W (steps fed to the model) 12, IL mode refit, Learn a correction to a strong base off'
    """
    def value(name: str, v: Any) -> str:
        return ("on" if v else "off") if isinstance(v, bool) else str(v)

    return ", ".join(f"{setting(k).label} {value(k, v)}" for k, v in overrides.items())


def detect_cuda() -> tuple[bool, str | None]:
    """(CUDA available?, name of GPU 0 or None) as torch sees it."""
    import torch

    if not torch.cuda.is_available():
        return False, None
    try:
        return True, torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001 - a driver that answers is_available but not the name
        return True, None


def device_choices(cuda: bool) -> tuple[str, ...]:
    """The device radio's choices: cuda only where a CUDA GPU is detected."""
    return DEVICES if cuda else tuple(d for d in DEVICES if d != "cuda")


def resolved_device(choice: str, cuda: bool) -> str:
    """The device a choice runs on: auto is the GPU when one is detected, else the CPU.

    >>> resolved_device("auto", False), resolved_device("auto", True), resolved_device("cpu", True)
    ('cpu', 'cuda', 'cpu')
    """
    return "cuda" if choice in ("auto", "cuda") and cuda else "cpu"


def device_label(choice: str, cuda: bool) -> str:
    """The radio's text for a choice: ``"auto (cpu)"`` says what auto resolves to.

    >>> device_label("auto", False), device_label("auto", True), device_label("cpu", False)
    ('auto (cpu)', 'auto (cuda)', 'cpu')
    """
    return f"auto ({resolved_device(choice, cuda)})" if choice == "auto" else choice


def missing_folder(url: str) -> Path | None:
    """The folder a SQLite ``url`` would need that does not exist, else None (other URLs, and
    malformed ones, which the database opener words). The Settings page asks before creating it:
    a typo would otherwise create folders anywhere, as the server's user.

    >>> str(missing_folder("sqlite:////no/such/folder/h.sqlite"))
    '/no/such/folder'
    >>> missing_folder("sqlite://") is None, missing_folder("postgresql://h/db") is None
    (True, True)
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from netdrift.service.history import sqlite_path

    try:
        path = sqlite_path(make_url(url))
    except ArgumentError:
        return None
    if path is None or path.absolute().parent.is_dir():
        return None
    return path.absolute().parent


class Getter(Protocol):
    """What is read from: a mapping, or Streamlit's session state (which mypy does not see as one)."""

    def get(self, key: str, default: Any, /) -> Any: ...


def interval_settings(state: Getter) -> tuple[float | None, float]:
    """(interval level or None, warning threshold) from the session state, defaults when unset.

    >>> interval_settings({}), interval_settings({"interval": None, "warn_utilization": 0.8})
    ((0.9, 0.9), (None, 0.8))
    """
    return state.get(INTERVAL_KEY, DEFAULT_INTERVAL), state.get(WARN_KEY, DEFAULT_WARN)
