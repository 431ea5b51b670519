"""A live run taken over (issue 22): once another tab, of this dashboard server or another one
on the same database, has claimed the run, the former driver's heartbeats and checkpoints write
nothing and say who drives it now; the new driver's go on."""

from __future__ import annotations

import pytest

from netdrift.storage.checkpoints import CheckpointRepository, RunTakenOver
from netdrift.storage.repository import ScenarioRepository


def _live_run(Session, topo) -> int:
    with Session.begin() as s:
        sid = ScenarioRepository(s).create_scenario(topo, {"steps": 6, "train_steps": 2}, 7, ["cfc"])
        CheckpointRepository(s).claim(sid, "tab-A", step=2)
    return sid


def _stored(Session, sid: int) -> tuple[str | None, int | None]:
    with Session() as s:
        repo = CheckpointRepository(s)
        return repo.owner(sid), repo.live_step(sid)


def test_the_former_driver_writes_nothing_once_the_run_is_taken_over(Session, topo, result):
    sid = _live_run(Session, topo)
    with Session.begin() as s:
        CheckpointRepository(s).mark_progress(sid, 3, "tab-A")
    with Session.begin() as s:  # tab B (here another server's) resumes the run
        CheckpointRepository(s).claim(sid, "tab-B", step=3)
    with pytest.raises(RunTakenOver) as taken, Session.begin() as s:
        CheckpointRepository(s).mark_progress(sid, 5, "tab-A")
    assert taken.value.owner == "tab-B" and taken.value.scenario_id == sid
    with pytest.raises(RunTakenOver), Session.begin() as s:
        CheckpointRepository(s).checkpoint(sid, result, "tab-A")  # 6 steps observed: not written
    assert _stored(Session, sid) == ("tab-B", 3)
    with Session() as s:
        assert ScenarioRepository(s).get_scenario(sid).status == "running"
    with Session.begin() as s:
        CheckpointRepository(s).mark_progress(sid, 4, "tab-B")
    assert _stored(Session, sid) == ("tab-B", 4)

