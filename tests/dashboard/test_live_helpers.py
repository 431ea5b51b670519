"""The Live view's helpers: the spec from the start form, the history through the service,
per-session caches, and the running-error table of the selected direction."""

from __future__ import annotations

import numpy as np
import pytest

from netdrift.dashboard.common.state import LiveSession
from netdrift.dashboard.live import helpers as lh
from netdrift.dashboard.live import history
from netdrift.dashboard.live.chart import link_chart_spec
from netdrift.engine.errors import InputError
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.experiments.spec import ModelEntry, ScenarioSpec
from netdrift.engine.forecasting.settings import ForecastSettings
from tests.helpers import weathermap_colour


@pytest.fixture
def live() -> LiveScenario:
    spec = ScenarioSpec(topology="abilene", steps=60, train_steps=30, step_minutes=60,
                        models=("persistence", "seasonal"), seed=2)
    s = LiveScenario.from_spec(spec)
    s.train()
    s.advance(12)
    return s


def test_the_spec_carries_the_quick_preset_or_the_settings_page_values() -> None:
    quick = lh.make_spec("abilene", 100, 60, 1, ["liquid", "persistence"])
    assert quick.forecast.common.epochs == 6 and quick.forecast.incremental.il_batch == 24
    assert quick.models == ("liquid", "persistence") and quick.step_minutes == 15.0
    mine = lh.make_spec("abilene", 100, 60, 1, ["liquid"], forecast={"window": 12, "liquid_cell": "ltc"})
    assert mine.forecast.common.window == 12 and mine.forecast.liquid.liquid_cell == "ltc"
    # what was not changed on the Settings page stays the preset's, not the engine's default (24, 48)
    assert mine.forecast.common.epochs == 6 and mine.forecast.incremental.il_batch == 24


def test_an_unknown_setting_is_refused_not_dropped() -> None:
    with pytest.raises(InputError, match="windw"):
        lh.make_spec("abilene", 100, 60, 1, ["liquid"], forecast={"windw": 12})


def test_the_preset_caption_states_the_preset_numbers() -> None:
    text = lh.preset_text(324, 348)
    assert "324 training steps (3.375 days)" in text and "348 live steps" in text
    assert "window 24 steps" in text and "every 24 steps on the last 192" in text


def test_the_running_error_table_is_the_selected_direction_beside_the_network_to_3_digits(live: LiveScenario) -> None:
    d = 3
    table = lh.errors_table(live, d, last=10)
    assert list(table.columns) == ["model", "RMSE, this direction (Mbit/s)", "MAPE, this direction (%)",
                                   "RMSE, network (Mbit/s)", "MAPE, network (%)"]

    def sig3(x: float) -> float:
        return float(f"{x:.3g}")

    # Persistence forecasts each step with the load one step earlier.
    loads = live.simulator.loads.loads[live.step - 11:live.step].astype(float)
    err = loads[1:] - loads[:-1]
    row = table.set_index("model").loc["persistence"]
    assert row["RMSE, this direction (Mbit/s)"] == sig3(np.sqrt(np.mean(err[:, d] ** 2)))
    a = loads[1:, d]
    kept = a >= 0.01 * live.capacity[d]  # MAPE leaves out loads under 1 % of capacity
    assert 0 < kept.sum() < len(kept)
    assert row["MAPE, this direction (%)"] == sig3(np.mean(np.abs(err[kept, d]) / a[kept]) * 100)
    assert row["RMSE, network (Mbit/s)"] == sig3(np.sqrt(np.nanmean(err ** 2)))


def test_caches_live_in_the_session_not_on_the_scenario(live: LiveScenario) -> None:
    sess = LiveSession(live=live)
    before = set(vars(live))
    data = lh.map_data(sess, None)
    assert set(vars(live)) == before, "nothing may be attached to the engine's object"
    assert sess.positions is not None and sess.next_forecasts_step == live.step
    assert set(sess.next_forecasts) == {"persistence", "seasonal"}
    assert len(data["edges"]) == 2 * len(live.topology.links)
    step = live.step
    lh.tick(sess, 2)
    assert live.step == step + 2 and sess.next_forecasts_step == live.step


def test_refits_are_reported_for_the_refitting_models_only(live: LiveScenario) -> None:
    assert lh.refitting_models(live) == []
    assert lh.refit_caption(live) is None
    fast = ForecastSettings.from_flat({"window": 4, "epochs": 1, "train_windows": 64, "il_batch": 6,
                                       "il_window": 12, "mlp_hidden": 8})
    spec = ScenarioSpec(topology="abilene", steps=60, train_steps=30, step_minutes=60, forecast=fast, seed=2,
                        models=("frozen", ModelEntry("incremental-b4", "incremental", (("il_batch", 4),))))
    run = LiveScenario.from_spec(spec)
    run.train()
    assert lh.refitting_models(run) == ["incremental-b4"]  # the frozen MLP never re-fits
    assert lh.refit_caption(run) == "Last re-fit: incremental-b4 not yet since training."
    run.advance(5)
    step = run.last_retrain_step("incremental-b4")
    assert step is not None
    assert lh.refit_caption(run) == f"Last re-fit: incremental-b4 at step {step}."
    rules = link_chart_spec(run, 0)["datasets"]["retrain"]
    assert rules["step"].tolist() == [step] and rules["event"].tolist() == ["incremental-b4 re-fitted"]


def test_history_rows_are_written_through_the_service(live: LiveScenario, tmp_path) -> None:
    from netdrift.storage.database import open_database
    from netdrift.storage.repository import ScenarioRepository

    sessions = open_database(f"sqlite:///{tmp_path}/h.sqlite")
    sid, err = history.start_history(sessions, live, label="live abilene")
    assert err is None and sid is not None
    saved = history.save_history(sessions, sid, live)
    assert saved == f"Saved to history as scenario {sid} (steps 0..{live.step - 1})."
    with sessions() as s:
        detail = ScenarioRepository(s).get_scenario(sid)
        assert detail.status == "complete" and detail.label == "live abilene"
        assert ScenarioRepository(s).load_series(sid).shape[0] == live.step
    assert history.start_history(None, live) == (None, "No history database is configured.")
    assert history.save_history(sessions, None, live).startswith("Not saved")


# --- intervals, warnings, the map coloured by the upper bound --------------------------------------
@pytest.fixture(scope="module")
def banded() -> LiveScenario:
    """A run with a routed model, intervals on and a 3-step horizon, 12 steps into its live part."""
    fast = ForecastSettings.from_flat({"window": 6, "horizon": 3, "epochs": 1, "train_windows": 64})
    spec = ScenarioSpec(topology="abilene", steps=60, train_steps=30, step_minutes=15, forecast=fast,
                        models=("persistence", "routed-persistence"), seed=2, interval=0.8, warn_utilization=0.9)
    s = LiveScenario.from_spec(spec)
    s.train()
    s.advance(12)
    return s


def test_the_spec_carries_the_interval_settings() -> None:
    default = lh.make_spec("abilene", 100, 60, 1, ["persistence"])
    assert (default.interval, default.warn_utilization) == (ScenarioSpec().interval, ScenarioSpec().warn_utilization)
    off = lh.make_spec("abilene", 100, 60, 1, ["persistence"], interval=None, warn_utilization=0.7)
    assert off.interval is None and off.warn_utilization == 0.7


def test_bands_are_computed_once_per_step_and_give_the_hover_forecasts(banded: LiveScenario) -> None:
    sess = LiveSession(live=banded)
    bands = lh.next_bands(sess)
    assert set(bands) == {"persistence", "routed-persistence"} and sess.next_forecasts_step == banded.step
    assert bands["persistence"].upper.shape == (3, banded.topology.n_directions)
    assert lh.next_bands(sess) is bands  # cached in the session, not recomputed
    expected = banded.next_forecasts()
    for m, f in lh.next_forecasts(sess).items():
        np.testing.assert_allclose(f, expected[m], rtol=1e-6)


def test_the_warning_model_defaults_to_the_first_routed_model(banded: LiveScenario, live: LiveScenario) -> None:
    assert lh.band_models(banded) == ["routed-persistence", "persistence"]
    assert lh.default_band_model(banded) == "routed-persistence"
    assert lh.horizon_text(banded) == "the next 45 min (3 steps)"
    live.interval = None  # a run without intervals has nothing to warn with
    assert lh.band_models(live) == [] and lh.default_band_model(live) is None


def _sustained_pick(live: LiveScenario, upper: np.ndarray) -> tuple[int, float, np.ndarray]:
    """The direction whose bound is furthest above its load in this forecast and the one before,
    a threshold half-way, and the earlier forecasts' highest upper bounds (what the run stored)."""
    cap, now = live.capacity, live.loads_at(live.step - 1)
    before = live.recorder.peak_upper["persistence"][live.step - 2:live.step]
    both = np.minimum(upper.max(axis=0), before[-1])
    d = int(np.argmax(both / cap - now / cap))
    return d, float((now[d] / cap[d] + both[d] / cap[d]) / 2), before


def test_warning_rows_by_hand_from_the_bands(banded: LiveScenario) -> None:
    sess = LiveSession(live=banded)
    upper = lh.next_bands(sess)["persistence"].upper.astype(float)
    cap, now = banded.capacity, banded.loads_at(banded.step - 1)
    d, threshold, before = _sustained_pick(banded, upper)
    old = banded.warn_utilization
    banded.warn_utilization = threshold
    try:
        rows = lh.warning_rows(sess, "persistence")
    finally:
        banded.warn_utilization = old
    limit = threshold * cap
    # sustained: the bound reaches the threshold now and in one of the two forecasts before
    warned = {int(x) for x in np.flatnonzero((now < limit) & (upper >= limit).any(axis=0) & (before >= limit).any(axis=0))}
    assert {r[0] for r in rows} == warned and d in warned
    first = {int(x): int(np.argmax(upper[:, x] >= limit[x])) + 1 for x in warned}
    soon = [first[r[0]] for r in rows]
    assert soon == sorted(soon)
    text = dict(rows)[d]
    lid, s, t = banded.topology.direction_names()[d]
    labels = {n.id: n.label for n in banded.topology.nodes}
    assert text.startswith(f"{labels[s]} \u2192 {labels[t]} may exceed ")
    assert f"within {15 * first[d]} min (upper bound {upper[:, d].max() / cap[d] * 100:.0f} %)" in text


def test_a_lone_spike_of_the_bound_does_not_warn(banded: LiveScenario) -> None:
    sess = LiveSession(live=banded)
    upper = lh.next_bands(sess)["persistence"].upper.astype(float)
    cap, now = banded.capacity, banded.loads_at(banded.step - 1)
    before = banded.recorder.peak_upper["persistence"][banded.step - 2:banded.step].max(axis=0)
    # a threshold above both earlier bounds and the load, below this forecast's bound
    low = np.maximum(before, now) / cap
    d = int(np.argmax(upper.max(axis=0) / cap - low))
    assert upper[:, d].max() / cap[d] > low[d]
    banded.warn_utilization = float((low[d] + upper[:, d].max() / cap[d]) / 2)
    assert d not in {r[0] for r in lh.warning_rows(sess, "persistence")}


def test_a_failed_link_is_never_warned_and_no_intervals_means_no_rows(banded: LiveScenario) -> None:
    run = banded.fork()
    sess = LiveSession(live=run)
    upper = lh.next_bands(sess)["persistence"].upper.astype(float)
    d, run.warn_utilization, _ = _sustained_pick(run, upper)
    assert d in {r[0] for r in lh.warning_rows(sess, "persistence")}
    run.fail(run.topology.direction_names()[d][0])
    assert not {d, d ^ 1} & {r[0] for r in lh.warning_rows(sess, "persistence")}
    run.warn_utilization = 0.0001  # every direction with a load above it is already over
    assert lh.warning_rows(sess, "persistence") == []
    assert lh.warning_rows(sess, None) is None
    run.warn_utilization = None
    assert lh.warning_rows(sess, "persistence") is None


def test_the_chart_draws_each_models_recorded_interval_as_a_band(banded: LiveScenario, live: LiveScenario) -> None:
    d = 5
    spec = link_chart_spec(banded, d, last=8)
    bands = spec["datasets"]["bands"]
    assert set(spec["datasets"]) == {"actual", "events", "retrain", "capacity", "bands", "forecasts"}
    area = spec["layer"][0]
    assert area["data"] == {"name": "bands"} and area["mark"]["type"] == "area"
    assert area["encoding"]["y"]["field"] == "lower" and area["encoding"]["y2"]["field"] == "upper"
    # the band takes its model's colour: the same colour scale as the lines
    assert area["encoding"]["color"]["scale"] == spec["layer"][1]["encoding"]["color"]["scale"]
    lo = banded.step - 8
    for m in ("persistence", "routed-persistence"):
        mine = bands["series"] == m
        low = banded.recorder.lower[m][lo:banded.step, d]
        keep = np.isfinite(low)
        assert bands["step"][mine].tolist() == np.arange(lo, banded.step)[keep].tolist()
        np.testing.assert_allclose(bands["lower"][mine], np.round(low[keep].astype(float), 2))
        np.testing.assert_allclose(bands["upper"][mine],
                                   np.round(banded.recorder.upper[m][lo:banded.step, d][keep].astype(float), 2))
    assert (bands["upper"] >= bands["lower"]).all()
    plain = link_chart_spec(LiveScenario.from_spec(ScenarioSpec(
        topology="abilene", steps=60, train_steps=30, step_minutes=60, models=("persistence",), interval=None)), 0)
    assert "bands" not in plain["datasets"] and all(layer["mark"]["type"] != "area" for layer in plain["layer"])


def test_the_map_can_colour_by_the_chosen_models_upper_bound(banded: LiveScenario) -> None:
    sess = LiveSession(live=banded)
    upper = lh.next_bands(sess)["routed-persistence"].upper.astype(float)
    data = lh.map_data(sess, None, "routed-persistence", colour_by_upper=True)
    expected = upper.max(axis=0) / banded.capacity
    got = np.array([e["upper_util"] for e in sorted(data["edges"], key=lambda e: e["dir"])], dtype=float)
    np.testing.assert_allclose(got, np.round(expected, 4), atol=1e-4)
    assert all(e["color"] == weathermap_colour(e["upper_util"]) for e in data["edges"] if not e["failed"])
    by_load = lh.map_data(sess, None, "routed-persistence")
    assert all(e["color"] == weathermap_colour(e["util"]) for e in by_load["edges"] if e["util"] is not None)


def test_a_click_re_routes_the_routed_models_look_ahead_at_once(banded: LiveScenario, live: LiveScenario) -> None:
    run = banded.fork()
    sess = LiveSession(live=run)
    before = lh.next_bands(sess)
    loads = run.loads_at(run.step)
    link = run.topology.links[int(np.nanargmax(loads[0::2] + loads[1::2]))].id
    run.fail(link)
    lh.forget_look_ahead(sess)
    after = lh.next_bands(sess)
    assert not np.allclose(after["routed-persistence"].upper, before["routed-persistence"].upper)
    down = np.repeat([lk.id == link for lk in run.topology.links], 2)  # known down: forecast 0 by every model
    assert not after["persistence"].point[:, down].any() and before["persistence"].point[:, down].all()
    np.testing.assert_array_equal(after["persistence"].point[:, ~down], before["persistence"].point[:, ~down])
    plain = LiveSession(live=live.fork())  # link-level models only: their look-ahead knows the click too
    kept = lh.next_bands(plain)
    plain.live.fail(link)
    lh.forget_look_ahead(plain)
    again = lh.next_bands(plain)
    assert again is not kept and not again["persistence"].point[:, down].any()


def test_the_map_labels_each_direction_with_its_utilisation_when_asked(live: LiveScenario) -> None:
    sess = LiveSession(live=live)
    plain = lh.map_data(sess, None)
    assert all(e["label"] == "" for e in plain["edges"])
    shown = lh.map_data(sess, None, labels=True)
    loaded = [e for e in shown["edges"] if e["util"] is not None and not e["failed"]]
    assert loaded and all(e["label"] == f"{e['util'] * 100:.0f} %" for e in loaded)


def test_a_click_on_the_preview_map_changes_nothing() -> None:
    from netdrift.engine.network.loaders import load_topology

    data = lh.preview_map_data(load_topology("abilene"))
    # The browser shows no "pending" style in this mode (map.js), and the view says to start a run.
    assert data["click_mode"] == "preview" and data["step"] is None and data["down_links"] == []
    assert not any(e["failed"] for e in data["edges"])


def test_keep_alive_beats_cheaply_and_stores_the_series_after_an_event_or_when_forced(tmp_path) -> None:
    from netdrift.storage.checkpoints import CheckpointRepository
    from netdrift.storage.database import open_database
    from netdrift.storage.repository import ScenarioRepository

    live = LiveScenario.from_spec(ScenarioSpec(topology="abilene", steps=60, train_steps=30, step_minutes=60,
                                               models=("persistence",), seed=2))
    live.train()
    sessions = open_database(f"sqlite:///{tmp_path}/h.sqlite")
    sess = LiveSession(live=live, owner="tab-1", checkpoint_step=live.step)
    sess.scenario_id, err = history.start_history(sessions, live, owner="tab-1")
    assert err is None

    def stored() -> tuple[int, int | None, str]:
        with sessions() as s:
            run = CheckpointRepository(s).unfinished_live_runs()[0]
            repo = ScenarioRepository(s)
            try:
                steps = repo.load_series(sess.scenario_id).shape[0]
            except InputError:
                steps = None
            return run.step, steps, repo.get_scenario(sess.scenario_id).status

    live.advance(3)
    assert history.keep_alive(sess, sessions) is None  # the first beat: the step only, no series
    assert stored() == (33, None, "running")
    live.advance(2)
    history.keep_alive(sess, sessions)  # within 10 s of the last beat: nothing written
    assert stored() == (33, None, "running")
    live.fail(live.topology.links[0].id)
    sess.checkpoint_due = True  # what a click sets
    live.advance(1)
    history.keep_alive(sess, sessions)
    assert stored() == (36, 36, "running") and sess.checkpoint_step == 36 and not sess.checkpoint_due
    live.advance(4)
    history.keep_alive(sess, sessions, force=True)  # pause or "New scenario"
    assert stored() == (40, 40, "running")
    assert history.keep_alive(LiveSession(live=live), sessions) is None  # no history row: nothing to do


def test_directions_over_capacity_now_are_listed_most_overloaded_first() -> None:
    spec = ScenarioSpec(topology="abilene", steps=60, train_steps=30, step_minutes=60,
                        models=("persistence",), seed=2, peak_utilization=1.6)
    run = LiveScenario.from_spec(spec)
    run.train()
    sess = LiveSession(live=run)
    rows: list[tuple[int, str]] = []
    while not rows and run.step < 59:  # until the daily peak pushes some direction over
        run.advance(1)
        rows = lh.overload_rows(sess)
    now, cap = run.loads_at(run.step - 1), run.capacity
    over = [int(d) for d in np.flatnonzero(now > cap)]
    assert over and sorted(over) == sorted(d for d, _ in rows)
    assert [d for d, _ in rows] == sorted(over, key=lambda d: -now[d] / cap[d])
    d, text = rows[0]
    assert f"is over capacity: {round(now[d] / cap[d] * 100, 1):g} %" in text and "Mbit/s" in text
    run.fail(run.topology.direction_names()[d][0])  # a failed link's directions are no overload
    run.advance(1)
    assert d not in {x for x, _ in lh.overload_rows(sess)}
