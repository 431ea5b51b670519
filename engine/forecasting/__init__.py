"""Link-load forecasters compared through concept drift: liquid (frozen weights) vs incremental.

Examples
--------
>>> import numpy as np
>>> from engine.forecasting import ForecastConfig, make_forecaster, time_features
>>> t = np.arange("2024-01-01", "2024-01-02", np.timedelta64(30, "m"), dtype="datetime64[m]")
>>> u = np.full((t.size, 2), 0.4, dtype="float32")
>>> m = make_forecaster("persistence", ForecastConfig(window=4, steps_per_day=48), seed=0)
>>> m.fit(u[:40], time_features(t[:40]))
>>> m.forecast(u[36:40], time_features(t[36:41])).tolist()
[[0.4000000059604645, 0.4000000059604645]]
"""

from engine.forecasting.base import ForecastConfig, Forecaster
from engine.forecasting.features import N_TIME_FEATURES, time_features
from engine.forecasting.registry import MODEL_NAMES, make_forecaster
from engine.forecasting.torch_utils import resolve_device

__all__ = [
    "ForecastConfig",
    "Forecaster",
    "MODEL_NAMES",
    "N_TIME_FEATURES",
    "make_forecaster",
    "resolve_device",
    "time_features",
]
