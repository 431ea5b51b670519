"""Metrics on hand-computed examples: every expected number below comes from arithmetic
written out in the test, not from the code under test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.evaluation.drift import affected_directions, drift_class, drift_magnitude, time_to_convergence
from netdrift.engine.evaluation.metrics import MetricsConfig, aggregate_error_metrics, error_metrics
from netdrift.engine.evaluation.scoring import scenario_metrics, summary_table
from netdrift.engine.results import MetricRow

NAN = np.nan


def col(*values: float) -> np.ndarray:
    """A (T, 1) array: one direction over time."""
    return np.array(values, dtype=float).reshape(-1, 1)


def row_value(rows: list[MetricRow], model: str, period: str, metric: str, direction: int | None = None):
    found = [r for r in rows if (r.model, r.period, r.metric, r.direction) == (model, period, metric, direction)]
    assert len(found) == 1, (model, period, metric, direction, found)
    return found[0].value


# ----------------------------------------------------------------------------- error metrics


def test_rmse_mae_nrmse_mape_smape_on_four_points():
    # errors +10, -10, +30, 0 on actuals 100, 200, 300, 400; capacity 1000 Mbit/s
    m = error_metrics(col(100, 200, 300, 400), col(110, 190, 330, 400), np.array([1000.0]))
    assert m["mae"][0] == pytest.approx((10 + 10 + 30 + 0) / 4)  # 12.5
    assert m["rmse"][0] == pytest.approx(math.sqrt((100 + 100 + 900 + 0) / 4))  # sqrt(275)
    assert m["nrmse"][0] == pytest.approx(math.sqrt(275) / 1000 * 100)
    assert m["mape"][0] == pytest.approx((10 + 5 + 10 + 0) / 4)  # 10/100, 10/200, 30/300, 0
    assert m["smape"][0] == pytest.approx((200 * 10 / 210 + 200 * 10 / 390 + 200 * 30 / 630 + 0) / 4)
    assert m["mape_excluded"][0] == 0


def test_mape_excludes_low_actuals_and_counts_them():
    # capacity 1000 -> floor 10 Mbit/s: 5 and 9.99 are excluded, 10 (at the floor) is kept;
    # the 1 Mbit/s step has no forecast, so it is not a scored step and not counted.
    actual = col(5, 50, 9.99, 10, 1)
    forecast = col(6, 55, 20, 12, NAN)
    m = error_metrics(actual, forecast, np.array([1000.0]))
    assert m["mape_excluded"][0] == 2
    assert m["mape"][0] == pytest.approx((5 / 50 * 100 + 2 / 10 * 100) / 2)  # (10% + 20%) / 2 = 15%
    # the excluded steps still count in the other metrics: MAE over the 4 forecast steps
    assert m["mae"][0] == pytest.approx((1 + 5 + 10.01 + 2) / 4)
    # a custom floor: 5% of 1000 = 50 keeps only the 50 Mbit/s step
    m5 = error_metrics(actual, forecast, np.array([1000.0]), low_load_fraction=0.05)
    assert m5["mape_excluded"][0] == 3
    assert m5["mape"][0] == pytest.approx(10.0)


def test_smape_zero_pair_counts_as_zero_and_zero_actual_has_no_ape():
    m = error_metrics(col(0, 10), col(0, 30), np.array([100.0]))
    assert m["smape"][0] == pytest.approx((0 + 200 * 20 / (10 + 30)) / 2)  # (0 + 100) / 2 = 50
    assert m["mape"][0] == pytest.approx(200.0)  # only 10 -> 30 is scored: 20/10
    assert m["mape_excluded"][0] == 1
    # a zero actual is never divided by, even with no low-load floor at all
    m0 = error_metrics(col(0, 10), col(3, 30), np.array([100.0]), low_load_fraction=0.0)
    assert m0["mape"][0] == pytest.approx(200.0)
    assert m0["mape_excluded"][0] == 1


def test_nan_actual_and_nan_forecast_are_left_out():
    # step 0 has no forecast, step 1 is a missing interval: only steps 2 and 3 count
    actual = np.array([[100, 7], [NAN, NAN], [200, NAN], [300, NAN]], dtype=float)
    forecast = np.array([[NAN, NAN], [150, NAN], [220, 9], [270, 9]], dtype=float)
    m = error_metrics(actual, forecast, np.array([1000.0, 1000.0]))
    assert m["mae"][0] == pytest.approx((20 + 30) / 2)
    assert m["rmse"][0] == pytest.approx(math.sqrt((400 + 900) / 2))
    assert m["mape"][0] == pytest.approx((10 + 10) / 2)  # 20/200, 30/300
    # direction 1 never has an actual and a forecast at the same step: no value, nothing excluded
    for name in ("rmse", "mae", "nrmse", "mape", "smape"):
        assert np.isnan(m[name][1])
    assert m["mape_excluded"][1] == 0


def test_aggregate_pools_all_points_not_direction_means():
    # direction 0 (capacity 100): errors 3 and 1 on actuals 10, 20; direction 1 (capacity 1000):
    # error 4 on actual 100, then a missing interval.
    actual = np.array([[10, 100], [20, NAN]], dtype=float)
    forecast = np.array([[13, 104], [21, 90]], dtype=float)
    agg = aggregate_error_metrics(actual, forecast, np.array([100.0, 1000.0]))
    assert agg["rmse"] == pytest.approx(math.sqrt((9 + 1 + 16) / 3))
    assert agg["mae"] == pytest.approx((3 + 1 + 4) / 3)
    assert agg["nrmse"] == pytest.approx(100 * math.sqrt(((3 / 100) ** 2 + (1 / 100) ** 2 + (4 / 1000) ** 2) / 3))
    assert agg["mape"] == pytest.approx((30 + 5 + 4) / 3)
    assert agg["smape"] == pytest.approx((200 * 3 / 23 + 200 * 1 / 41 + 200 * 4 / 204) / 3)
    assert agg["mape_excluded"] == 0
    # the mean of per-direction RMSEs would be different: (sqrt(5) + 4) / 2
    assert agg["rmse"] != pytest.approx((math.sqrt(5) + 4) / 2)


def test_error_metrics_rejects_bad_shapes_and_capacity():
    with pytest.raises(InputError, match="forecast"):
        error_metrics(np.zeros((3, 2)), np.zeros((3, 1)), np.ones(2))
    with pytest.raises(InputError, match="capacity"):
        error_metrics(np.zeros((3, 2)), np.zeros((3, 2)), np.array([1.0, 0.0]))
    with pytest.raises(InputError, match="capacity"):
        error_metrics(np.zeros((3, 2)), np.zeros((3, 2)), np.ones(3))
    with pytest.raises(InputError, match="actual"):
        error_metrics(np.zeros(3), np.zeros(3), np.ones(1))


# ----------------------------------------------------------------------------- drift


def drift_example() -> np.ndarray:
    """12 steps x 7 directions; failure at step 6, a day is 4 steps: before = steps 2-5,
    after = steps 6-9. Steps 0-1 and 10-11 hold huge values that must not count."""
    a = np.full((12, 7), 1e6)
    a[2:6, 0], a[6:10, 0] = 100, 130          # +0.30  moderate
    a[2:6, 1], a[6:10, 1] = 100, 40           # -0.60  drastic
    a[2:6, 2], a[6:10, 2] = 100, 105          # +0.05  none
    a[2:6, 3], a[6:10, 3] = 0, 10             # 0 -> 10: inf, drastic
    a[2:6, 4], a[6:10, 4] = 0, 0              # 0 -> 0: 0, none
    a[2:6, 5], a[6:10, 5] = NAN, 50           # no data before: NaN, none
    a[2:6, 6] = [10, NAN, 20, 30]             # mean 20 (NaN ignored)
    a[6:10, 6] = 30                           # (30 - 20) / 20 = 0.5, not above 0.5: moderate
    return a


def test_drift_magnitude_day_before_vs_day_after():
    d = drift_magnitude(drift_example(), event_step=6, steps_per_day=4)
    assert d[0] == pytest.approx(0.30)
    assert d[1] == pytest.approx(-0.60)
    assert d[2] == pytest.approx(0.05)
    assert d[3] == math.inf
    assert d[4] == 0.0
    assert np.isnan(d[5])
    assert d[6] == 0.5


def test_drift_windows_are_clipped_to_the_run():
    a = col(10, 20, 40, 40, 40, 40, 40)
    # event at 2, a day of 4 steps: before = steps 0-1 (mean 15), after = steps 2-5 (mean 40)
    assert drift_magnitude(a, 2, 4)[0] == pytest.approx((40 - 15) / 15)
    # event at 5: before = steps 1-4 (mean 35), after = steps 5-6 (mean 40)
    assert drift_magnitude(a, 5, 4)[0] == pytest.approx((40 - 35) / 35)
    # event at 0: nothing before
    assert np.isnan(drift_magnitude(a, 0, 4)[0])
    with pytest.raises(InputError, match="event_step"):
        drift_magnitude(a, 7, 4)
    with pytest.raises(InputError, match="steps_per_day"):
        drift_magnitude(a, 3, 0)


def test_drift_classes_default_and_configured_thresholds():
    d = drift_magnitude(drift_example(), 6, 4)
    assert drift_class(d, MetricsConfig()).tolist() == [
        "moderate", "drastic", "none", "drastic", "none", "none", "moderate",
    ]
    cfg = MetricsConfig(affected_threshold=0.2, drastic_threshold=0.4)
    assert drift_class(d, cfg).tolist() == [
        "moderate", "drastic", "none", "drastic", "none", "none", "drastic",
    ]


def test_affected_directions_and_fallbacks():
    assert affected_directions(drift_magnitude(drift_example(), 6, 4)).tolist() == [0, 1, 3, 6]
    # nobody above 10%: those whose load changed at all (NaN is not a change)
    assert affected_directions(np.array([0.0, 0.05, NAN, -0.02])).tolist() == [1, 3]
    # nothing changed at all: every direction
    assert affected_directions(np.array([0.0, NAN, 0.0])).tolist() == [0, 1, 2]


# ----------------------------------------------------------------------------- convergence


def with_ape(ape_after_event: list[float], event: int, total_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Actual 100 Mbit/s everywhere; the forecast is off by the given % from ``event`` on
    (then exact), and off by 90% before the event."""
    actual = np.full((total_steps, 1), 100.0)
    forecast = np.full((total_steps, 1), 190.0)
    ape = np.zeros(total_steps - event)
    ape[: len(ape_after_event)] = ape_after_event
    forecast[event:, 0] = 100.0 + ape  # APE(s) = |100 + x - 100| / 100 * 100 = x %
    return actual, forecast


CAP = np.array([1000.0])
M3 = MetricsConfig(convergence_window=3, convergence_tau=10.0)


def test_ttc_converges_at_a_known_step():
    # APE after the event: 40, 20, 10, 10, 0, ... ; M = 3:
    # R(0) = 70/3 = 23.3, R(1) = 40/3 = 13.3, R(2) = 20/3 = 6.7, R(3) = 10/3, R(4..) = 0
    # smallest k with R(k), R(k+1), R(k+2) <= 10 is k = 2
    a, f = with_ape([40, 20, 10, 10], event=5, total_steps=20)
    assert time_to_convergence(a, f, 5, np.array([0]), CAP, M3) == 2


def test_ttc_needs_the_error_to_stay_low():
    # APE: 36, 0, 0, 0, 36, 0, ...: R(0) = 12, R(1) = 0 (a dip), R(2) = R(3) = R(4) = 12,
    # R(5..) = 0 -> the dip at 1 does not last M windows; TTC = 5
    a, f = with_ape([36, 0, 0, 0, 36], event=5, total_steps=30)
    assert time_to_convergence(a, f, 5, np.array([0]), CAP, M3) == 5


def test_ttc_tau_is_inclusive():
    # APE 30, 0, 0, ...: R(0) = 30/3 = 10 exactly, which meets tau = 10 -> TTC 0
    a, f = with_ape([30], event=5, total_steps=20)
    assert time_to_convergence(a, f, 5, np.array([0]), CAP, M3) == 0


def test_ttc_censored_when_the_error_never_falls():
    a, f = with_ape([50] * 15, event=5, total_steps=20)
    assert time_to_convergence(a, f, 5, np.array([0]), CAP, M3) is None


def test_ttc_censored_when_the_run_ends_before_m_settled_windows():
    # APE 50 for offsets 0..10, then 0. Settling needs R(11), R(12), R(13) = 0, i.e. windows
    # up to [13, 16): with the event at 5 the run must reach offset 15, i.e. 21 steps.
    ape = [50] * 11
    a, f = with_ape(ape, event=5, total_steps=20)   # offsets 0..14: window [13, 16) missing
    assert time_to_convergence(a, f, 5, np.array([0]), CAP, M3) is None
    a, f = with_ape(ape, event=5, total_steps=21)   # one step longer: converges at 11
    assert time_to_convergence(a, f, 5, np.array([0]), CAP, M3) == 11
    # an event fewer than 2M - 1 = 5 steps before the end can never be measured
    a, f = with_ape([], event=16, total_steps=20)
    assert time_to_convergence(a, f, 16, np.array([0]), CAP, M3) is None


def test_ttc_missing_forecasts_and_low_loads_do_not_count_as_converged():
    # no forecast for offsets 0..3, then exact: R(0), R(1) have no APE at all (undefined,
    # not converged); R(2) = mean of the one kept APE (offset 4) = 0 -> TTC 2
    a, f = with_ape([], event=5, total_steps=20)
    f[5:9] = NAN
    assert time_to_convergence(a, f, 5, np.array([0]), CAP, M3) == 2
    # actuals below 1% of capacity everywhere after the event: nothing to measure -> censored
    low = np.full((20, 1), 5.0)
    assert time_to_convergence(low, low.copy(), 5, np.array([0]), CAP, M3) is None


def test_ttc_pools_only_the_chosen_directions():
    # direction 0 converges at 2 (as above); direction 1 is off by 50% forever
    a0, f0 = with_ape([40, 20, 10, 10], event=5, total_steps=20)
    a = np.hstack([a0, np.full((20, 1), 100.0)])
    f = np.hstack([f0, np.full((20, 1), 150.0)])
    cap = np.array([1000.0, 1000.0])
    assert time_to_convergence(a, f, 5, np.array([0]), cap, M3) == 2
    assert time_to_convergence(a, f, 5, np.array([True, False]), cap, M3) == 2
    assert time_to_convergence(a, f, 5, np.array([1]), cap, M3) is None
    # pooled over both: offsets >= 4 give R = (0*3 + 50*3) / 6 = 25 > 10 -> never
    assert time_to_convergence(a, f, 5, np.array([0, 1]), cap, M3) is None
    with pytest.raises(InputError, match="directions"):
        time_to_convergence(a, f, 5, np.array([], dtype=int), cap, M3)
    with pytest.raises(InputError, match="directions"):
        time_to_convergence(a, f, 5, np.array([2]), cap, M3)


# ----------------------------------------------------------------------------- scenario


def test_pre_post_split_starts_after_training():
    # 10 steps, trained on steps 0-1, failure at 6; actual 100; forecast error:
    # 1000 on the training steps (must not count), 10 on steps 2-5, 20 on steps 6-9
    actual = np.full((10, 1), 100.0)
    forecast = actual + col(1000, 1000, 10, 10, 10, 10, 20, 20, 20, 20)
    rows = scenario_metrics(actual, {"m": forecast}, np.array([1000.0]), 2, [6], 4)
    for direction in (None, 0):
        assert row_value(rows, "m", "pre", "rmse", direction) == pytest.approx(10.0)
        assert row_value(rows, "m", "pre", "mae", direction) == pytest.approx(10.0)
        assert row_value(rows, "m", "pre", "mape", direction) == pytest.approx(10.0)
        assert row_value(rows, "m", "pre", "nrmse", direction) == pytest.approx(1.0)  # 10 / 1000
        assert row_value(rows, "m", "post", "rmse", direction) == pytest.approx(20.0)
        assert row_value(rows, "m", "post", "mape", direction) == pytest.approx(20.0)
        assert row_value(rows, "m", "post", "smape", direction) == pytest.approx(200 * 20 / 220)
        assert row_value(rows, "m", "post", "mape_excluded", direction) == 0


def test_per_event_periods_run_to_the_next_failure():
    # failures at 4 and 7; |error| 1 on steps 0-3, 2 on 4-6, 4 on 7-9
    actual = np.full((10, 1), 100.0)
    forecast = actual + col(1, 1, 1, 1, 2, 2, 2, 4, 4, 4)
    rows = scenario_metrics(actual, {"m": forecast}, np.array([1000.0]), 0, [4, 7], 4)
    assert row_value(rows, "m", "pre", "mae") == pytest.approx(1.0)
    assert row_value(rows, "m", "event:0", "mae") == pytest.approx(2.0)
    assert row_value(rows, "m", "event:1", "mae") == pytest.approx(4.0)
    assert row_value(rows, "m", "post", "mae") == pytest.approx((3 * 2 + 3 * 4) / 6)
    assert row_value(rows, "m", "post", "rmse") == pytest.approx(math.sqrt((3 * 4 + 3 * 16) / 6))


def test_failure_during_training_has_no_pre_period():
    actual = np.full((8, 1), 100.0)
    forecast = actual + col(500, 500, 500, 500, 3, 3, 3, 3)
    rows = scenario_metrics(actual, {"m": forecast}, np.array([1000.0]), 4, [2], 4)
    assert not [r for r in rows if r.period == "pre"]
    assert row_value(rows, "m", "post", "mae") == pytest.approx(3.0)  # steps 4-7 only
    assert summary_table(rows)["m"]["rmse_pre"] is None


def two_direction_scenario() -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """24 steps, a day = 4 steps, failure at 8. Direction 0 jumps 100 -> 200 (drift +1.0,
    drastic); direction 1 stays at 100 (drift 0) but every forecast of it is 50% off.

    model "good": on direction 0 the APE after the failure is 40, 20, 10, 10, 0, ... (TTC 2
    with M = 3, see test_ttc_converges_at_a_known_step), exact before it.
    model "bad": on direction 0 stuck at the old 100 Mbit/s: APE 50% forever -> censored.
    """
    t = 24
    actual = np.full((t, 2), 100.0)
    actual[8:, 0] = 200.0
    good = np.full((t, 2), 150.0)
    good[:, 0] = actual[:, 0]
    good[8:12, 0] = 200 * (1 + np.array([40, 20, 10, 10]) / 100)
    bad = np.full((t, 2), 150.0)
    bad[:, 0] = 100.0
    return actual, {"good": good, "bad": bad}, np.array([1000.0, 1000.0])


def test_scenario_ttc_uses_the_affected_directions_and_drift_rows():
    actual, forecasts, cap = two_direction_scenario()
    rows = scenario_metrics(actual, forecasts, cap, 0, [8], 4, M3)
    assert row_value(rows, "actual", "event:0", "drift", 0) == pytest.approx(1.0)  # (200-100)/100
    assert row_value(rows, "actual", "event:0", "drift", 1) == 0.0
    # only direction 0 is affected; direction 1's constant 50% error does not block convergence
    assert row_value(rows, "good", "event:0", "ttc") == 2
    assert row_value(rows, "bad", "event:0", "ttc") is None
    ttc_rows = [r for r in rows if r.metric == "ttc"]
    assert all(r.direction is None for r in ttc_rows) and len(ttc_rows) == 2


def test_first_day_and_transient_periods_by_hand():
    actual, forecasts, cap = two_direction_scenario()
    rows = scenario_metrics(actual, forecasts, cap, 0, [8], 4, M3, horizon=3)
    # day 1 = steps 8..11 (a day is 4 steps): errors 80, 40, 20, 20 on direction 0, 50 x 4 on 1
    assert row_value(rows, "good", "day1", "rmse") == pytest.approx(np.sqrt((80**2 + 40**2 + 2 * 20**2 + 4 * 50**2) / 8))
    # transient = the H - 1 = 2 targets (8, 9) whose 3-step-ahead forecast was made before step 8
    assert row_value(rows, "good", "transient", "rmse") == pytest.approx(np.sqrt((80**2 + 40**2 + 2 * 50**2) / 4))
    line = summary_table(rows)["good"]
    assert line["rmse_day1"] == pytest.approx(np.sqrt(2350.0)) and line["rmse_transient"] == pytest.approx(np.sqrt(3250.0))


def test_scenario_rows_cover_every_model_period_metric_and_direction():
    actual, forecasts, cap = two_direction_scenario()
    rows = scenario_metrics(actual, forecasts, cap, 2, [8, 16], 4, M3)
    periods = {"pre", "post", "day1", "event:0", "event:1"}  # no "transient" at H = 1
    metrics = {"rmse", "mae", "nrmse", "mape", "smape", "mape_excluded"}
    error_rows = [r for r in rows if r.metric in metrics]
    keys = {(r.model, r.period, r.metric, r.direction) for r in error_rows}
    assert keys == {(m, p, k, d) for m in forecasts for p in periods for k in metrics for d in (None, 0, 1)}
    assert len(error_rows) == len(keys)  # no duplicates
    assert {(r.model, r.period) for r in rows if r.metric == "ttc"} == {
        (m, p) for m in forecasts for p in ("event:0", "event:1")
    }
    assert {(r.period, r.direction) for r in rows if r.metric == "drift"} == {
        (p, d) for p in ("event:0", "event:1") for d in (0, 1)
    }
    assert all(isinstance(r.value, (int, float)) or r.value is None for r in rows)
    # the "bad" model on direction 1, post: always 150 vs 100 -> MAE 50, MAPE 50%
    assert row_value(rows, "bad", "post", "mae", 1) == pytest.approx(50.0)
    assert row_value(rows, "bad", "post", "mape", 1) == pytest.approx(50.0)


def test_scenario_nan_values_become_none():
    actual = np.full((10, 2), 100.0)
    forecast = np.full((10, 2), 110.0)
    forecast[:, 1] = NAN  # no forecast ever on direction 1
    rows = scenario_metrics(actual, {"m": forecast}, np.array([1000.0, 1000.0]), 0, [5], 4)
    assert row_value(rows, "m", "post", "rmse", 1) is None
    assert row_value(rows, "m", "post", "mape_excluded", 1) == 0
    assert row_value(rows, "m", "post", "rmse") == pytest.approx(10.0)  # aggregate: direction 0 only


def test_summary_table():
    actual, forecasts, cap = two_direction_scenario()
    rows = scenario_metrics(actual, forecasts, cap, 0, [8, 16], 4, M3)
    table = summary_table(rows)
    assert set(table) == {"good", "bad"}
    assert set(table["good"]) == {"rmse_pre", "rmse_post", "mape_pre", "mape_post", "mae_post", "smape_post",
                                  "rmse_day1", "rmse_transient", "ttc_steps"}
    # "bad" after the failure: direction 0 off by 100 (APE 50%), direction 1 off by 50 (50%)
    bad = table["bad"]
    assert bad["rmse_post"] == pytest.approx(math.sqrt((100**2 + 50**2) / 2))
    assert bad["mae_post"] == pytest.approx(75.0)
    assert bad["mape_post"] == pytest.approx(50.0)
    assert bad["smape_post"] == pytest.approx((200 * 100 / 300 + 200 * 50 / 250) / 2)
    # before the failure: direction 0 exact, direction 1 off by 50
    assert bad["rmse_pre"] == pytest.approx(math.sqrt((0 + 50**2) / 2))
    assert bad["mape_pre"] == pytest.approx(25.0)
    # the second failure (step 16) changes no load: fallback to directions that changed at
    # all -> none -> every direction, where direction 1's 50% error keeps the pool above tau
    assert table["good"]["ttc_steps"] == [2, None]
    assert bad["ttc_steps"] == [None, None]


def test_scenario_validation():
    a = np.full((10, 1), 100.0)
    cap = np.array([1000.0])
    with pytest.raises(InputError, match="fail_steps"):
        scenario_metrics(a, {"m": a}, cap, 0, [6, 3], 4)
    with pytest.raises(InputError, match="fail_steps"):
        scenario_metrics(a, {"m": a}, cap, 0, [10], 4)
    with pytest.raises(InputError, match="train_steps"):
        scenario_metrics(a, {"m": a}, cap, 11, [], 4)
    with pytest.raises(InputError, match="forecast 'm'"):
        scenario_metrics(a, {"m": np.zeros((9, 1))}, cap, 0, [], 4)
    with pytest.raises(InputError, match="convergence_window"):
        MetricsConfig(convergence_window=0)
    with pytest.raises(InputError, match="drastic_threshold"):
        MetricsConfig(affected_threshold=0.6, drastic_threshold=0.5)


def test_scenario_without_failures_has_only_pre():
    a = np.full((6, 1), 100.0)
    rows = scenario_metrics(a, {"m": a + 5}, np.array([1000.0]), 1, [], 4)
    assert {r.period for r in rows} == {"pre"}
    assert row_value(rows, "m", "pre", "mae") == pytest.approx(5.0)
    assert summary_table(rows)["m"]["ttc_steps"] == []
