"""Prediction intervals and overload warnings: what an operator relies on."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.evaluation.interval_scores import interval_rows, warning_scores
from netdrift.engine.evaluation.intervals import ConformalTracker, initial_radius, load_growth
from netdrift.engine.forecasting.protocol import Forecast
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries
from tests.helpers import live_run


def stream_coverage(tracker: ConformalTracker, y: np.ndarray, point: float) -> np.ndarray:
    """Issue H-step forecasts of ``point`` every step; per target step, the share of directions covered."""
    horizon = tracker.horizon
    issued: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    covered = []
    for t in range(y.shape[0] - horizon):
        f = tracker.bound(Forecast(np.full((horizon, y.shape[1]), point)), t)
        issued[t + horizon - 1] = (f.lower[-1], f.upper[-1])
        if t in issued:
            lo, up = issued.pop(t)
            covered.append(((y[t] >= lo) & (y[t] <= up)).mean())
        tracker.update(y[t], t)
    return np.array(covered)


@pytest.mark.parametrize("horizon", [1, 4])
def test_coverage_of_a_stationary_series_converges_to_nominal(horizon):
    rng = np.random.default_rng(0)
    y = rng.normal(100.0, 10.0, (4000, 40))
    tracker = ConformalTracker(0.9, np.full((horizon, 40), 40.0))  # starts far too wide
    covered = stream_coverage(tracker, y, 100.0)
    assert covered[2000:].mean() == pytest.approx(0.9, abs=0.01)
    # the radius settles near the true 90 % half-width of N(0, 10): 1.645 x 10
    assert tracker.radius.mean() == pytest.approx(16.45, rel=0.1)


def test_coverage_holds_through_a_level_shift_that_the_point_forecast_misses():
    rng = np.random.default_rng(1)
    y = rng.normal(100.0, 5.0, (3000, 20))
    y[1500:] += 30.0  # the model (a constant 100) never learns it: the interval must widen
    tracker = ConformalTracker(0.9, np.full((1, 20), 10.0))
    covered = stream_coverage(tracker, y, 100.0)
    assert covered[1700:].mean() >= 0.85
    assert (tracker.radius > 30.0).all()


def test_a_failure_widens_link_level_intervals_by_the_rerouting_shift_and_keeps_routed_ones():
    start = np.full((2, 3), 5.0)
    link, routed = ConformalTracker(0.9, start), ConformalTracker(0.9, start, shifts_with_routing=True)
    shift = np.array([0.0, 12.0, 3.0])
    link.widen(shift)
    routed.widen(shift)
    np.testing.assert_allclose(link.shown_radius(), [[5.0, 10.0, 8.0]] * 2)  # + min(shift, radius): at most doubled
    np.testing.assert_allclose(routed.shown_radius(), start)


def test_the_shift_widens_each_row_until_that_row_has_scored_a_forecast_made_after_the_failure():
    # H = 3: row h learns of a forecast's miss h steps after it was made, so the forecasts made in
    # the h steps from the failure carry the shift on row h; the tracked radius itself is unchanged.
    tracker = ConformalTracker(0.9, np.full((3, 1), 4.0))
    tracker.widen(np.array([10.0]))
    shown = []
    for step in range(4):
        f = tracker.bound(Forecast(np.full((3, 1), 50.0)), step)
        shown.append((f.upper[:, 0] - 50.0).tolist())
    assert shown == [[8.0, 8.0, 8.0], [4.0, 8.0, 8.0], [4.0, 4.0, 8.0], [4.0, 4.0, 4.0]]
    np.testing.assert_allclose(tracker.radius, 4.0)


def test_a_radius_scales_with_the_load_its_direction_is_expected_to_carry():
    # Errors scale as traffic's standard deviation, mean^0.75 (var ~ mean^1.5): a direction
    # expected to carry 5x its load gets 5^0.75 = 3.34x its radius, one losing 40 % 0.68x.
    before, after = np.array([100.0, 100.0, 100.0, 0.0]), np.array([60.0, 150.0, 500.0, 20.0])
    growth = load_growth(before, after)
    np.testing.assert_allclose(growth[:3], [0.6 ** 0.75, 1.5 ** 0.75, 5.0 ** 0.75])
    assert growth[3] == 10.0  # carried nothing before: the limit
    tracker = ConformalTracker(0.9, np.full((1, 4), 6.0))
    tracker.widen(np.abs(after - before), growth=growth)
    # bounded by 2 x max(6 before, 6 generic, the shift): 80, 100, 800 and 40
    np.testing.assert_allclose(tracker.radius, [[6.0 * 0.6 ** 0.75, 6.0 * 1.5 ** 0.75, 6.0 * 5.0 ** 0.75, 40.0]])
    tracker.widen(np.zeros(4), restore=True)  # the routing returns: so does the radius it had
    np.testing.assert_allclose(tracker.radius, 6.0)


def test_one_step_ahead_a_model_that_is_right_again_after_the_failure_step_keeps_its_coverage():
    # A load that jumps by 6 at step 600 (re-routed traffic), forecast by persistence: only the
    # forecast made at the failure step misses by the jump. That one is widened by the shift;
    # the day after stays near nominal (the widening kept for the day, as before, covered 97 %).
    rng = np.random.default_rng(3)
    y = 100.0 + rng.normal(0.0, 3.0, (900, 30))
    y[600:] += 6.0 + rng.normal(0.0, 0.2, (300, 30))  # the noise grows with the level (x 1.06)
    tracker = ConformalTracker(0.9, np.full((1, 30), 5.0))
    covered = []
    for t in range(1, 900):
        if t == 600:
            tracker.widen(np.full(30, 6.0), growth=np.full(30, 1.06))
        f = tracker.bound(Forecast(y[t - 1][None, :]), t)
        covered.append((y[t] >= f.lower[0]) & (y[t] <= f.upper[0]))
        tracker.update(y[t], t)
    cov = np.array(covered)  # cov[k] is step k + 1
    assert cov[599].mean() >= 0.9  # the failure step: the jump is inside the widened interval
    day = cov[600:888].mean()
    assert 0.85 <= day <= 0.95, day


def square_with_load() -> tuple[Topology, TrafficMatrixSeries]:
    nodes = tuple(Node(x, x.upper()) for x in "abcd")
    links = (Link("a-b", "a", "b", 100.0), Link("b-c", "b", "c", 100.0),
             Link("c-d", "c", "d", 100.0), Link("d-a", "d", "a", 100.0))
    topo = Topology("square", nodes, links)
    src, dst = np.array([(i, j) for i in range(4) for j in range(4) if i != j]).T
    t = np.arange(120)[:, None]
    rng = np.random.default_rng(2)
    demands = 8.0 + 3.0 * np.sin(2 * np.pi * t / 24 + np.arange(len(src))) + rng.normal(0, 0.3, (120, len(src)))
    return topo, TrafficMatrixSeries(("a", "b", "c", "d"), src, dst, demands.astype(np.float32), 60.0,
                                     datetime(2024, 1, 1))


def test_in_a_scenario_the_interval_at_a_failure_is_never_narrower_than_the_rule():
    topo, tm = square_with_load()
    settings = ForecastSettings.from_flat(dict(window=6, horizon=1, epochs=2))
    live = live_run(topo, tm, ("persistence", "routed-persistence"), settings, 72, seed=0,
                    failures=("a-b@90",), observe="demands", interval=0.9)
    live.train()
    live.advance(90 - live.step)
    before = {m: t.radius.copy() for m, t in live.intervals.items()}
    shift = live.stream.reroute_shift(90)
    assert shift.max() > 1.0  # the failure moves load
    growth = load_growth(*live.stream.reroute_levels(90))
    assert growth.max() > 1.0  # some direction is expected to carry more
    record = next(live.records(1))
    width = record.forecasts["persistence"].upper[0] - record.forecasts["persistence"].lower[0]
    # issued at the failure step, before the actual arrives: the old radius scaled by the expected
    # growth and by the shape of that hour, + the shift capped at the old radius, on both sides
    # (the lower bound is cut at 0 Mbit/s, which only narrows near 0)
    point = record.forecasts["persistence"].point[0]
    old = before["persistence"][0]
    shape = live.intervals["persistence"].shape
    assert shape is not None  # three days of hourly training: the radius has a shape over the day
    hour = shape.at(90)[0]
    assert hour.min() < 1.0 < hour.max()
    radius = old * growth * hour + np.minimum(shift, old)
    expected = np.minimum(radius, point) + radius
    down = np.repeat([link.id == "a-b" for link in topo.links], 2)  # the failed link: known to carry nothing
    expected[down] = 0.0
    np.testing.assert_allclose(width, expected, rtol=1e-5)
    assert (width[~down] > 0).all()
    routed = record.forecasts["routed-persistence"]
    np.testing.assert_allclose((routed.upper[0] - routed.point[0])[~down], (before["routed-persistence"][0] * hour)[~down], rtol=1e-5)


def test_interval_scores_by_hand():
    a = np.array([[10.0], [20.0], [30.0], [40.0]])
    lo = np.array([[5.0], [21.0], [25.0], [35.0]])
    up = np.array([[15.0], [25.0], [35.0], [38.0]])
    rows = {r.metric: r.value for r in interval_rows("m", a, lo, up, 0.8, [("post", 0, 4)])}
    assert rows["coverage"] == 50.0  # steps 0 and 2
    assert rows["width"] == pytest.approx((10 + 4 + 10 + 3) / 4)
    # Winkler at alpha 0.2: width + 10 x miss; misses 1 (below 21) and 2 (above 38)
    assert rows["winkler"] == pytest.approx((10 + 4 + 10 + 3 + 10 * 1 + 10 * 2) / 4)


def test_warnings_fire_ahead_of_a_constructed_crossing_and_not_on_a_flat_series():
    cap = np.array([100.0, 100.0])
    load = np.full((40, 2), 50.0)
    load[25:, 0] = 95.0  # direction 0 crosses 90 % at step 25; direction 1 stays flat
    peak = load.copy()
    peak[19:, 0] = 93.0  # the upper bounds see it coming from step 19 (6 steps ahead)
    s = warning_scores(load, peak, cap, 0.9, horizon=8, start=10)
    assert s["crossings"] == 1 and s["recall"] == 1.0 and s["recall_3"] == 1.0
    assert s["lead_steps_median"] == 6.0
    assert s["raised"] == 7 and s["precision"] == 1.0  # steps 19..25 (25: lead 0), each followed by the crossing
    flat = warning_scores(np.full((40, 2), 50.0), np.full((40, 2), 60.0), cap, 0.9, horizon=8, start=10)
    assert flat["raised"] == 0 and flat["crossings"] == 0 and flat["precision"] is None and flat["recall"] is None


def test_initial_radius_and_bad_levels():
    hist = np.array([[0.0], [2.0], [4.0], [6.0]])
    np.testing.assert_allclose(initial_radius(hist, 2, 0.5), [[2.0], [4.0]])
    with pytest.raises(InputError, match="interval"):
        ConformalTracker(1.5, np.ones((1, 1)))


def test_the_live_look_ahead_carries_the_current_interval_and_changes_nothing():
    topo, tm = square_with_load()
    settings = ForecastSettings.from_flat(dict(window=6, horizon=3, epochs=2))
    live = live_run(topo, tm, ("persistence",), settings, 72, seed=0, interval=0.9)
    live.train()
    live.advance(10)
    tracker = live.intervals["persistence"]
    radius = tracker.radius.copy()
    bands = live.next_bands()["persistence"]
    assert bands.point.shape == (3, topo.n_directions)
    assert tracker.shape is not None  # the radius of the hour the look-ahead is made at
    np.testing.assert_allclose(bands.upper - bands.point, radius * tracker.shape.at(live.step), rtol=1e-5)
    np.testing.assert_array_equal(live.intervals["persistence"].radius, radius)
    frame = live.window(0, last=5)
    assert {"persistence_lower_mbps", "persistence_upper_mbps"} <= set(frame.columns)


def test_a_restore_ends_the_failure_state_only_when_every_link_is_back():
    topo, tm = square_with_load()
    settings = ForecastSettings.from_flat(dict(window=6, horizon=1, epochs=2))
    live = live_run(topo, tm, ("persistence",), settings, 72, seed=0, observe="demands", interval=0.9,
                    failures=("a-b@80:90", "c-d@84:96"))
    live.train()
    tracker = live.intervals["persistence"]
    live.advance(80 - live.step)
    before = tracker.radius.copy()
    live.advance(90 - live.step)
    assert tracker.bound_radius is not None  # two links down
    live.advance(91 - live.step)  # a-b is back, c-d still down: still a failure, its bound kept
    assert tracker.bound_radius is not None
    live.advance(97 - live.step)  # every link back: the radius before the first failure, one update on
    assert tracker.bound_radius is None
    np.testing.assert_allclose(tracker.radius, before, atol=float(tracker.step_size.max()) + 1e-9)
