"""A server stop keeps every step played: the live runs' steps are stored when the server stops
(issue 21: killed while playing at step 482, a run resumed at 476, its last heartbeat)."""

from __future__ import annotations

from netdrift.dashboard.common.state import LiveSession
from netdrift.dashboard.live import history
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.experiments.spec import ScenarioSpec
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.service.scenarios import ScenarioService
from netdrift.storage.database import open_database

SPEC = ScenarioSpec(topology="abilene", steps=140, train_steps=100, step_minutes=60, models=("persistence",),
                    forecast=ForecastSettings.from_flat(dict(window=8, horizon=2)), seed=3)


def test_the_steps_played_since_the_last_beat_are_stored_when_the_server_stops(tmp_path):
    sessions = open_database(f"sqlite:///{tmp_path}/h.sqlite")
    live = LiveScenario.from_spec(SPEC)
    live.train()
    sid, err = history.start_history(sessions, live, owner="tab-1")
    assert err is None
    sess = LiveSession(live=live, scenario_id=sid, owner="tab-1", checkpoint_step=live.step)
    assert history.keep_alive(sess, sessions, force=True) is None  # a beat at step 100
    live.advance(7)  # played on, the next beat not yet due
    assert history.keep_alive(sess, sessions) is None
    service = ScenarioService(sessions)
    assert [r.step for r in service.unfinished_live_runs()] == [100]

    assert history.flush_live_runs() == []  # the server stops
    assert [r.step for r in service.unfinished_live_runs()] == [107]
    assert service.resume_live(sid, owner="tab-2").step == 107


def test_a_run_its_tab_released_is_left_as_it_was(tmp_path):
    sessions = open_database(f"sqlite:///{tmp_path}/h.sqlite")
    live = LiveScenario.from_spec(SPEC)
    live.train()
    sid, _ = history.start_history(sessions, live, owner="tab-1")
    sess = LiveSession(live=live, scenario_id=sid, owner="tab-1", checkpoint_step=live.step)
    history.keep_alive(sess, sessions, force=True)
    assert history.release_history(sessions, sess) is None
    sess.owner = None
    live.advance(5)
    history.flush_live_runs()
    assert [(r.step, r.owner) for r in ScenarioService(sessions).unfinished_live_runs()] == [(100, None)]
