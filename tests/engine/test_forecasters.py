"""Forecasters: the streaming protocol, frozen weights, retraining schedule, exact baselines."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
import torch
from ncps.wirings import AutoNCP

from netdrift.engine.errors import InputError
from netdrift.engine.forecasting import (
    MODEL_NAMES,
    ForecastInput,
    ForecastSettings,
    make_forecaster,
    model_info,
    resolve_device,
    time_features,
)
from netdrift.engine.forecasting import incremental as incremental_mod
from netdrift.engine.forecasting.features import fill_forward

#: Link-level models (the routed ones, which need demands, are tested in test_routed.py).
LINK_MODELS = tuple(n for n in MODEL_NAMES if model_info(n).space == "links")
D = 3  # link directions
S = 24  # steps per day (hourly steps keep the arrays tiny)
T_FIT = 72
SETTINGS = ForecastSettings.from_flat(dict(
    window=6,
    horizon=2,
    steps_per_day=S,
    liquid_units=8,
    epochs=2,
    ltc_epochs=1,
    il_batch=5,
    il_window=30,
    il_epochs=1,
    train_windows=64,
    batch_size=32,
    mlp_hidden=8,
))
CFG = SETTINGS.common


def replace(settings: ForecastSettings, **values) -> ForecastSettings:
    """``settings`` with some flat settings changed."""
    return settings.with_flat(values)


def forecast(m, window, features) -> np.ndarray:
    """The (H, D) point forecast of one protocol step."""
    return m.forecast(ForecastInput(0, window, features)).point


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """These nets are tiny and overhead-bound; two intra-op threads on a busy 2-core box spin."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """(T, D) utilisation with a daily cycle, and (T + H, F) time features."""
    n = 140
    rng = np.random.default_rng(0)
    t = np.arange(n)[:, None]
    u = 0.4 + 0.2 * np.sin(2 * np.pi * t / S + np.arange(D)) + rng.normal(0, 0.01, (n, D))
    times = np.datetime64("2024-01-01T00:00") + np.arange(n + CFG.horizon) * np.timedelta64(1, "h")
    return u.astype(np.float32), time_features(times)


def fitted(name: str, data, cfg: ForecastSettings = SETTINGS, seed: int = 0):
    u, f = data
    m = make_forecaster(name, cfg, seed=seed)
    m.fit(u[:T_FIT], f[:T_FIT])
    return m


def run_stream(m, data, n_steps: int, cfg: ForecastSettings = SETTINGS) -> np.ndarray:
    """Forecast then observe from step T_FIT on; stacked (n_steps, H, D) forecasts."""
    u, f = data
    w, h = cfg.common.window, cfg.common.horizon
    outs = []
    for i in range(T_FIT, T_FIT + n_steps):
        outs.append(forecast(m, u[i - w : i], f[i - w : i + h]))
        m.observe(u[i], f[i])
    return np.stack(outs)


# -- the protocol, every model ---------------------------------------------------------------
@pytest.mark.parametrize("name", LINK_MODELS)
def test_forecast_shape_dtype_finite(name, data):
    out = run_stream(fitted(name, data), data, 8)
    assert out.shape == (8, CFG.horizon, D)
    assert out.dtype == np.float32
    assert np.isfinite(out).all()


@pytest.mark.parametrize("name", LINK_MODELS)
def test_missing_values_still_give_finite_forecasts(name, data):
    u, f = data
    m = fitted(name, data)
    w = u[T_FIT - CFG.window : T_FIT].copy()
    w[2:, 0] = np.nan  # trailing gap
    w[:, 1] = np.nan  # a direction with no data in the window at all
    out = forecast(m, w, f[T_FIT - CFG.window : T_FIT + CFG.horizon])
    assert out.shape == (CFG.horizon, D) and np.isfinite(out).all()
    m.observe(np.array([np.nan, 0.3, np.nan], np.float32), f[T_FIT])
    assert np.isfinite(forecast(m, w, f[T_FIT - CFG.window + 1 : T_FIT + CFG.horizon + 1])).all()


@pytest.mark.parametrize("name", LINK_MODELS)
def test_same_seed_gives_bit_identical_forecasts(name, data):
    a = run_stream(fitted(name, data, seed=7), data, 12)
    b = run_stream(fitted(name, data, seed=7), data, 12)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("name", ["liquid", "incremental", "frozen"])
def test_different_seed_gives_a_different_model(name, data):
    a = run_stream(fitted(name, data, seed=1), data, 3)
    b = run_stream(fitted(name, data, seed=2), data, 3)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("name", LINK_MODELS)
def test_no_global_rng_side_effects(name, data):
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    run_stream(fitted(name, data), data, 6)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)


@pytest.mark.parametrize("name", LINK_MODELS)
def test_bad_shapes_and_unfitted_use_raise_input_error(name, data):
    u, f = data
    m = make_forecaster(name, SETTINGS, seed=0)
    with pytest.raises(InputError, match="fit"):
        forecast(m, u[: CFG.window], f[: CFG.window + CFG.horizon])
    m.fit(u[:T_FIT], f[:T_FIT])
    with pytest.raises(InputError, match="window"):
        forecast(m, u[: CFG.window + 1], f[: CFG.window + CFG.horizon])
    with pytest.raises(InputError, match="features"):
        forecast(m, u[: CFG.window], f[: CFG.window])
    with pytest.raises(InputError, match="value"):
        m.observe(u[0, :2], f[0])


# -- liquid and frozen: no learning after fit ----------------------------------------------------
@pytest.mark.parametrize(
    "name, cfg",
    [
        ("liquid", SETTINGS),
        ("liquid", replace(SETTINGS, liquid_cell="ltc")),
        ("liquid", replace(SETTINGS, liquid_wiring="autoncp")),
        ("frozen", SETTINGS),
    ],
    ids=["cfc", "ltc", "cfc-autoncp", "frozen-mlp"],
)
def test_weights_never_change_after_fit(name, cfg, data):
    m = fitted(name, data, cfg)
    net = m.network
    before = {k: v.detach().clone() for k, v in net.state_dict().items()}
    assert not any(p.requires_grad for p in net.parameters())

    grad_modes = []
    hook = net.register_forward_pre_hook(lambda mod, args: grad_modes.append(torch.is_grad_enabled()))
    fail = AssertionError("optimizer used after fit")
    with (
        mock.patch.object(torch.optim.Adam, "__init__", side_effect=fail),
        mock.patch.object(torch.optim.Adam, "step", side_effect=fail),
        mock.patch.object(torch.Tensor, "backward", side_effect=AssertionError("backward after fit")),
    ):
        run_stream(m, data, 40, cfg)
    hook.remove()

    assert grad_modes and not any(grad_modes)  # every forward ran under no_grad
    after = net.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert m.retrains == 0 and m.retrain_steps == []


def test_ltc_cell_is_selectable(data):
    # Oracle, the cells' equations (Hasani et al.): the LTC's ODE has a leak conductance and
    # potential, a membrane capacitance and synaptic reversal potentials; CfC's closed form has
    # none of them. The two cells then forecast the same window differently.
    ltc, cfc = fitted("liquid", data, replace(SETTINGS, liquid_cell="ltc")), fitted("liquid", data)
    ode = {"gleak", "vleak", "cm", "erev"}
    assert ode <= {name.rsplit(".", 1)[-1] for name, _ in ltc.network.named_parameters()}
    assert not ode & {name.rsplit(".", 1)[-1] for name, _ in cfc.network.named_parameters()}
    u, f = data
    window, features = u[T_FIT - CFG.window:T_FIT], f[T_FIT - CFG.window:T_FIT + CFG.horizon]
    assert np.abs(forecast(ltc, window, features) - forecast(cfc, window, features)).max() > 1e-4


def test_ltc_solver_steps_follow_the_config(data):
    m = fitted("liquid", data, replace(SETTINGS, liquid_cell="ltc", ltc_unfolds=2))
    assert m.network.rnn.rnn_cell._ode_unfolds == 2  # ncps keeps it on the cell
    f = data[1]
    out = forecast(m, data[0][T_FIT - CFG.window:T_FIT], f[T_FIT - CFG.window:T_FIT + CFG.horizon])
    assert out.shape == (CFG.horizon, D) and np.isfinite(out).all()


@pytest.mark.parametrize("cell", ["cfc", "ltc"])
def test_autoncp_wiring(cell, data):
    cfg = replace(SETTINGS, liquid_cell=cell, liquid_wiring="autoncp", liquid_units=10)
    m = fitted("liquid", data, cfg)
    rnn = m.network.rnn
    wiring = rnn.wiring_or_units if cell == "cfc" else rnn._wiring
    assert isinstance(wiring, AutoNCP) and wiring.units == 10
    assert np.isfinite(run_stream(m, data, 3, cfg)).all()


# -- incremental: the retraining schedule --------------------------------------------------------
@pytest.mark.parametrize("mode", ["warm", "refit"])
def test_incremental_refits_exactly_every_b_samples_on_the_last_n(mode, data, monkeypatch):
    u, f = data
    # The paper form: the re-fits see the raw series, and the forecast moves only at a re-fit (with
    # residual learning the buffer holds robustly scaled values and the shrinkage moves every step).
    cfg = replace(SETTINGS, il_mode=mode, residual=False)  # B=5, N=30
    seen: list[np.ndarray] = []
    real_sampler = incremental_mod.WindowSampler

    def spy(series, *args, **kwargs):
        seen.append(np.array(series))
        return real_sampler(series, *args, **kwargs)

    m = fitted("incremental", data, cfg)
    monkeypatch.setattr(incremental_mod, "WindowSampler", spy)
    probe_w, probe_f = u[T_FIT - CFG.window : T_FIT], f[T_FIT - CFG.window : T_FIT + CFG.horizon]
    probes = [forecast(m, probe_w, probe_f)]
    for i in range(T_FIT, T_FIT + 23):
        m.observe(u[i], f[i])
        probes.append(forecast(m, probe_w, probe_f))

    assert m.retrains == 4
    assert m.retrain_steps == [5, 10, 15, 20]
    # Each re-fit saw exactly the most recent N=30 steps (history tail + observations).
    for n_obs, series in zip([5, 10, 15, 20], seen, strict=True):
        end = T_FIT + n_obs
        np.testing.assert_array_equal(series, u[end - 30 : end])
    # The model only changes at a re-fit: same input, same forecast in between.
    changed = [k for k in range(1, 24) if not np.array_equal(probes[k], probes[k - 1])]
    assert changed == [5, 10, 15, 20]


def test_refit_and_warm_differ(data):
    a = run_stream(fitted("incremental", data, replace(SETTINGS, il_mode="warm")), data, 12)
    b = run_stream(fitted("incremental", data, replace(SETTINGS, il_mode="refit")), data, 12)
    assert np.array_equal(a[:5], b[:5])  # same initial fit
    assert not np.array_equal(a[5:], b[5:])


def test_frozen_never_retrains(data):
    m = fitted("frozen", data)
    run_stream(m, data, 23)
    assert m.retrains == 0 and m.retrain_steps == []


# -- baselines: exact values ------------------------------------------------------------------------
def test_persistence_is_the_last_value(data):
    u, f = data
    m = fitted("persistence", data)
    out = run_stream(m, data, 10)
    for k in range(10):
        last = u[T_FIT + k - 1]
        assert np.array_equal(out[k], np.stack([last, last]))
    w = u[T_FIT - CFG.window : T_FIT].copy()
    w[-1, 2] = np.nan  # a gap: carry the previous value forward
    got = forecast(m, w, f[T_FIT - CFG.window : T_FIT + CFG.horizon])
    assert got[0, 2] == u[T_FIT - 2, 2] and got[1, 0] == u[T_FIT - 1, 0]


def test_seasonal_falls_back_to_persistence_then_uses_one_day_earlier(data):
    u, f = data
    w, h = CFG.window, CFG.horizon
    m = make_forecaster("seasonal", SETTINGS, seed=0)
    start = 10  # only 10 steps of history: less than a day
    m.fit(u[:start], f[:start])
    for i in range(start, start + 2 * S):
        out = forecast(m, u[i - w : i], f[i - w : i + h])
        for k in range(h):  # target step i + k
            src = i + k - S
            expected = u[src] if src >= 0 else u[i - 1]
            assert np.array_equal(out[k], expected), (i, k)
        m.observe(u[i], f[i])


def test_seasonal_uses_persistence_where_the_day_old_value_is_missing(data):
    u, f = data
    hist = u[:T_FIT].copy()
    i = T_FIT
    hist[i - S, 1] = np.nan  # the source of the next forecast, direction 1
    m = make_forecaster("seasonal", SETTINGS, seed=0)
    m.fit(hist, f[:T_FIT])
    out = forecast(m, u[i - CFG.window : i], f[i - CFG.window : i + CFG.horizon])
    assert out[0, 1] == u[i - 1, 1] and out[0, 0] == u[i - S, 0]


# -- configuration and names -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"il_batch": 48, "il_window": 48}, "il_window"),
        ({"il_batch": 48, "il_window": 10}, "il_window"),
        ({"liquid_cell": "gru"}, "liquid_cell 'gru'.*cfc, ltc"),
        ({"liquid_wiring": "ncp"}, "liquid_wiring"),
        ({"il_mode": "sometimes"}, "il_mode"),
        ({"window": 0}, "window"),
        ({"lr": -1.0}, "lr"),
        ({"liquid_wiring": "autoncp", "liquid_units": 4}, "liquid_units"),
        ({"il_window": 20, "il_batch": 5, "window": 24}, "il_window"),
    ],
)
def test_bad_config_raises_input_error(kwargs, match):
    with pytest.raises(InputError, match=match):
        ForecastSettings.from_flat(kwargs)


def test_unknown_setting_is_refused_by_name():
    with pytest.raises(InputError, match="model setting 'il_bacth': unknown; valid: .*il_batch"):
        ForecastSettings.from_flat({"il_bacth": 12})


def test_unknown_model_name_lists_valid_ones():
    with pytest.raises(InputError) as err:
        make_forecaster("prophet", CFG, seed=0)
    msg = str(err.value)
    assert "prophet" in msg and all(n in msg for n in MODEL_NAMES)


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InputError, match="tpu"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no GPU"):
            resolve_device("cuda")
        with pytest.raises(InputError):
            make_forecaster("liquid", CFG, seed=0, device="cuda")


# -- features ---------------------------------------------------------------------------------------
def test_time_features_by_hand():
    times = np.array(
        ["2024-01-01T00:00", "2024-01-01T06:00", "1970-01-01T12:00", "2024-01-04T00:00"],
        dtype="datetime64[m]",
    )
    got = time_features(times)
    assert got.shape == (4, 4) and got.dtype == np.float32
    # 2024-01-01 is a Monday: phase 0 of day and week.
    np.testing.assert_allclose(got[0], [0, 1, 0, 1], atol=1e-6)
    np.testing.assert_allclose(got[1, :2], [1, 0], atol=1e-6)
    # 1970-01-01 was a Thursday: noon is 3.5 days into the week.
    wk = 2 * np.pi * 3.5 / 7
    np.testing.assert_allclose(got[2], [0, -1, np.sin(wk), np.cos(wk)], atol=1e-6)
    # Thursday 00:00: 3 days into the week.
    np.testing.assert_allclose(got[3, 2:], [np.sin(6 * np.pi / 7), np.cos(6 * np.pi / 7)], atol=1e-6)


def test_time_features_rejects_non_datetimes():
    with pytest.raises(InputError, match="times"):
        time_features(np.arange(3))


def test_fill_forward():
    x = np.array([[np.nan, np.nan], [1.0, np.nan], [np.nan, np.nan], [3.0, np.nan]])
    got = fill_forward(x, fallback=np.array([9.0, 7.0]))
    np.testing.assert_array_equal(got, [[1, 7], [1, 7], [1, 7], [3, 7]])


def test_replay_mixes_a_share_of_training_windows_into_each_refit(data, monkeypatch):
    from netdrift.engine.forecasting.features import MixedSampler, WindowSampler

    u, f = data
    recent = WindowSampler(u[100:130], f[100:130], CFG.window, CFG.horizon, "recent")
    older = WindowSampler(u[:T_FIT], f[:T_FIT], CFG.window, CFG.horizon, "history")
    mixed = MixedSampler(recent, older, 0.5, np.random.default_rng(0))
    assert len(mixed.valid) == 2 * len(recent.valid)  # half of the pool replayed
    ids = mixed.valid[::-1]
    win, feats, target = mixed.gather(ids)
    for k, i in enumerate(ids):  # every id comes back as its own window, in the order asked
        source, j = (older, i - mixed._offset) if i >= mixed._offset else (recent, i)
        w, ft, y = source.gather(np.array([j]))
        np.testing.assert_array_equal(win[k], w[0])
        np.testing.assert_array_equal(target[k], y[0])
    seen = []
    real = incremental_mod.MixedSampler
    monkeypatch.setattr(incremental_mod, "MixedSampler",
                        lambda *a, **kw: seen.append(real(*a, **kw)) or seen[-1])
    m = fitted("incremental", data, replace(SETTINGS, il_replay=0.5))
    for i in range(T_FIT, T_FIT + 5):
        m.observe(u[i], f[i])
    assert m.retrains == 1 and len(seen) == 1 and (seen[0].valid >= seen[0]._offset).sum() > 0
