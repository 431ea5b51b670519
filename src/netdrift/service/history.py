"""Reading the history: the stored scenarios (list, detail, series, metrics) and sweeps, for
``netdrift history``, Compare and Live; and the database helpers the user interfaces need.

The user interfaces reach storage only through the service: they open the database with
:func:`netdrift.storage.database.open_database` and hand the session factory to the functions
here, which read through the repositories. The storage helpers they need besides
(:func:`default_data_dir`, :func:`default_db_url`, :func:`display_url`, :func:`missing_sqlite_file`,
:func:`sqlite_path`) are re-exported here. Results are the storage layer's plain records
(:class:`ScenarioSummary`, :class:`ScenarioDetail`, arrays, :class:`netdrift.engine.results.MetricRow`).

Examples
--------
>>> import tempfile
>>> from netdrift.storage.database import open_database
>>> sessions = open_database(f"sqlite:///{tempfile.mkdtemp()}/h.sqlite")
>>> with reading(sessions) as history:
...     history.list_scenarios(), history.list_sweeps()
([], [])
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from netdrift.engine.results import MetricRow
from netdrift.storage.checkpoints import CheckpointRepository, LiveRun
from netdrift.storage.data_dir import default_data_dir, default_db_url
from netdrift.storage.database import display_url, missing_sqlite_file, sqlite_path
from netdrift.storage.repository import ScenarioDetail, ScenarioRepository, ScenarioSummary
from netdrift.storage.sweep_repository import SweepRepository

__all__ = ["HistoryReader", "reading", "ScenarioSummary", "ScenarioDetail", "LiveRun", "default_data_dir", "default_db_url", "display_url",
           "missing_sqlite_file", "sqlite_path"]


class HistoryReader:
    """Read-only queries on one session of the history (see :func:`reading`)."""

    def __init__(self, session: Session) -> None:
        self._scenarios = ScenarioRepository(session)
        self._sweeps = SweepRepository(session)
        self._live = CheckpointRepository(session)

    def list_scenarios(self) -> list[ScenarioSummary]:
        """Every stored scenario, newest first."""
        return self._scenarios.list_scenarios()

    def get_scenario(self, scenario_id: int) -> ScenarioDetail:
        """One scenario's record; an unknown id raises InputError naming it."""
        return self._scenarios.get_scenario(scenario_id)

    def load_series(self, scenario_id: int, model: str | None = None, kind: str | None = None) -> np.ndarray:
        """(steps, directions) Mbit/s: the actual loads (``model=None``), a model's forecast, or with
        ``kind="lower"`` / ``"upper"`` its interval bounds; InputError when not stored."""
        return self._scenarios.load_series(scenario_id, model, kind=kind)

    def load_metrics(self, scenario_id: int) -> list[MetricRow]:
        """The scenario's stored metric rows, in the order they were saved."""
        return self._scenarios.load_metrics(scenario_id)

    def unfinished_live_runs(self, limit: int = 5) -> list[LiveRun]:
        """Live runs still running or interrupted, newest first (what the Live page offers to resume).

        This module imports neither the scenario driver nor torch, so the start page lists them fast."""
        return self._live.unfinished_live_runs(limit)

    def list_sweeps(self) -> list[dict[str, Any]]:
        """Every stored sweep, newest first: id, topology, kind, n_failures, created_at."""
        return self._sweeps.list_sweeps()


@contextmanager
def reading(sessions: sessionmaker[Session]) -> Iterator[HistoryReader]:
    """A :class:`HistoryReader` on a new session of ``sessions``, closed on leaving the block."""
    with sessions() as s:
        yield HistoryReader(s)
