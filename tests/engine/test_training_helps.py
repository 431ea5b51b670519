"""Training helps: a fitted model beats persistence on a series it can learn.

The series is a short-period sinusoid per link direction (different phases, small seeded
noise). Persistence is off by a whole step's change at every step; a model that has learnt
the shape from the training part should forecast close to the noise level.
"""

from __future__ import annotations

import numpy as np
import pytest

from netdrift.engine.forecasting import ForecastConfig, ForecastInput, make_forecaster, time_features

PERIOD, DIRECTIONS, STEPS, TRAIN = 12, 4, 360, 240
CFG = ForecastConfig(window=12, horizon=1, epochs=4, train_windows=512, batch_size=64)


def periodic_series() -> tuple[np.ndarray, np.ndarray]:
    """(STEPS, D) utilisation and (STEPS + horizon, F) time features at 5-minute steps."""
    rng = np.random.default_rng(0)
    t = np.arange(STEPS)[:, None]
    phases = np.linspace(0.0, np.pi, DIRECTIONS)[None, :]
    u = 0.5 + 0.2 * np.sin(2 * np.pi * t / PERIOD + phases) + rng.normal(0.0, 0.01, (STEPS, DIRECTIONS))
    times = np.datetime64("2024-01-01T00:00") + np.arange(STEPS + CFG.horizon) * np.timedelta64(5, "m")
    return u.astype(np.float32), time_features(times)


def _stream_rmse(model, series: np.ndarray, feats: np.ndarray, train: int) -> float:
    """Stream steps [train, T): forecast from the last W steps, then observe the actual.

    RMSE of the 1-step-ahead forecasts over every step and direction. The only place that
    speaks the forecaster's streaming protocol.
    """
    w, h = CFG.window, CFG.horizon
    errors = []
    for s in range(train, series.shape[0]):
        pred = model.forecast(ForecastInput(s, series[s - w:s], feats[s - w:s + h])).point
        model.observe(series[s], feats[s])
        errors.append(pred[0] - series[s])
    return float(np.sqrt(np.mean(np.square(errors))))


def _fitted(name: str, series: np.ndarray, feats: np.ndarray):
    model = make_forecaster(name, CFG, seed=0)
    model.fit(series[:TRAIN], feats[:TRAIN])
    return model


def test_the_stream_scores_persistence_as_the_lag_one_error():
    # Checks the helper itself: persistence's forecast is the previous value, by hand.
    series, feats = periodic_series()
    by_hand = np.sqrt(np.mean((series[TRAIN - 1:-1] - series[TRAIN:]) ** 2))
    assert _stream_rmse(_fitted("persistence", series, feats), series, feats, TRAIN) == pytest.approx(by_hand,
                                                                                                      rel=1e-5)


@pytest.mark.parametrize("name", ["frozen", "liquid"])
def test_a_trained_model_beats_persistence_on_a_periodic_series(name):
    series, feats = periodic_series()
    baseline = float(np.sqrt(np.mean((series[TRAIN - 1:-1] - series[TRAIN:]) ** 2)))
    rmse = _stream_rmse(_fitted(name, series, feats), series, feats, TRAIN)
    # Measured with model seeds 0-3: frozen ~0.21x, liquid ~0.35x of persistence's RMSE.
    assert rmse < 0.6 * baseline, f"{name}: RMSE {rmse:.4f} vs persistence {baseline:.4f}"
