"""The hybrid (liquid + incremental, weighted per direction) and its Page-Hinkley detector."""

from __future__ import annotations

import copy
from datetime import datetime
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from netdrift.engine.errors import InputError
from netdrift.engine.experiments.spec import ModelEntry
from netdrift.engine.forecasting import ForecastInput, ForecastSettings, make_forecaster, time_features
from netdrift.engine.forecasting.drift_detectors import PageHinkley
from netdrift.engine.forecasting.hybrid import HybridForecaster, HybridWeights
from netdrift.engine.forecasting.settings import HybridSettings
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries
from tests.helpers import live_run

D, S, T_FIT = 3, 24, 72
SETTINGS = ForecastSettings.from_flat(dict(
    window=6, horizon=2, steps_per_day=S, liquid_units=8, epochs=2, il_batch=5, il_window=30, il_epochs=1,
    train_windows=64, batch_size=32, mlp_hidden=8,
    residual=False,  # the paper form: these tests patch and replay the inner models' raw forecasts
))
W, H = SETTINGS.common.window, SETTINGS.common.horizon


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    n = 160
    rng = np.random.default_rng(0)
    t = np.arange(n)[:, None]
    u = 0.4 + 0.2 * np.sin(2 * np.pi * t / S + np.arange(D)) + rng.normal(0, 0.01, (n, D))
    times = np.datetime64("2024-01-01T00:00") + np.arange(n + H) * np.timedelta64(1, "h")
    return u.astype(np.float32), time_features(times)


@pytest.fixture(scope="module")
def fitted(data) -> HybridForecaster:
    u, f = data
    m = make_forecaster("hybrid", SETTINGS, seed=4)
    m.fit(u[:T_FIT], f[:T_FIT])
    return m


def hybrid(fitted: HybridForecaster) -> HybridForecaster:
    return copy.deepcopy(fitted)


def input_at(data, i: int, **kw) -> ForecastInput:
    u, f = data
    return ForecastInput(i, u[i - W:i], f[i - W:i + H], **kw)


def stream(m, data, n: int, start: int = T_FIT, **kw) -> list[np.ndarray]:
    """Forecast then observe steps start .. start + n - 1; the (H, D) forecasts."""
    u, f = data
    out = []
    for i in range(start, start + n):
        out.append(m.forecast(input_at(data, i, **kw)).point)
        m.observe(u[i], f[i])
    return out


# -- Page-Hinkley ------------------------------------------------------------------------------
def test_page_hinkley_by_hand():
    # delta 0.1, lambda 1: x = 0,0,0,0 then 1,1. m_t: -0.1, -0.2, -0.3, -0.4 (M = -0.4); at t=5 the
    # mean is 1/5, m = -0.4 + (1 - 0.2 - 0.1) = 0.3, m - M = 0.7; at t=6 the mean is 1/3,
    # m = 0.3 + (1 - 1/3 - 0.1) = 0.8667, m - M = 1.2667 > 1: the change is signalled at t=6.
    ph = PageHinkley(1, delta=0.1, threshold=1.0, min_instances=1)
    stats = []
    for x in (0, 0, 0, 0, 1):
        assert not ph.update(np.array([x]))[0]
        stats.append(float(ph.statistic[0]))
    np.testing.assert_allclose(stats, [0.0, 0.0, 0.0, 0.0, 0.7], atol=1e-12)
    np.testing.assert_allclose([ph.cumulative[0], ph.minimum[0]], [0.3, -0.4], atol=1e-12)
    assert ph.update(np.array([1.0]))[0]
    assert ph.count[0] == 0 and ph.statistic[0] == 0.0  # reset after signalling


def test_page_hinkley_finds_a_mean_shift_and_stays_quiet_on_stationary_series():
    rng = np.random.default_rng(1)
    x = rng.normal(1.0, 0.2, (400, 3))
    x[200:, 0] += 1.0  # series 0: its mean rises at t = 200; 1 and 2 stay stationary
    ph = PageHinkley(3, delta=0.1, threshold=10.0, min_instances=30)
    fired = np.array([ph.update(row) for row in x])
    first = np.argmax(fired[:, 0])
    # each value after it adds about 2 - 1.05 (the running mean) - 0.1 = 0.85: lambda 10 in ~12 steps
    assert fired[:, 0].any() and 200 <= first < 220
    assert not fired[:200, 0].any() and not fired[:, 1:].any()


def test_page_hinkley_skips_nan_and_waits_for_min_instances():
    ph = PageHinkley(2, delta=0.0, threshold=0.5, min_instances=3)
    assert not ph.update(np.array([0.0, np.nan])).any()
    assert not ph.update(np.array([5.0, np.nan])).any()  # statistic 2.5 but only 2 values
    assert ph.update(np.array([5.0, np.nan])).tolist() == [True, False]
    assert ph.count[1] == 0
    with pytest.raises(InputError, match="x"):
        ph.update(np.zeros(3))
    with pytest.raises(InputError, match="threshold"):
        PageHinkley(2, threshold=0)


# -- the weights -----------------------------------------------------------------------------
def test_each_horizon_row_is_scored_against_the_actual_it_was_for():
    rule = HybridWeights(np.full(1, 0.1), horizon=2, batch=5)
    actual = np.sin(np.arange(40.0))
    for t in range(38):
        # liquid: row 0 wrong, row 1 (for t + 1) right; incremental the other way round
        liq = np.array([[actual[t] + 1.0], [actual[t + 1]]])
        inc = np.array([[actual[t]], [actual[t + 1] + 1.0]])
        rule.forecast_made(t, liq, inc)
        rule.observe(actual[t : t + 1])
    w = rule.weights()[:, 0]
    assert w[0] < 0.05 and w[1] > 0.95


def test_the_weight_minimises_the_combinations_squared_error():
    # Errors e_liq = (1, 1), e_inc = (2, 0): S_liq = 1, S_inc = 2, C = 1. Inverse-MSE weights would
    # give the liquid model 2/3; the combination's mean squared error ((2 - w)^2 + w^2) / 2 is
    # least at w = 1 = (S_inc - C) / (S_liq + S_inc - 2 C). (No forgetting, a negligible prior.)
    def weight(errors):
        rule = HybridWeights(np.ones(1), horizon=1, batch=5, memory=1e12, prior_count=1e-9)
        for count, (e_liq, e_inc) in enumerate(errors):
            rule.forecast_made(count, np.array([[5.0 + e_liq]]), np.array([[5.0 + e_inc]]))
            rule.observe(np.array([5.0]))
        return float(rule.weights()[0, 0])

    assert weight([(1.0, 2.0), (1.0, 0.0)]) == pytest.approx(1.0, abs=1e-6)
    assert weight([(1.0, 0.0), (0.0, 2.0)]) == pytest.approx(0.8, abs=1e-6)  # uncorrelated: 1/S ratio
    assert weight([(1.0, 3.0), (1.0, 1.0)]) == 1.0  # the optimum 1.5 is clipped: forecasts stay convex


# -- the forecaster ----------------------------------------------------------------------------
def test_built_from_the_catalogue_with_the_scenarios_settings(data):
    entry = ModelEntry("hybrid-b12", "hybrid", (("il_batch", 12), ("liquid_units", 4)))
    m = make_forecaster("hybrid", entry.settings(SETTINGS), seed=0)
    assert isinstance(m, HybridForecaster) and isinstance(m.settings, HybridSettings)
    assert m.incremental.settings.il_batch == 12 and m.incremental.settings.il_window == 30
    assert m.liquid.settings.liquid_units == 4
    assert m.liquid.config == m.incremental.config == SETTINGS.common


def test_inner_models_are_the_runs_liquid_and_incremental(fitted, data):
    m = hybrid(fitted)
    u, f = data
    alone = {k: make_forecaster(k, SETTINGS, seed=4) for k in ("liquid", "incremental")}
    for a in alone.values():
        a.fit(u[:T_FIT], f[:T_FIT])
    for i in range(T_FIT, T_FIT + 12):
        inp = input_at(data, i)
        m.forecast(inp)
        for k, a in alone.items():
            np.testing.assert_array_equal(getattr(m, k).forecast(inp).point, a.forecast(inp).point)
            a.observe(u[i], f[i])
        m.observe(u[i], f[i])
    assert m.retrains == alone["incremental"].retrains == 2
    assert m.retrain_steps == alone["incremental"].retrain_steps == [5, 10]


def test_forecast_is_a_convex_combination_of_the_inner_forecasts(fitted, data):
    m = hybrid(fitted)
    u, f = data
    for i in range(T_FIT, T_FIT + 20):
        inp = input_at(data, i)
        w = m.rule.weights()
        point = m.forecast(inp).point
        liq, inc = m.liquid.forecast(inp).point, m.incremental.forecast(inp).point
        assert ((w >= 0) & (w <= 1)).all()
        np.testing.assert_allclose(point, w * liq + (1 - w) * inc, rtol=1e-6, atol=1e-7)
        assert (point >= np.minimum(liq, inc) - 1e-6).all() and (point <= np.maximum(liq, inc) + 1e-6).all()
        m.observe(u[i], f[i])


@pytest.mark.parametrize("bad", ["incremental", "liquid"])
def test_weight_moves_to_the_better_model(fitted, data, bad):
    m = hybrid(fitted)
    inner = getattr(m, bad)
    good_forecast = inner._forecast
    inner._forecast = lambda window, features: good_forecast(window, features) + 0.5  # clearly worse
    forecasts = stream(m, data, 40)
    w_liquid = m.rule.weights()
    assert (w_liquid > 0.95).all() if bad == "incremental" else (w_liquid < 0.05).all()
    good = m.liquid if bad == "incremental" else m.incremental
    good_last = good.forecast(input_at(data, T_FIT + 39)).point
    assert (np.abs(forecasts[-1] - good_last) <= 0.05 * 0.5 + 1e-6).all()  # (1 - w) * 0.5 off the good one


def test_a_failure_restarts_the_weights_and_favours_liquid_until_the_incremental_refits(fitted, data):
    m = hybrid(fitted)
    u, f = data
    stream(m, data, 12)  # observation counts 0..11 (re-fits at 5 and 10)
    s = T_FIT + 12  # the failure strikes at the next step (count 12)
    # Directions 0 and 2 change routing at s, direction 1 does not.
    before = SimpleNamespace(matrix=sp.csr_matrix(np.eye(3)))
    after = SimpleNamespace(matrix=sp.csr_matrix(np.diag([0.0, 1.0, 2.0])))
    routing_at = lambda step: after if step >= s else before
    events = (FailureEvent(s, "fail", "a-b"),)
    w_before = m.rule.weights().copy()
    inp = input_at(data, s, events=events, routing_at=routing_at)
    point = m.forecast(inp).point
    w = m.rule.weights()
    fav = m.rule.favour
    np.testing.assert_allclose(w[:, [0, 2]], fav / (1 + fav))  # errors forgotten, liquid favoured
    np.testing.assert_array_equal(w[:, 1], w_before[:, 1])  # untouched
    liq, inc = m.liquid.forecast(inp).point, m.incremental.forecast(inp).point
    np.testing.assert_allclose(point, w * liq + (1 - w) * inc, rtol=1e-6, atol=1e-7)
    assert np.array_equal(m.forecast(inp).point, point)  # seeing the same event twice changes nothing
    assert m.rule.event_at.tolist() == [12, -1, 12]
    # B = 5 post-failure samples: the re-fit at count 15 has 3, the one at 20 has 8: the favour ends there.
    m.observe(u[s], f[s])
    for i in range(s + 1, s + 8):
        m.forecast(input_at(data, i, events=events, routing_at=routing_at))
        m.observe(u[i], f[i])
        ended = m.rule.event_at[0] == -1
        assert ended == (m.n_observed >= 20), m.n_observed
    assert m.retrain_steps == [5, 10, 15, 20]


def test_same_seed_same_forecasts_other_seed_other_forecasts(data):
    u, f = data

    def run(seed):
        m = make_forecaster("hybrid", SETTINGS, seed=seed)
        m.fit(u[:T_FIT], f[:T_FIT])
        return np.stack(stream(m, data, 8))

    a, b, c = run(5), run(5), run(6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_runs_in_a_scenario_with_a_failure():
    nodes = tuple(Node(x, x.upper()) for x in "abcd")
    links = tuple(Link(f"{a}-{b}", a, b, 100.0) for a, b in ("ab", "bc", "cd", "da"))
    topo = Topology("square", nodes, links)
    src, dst = np.array([(i, j) for i in range(4) for j in range(4) if i != j]).T
    t = np.arange(70)[:, None]
    demands = 5.0 + 2.0 * np.sin(2 * np.pi * t / 12 + np.arange(len(src))[None, :])
    traffic = TrafficMatrixSeries(tuple("abcd"), src, dst, demands, 60.0, datetime(2024, 1, 1))
    settings = ForecastSettings.from_flat(dict(window=6, epochs=2, il_batch=5, il_window=20, liquid_units=8,
                                               mlp_hidden=8, train_windows=64))
    live = live_run(topo, traffic, ("liquid", "incremental", "hybrid"), settings, 40, seed=3, failures=("a-b@50",))
    live.train()
    live.advance(30)
    result = live.result()
    stats = result.model_stats["hybrid"]
    assert stats["retrains"] == result.model_stats["incremental"]["retrains"] == 6
    assert np.isfinite(result.forecasts["hybrid"][40:]).all()
    rule = live.models["hybrid"].rule
    assert rule.event_at.tolist() == [-1] * 8  # the favour ended with the re-fit at count 15 (failure at 10)
