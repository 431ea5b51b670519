"""ScenarioService.run keeps a finished run when the database fails for a moment (issue 14): the
save is tried again, the progress says so, and the scenario ends up stored complete."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import OperationalError

from netdrift.engine.experiments.spec import ScenarioSpec
from netdrift.engine.forecasting import ForecastSettings
from netdrift.service.scenarios import ScenarioService
from netdrift.storage.database import open_database
from netdrift.storage.repository import ScenarioRepository

SPEC = ScenarioSpec(topology="abilene", steps=60, train_steps=40, step_minutes=60.0, seed=3,
                    models=("persistence",), forecast=ForecastSettings.from_flat({"window": 8}))


def test_a_save_that_fails_once_is_retried_and_the_run_is_stored(tmp_path, monkeypatch):
    monkeypatch.setattr("netdrift.storage.retries.SAVE_RETRY_DELAYS_S", (0.01, 0.01))
    real = ScenarioRepository.save_result
    calls: list[int] = []

    def locked_once(self, scenario_id, result):
        calls.append(scenario_id)
        if len(calls) == 1:  # another writer held the lock past the busy timeout, once
            raise OperationalError("INSERT INTO series ...", {}, sqlite3.OperationalError("database is locked"))
        return real(self, scenario_id, result)

    monkeypatch.setattr(ScenarioRepository, "save_result", locked_once)
    said: list[str] = []
    service = ScenarioService(open_database(f"sqlite:///{tmp_path}/h.sqlite"))
    outcome = service.run(SPEC, progress=lambda msg, frac: said.append(msg))
    assert len(calls) == 2
    assert any(m.startswith("storing the result: database is locked; trying again in 0.01 s") for m in said), said
    with service.sessions() as s:
        stored = ScenarioRepository(s).get_scenario(outcome.scenario_id)
    assert stored.status == "complete"
