"""Model names -> forecaster classes, and the one factory the scenario runner calls."""

from __future__ import annotations

from engine.errors import InputError
from engine.forecasting.base import ForecastConfig, Forecaster
from engine.forecasting.baselines import PersistenceForecaster, SeasonalForecaster
from engine.forecasting.incremental import FrozenMLPForecaster, IncrementalForecaster
from engine.forecasting.liquid import LiquidForecaster
from engine.forecasting.torch_utils import resolve_device

__all__ = ["MODEL_NAMES", "make_forecaster"]

MODEL_NAMES = ("liquid", "incremental", "persistence", "seasonal", "frozen")

_CLASSES: dict[str, type[Forecaster]] = {
    "liquid": LiquidForecaster,
    "incremental": IncrementalForecaster,
    "persistence": PersistenceForecaster,
    "seasonal": SeasonalForecaster,
    "frozen": FrozenMLPForecaster,
}


def make_forecaster(
    name: str, config: ForecastConfig, seed: int, device: str = "cpu"
) -> Forecaster:
    """Build an unfitted forecaster by model name.

    Parameters
    ----------
    name : str
        One of ``MODEL_NAMES``.
    config : ForecastConfig
        Shared settings (window, horizon, model hyper-parameters).
    seed : int
        Seeds every random choice of the model (initialisation, mini-batches, re-fits).
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (resolved here).

    Raises
    ------
    InputError
        Unknown model name, or an unavailable device.

    Notes
    -----
    Same name, config, seed and data give bit-identical forecasts on CPU (within one torch
    build and thread count); on CUDA they are close but not guaranteed identical.

    Examples
    --------
    >>> m = make_forecaster("persistence", ForecastConfig(), seed=0)
    >>> m.name
    'persistence'
    >>> make_forecaster("arima", ForecastConfig(), seed=0)
    Traceback (most recent call last):
    ...
    engine.errors.InputError: model 'arima': unknown model; valid: liquid, incremental, persistence, seasonal, frozen
    """
    cls = _CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise InputError(f"model {name!r}", f"unknown model; valid: {', '.join(MODEL_NAMES)}")
    if not isinstance(config, ForecastConfig):
        raise InputError("config", f"expected a ForecastConfig, got {type(config).__name__}")
    return cls(config, seed=int(seed), device=resolve_device(device))
