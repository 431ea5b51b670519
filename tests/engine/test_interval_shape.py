"""The interval's shape over the day and the week: learnt from the training loads, it gives each
time of the week its own coverage near nominal where one radius for the whole week does not."""

import numpy as np

from netdrift.engine.evaluation.calibration import conformal_quantile
from netdrift.engine.evaluation.interval_shape import FLOOR, interval_shape
from netdrift.engine.evaluation.intervals import ConformalTracker
from netdrift.engine.forecasting.protocol import Forecast

DAY = 48  # 30-minute steps


def noise_scale(steps: np.ndarray) -> np.ndarray:
    """The true step-to-step standard deviation: 4x by day than by night, half on the weekend."""
    hour = (steps % DAY) * 24 // DAY
    day = (steps // DAY) % 7
    return np.where((hour >= 8) & (hour < 20), 4.0, 1.0) * np.where(day >= 5, 0.5, 1.0)


def random_walk(days: int, directions: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = np.arange(days * DAY)
    inc = rng.standard_t(5, (len(steps), directions)) * noise_scale(steps)[:, None]
    return 1000.0 + np.cumsum(inc, axis=0)


def test_the_shape_follows_how_fast_the_load_changes_by_hour_and_weekday():
    loads = random_walk(14, 20, seed=0)
    shape = interval_shape(loads[: 7 * DAY], horizon=1, steps_per_day=DAY)
    assert shape is not None
    weekday_day, weekday_night = shape.at(2 * DAY + 24)[0], shape.at(2 * DAY + 4)[0]
    # each direction's hour has 14 heavy-tailed samples: the median over directions is near the truth
    assert abs(np.median(weekday_day / weekday_night) / 4.0 - 1) < 0.25
    weekend_day = shape.at(5 * DAY + 24)[0]
    np.testing.assert_allclose(weekend_day / weekday_day, 0.5, rtol=0.25)  # one factor for the network
    np.testing.assert_array_equal(shape.at(7 * DAY + 24), shape.at(24))  # the next week repeats the learnt one


def test_persistence_intervals_cover_every_time_of_the_week_near_nominal_with_the_shape():
    loads = random_walk(21, 8, seed=1)
    train = 14 * DAY

    def coverage(shaped: bool) -> dict[str, float]:
        shape = interval_shape(loads[:train], 1, DAY) if shaped else None
        made = np.arange(1, train)
        err = np.abs(loads[made] - loads[made - 1])
        scale = shape.at_many(made)[:, 0] if shape is not None else 1.0
        tracker = ConformalTracker(0.9, conformal_quantile(err / scale, 0.9)[None, :], shape=shape)
        hits = []
        for t in range(train, len(loads)):
            f = tracker.bound(Forecast(loads[t - 1][None, :]), t)
            hits.append((loads[t] >= f.lower[0]) & (loads[t] <= f.upper[0]))
            tracker.update(loads[t], t)
        cov = np.array(hits)
        steps = np.arange(train, len(loads))
        scale_now = noise_scale(steps)
        return {"busy": float(cov[scale_now == 4.0].mean()), "calm": float(cov[scale_now <= 0.5].mean())}

    flat, shaped = coverage(False), coverage(True)
    assert flat["calm"] > 0.97 and flat["busy"] < 0.85  # one radius: the quiet hours over-covered
    for period, value in shaped.items():
        assert 0.85 <= value <= 0.95, (period, value)


def test_short_training_gives_no_shape_and_a_short_week_no_weekday_factor():
    loads = random_walk(6, 3, seed=2)
    assert interval_shape(loads[: DAY + 10], 1, DAY) is None  # under two days: one radius
    shape = interval_shape(loads, 2, DAY)
    assert shape is not None
    np.testing.assert_array_equal(shape.week_factor, 1.0)  # six days: no weekday seen twice... or at all
    assert shape.day_profile.shape == (24, 2, 3)


def test_a_constant_direction_and_gaps_keep_the_shape_finite():
    loads = random_walk(8, 3, seed=3)
    loads[:, 1] = 5.0  # never changes
    loads[100:300, 2] = np.nan  # a long gap
    shape = interval_shape(loads, 3, DAY)
    assert shape is not None
    values = shape.at_many(np.arange(len(loads)))
    assert np.isfinite(values).all() and (values >= FLOOR * FLOOR).all()
    np.testing.assert_allclose(shape.day_profile[:, :, 1], 1.0)
