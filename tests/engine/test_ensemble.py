"""The ensemble's weights and regret, residual learning's margin, calibration and restore (issue 19)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from netdrift.engine.evaluation.calibration import conformal_quantile
from netdrift.engine.evaluation.intervals import ConformalTracker
from netdrift.engine.forecasting import ForecastInput, ForecastSettings, make_forecaster, time_features
from netdrift.engine.forecasting.ensemble import CLIP_R, ETA, EnsembleForecaster
from netdrift.engine.forecasting.hedge import exp_weights
from netdrift.engine.forecasting.protocol import Forecast
from netdrift.engine.forecasting.settings import ForecastConfig


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def fitted_ensemble(history: np.ndarray, horizon: int = 1) -> EnsembleForecaster:
    e = EnsembleForecaster(ForecastConfig(window=2, horizon=horizon, steps_per_day=4))
    e.fit(history, np.zeros((len(history), 4)))
    return e


def test_ensemble_weights_by_hand_on_a_three_model_toy():
    history = np.array([[0.0], [1.0], [0.0], [1.0], [0.0]])  # one-step changes all 1: sigma2 = 1
    e = fitted_ensemble(history)
    inp = ForecastInput(5, np.zeros((2, 1), "float32"), np.zeros((3, 4)))
    preds = {"a": 0.5, "b": 1.0, "c": 2.5}
    actuals = [1.0, 1.2, 0.4]
    cum = np.zeros(3)
    for y in actuals:
        # Expected forecast by the formula, from the losses so far (independent of the code).
        w = np.exp(-cum / 18.0)
        w /= w.sum()
        got = e.combine(inp, {k: Forecast(np.array([[v]])) for k, v in preds.items()}).point[0, 0]
        assert got == pytest.approx(float(np.dot(w, list(preds.values()))), rel=1e-6)
        e.observe(np.array([y]), np.zeros(4))
        cum += [min((y - p) ** 2, 9.0) for p in preds.values()]  # errors clipped to +-3 before squaring
    expected = np.exp(-cum / 18.0) / np.exp(-cum / 18.0).sum()
    np.testing.assert_allclose(e.weights()[:, 0, 0], expected, rtol=1e-6)  # actuals arrive as float32
    assert e.labels == ("a", "b", "c")


def test_regret_on_an_adversarial_sequence_is_below_the_stated_bounds():
    # Two experts forecasting 0 and 1; the actual always lands on the one the ensemble weighs less
    # (the adversary of a weighted mean), plus noise; errors stay within R = 3 (sigma2 = 1).
    rng = np.random.default_rng(7)
    e = fitted_ensemble(np.array([[0.0], [1.0], [0.0], [1.0], [0.0]]))
    inp = ForecastInput(5, np.zeros((2, 1), "float32"), np.zeros((3, 4)))
    members = {"zero": 0.0, "one": 1.0, "mid": 0.4}
    n, t_steps = len(members), 2000
    loss_ens, loss_mix, cum = 0.0, 0.0, np.zeros(n)
    for _ in range(t_steps):
        w = e.weights()[:, 0, 0] if e.labels else np.full(n, 1.0 / n)
        y = (1.0 if w[0] > w[1] else 0.0) + rng.uniform(-0.2, 0.2)
        p = e.combine(inp, {k: Forecast(np.array([[v]])) for k, v in members.items()}).point[0, 0]
        losses = np.array([(y - v) ** 2 for v in members.values()])
        loss_ens += (y - p) ** 2
        loss_mix += float(np.dot(w, losses))
        cum += losses
        e.observe(np.array([y]), np.zeros(4))
    regret_mix = loss_mix - cum.min()
    regret_ens = loss_ens - cum.min()
    b = CLIP_R**2
    assert regret_mix <= math.log(n) / ETA + ETA * t_steps * b**2 / 8  # Hedge, losses in [0, B]
    assert regret_ens <= math.log(n) / ETA + 1e-6  # exp-concave squared loss: 2 R^2 ln N, constant in T


def test_a_restart_gives_the_routed_members_80_percent_of_the_weight():
    e = fitted_ensemble(np.array([[0.0], [1.0], [0.0], [1.0], [0.0]]))
    routed = type("R", (), {"space": "demands"})()
    e._members = {"l1": object(), "l2": object(), "l3": object(), "r": routed}
    inp = ForecastInput(5, np.zeros((2, 1), "float32"), np.zeros((3, 4)))
    e.combine(inp, {k: Forecast(np.array([[0.0]])) for k in e._members})
    e._restart(np.array([True]))
    w = e.weights()[:, 0, 0]
    assert w[3] == pytest.approx(0.8, rel=1e-5) and w[:3] == pytest.approx([0.2 / 3] * 3, rel=1e-5)


def test_residual_model_is_never_far_worse_than_persistence_on_a_random_walk():
    # On a random walk persistence is the best forecast; a learnt model can only add noise. The
    # stated margin: at most 2 R^2 ln 5 ~ 29 normalised squared errors over the run, i.e. MSE
    # within 29 / T of the base's; over T = 400 steps RMSE within ~4 %, tested at 5 %.
    rng = np.random.default_rng(3)
    n, d, train = 900, 4, 500
    u = 0.5 + np.cumsum(rng.normal(0, 0.01, (n, d)), axis=0)
    times = np.datetime64("2024-01-01T00:00") + np.arange(n + 1) * np.timedelta64(1, "h")
    f = time_features(times)
    settings = ForecastSettings.from_flat(dict(window=8, horizon=1, steps_per_day=24, epochs=3,
                                               train_windows=256, mlp_hidden=16))
    m = make_forecaster("frozen", settings, seed=0)
    m.fit(u[:train].astype("float32"), f[:train])
    err_m, err_p = [], []
    for t in range(train, n):
        fc = m.forecast(ForecastInput(t, u[t - 8:t].astype("float32"), f[t - 8:t + 1])).point[0]
        err_m.append(fc - u[t])
        err_p.append(u[t - 1] - u[t])
        m.observe(u[t].astype("float32"), f[t])
    rmse_m, rmse_p = np.sqrt(np.mean(np.square(err_m))), np.sqrt(np.mean(np.square(err_p)))
    assert rmse_m <= 1.05 * rmse_p


def test_conformal_quantile_by_hand():
    errs = np.array([[3.0], [1.0], [np.nan], [2.0]])  # n = 3, level 0.5: ceil(4 * 0.5) = 2nd smallest
    assert conformal_quantile(errs, 0.5).tolist() == [2.0]


def test_calibrated_start_covers_nominally_from_the_first_step():
    # A stationary series around 100 Mbit/s: radii calibrated on 144 training residuals of the
    # forecast 100, then the coverage of the first 200 steps (4 directions) within 5 points of 90 %
    # (binomial sd ~1 point, plus the calibration's own sampling error).
    rng = np.random.default_rng(11)
    d, level = 4, 0.9
    start = conformal_quantile(np.abs(rng.normal(0, 2.0, (144, 1, d))), level)  # (1, D)
    tracker = ConformalTracker(level, start)
    covered = []
    for step in range(200):
        fc = tracker.bound(Forecast(np.full((1, d), 100.0)), step)
        y = 100.0 + rng.normal(0, 2.0, d)
        covered.append((y >= fc.lower[0]) & (y <= fc.upper[0]))
        tracker.update(y, step)
    assert abs(100 * np.mean(covered) - 100 * level) <= 5.0


def test_restore_undoes_the_failure_widening_within_12_steps():
    rng = np.random.default_rng(5)
    tracker = ConformalTracker(0.9, np.full((1, 2), 2.0))
    for step in range(50):
        tracker.bound(Forecast(np.zeros((1, 2))), step)
        tracker.update(rng.normal(0, 1.2, 2), step)
    before = tracker.radius.copy()
    tracker.widen(np.array([30.0, 1.0]))
    assert (tracker.radius <= 2.0 * before + 1e-12).all()  # the widening at most doubles
    tracker.widen(np.zeros(2), restore=True)
    for step in range(50, 62):
        tracker.bound(Forecast(np.zeros((1, 2))), step)
        tracker.update(rng.normal(0, 1.2, 2), step)
    assert (tracker.radius <= 1.5 * before).all()


def test_exp_weights_prior_offset():
    w = exp_weights(np.array([[0.0], [math.log(4.0) / ETA]]), ETA)
    assert w[0, 0] / w[1, 0] == pytest.approx(4.0)


def test_sustained_warnings_by_hand():
    from netdrift.engine.evaluation.interval_scores import warning_scores

    a = np.array([[50.0], [50.0], [50.0], [50.0], [95.0], [96.0]])  # crosses 90 at step 4
    peak = np.array([[95.0], [50.0], [50.0], [92.0], [93.0], [99.0]])  # a lone spike at 0; 92, 93 at 3, 4
    plain = warning_scores(a, peak, np.array([100.0]), 0.9, horizon=2, start=0)
    sustained = warning_scores(a, peak, np.array([100.0]), 0.9, horizon=2, start=0, sustained=(2, 3))
    # plain: warnings at 3 (true: crosses at 4 within 3..4) and 4 (true, load at 3 was below); the
    # spike at 0 has no step before it (not raised). Sustained: 3 has only 1 of 0..2 -> 1 of (1, 2, 3)
    # above; 4 has 3 and 4 above: raised once, true.
    assert plain["raised"] == 2 and plain["precision"] == 1.0
    assert sustained["raised"] == 1 and sustained["precision"] == 1.0 and sustained["recall"] == 1.0


def test_the_routed_favour_lasts_only_the_event_step():
    e = fitted_ensemble(np.array([[0.0], [1.0], [0.0], [1.0], [0.0]]))  # window = 2
    e._members = {"link": object(), "routed": type("R", (), {"space": "demands"})()}
    inp = ForecastInput(5, np.zeros((2, 1), "float32"), np.zeros((3, 4)))
    same = {k: Forecast(np.array([[0.5]])) for k in e._members}
    e.combine(inp, same)
    e._restart(np.array([True]))
    assert e.weights()[1, 0, 0] == pytest.approx(0.8)
    e.combine(inp, same)
    e.observe(np.array([0.7]), np.zeros(4))  # from the next step on, the link member has seen the new routing
    np.testing.assert_allclose(e.weights()[:, 0, 0], [0.5, 0.5], rtol=1e-6)


def test_a_restart_shares_a_quarter_of_each_weight_out_evenly():
    # Three link-level members (no favour): after the restart the weights are the fixed share
    # (1 - SHARE) w + SHARE / N of the weights before, then Hedge goes on from there.
    e = fitted_ensemble(np.array([[0.0], [1.0], [0.0], [1.0], [0.0]]))
    inp = ForecastInput(5, np.zeros((2, 1), "float32"), np.zeros((3, 4)))
    preds = {"a": 0.0, "b": 1.0, "c": 2.0}
    cum = np.zeros(3)
    for y in (0.1, 0.0, 0.2, 0.1):
        e.combine(inp, {k: Forecast(np.array([[v]])) for k, v in preds.items()})
        e.observe(np.array([y]), np.zeros(4))
        cum += [min((y - p) ** 2, 9.0) for p in preds.values()]
    before = np.exp(-cum / 18.0) / np.exp(-cum / 18.0).sum()
    e._restart(np.array([True]))
    after = 0.75 * before + 0.25 / 3
    np.testing.assert_allclose(e.weights()[:, 0, 0], after, rtol=1e-5)
    e.combine(inp, {k: Forecast(np.array([[v]])) for k, v in preds.items()})
    e.observe(np.array([1.0]), np.zeros(4))
    then = after * np.exp(-np.array([1.0, 0.0, 1.0]) / 18.0)
    np.testing.assert_allclose(e.weights()[:, 0, 0], then / then.sum(), rtol=1e-5)


def test_after_a_re_routing_a_residual_base_carries_the_daily_shape_at_the_new_level():
    # A daily cycle (24 steps); at a re-routing the direction's traffic doubles. For the day after,
    # the base is the last value times the day-before ratio of each target to the origin, so it
    # follows the cycle at the new level where persistence stays flat.
    from netdrift.engine.forecasting.residual import ResidualCorrection

    day = 1.0 + 0.5 * np.sin(2 * np.pi * np.arange(24 * 12) / 24)
    r = ResidualCorrection(horizon=6, steps_per_day=24)
    r.fit(day[: 24 * 10, None])
    assert r.rescale_blend.min() > 0.9  # on a pure cycle the shape is worth all its weight
    r.restart(np.array([True]))
    for t in range(24 * 10, 24 * 10 + 5):
        r.observe(np.array([2.0 * day[t]]))
    base = r.combine(np.full((6, 1), np.nan))[:, 0]  # no correction: the base alone
    truth = 2.0 * day[24 * 10 + 5 : 24 * 10 + 11]
    persistence = np.full(6, 2.0 * day[24 * 10 + 4])
    assert np.abs(base - truth).max() < 0.1 * np.abs(persistence - truth).max()


def test_after_a_failure_a_radius_that_keeps_missing_is_bounded_until_the_restore():
    # Start radius 2 and generic radius 3 (step_from): a model that misses by 100 at every step.
    tracker = ConformalTracker(0.9, np.full((1, 2), 2.0), step_from=np.full((1, 2), 3.0))
    tracker.widen(np.array([1.0, 10.0]))  # shifts 1 and 10: radii 3 and 4 while unseen
    for step in range(500):
        tracker.bound(Forecast(np.zeros((1, 2))), step)
        tracker.update(np.full(2, 100.0), step)
    # bound: 2 x max(2 before, 3 generic, shift) = 6 and 20
    assert tracker.radius.tolist() == [[6.0, 20.0]]
    tracker.widen(np.zeros(2), restore=True)
    assert tracker.radius.tolist() == [[2.0, 2.0]]  # back to the radius before the failure
    for step in range(500, 1000):
        tracker.bound(Forecast(np.zeros((1, 2))), step)
        tracker.update(np.full(2, 100.0), step)
    assert (tracker.radius > 20.0).all()  # no bound without a failure


def test_calibration_origins_cover_every_day_and_hour_of_the_training_week():
    from netdrift.engine.evaluation.calibration import calibration_origins

    # a week at 5 minutes, window 24, 12 steps ahead, 144 origins (what a run uses)
    origins = calibration_origins(24, 12, 2016, 144)
    assert len(origins) == 144 and origins.min() >= 24 and origins.max() <= 2016 - 12
    days = np.bincount(origins // 288, minlength=7)
    hours = np.bincount((origins % 288) // 12, minlength=24)
    assert days.min() >= 19 and hours.min() >= 4  # 144 / 7 ~ 20.6 a day, 6 an hour


def test_a_residual_model_forecasts_an_earlier_origin_with_its_seasonal_base():
    # A daily (24-step) sine: one step ahead persistence is poor 6 steps ahead, the value a day
    # before exact. The calibration pass forecasts origins in the training period; there the
    # residual model must use that origin's seasonal value too, not fall back to persistence.
    t = np.arange("2024-01-01", "2024-01-11", np.timedelta64(60, "m"), dtype="datetime64[m]")
    u = (0.5 + 0.2 * np.sin(2 * np.pi * np.arange(t.size) / 24.0))[:, None].repeat(2, 1).astype("float32")
    f = time_features(t)
    s = ForecastSettings.from_flat({"window": 8, "horizon": 6, "epochs": 1, "train_windows": 32}).with_steps_per_day(24)
    m = make_forecaster("frozen", s, seed=0)
    m.fit(u[:200], f[:200])
    errs, pers = [], []
    for origin in range(120, 190, 7):  # earlier origins, as the calibration pass replays them
        fc = m.forecast(ForecastInput(origin, u[origin - 8:origin], f[origin - 8:origin + 6])).point
        errs.append(np.abs(fc[-1] - u[origin + 5]).mean())
        pers.append(np.abs(u[origin - 1] - u[origin + 5]).mean())
    assert np.mean(errs) < 0.3 * np.mean(pers)


def test_the_calibration_pass_replays_models_from_their_windows_and_rebuilds_seasonal_from_the_history():
    # seasonal's day buffer is the newest step's whatever the origin: replayed at earlier origins
    # it would be scored against the wrong targets, so its forecasts are rebuilt from the history
    # (the value a day before each target). online-ar takes the origin's lags from its window.
    from netdrift.engine.evaluation.calibration import calibrated_radii, conformal_quantile, replay_training
    from netdrift.engine.experiments.scenario import LiveScenario
    from netdrift.engine.experiments.spec import ScenarioSpec

    fast = ForecastSettings.from_flat({"window": 6, "horizon": 2})
    spec = ScenarioSpec(topology="abilene", steps=80, train_steps=60, step_minutes=60, forecast=fast,
                        models=("persistence", "seasonal", "online-ar", "ensemble"), seed=1, interval=0.9)
    live = LiveScenario.from_spec(spec)
    live.train()
    replay = replay_training(live.models, live.stream, 60, 20)
    assert set(replay.points) == {"persistence", "online-ar", "seasonal"} and replay.rebuilt == {"seasonal"}
    day, cap = 24, live.stream.capacity
    for i, t in enumerate(replay.origins):
        for k in range(2):  # row k targets t + k: seasonal's forecast is the load a day before it
            if t + k >= day:
                np.testing.assert_allclose(replay.points["seasonal"][i, k], live.stream.observed[t + k - day] * cap, rtol=1e-6)
            else:  # no day before it: not a sample of seasonal's errors
                assert np.isnan(replay.points["seasonal"][i, k]).all()
    radii, shapes = calibrated_radii(live.models, replay, 0.9)
    assert shapes == {}  # without a shape, the radii are quantiles of the errors in Mbit/s
    assert set(radii) == {"persistence", "online-ar", "seasonal", "ensemble"}
    # the ensemble's: the errors of its start weights' combination of the replayed members
    ens = live.models["ensemble"]
    ones = np.ones((1,) + replay.actual.shape[1:])
    w = ens.start_combination({"persistence": ones, "online-ar": 0 * ones})[0]  # persistence's start weight
    combined = w * replay.points["persistence"] + (1 - w) * replay.points["online-ar"]
    np.testing.assert_allclose(radii["ensemble"], conformal_quantile(np.abs(replay.actual - combined), 0.9),
                               rtol=1e-9)


def test_online_ar_forecasts_an_earlier_origin_from_that_origin_s_lags():
    # Differences of a sine follow an AR(2) exactly; forecast from earlier origins (as the
    # calibration pass does), online-ar must use each origin's lags, not the newest step's.
    u = (0.5 + 0.2 * np.sin(2 * np.pi * np.arange(400) / 24.0))[:, None].repeat(2, 1).astype("float32")
    f = np.zeros((400, 4), "float32")
    s = ForecastSettings.from_flat({"window": 8, "horizon": 3, "ar_order": 4})
    m = make_forecaster("online-ar", s, seed=0)
    m.fit(u[:300], f[:300])
    errs, pers = [], []
    for origin in range(200, 290, 7):
        fc = m.forecast(ForecastInput(origin, u[origin - 8:origin], f[origin - 8:origin + 3])).point
        errs.append(np.abs(fc[-1] - u[origin + 2]).mean())
        pers.append(np.abs(u[origin - 1] - u[origin + 2]).mean())
    assert np.mean(errs) < 0.2 * np.mean(pers)


def test_the_ensemble_starts_from_the_members_losses_over_the_training_replay():
    e = fitted_ensemble(np.array([[0.0], [1.0], [0.0], [1.0], [0.0]]))  # sigma2 = 1 one step ahead
    e._members = {"a": object(), "b": object(), "c": object()}
    actual = np.array([[[1.0]], [[2.0]], [[0.5]]])  # (n, H, D), capacity 1
    points = {"a": actual + 0.5, "b": actual - 2.0}  # c is not replayed
    e.warm_start(points, actual, np.ones(1))
    loss_a, loss_b = 3 * 0.25, 3 * 4.0
    offsets = np.array([0.0, min(loss_b - loss_a, np.log(12.0) * 18.0), loss_b - loss_a])  # c: the furthest
    expected = np.exp(-offsets / 18.0) / np.exp(-offsets / 18.0).sum()
    inp = ForecastInput(5, np.zeros((2, 1), "float32"), np.zeros((3, 4)))
    e.combine(inp, {k: Forecast(np.array([[0.0]])) for k in ("a", "b", "c")})
    np.testing.assert_allclose(e.weights()[:, 0, 0], expected, rtol=1e-5)
    # a loss difference beyond ln(4N) / eta is capped: no member starts below 1/(4N) of the best
    many = np.linspace(0.0, 1.0, 10)[:, None, None]  # 10 origins, b off by R at each: 90 > ln(12) x 18
    e.warm_start({"a": many, "b": many + 3.0}, many, np.ones(1))
    e.combine(inp, {k: Forecast(np.array([[0.0]])) for k in ("a", "b", "c")})
    w = e.weights()[:, 0, 0]
    assert w[1] == pytest.approx(w[0] / 12.0, rel=1e-5) and w[2] == pytest.approx(w[1], rel=1e-5)
