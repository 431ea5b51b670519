"""Baselines that keep the learnt models honest: persistence and seasonal naive."""

from __future__ import annotations

import numpy as np

from netdrift.engine.forecasting.base import Forecaster
from netdrift.engine.forecasting.settings import ForecastConfig, NoSettings

__all__ = ["PersistenceForecaster", "SeasonalForecaster"]


class PersistenceForecaster(Forecaster[NoSettings]):
    """Every future step equals the last observed value (gaps forward-filled).

    Examples
    --------
    >>> import numpy as np
    >>> from netdrift.engine.forecasting import ForecastConfig, ForecastInput
    >>> m = PersistenceForecaster(ForecastConfig(window=2, horizon=2))
    >>> m.fit(np.zeros((4, 2), "float32"), np.zeros((4, 4), "float32"))
    >>> m.forecast(ForecastInput(4, np.array([[0.1, 0.2], [0.3, np.nan]]), np.zeros((4, 4)))).point.tolist()
    [[0.30000001192092896, 0.20000000298023224], [0.30000001192092896, 0.20000000298023224]]
    """

    name = "persistence"

    def _fit(self, history: np.ndarray, features: np.ndarray) -> None:
        return None

    def _forecast(self, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        return np.repeat(window[-1:], self.config.horizon, axis=0)

    def _observe(self, value: np.ndarray, features: np.ndarray) -> None:
        return None


class SeasonalForecaster(Forecaster[NoSettings]):
    """Seasonal naive: the value one day (``steps_per_day`` steps) before each target step.

    Keeps its own buffer of the last day of observations (from ``fit`` and ``observe``). Falls
    back to persistence while less than a day of history exists, and where the value a day
    earlier is missing. For H > one day, the target is matched to the latest observed step at a
    whole number of days before it.

    Examples
    --------
    >>> import numpy as np
    >>> from netdrift.engine.forecasting import ForecastConfig, ForecastInput
    >>> m = SeasonalForecaster(ForecastConfig(window=2, steps_per_day=3))
    >>> m.fit(np.array([[1.0], [2.0], [3.0]], "float32"), np.zeros((3, 4), "float32"))
    >>> m.forecast(ForecastInput(3, np.array([[2.0], [3.0]]), np.zeros((3, 4)))).point.tolist()  # a day before step 3
    [[1.0]]
    """

    name = "seasonal"
    replays_from_window = False  # its day buffer is keyed by the newest step, whatever the origin

    def __init__(self, config: ForecastConfig, settings: NoSettings | None = None, seed: int = 0,
                 device: str = "cpu") -> None:
        super().__init__(config, settings, seed, device)
        self._day = config.steps_per_day

    def _fit(self, history: np.ndarray, features: np.ndarray) -> None:
        s = self._day
        self._buf = np.full((s, history.shape[1]), np.nan, dtype=np.float32)
        tail = min(s, history.shape[0])
        self._total = history.shape[0]
        # Slot of absolute step i is i % s.
        for i in range(self._total - tail, self._total):
            self._buf[i % s] = history[i]

    def _forecast(self, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        s, horizon = self._day, self.config.horizon
        last = window[-1]
        out = np.empty((horizon, last.shape[0]), dtype=np.float32)
        for h in range(1, horizon + 1):
            target = self._total - 1 + h
            source = target - s * -(-h // s)  # latest whole-day lag that is already observed
            if source < 0:
                out[h - 1] = last
            else:
                past = self._buf[source % s]
                out[h - 1] = np.where(np.isfinite(past), past, last)
        return out

    def _observe(self, value: np.ndarray, features: np.ndarray) -> None:
        self._buf[self._total % self._day] = value
        self._total += 1

    def replay_at(self, observed: np.ndarray, origin: int) -> np.ndarray | None:
        """The forecast made at ``origin``, rebuilt from ``observed`` (the same rule as a forecast);
        NaN on the rows with no value a day before (a forecast would fall back to persistence
        there, which after a day of training it never does: not a sample of its errors).

        >>> m = SeasonalForecaster(ForecastConfig(window=2, steps_per_day=3, horizon=2))
        >>> m.replay_at(np.array([[1.0], [2.0], [3.0], [4.0]]), 4).tolist()  # days before 4, 5
        [[2.0], [3.0]]
        >>> m.replay_at(np.array([[1.0], [2.0], [3.0]]), 2).tolist()  # step 3 has step 0; step 2 none
        [[nan], [1.0]]
        """
        s, last = self._day, np.asarray(observed[origin - 1], dtype=np.float64)
        out = np.full((self.config.horizon, last.shape[0]), np.nan)
        for h in range(1, self.config.horizon + 1):
            source = origin - 1 + h - s * -(-h // s)
            if source >= 0:
                out[h - 1] = np.where(np.isfinite(observed[source]), observed[source], last)
        return out
