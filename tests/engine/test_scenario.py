"""The scenario runner: streaming protocol, live failures, determinism, validation."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.experiments.spec import ModelEntry, ScenarioSpec, spec_from_dict
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.routing import routing_matrix
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries
from tests.helpers import live_run

STEPS, TRAIN = 60, 40


def square() -> Topology:
    """a-b-c-d-a ring: failing a-b sends a->b traffic the long way round."""
    nodes = tuple(Node(x, x.upper()) for x in "abcd")
    links = (Link("a-b", "a", "b", 100.0), Link("b-c", "b", "c", 100.0),
             Link("c-d", "c", "d", 100.0), Link("d-a", "d", "a", 100.0))
    return Topology("square", nodes, links)


def traffic(topo: Topology, steps: int = STEPS) -> TrafficMatrixSeries:
    n = len(topo.nodes)
    src, dst = np.array([(i, j) for i in range(n) for j in range(n) if i != j]).T
    t = np.arange(steps)[:, None]
    demands = 5.0 + 2.0 * np.sin(2 * np.pi * t / 12 + np.arange(len(src))[None, :])
    return TrafficMatrixSeries(tuple(x.id for x in topo.nodes), src, dst, demands, 60.0, datetime(2024, 1, 1))


CFG = ForecastSettings.from_flat(dict(window=6, horizon=1, epochs=2, il_batch=5, il_window=20))


def make(models=("persistence", "seasonal", "frozen", "incremental"), **kw) -> LiveScenario:
    topo = square()
    return live_run(topo, traffic(topo), models, CFG, TRAIN, seed=3, **kw)


def test_persistence_forecasts_the_previous_actual():
    live = make(("persistence",))
    live.train()
    live.advance(10)
    f = live.forecasts["persistence"]
    actual = live.simulator.loads.loads
    np.testing.assert_allclose(f[TRAIN + 1:TRAIN + 10], actual[TRAIN:TRAIN + 9], rtol=1e-5)
    assert np.isnan(f[:TRAIN]).all(), "no forecast exists during the training period"


def test_a_failed_then_restored_link_reroutes_from_the_current_step_and_back():
    # Oracles independent of the simulator: the per-pair routing matrix of the failure state
    # applied to the demands with a plain matrix product (float64), and a scenario built from
    # the same spec with no failure at all.
    spec = ScenarioSpec(topology="abilene", steps=40, train_steps=30, step_minutes=60,
                        models=("persistence",), seed=3)
    live = LiveScenario.from_spec(spec)
    live.train()
    live.advance(2)
    down, fail_at = live.topology.links[0].id, live.step
    live.fail(down)
    live.advance(3)
    restore_at = live.step
    live.restore(down)
    live.advance(2)

    topo, tm = live.topology, live.traffic
    demands = tm.demands.astype(np.float64)
    intact = routing_matrix(topo, src=tm.src, dst=tm.dst).matrix
    rerouted = routing_matrix(topo, link_up=np.array([link.id != down for link in topo.links]),
                              src=tm.src, dst=tm.dst)
    assert not rerouted.unreachable.any(), "the test wants a failure that only re-routes"
    untouched = LiveScenario.from_spec(spec)
    assert (fail_at, restore_at) == (32, 35)
    for t in range(spec.steps):
        got = live.loads_at(t)
        if fail_at <= t < restore_at:
            np.testing.assert_allclose(got, rerouted.matrix @ demands[t], rtol=1e-6, atol=1e-6)
            assert not np.allclose(got, untouched.loads_at(t)), f"failing {down} changed nothing at step {t}"
        else:
            np.testing.assert_allclose(got, intact @ demands[t], rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(got, untouched.loads_at(t), rtol=1e-6, atol=1e-6)
    d = 2 * topo.link_index[down]
    assert live.loads_at(fail_at)[d:d + 2].tolist() == [0.0, 0.0]


def test_same_seed_same_numbers_bit_for_bit():
    runs = []
    for _ in range(2):
        live = make()
        live.train()
        live.advance(8)
        live.fail("b-c")
        live.advance(10)
        runs.append(live.result())
    for model in runs[0].forecasts:
        np.testing.assert_array_equal(runs[0].forecasts[model], runs[1].forecasts[model])


def test_result_covers_observed_steps_with_metrics_and_stats():
    live = make()
    live.train()
    live.advance(5)
    live.fail("a-b")
    live.advance(STEPS)
    res = live.result()
    assert res.actual.shape == (STEPS, 8)
    assert set(res.forecasts) == {"persistence", "seasonal", "frozen", "incremental"}
    assert res.events == [FailureEvent(TRAIN + 5, "fail", "a-b", "link")]
    periods = {r.period for r in res.metrics}
    assert {"pre", "post"} <= periods
    inc = res.model_stats["incremental"]
    # B = 5 new samples per re-fit over 20 streamed steps
    assert inc["retrains"] == (STEPS - TRAIN) // 5
    assert res.model_stats["frozen"]["retrains"] == 0


def test_model_variants_run_side_by_side():
    live = make((ModelEntry("inc-b5", "incremental", (("il_batch", 5),)),
                 ModelEntry("inc-b10", "incremental", (("il_batch", 10),))))
    live.train()
    live.advance(20)
    stats = live.model_stats()
    assert stats["inc-b5"]["retrains"] == 4 and stats["inc-b10"]["retrains"] == 2


@pytest.mark.parametrize("bad, message", [
    (dict(models=("nonsense",)), "model 'nonsense'"),
    (dict(models=("persistence", "persistence")), "given twice"),
])
def test_bad_models_are_rejected(bad, message):
    with pytest.raises(InputError, match=message):
        make(**bad)


def test_training_must_be_shorter_than_the_run():
    topo = square()
    with pytest.raises(InputError, match="^train_steps: 60 must be smaller"):
        live_run(topo, traffic(topo), ("persistence",), CFG, STEPS, seed=0)


def test_failures_inside_training_or_unknown_are_rejected():
    topo = square()
    with pytest.raises(InputError, match="training period"):
        live_run(topo, traffic(topo), ("persistence",), CFG, TRAIN, failures=("a-b@3",))
    live = make(("persistence",))
    live.train()
    with pytest.raises(InputError, match="'zz'"):
        live.toggle("zz")
    with pytest.raises(InputError, match="not down"):
        live.restore("a-b")


def test_fork_is_independent():
    live = make(("persistence",))
    live.train()
    other = live.fork()
    other.fail("a-b")
    other.advance(5)
    assert live.down_links == frozenset() and live.step == TRAIN


def test_the_h_step_ahead_forecast_is_recorded_against_the_step_it_is_for():
    topo = square()
    cfg = ForecastSettings.from_flat(dict(window=6, horizon=3, epochs=2, il_batch=5, il_window=20))
    live = live_run(topo, traffic(topo), ("persistence",), cfg, TRAIN, seed=0)
    live.train()
    live.advance(10)
    f = live.forecasts["persistence"]
    actual = live.simulator.loads.loads
    # persistence made at step t (last seen t-1) for step t+2: the value of step t-1
    np.testing.assert_allclose(f[TRAIN + 2:TRAIN + 10], actual[TRAIN - 1:TRAIN + 7], rtol=1e-5)
    assert np.isnan(f[:TRAIN + 2]).all()


RESUME_SPEC = ScenarioSpec(topology="abilene", steps=150, train_steps=100, step_minutes=60,
                           models=("persistence", "liquid", "incremental", "routed-incremental", "liquid-stateful"),
                           forecast=ForecastSettings.from_flat(dict(window=8, horizon=2, epochs=1,
                                                                    train_windows=64, il_batch=6, il_window=30)),
                           seed=7, interval=0.9)


def _uninterrupted(click_at: int, stop: int, target: str) -> LiveScenario:
    live = LiveScenario.from_spec(RESUME_SPEC)
    live.train()
    live.advance(click_at - live.step)
    live.toggle(target)
    live.advance(stop - live.step)
    return live


@pytest.mark.parametrize("with_models", [True, False])
def test_a_run_resumed_from_its_spec_events_and_models_continues_bit_for_bit(with_models):
    """A run clicked at step 110, stopped at 120 and rebuilt from what a history stores (spec,
    events, exported models, step) then played to 140 equals the run that was never stopped."""
    target = LiveScenario.from_spec(RESUME_SPEC).topology.links[0].id
    first = LiveScenario.from_spec(RESUME_SPEC)
    first.train()
    blob = first.export_models()
    first.advance(10)
    first.toggle(target)
    first.advance(10)
    rebuilt = LiveScenario.resume(spec_from_dict(first.snapshot().config), first.events, first.step,
                                  models=blob if with_models else None)
    assert rebuilt.step == 120 and rebuilt.events == first.events
    rebuilt.advance(20)
    whole = _uninterrupted(110, 140, target)
    a, b = rebuilt.snapshot(), whole.snapshot()
    np.testing.assert_array_equal(a.actual, b.actual)
    assert set(a.forecasts) == set(b.forecasts)
    for m in b.forecasts:
        np.testing.assert_array_equal(a.forecasts[m], b.forecasts[m])
        np.testing.assert_array_equal(a.upper[m], b.upper[m])
    assert a.model_stats["incremental"]["retrain_steps"] == b.model_stats["incremental"]["retrain_steps"]


def test_models_are_exported_only_right_after_training_and_only_into_the_same_run():
    live = LiveScenario.from_spec(RESUME_SPEC)
    live.train()
    blob = live.export_models()
    live.advance(1)
    with pytest.raises(InputError, match="right after training"):
        live.export_models()
    other = LiveScenario.from_spec(ScenarioSpec(**{**RESUME_SPEC.__dict__, "models": ("persistence",)}))
    with pytest.raises(InputError, match="not this run's models"):
        other.load_models(blob)
    with pytest.raises(InputError, match="cannot be read"):
        LiveScenario.from_spec(RESUME_SPEC).load_models(b"not a model")


def test_training_reports_each_epoch_of_each_model_with_the_time_left():
    spec = ScenarioSpec(**{**RESUME_SPEC.__dict__, "models": ("persistence", "liquid", "incremental"),
                           "forecast": ForecastSettings.from_flat(dict(window=8, horizon=2, epochs=3, train_windows=64,
                                                                       il_batch=6, il_window=30, il_epochs=2))})
    seen: list[tuple[str, float]] = []
    live = LiveScenario.from_spec(spec)
    live.train(progress=lambda msg, frac: seen.append((msg, frac)))
    liquid = [m for m, _ in seen if m.startswith("fitting liquid (2/3): ")]
    assert [m.split(": ")[1].split(" of")[0] for m in liquid] == ["33%", "67%", "100%"]
    assert "s left for it" in liquid[0] and "left" not in liquid[-1]
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert live.models["liquid"]._fit_progress is None
    live.export_models()  # the callbacks are not kept with the models: they still pickle


def test_routed_and_hybrid_models_report_their_inner_epochs_too():
    spec = ScenarioSpec(**{**RESUME_SPEC.__dict__, "models": ("routed-liquid", "hybrid"),
                           "forecast": ForecastSettings.from_flat(dict(window=8, horizon=2, epochs=3, train_windows=64,
                                                                       il_batch=6, il_window=30, il_epochs=2))})
    seen: list[tuple[str, float]] = []
    LiveScenario.from_spec(spec).train(progress=lambda msg, frac: seen.append((msg, frac)))
    for i, name in enumerate(("routed-liquid", "hybrid"), start=1):
        shares = [m.split(": ")[1].split("%")[0] for m, _ in seen if m.startswith(f"fitting {name} ({i}/2): ")]
        # 3 liquid epochs (and 2 of the hybrid's incremental network): more than one step per model
        assert len(shares) >= 3, (name, seen)
        values = [int(s) for s in shares]
        assert values == sorted(values) and values[-1] == 100, (name, values)


def test_a_stored_spec_with_variants_and_settings_comes_back_equal():
    spec = ScenarioSpec(topology="abilene", steps=150, train_steps=100, seed=4, failures=("0-1@120",),
                        models=("liquid", ModelEntry("incremental-b12", "incremental", (("il_batch", 12),))),
                        forecast=ForecastSettings.from_flat({"window": 12, "liquid_cell": "ltc"}), interval=None)
    back = spec_from_dict(LiveScenario.from_spec(spec).snapshot().config)  # what the history stores
    assert back.to_dict() == spec.to_dict()
    assert back.models[1] == ModelEntry("incremental-b12", "incremental", (("il_batch", 12),))


CACHE_MODELS = ("persistence", "seasonal", "incremental", "routed-persistence", "ensemble")


def _counted(live: LiveScenario) -> dict[str, list[int]]:
    """Count each fitted model's forecast calls from now on (after training: the calibration
    pass forecasts from copies of the models and is not counted)."""
    counts: dict[str, list[int]] = {}
    for label, model in live.models.items():
        calls = counts[label] = [0]

        def forecast(inp, _inner=model.forecast, _calls=calls):
            _calls[0] += 1
            return _inner(inp)

        model.forecast = forecast  # type: ignore[method-assign]
    return counts


def _cache_run(bands: bool, click_at: int | None = None) -> tuple[LiveScenario, dict[str, list[int]]]:
    live = make(CACHE_MODELS, interval=0.9, observe="demands")
    live.train()
    counts = _counted(live)
    while not live.finished:
        if bands:
            live.next_bands()  # what the Live page shows before each step: every model's look-ahead
        if live.step == click_at:
            live.toggle("a-b")
        live.advance(1)
    return live, counts


def test_with_bands_shown_each_model_forecasts_each_step_once_and_the_numbers_do_not_change():
    members = [m for m in CACHE_MODELS if m != "ensemble"]  # the ensemble combines its members' forecasts
    shown, counts = _cache_run(bands=True)
    assert {m: counts[m][0] for m in members} == {m: STEPS - TRAIN for m in members}  # steps x models
    assert counts["ensemble"][0] == 0
    hidden, _ = _cache_run(bands=False)
    for kind in ("forecasts", "lower", "upper"):
        a, b = getattr(shown.recorder, kind), getattr(hidden.recorder, kind)
        assert sorted(a) == sorted(b) == sorted(CACHE_MODELS)
        for m in CACHE_MODELS:
            np.testing.assert_array_equal(a[m], b[m], err_msg=f"{kind} of {m}")


def test_a_click_after_the_look_ahead_makes_that_step_forecast_again_under_the_new_failure_state():
    at = TRAIN + 7
    members = [m for m in CACHE_MODELS if m != "ensemble"]
    shown, counts = _cache_run(bands=True, click_at=at)
    # the look-ahead of step `at` was made before the click: that step is forecast twice
    assert {m: counts[m][0] for m in members} == {m: STEPS - TRAIN + 1 for m in members}
    hidden, _ = _cache_run(bands=False, click_at=at)
    assert [e.step for e in shown.events] == [e.step for e in hidden.events] == [at]
    for m in CACHE_MODELS:
        np.testing.assert_array_equal(shown.forecasts[m], hidden.forecasts[m], err_msg=m)
        np.testing.assert_array_equal(shown.recorder.upper[m], hidden.recorder.upper[m], err_msg=m)
