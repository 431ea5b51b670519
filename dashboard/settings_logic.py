"""Settings view helpers: defaults, validation and device detection (no Streamlit here).

The Settings view stores in ``st.session_state``:

- ``"device"``: ``"auto"``, ``"cpu"`` or ``"cuda"``;
- ``"db_url"``: the history database URL (only once :func:`storage.database.open_database`
  accepted it);
- ``"forecast_config"``: a dict of :class:`engine.forecasting.base.ForecastConfig` fields;
- ``"topology_overrides"``: a dict (reserved for link edits; the Topology view stores the
  edited topology itself under ``"topology_choice"``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from engine.errors import InputError
from engine.forecasting.base import ForecastConfig

__all__ = [
    "DEVICES",
    "LIQUID_CELLS",
    "IL_MODES",
    "default_forecast_config",
    "forecast_config_errors",
    "detect_cuda",
]

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
LIQUID_CELLS: tuple[str, ...] = ("cfc", "ltc")
IL_MODES: tuple[str, ...] = ("refit", "warm")

_POSITIVE_INTS = ("window", "horizon", "liquid_units", "epochs", "il_batch", "il_window")


def default_forecast_config() -> dict[str, Any]:
    """The fields of a default ForecastConfig as a plain dict."""
    return dataclasses.asdict(ForecastConfig())


def forecast_config_errors(values: Mapping[str, Any]) -> list[str]:
    """Every problem with a set of model settings, as sentences (empty list: all fine).

    Checks what an operator can get wrong in the form (whole numbers >= 1, the IL window N
    longer than the IL batch B, known cell and mode) and then whatever ForecastConfig itself
    refuses.

    Examples
    --------
    >>> cfg = default_forecast_config()
    >>> forecast_config_errors(cfg)
    []
    >>> forecast_config_errors({**cfg, "il_batch": 288, "il_window": 288})
    ['IL window N (288) must be larger than the IL batch B (288): each refit needs more than the new samples.']
    """
    errors: list[str] = []
    for name in _POSITIVE_INTS:
        v = values.get(name)
        if v is None:
            continue
        if isinstance(v, bool) or int(v) != v or v < 1:
            errors.append(f"{name} must be a whole number >= 1, got {v!r}.")
    b, n = values.get("il_batch"), values.get("il_window")
    if b is not None and n is not None and n <= b:
        errors.append(
            f"IL window N ({n}) must be larger than the IL batch B ({b}): each refit needs more than the new samples."
        )
    if values.get("liquid_cell") is not None and str(values["liquid_cell"]).lower() not in LIQUID_CELLS:
        errors.append(f"liquid cell must be one of {', '.join(LIQUID_CELLS)}, got {values['liquid_cell']!r}.")
    if values.get("il_mode") is not None and values["il_mode"] not in IL_MODES:
        errors.append(f"IL mode must be one of {', '.join(IL_MODES)}, got {values['il_mode']!r}.")
    if errors:
        return errors
    known = {f.name for f in dataclasses.fields(ForecastConfig)}
    try:
        ForecastConfig(**{k: v for k, v in values.items() if k in known})
    except InputError as err:
        errors.append(str(err))
    except (TypeError, ValueError) as err:
        errors.append(f"model settings: {err}")
    return errors


def detect_cuda() -> tuple[bool, str | None]:
    """(CUDA available?, name of GPU 0 or None) as torch sees it."""
    import torch

    if not torch.cuda.is_available():
        return False, None
    try:
        return True, torch.cuda.get_device_name(0)
    except Exception:  # a driver that answers is_available but not the name
        return True, None
