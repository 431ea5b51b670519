"""Link-load forecasters compared through concept drift: liquid (frozen weights) vs incremental.

The package's names load lazily, so ``import netdrift.engine.forecasting.catalogue`` (the model list,
settings) does not import torch; only building a learnt model does.

Examples
--------
>>> import numpy as np
>>> from netdrift.engine.forecasting import ForecastConfig, ForecastInput, make_forecaster, time_features
>>> t = np.arange("2024-01-01", "2024-01-02", np.timedelta64(30, "m"), dtype="datetime64[m]")
>>> u = np.full((t.size, 2), 0.4, dtype="float32")
>>> m = make_forecaster("persistence", ForecastConfig(window=4, steps_per_day=48), seed=0)
>>> m.fit(u[:40], time_features(t[:40]))
>>> m.forecast(ForecastInput(40, u[36:40], time_features(t[36:41]))).point.tolist()
[[0.4000000059604645, 0.4000000059604645]]
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "ForecastConfig": "netdrift.engine.forecasting.settings",
    "ForecastSettings": "netdrift.engine.forecasting.settings",
    "LiquidSettings": "netdrift.engine.forecasting.settings",
    "MLPSettings": "netdrift.engine.forecasting.settings",
    "IncrementalSettings": "netdrift.engine.forecasting.settings",
    "NoSettings": "netdrift.engine.forecasting.settings",
    "ForecastInput": "netdrift.engine.forecasting.protocol",
    "Forecast": "netdrift.engine.forecasting.protocol",
    "Forecaster": "netdrift.engine.forecasting.base",
    "MODEL_NAMES": "netdrift.engine.forecasting.catalogue",
    "DEFAULT_MODELS": "netdrift.engine.forecasting.catalogue",
    "make_forecaster": "netdrift.engine.forecasting.catalogue",
    "model_info": "netdrift.engine.forecasting.catalogue",
    "N_TIME_FEATURES": "netdrift.engine.forecasting.features",
    "time_features": "netdrift.engine.forecasting.features",
    "resolve_device": "netdrift.engine.forecasting.torch_utils",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'netdrift.engine.forecasting' has no attribute {name!r}")
