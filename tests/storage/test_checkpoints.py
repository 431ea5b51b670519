"""Durable live runs: checkpoints, stored models, resume where the run was, interrupted when its
tab is gone. Real SQLite, real models; the oracle is the same run never interrupted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.experiments.spec import ScenarioSpec
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.service.scenarios import ScenarioService
from netdrift.storage.checkpoints import CheckpointRepository
from netdrift.storage.database import open_database
from netdrift.storage.models import ScenarioRow
from netdrift.storage.repository import HEARTBEAT_STALE_S, ScenarioRepository

SPEC = ScenarioSpec(topology="abilene", steps=140, train_steps=100, step_minutes=60,
                    models=("persistence", "liquid", "incremental"),
                    forecast=ForecastSettings.from_flat(dict(window=8, horizon=2, epochs=1, train_windows=64,
                                                             il_batch=6, il_window=30)),
                    seed=3, interval=0.9)


@pytest.fixture()
def service(tmp_path) -> ScenarioService:
    return ScenarioService(open_database(f"sqlite:///{tmp_path}/history.sqlite"))


def _trained() -> LiveScenario:
    live = LiveScenario.from_spec(SPEC)
    live.train()
    return live


def test_a_run_checkpointed_halfway_resumes_at_its_step_with_its_events_and_series(service):
    tab = _trained()
    target = tab.topology.links[2].id
    sid = service.open_live(tab, owner="tab-1", label="live abilene")
    tab.advance(8)
    tab.toggle(target)
    service.add_event(sid, tab.events[-1])
    tab.advance(7)
    service.checkpoint(sid, tab, "tab-1")
    tab.advance(3)
    service.mark_progress(sid, tab.step, "tab-1")  # the tab is closed after step 118

    with service.sessions() as s:  # stored complete up to the checkpoint, still running
        repo = ScenarioRepository(s)
        assert repo.get_scenario(sid).status == "running"
        np.testing.assert_array_equal(repo.load_series(sid), tab.snapshot().actual[:115])
        np.testing.assert_array_equal(repo.load_series(sid, "liquid"), tab.snapshot().forecasts["liquid"][:115])

    runs = service.unfinished_live_runs()
    assert [(r.id, r.step, r.owner, r.has_models) for r in runs] == [(sid, 118, "tab-1", True)]
    assert [(e.step, e.action, e.target) for e in runs[0].events] == [(108, "fail", target)]

    resumed = service.resume_live(sid, owner="tab-2")
    assert resumed.step == 118 and resumed.events == tab.events
    assert service.owner(sid) == "tab-2"
    resumed.advance(12)

    never_stopped = _trained()  # the oracle: the same clicks, never interrupted
    never_stopped.advance(8)
    never_stopped.toggle(target)
    never_stopped.advance(22)
    a, b = resumed.snapshot(), never_stopped.snapshot()
    np.testing.assert_array_equal(a.actual, b.actual)
    for m in b.forecasts:
        np.testing.assert_array_equal(a.forecasts[m], b.forecasts[m])
        np.testing.assert_array_equal(a.lower[m], b.lower[m])


def test_a_run_whose_heartbeat_stopped_reads_interrupted_and_is_still_offered(service):
    live = _trained()
    sid = service.open_live(live, owner="tab-1")
    with service.sessions.begin() as s:  # the last stamp is older than the limit: the tab is gone
        s.get(ScenarioRow, sid).heartbeat_at = datetime.now(timezone.utc) - timedelta(seconds=HEARTBEAT_STALE_S + 5)
    assert [(r.id, r.status, r.step) for r in service.unfinished_live_runs()] == [(sid, "interrupted", 100)]
    service.resume_live(sid, owner="tab-2")
    assert [r.status for r in service.unfinished_live_runs()] == ["running"]


def test_saving_keeps_the_models_and_a_saved_run_is_not_offered_for_resume(service):
    live = _trained()
    sid = service.open_live(live, owner="tab-1")
    live.advance(5)
    service.save(sid, live)
    with service.sessions() as s:
        assert ScenarioRepository(s).get_scenario(sid).status == "complete"
        assert CheckpointRepository(s).load_models(sid) is not None
    assert service.unfinished_live_runs() == []


def test_a_released_run_has_no_owner_and_a_cli_run_cannot_be_resumed(service):
    live = _trained()
    sid = service.open_live(live, owner="tab-1")
    service.release(sid, "someone else")
    assert service.owner(sid) == "tab-1"
    service.release(sid, "tab-1")
    assert service.owner(sid) is None
    other = service.open_record(live)  # a row no tab ever drove
    with pytest.raises(InputError, match="not a live run"):
        service.resume_live(other, owner="tab-1")


_FAST = ScenarioSpec(topology="abilene", steps=130, train_steps=100, step_minutes=60, models=("persistence",),
                     forecast=ForecastSettings.from_flat(dict(window=8, horizon=2)), seed=3)


def test_seven_clicks_on_one_link_at_one_step_are_seven_events_and_resume_keeps_it_down(service):
    tab = LiveScenario.from_spec(_FAST)
    tab.train()
    target = tab.topology.links[2].id
    sid = service.open_live(tab, owner="tab-1")
    tab.advance(5)
    for _ in range(7):  # fail, restore, fail, ... : the seventh click leaves it down
        service.add_event(sid, tab.toggle(target))
    assert target in tab.down_links
    tab.advance(3)
    service.checkpoint(sid, tab, "tab-1")

    with service.sessions() as s:
        stored = ScenarioRepository(s).get_scenario(sid).events
    assert [(e.step, e.action) for e in stored] == [(105, "fail"), (105, "restore")] * 3 + [(105, "fail")]
    resumed = service.resume_live(sid, owner="tab-2")  # as after a server restart: rebuilt from the log
    assert target in resumed.down_links and resumed.events == tab.events
    assert resumed.simulator.state_at(106)[0] == frozenset({target})


def test_an_outage_is_stored_as_one_fail_and_one_restore(service):
    tab = LiveScenario.from_spec(_FAST)
    tab.train()
    target = tab.topology.links[0].id
    sid = service.open_live(tab, owner="tab-1")
    tab.advance(3)
    service.add_event(sid, tab.toggle(target))
    tab.advance(6)
    service.add_event(sid, tab.toggle(target))
    tab.advance(2)
    service.save(sid, tab)
    with service.sessions() as s:
        stored = ScenarioRepository(s).get_scenario(sid).events
    assert [(e.step, e.action, e.target) for e in stored] == [(103, "fail", target), (109, "restore", target)]


PIECES_SPEC = ScenarioSpec(topology="abilene", steps=520, train_steps=300, step_minutes=60,
                           models=("persistence", "seasonal"),
                           forecast=ForecastSettings.from_flat(dict(window=8, horizon=2)), seed=1, interval=0.9)


def _blob_bytes(engine):
    """Count the bytes of every binary parameter the engine sends (what a write of series rows,
    or of a model pickle, costs), per table written."""
    from sqlalchemy import event

    written: dict[str, int] = {}

    def count(conn, cursor, statement, parameters, context, executemany):
        rows = parameters if executemany else [parameters]
        n = sum(len(v) for row in rows for v in (row.values() if isinstance(row, dict) else row)
                if isinstance(v, (bytes, bytearray, memoryview)))
        if n:
            table = statement.split()[2] if statement.startswith(("INSERT", "UPDATE")) else statement.split()[1]
            written[table.strip('"')] = written.get(table.strip('"'), 0) + n

    event.listen(engine, "before_cursor_execute", count)
    return written


def test_a_checkpoint_writes_the_steps_since_the_last_one_and_the_history_reads_back_whole(service):
    from netdrift.storage.series_rows import PIECE_STEPS

    live = LiveScenario.from_spec(PIECES_SPEC)
    live.train()
    sid = service.open_live(live, owner="tab-1")
    live.advance(400 - live.step)
    service.checkpoint(sid, live, "tab-1")  # the first: steps [0, 400), a piece longer than PIECE_STEPS
    assert 400 > PIECE_STEPS

    # Bytes one step of the run takes, by hand: per link direction a float32 actual and, per
    # model, its forecast and its two bounds; one uint8 per link (link_up) and a float32 dropped.
    D, L, models = live.topology.n_directions, len(live.topology.links), 2
    per_step = D * 4 * (1 + 3 * models) + L + 4
    written = _blob_bytes(service.sessions.kw["bind"])
    live.advance(10)
    service.checkpoint(sid, live, "tab-1")
    assert written == {"series": 10 * per_step}  # the 10 new steps, nothing else (no model pickle)
    written.clear()
    live.toggle(live.topology.links[0].id)  # an event in between changes nothing already stored
    service.add_event(sid, live.events[-1])
    live.advance(15)
    service.checkpoint(sid, live, "tab-1")
    assert written == {"series": 25 * per_step}  # the short last piece again, with its 15 new steps
    written.clear()
    whole_history = live.step * per_step
    live.advance(5)
    service.checkpoint(sid, live, "tab-1")
    assert written["series"] == 30 * per_step < whole_history / 10

    # Rebuilt from the history, the run equals the run at its last checkpoint, bit for bit.
    snap = live.snapshot()
    with service.sessions() as s:
        repo = ScenarioRepository(s)
        np.testing.assert_array_equal(repo.load_series(sid), snap.actual)
        np.testing.assert_array_equal(repo.load_link_up(sid), snap.link_up)
        np.testing.assert_array_equal(repo.load_dropped(sid), snap.dropped_mbps)
        for m in snap.forecasts:
            np.testing.assert_array_equal(repo.load_series(sid, m), snap.forecasts[m])
            np.testing.assert_array_equal(repo.load_series(sid, m, kind="lower"), snap.lower[m])
            np.testing.assert_array_equal(repo.load_series(sid, m, kind="upper"), snap.upper[m])
            for d in (0, D - 1):  # one direction reads its own pieces
                np.testing.assert_array_equal(repo.load_series(sid, m, direction=d), snap.forecasts[m][:, d])
    resumed = service.resume_live(sid, owner="tab-2")
    assert resumed.step == live.step and resumed.events == live.events
    again = resumed.snapshot()
    np.testing.assert_array_equal(again.actual, snap.actual)
    for m in snap.forecasts:
        np.testing.assert_array_equal(again.forecasts[m], snap.forecasts[m])
        np.testing.assert_array_equal(again.upper[m], snap.upper[m])

    # Saved at the end: complete, read back whole, and only the last steps written again.
    resumed.advance(resumed.total_steps - resumed.step)
    written.clear()
    service.save(sid, resumed)
    assert written["series"] <= (resumed.total_steps - live.step + PIECE_STEPS) * per_step
    with service.sessions() as s:
        stored = ScenarioRepository(s).load_result(sid)
    final = resumed.snapshot()
    np.testing.assert_array_equal(stored.actual, final.actual)
    for m in final.forecasts:
        np.testing.assert_array_equal(stored.forecasts[m], final.forecasts[m])
        np.testing.assert_array_equal(stored.lower[m], final.lower[m])
