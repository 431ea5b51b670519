"""Durable live runs: checkpoints of what a live run observed, its fitted models, and which tab
drives it, so that a reload, a second tab or a server restart never loses a run.

A live run's history row stays "running" while a tab drives it (it stamps the heartbeat, see
:meth:`netdrift.storage.repository.ScenarioRepository.heartbeat`); once the stamps stop, the repository
reports it "interrupted". What is stored, and where:

- the observed series so far (actual, forecasts, bounds, link_up, dropped), written by
  :meth:`CheckpointRepository.checkpoint` with the repository's own ``save_result`` (same layout
  as a complete run, no metrics yet), the row then set back to "running";
- the step the run reached (``config["steps_observed"]``) and the tab that drives it
  (``config["live_owner"]``, a random token per browser tab), updated cheaply by
  :meth:`CheckpointRepository.mark_progress` between checkpoints;
- the fitted models right after training, one ``series`` row of kind ``"models"`` (no model, no
  direction, ``n_steps`` 0, dtype ``"pickle"``) holding
  :meth:`netdrift.engine.experiments.scenario.LiveScenario.export_models`'s bytes. It is kept in the
  database (so a PostgreSQL history resumes on any machine) and survives checkpoints and saves.
  It is a pickle: the history is trusted like the program's own files.

A run is resumed from the spec in its config, its stored events, the models row and the step
(:meth:`netdrift.engine.experiments.scenario.LiveScenario.resume`), which replays the steps after training:
the numbers are those of the run that was never interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from netdrift.engine.network.events import FailureEvent
from netdrift.engine.results import ScenarioResult
from netdrift.storage.models import ScenarioRow, SeriesRow
from netdrift.storage.repository import ScenarioRepository
from netdrift.storage.writer import current_writer

__all__ = ["CheckpointRepository", "LiveRun", "MODELS_KIND", "OWNER_KEY", "STEP_KEY"]

#: ``series.kind`` of the row that holds a live run's fitted models.
MODELS_KIND = "models"
#: Config keys: the tab driving the run, and the step it reached (steps [0, step) happened).
OWNER_KEY = "live_owner"
STEP_KEY = "steps_observed"


@dataclass(frozen=True)
class LiveRun:
    """An unfinished live run in the history, as the Live page offers it for resume."""

    id: int
    topology: str
    label: str | None
    status: str  # "running" or "interrupted" (the repository's reading, heartbeat included)
    step: int
    total_steps: int | None
    events: list[FailureEvent]
    owner: str | None
    has_models: bool
    created: datetime


class CheckpointRepository:
    """Checkpoints of live runs over one SQLAlchemy session (the caller owns the transaction).

    Examples
    --------
    >>> import tempfile
    >>> from netdrift.engine.network.topology import Link, Node, Topology
    >>> from netdrift.storage.database import open_database
    >>> Session = open_database(f"sqlite:///{tempfile.mkdtemp()}/h.sqlite")
    >>> t = Topology("t", (Node("a", "A"), Node("b", "B")), (Link("a-b", "a", "b", 1e3),))
    >>> with Session.begin() as s:
    ...     sid = ScenarioRepository(s).create_scenario(t, {"steps": 10, "train_steps": 5}, seed=1, models=["x"])
    ...     CheckpointRepository(s).claim(sid, "tab-1", step=5)
    >>> with Session.begin() as s:
    ...     CheckpointRepository(s).mark_progress(sid, 7, "tab-1")
    >>> with Session() as s:
    ...     [(r.id == sid, r.step, r.owner) for r in CheckpointRepository(s).unfinished_live_runs()]
    [(True, 7, 'tab-1')]
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.scenarios = ScenarioRepository(session)

    def _row(self, scenario_id: int) -> ScenarioRow:
        row = self.session.get(ScenarioRow, scenario_id)
        if row is None:
            self.scenarios.get_scenario(scenario_id)  # raises InputError "not found in database ..."
        assert row is not None
        return row

    @staticmethod
    def _set_config(row: ScenarioRow, **values: Any) -> None:
        row.config = {**(row.config or {}), **values}  # a new dict: the JSON column sees the change

    # --- models ----------------------------------------------------------------------------
    def store_models(self, scenario_id: int, blob: bytes) -> None:
        """Keep the run's fitted models (replacing any stored before)."""
        self._row(scenario_id)
        self.session.execute(delete(SeriesRow.__table__).where(
            SeriesRow.scenario_id == scenario_id, SeriesRow.kind == MODELS_KIND))
        self.session.execute(insert(SeriesRow.__table__), [dict(
            scenario_id=scenario_id, kind=MODELS_KIND, model=None, direction=None, n_steps=0, n_cols=None,
            dtype="pickle", data=bytes(blob))])

    def load_models(self, scenario_id: int) -> bytes | None:
        """The run's fitted models as stored by :meth:`store_models`, or None."""
        return self.session.execute(select(SeriesRow.data).where(
            SeriesRow.scenario_id == scenario_id, SeriesRow.kind == MODELS_KIND)).scalar()

    # --- progress --------------------------------------------------------------------------
    def claim(self, scenario_id: int, owner: str, step: int | None = None) -> None:
        """``owner`` (a tab) drives the run from now on: the row is "running" again, written by
        this process, its heartbeat stamped (and its step set when given)."""
        row = self._row(scenario_id)
        writer = current_writer()
        row.status, row.finished_at = "running", None
        row.pid, row.hostname, row.process_token = writer.pid, writer.hostname, writer.token
        self._set_config(row, **{OWNER_KEY: owner}, **({} if step is None else {STEP_KEY: int(step)}))
        row.heartbeat_at = datetime.now(timezone.utc)
        self.session.flush()

    def owner(self, scenario_id: int) -> str | None:
        """The tab that drives the run (None when it was released or never claimed)."""
        return (self._row(scenario_id).config or {}).get(OWNER_KEY)

    def release(self, scenario_id: int, owner: str) -> None:
        """``owner`` stops driving the run ("New scenario"): it stays unfinished and resumable."""
        row = self._row(scenario_id)
        if (row.config or {}).get(OWNER_KEY) == owner:
            self._set_config(row, **{OWNER_KEY: None})
            self.session.flush()

    def mark_progress(self, scenario_id: int, step: int, owner: str) -> None:
        """Cheap: the step the run reached, and a heartbeat (no series written)."""
        row = self._row(scenario_id)
        self._set_config(row, **{STEP_KEY: int(step), OWNER_KEY: owner})
        self.scenarios.heartbeat(scenario_id)

    def checkpoint(self, scenario_id: int, snapshot: ScenarioResult, owner: str) -> None:
        """Store everything ``snapshot`` observed (series and events; its metrics when it has
        them) and keep the row "running", driven by ``owner``; the models row is kept."""
        self.save_keeping_models(scenario_id, snapshot)
        row = self._row(scenario_id)
        row.status, row.finished_at = "running", None
        self._set_config(row, **{OWNER_KEY: owner, STEP_KEY: int(snapshot.actual.shape[0])})
        self.scenarios.heartbeat(scenario_id)
        self.session.flush()

    def save_keeping_models(self, scenario_id: int, result: ScenarioResult) -> None:
        """:meth:`ScenarioRepository.save_result` (the row becomes complete), the models row kept."""
        models = self.load_models(scenario_id)
        self.scenarios.save_result(scenario_id, result)
        if models is not None:
            self.store_models(scenario_id, models)

    # --- reading ---------------------------------------------------------------------------
    def unfinished_live_runs(self, limit: int = 5) -> list[LiveRun]:
        """Live runs (rows a tab has claimed) that are still "running" or "interrupted", newest first."""
        ids = self.session.scalars(select(ScenarioRow.id).where(
            ScenarioRow.status.in_(("running", "interrupted"))).order_by(ScenarioRow.id.desc())).all()
        out: list[LiveRun] = []
        for sid in ids:
            d = self.scenarios.get_scenario(sid)
            if OWNER_KEY not in (d.config or {}) or STEP_KEY not in d.config:
                continue  # not a live run (a CLI run that was interrupted)
            has_models = self.session.execute(select(SeriesRow.id).where(
                SeriesRow.scenario_id == sid, SeriesRow.kind == MODELS_KIND)).first() is not None
            out.append(LiveRun(id=sid, topology=d.topology.name, label=d.label, status=d.status,
                               step=int(d.config[STEP_KEY]), total_steps=d.config.get("steps"),
                               events=list(d.events), owner=d.config.get(OWNER_KEY), has_models=has_models,
                               created=d.created))
            if len(out) >= limit:
                break
        return out
