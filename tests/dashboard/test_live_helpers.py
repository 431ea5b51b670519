"""The Live view's helpers: the spec from the start form, the history through the service,
per-session caches, and the running-error table of the selected direction."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import live_helpers as lh
from dashboard.state import LiveSession
from engine.errors import InputError
from engine.experiments.scenario import LiveScenario
from engine.experiments.spec import ModelEntry, ScenarioSpec
from engine.forecasting.settings import ForecastSettings


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


def test_an_unknown_setting_is_refused_not_dropped() -> None:
    with pytest.raises(InputError, match="windw"):
        lh.make_spec("abilene", 100, 60, 1, ["liquid"], forecast={"windw": 12})


def test_the_preset_caption_states_the_preset_numbers() -> None:
    text = lh.preset_text(324, 348)
    assert "324 training steps (3.375 days)" in text and "348 live steps" in text
    assert "window 24 steps" in text and "every 24 steps on the last 192" in text


def test_the_running_error_table_is_the_selected_direction_to_two_decimals(live: LiveScenario) -> None:
    d = 3
    table = lh.errors_table(live, d, last=10)
    assert list(table.columns) == ["model", "RMSE (Mbit/s)", "MAPE (%)"]
    # Persistence forecasts each step with the load one step earlier.
    a = live.simulator.loads.loads[live.step - 11:live.step, d]
    err = a[1:] - a[:-1]
    row = table.set_index("model").loc["persistence"]
    assert row["RMSE (Mbit/s)"] == round(float(np.sqrt(np.mean(err ** 2))), 2)
    kept = a[1:] >= 0.01 * live.capacity[d]  # MAPE leaves out loads under 1 % of capacity
    assert 0 < kept.sum() < len(kept)
    assert row["MAPE (%)"] == round(float(np.mean(np.abs(err[kept]) / a[1:][kept]) * 100), 2)
    assert all(v == round(v, 2) for v in table[["RMSE (Mbit/s)", "MAPE (%)"]].to_numpy().ravel())


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
    rules = lh.link_chart_spec(run, 0)["datasets"]["retrain"]
    assert rules["step"].tolist() == [step] and rules["event"].tolist() == ["incremental-b4 re-fitted"]


def test_history_rows_are_written_through_the_service(live: LiveScenario, tmp_path) -> None:
    from storage.database import open_database
    from storage.repository import ScenarioRepository

    sessions = open_database(f"sqlite:///{tmp_path}/h.sqlite")
    sid, err = lh.start_history(sessions, live, label="live abilene")
    assert err is None and sid is not None
    assert lh.save_history(sessions, sid, live) == f"Saved to history as scenario {sid} (steps 0..{live.step - 1})."
    with sessions() as s:
        detail = ScenarioRepository(s).get_scenario(sid)
        assert detail.status == "complete" and detail.label == "live abilene"
        assert ScenarioRepository(s).load_series(sid).shape[0] == live.step
    assert lh.start_history(None, live) == (None, "No history database is configured.")
    assert lh.save_history(sessions, None, live).startswith("Not saved")
