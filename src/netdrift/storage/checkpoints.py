"""Durable live runs: checkpoints of what a live run observed, its fitted models, and which tab
drives it, so that a reload, a second tab or a server restart never loses a run.

A live run's history row stays "running" while a tab drives it (it stamps the heartbeat, see
:meth:`netdrift.storage.repository.ScenarioRepository.heartbeat`); once the stamps stop, the repository
reports it "interrupted". What is stored, and where:

- the observed series so far (actual, forecasts, bounds, link_up, dropped) and the event log,
  written by :meth:`CheckpointRepository.checkpoint` with the repository's own ``save_result``
  (no metrics yet); the row stays "running". A checkpoint writes only what changed since the
  last one: the new events, and the series rows of the steps observed since (steps that happened
  never change; see :mod:`netdrift.storage.series_rows`), so its cost follows the steps since the
  last checkpoint, not the run's length;
- a ``live_runs`` row (:class:`netdrift.storage.models.LiveRunRow`): the tab that drives the run
  (a random token per browser tab), the step it reached (steps [0, step) happened), updated
  cheaply by :meth:`CheckpointRepository.mark_progress` between checkpoints, and the fitted models
  right after training (:meth:`netdrift.engine.experiments.scenario.LiveScenario.export_models`'s
  bytes, written once: checkpoints and saves leave them alone). They are kept in the database (so
  a PostgreSQL history resumes on any machine). It is a pickle: the history is trusted like the
  program's own files.

A run is resumed from the spec in its config, its stored events, the models and the step
(:meth:`netdrift.engine.experiments.scenario.LiveScenario.resume`), which replays the steps after training:
the numbers are those of the run that was never interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from netdrift.engine.network.events import FailureEvent
from netdrift.engine.results import ScenarioResult
from netdrift.storage.models import LiveRunRow, RunStatus, ScenarioRow
from netdrift.storage.repository import ScenarioRepository
from netdrift.storage.writer import current_writer

__all__ = ["CheckpointRepository", "LiveRun", "RunTakenOver"]


class RunTakenOver(Exception):
    """A heartbeat or checkpoint of a live run by a tab that no longer drives it: ``owner``,
    another tab of this dashboard server or of another one on the same database, claimed it."""

    def __init__(self, scenario_id: int, owner: str) -> None:
        super().__init__(f"live run {scenario_id} was taken over by another tab or dashboard server")
        self.scenario_id, self.owner = scenario_id, owner


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

    def _live(self, scenario_id: int, lock: bool = False) -> LiveRunRow:
        """The run's live_runs row, created (step 0, no owner) the first time; with ``lock``, read
        FOR UPDATE (PostgreSQL: a claim and a heartbeat of two servers wait for each other)."""
        live = self.session.get(LiveRunRow, scenario_id, with_for_update=lock or None)
        if live is None:
            self._row(scenario_id)
            live = LiveRunRow(scenario_id=scenario_id, owner=None, step=0, models=None)
            self.session.add(live)
        return live

    # --- models ----------------------------------------------------------------------------
    def store_models(self, scenario_id: int, blob: bytes) -> None:
        """Keep the run's fitted models (replacing any stored before)."""
        self._live(scenario_id).models = bytes(blob)
        self.session.flush()

    def load_models(self, scenario_id: int) -> bytes | None:
        """The run's fitted models as stored by :meth:`store_models`, or None."""
        return self.session.execute(select(LiveRunRow.models).where(LiveRunRow.scenario_id == scenario_id)).scalar()

    # --- progress --------------------------------------------------------------------------
    def claim(self, scenario_id: int, owner: str, step: int | None = None) -> None:
        """``owner`` (a tab) drives the run from now on: the row is "running" again, written by
        this process, its heartbeat stamped (and its step set when given)."""
        # The live_runs row is locked before the scenarios row is written, the order a heartbeat
        # and a checkpoint take too: in the other order a claim and another server's beat could
        # each hold one row and wait for the other (PostgreSQL then aborts one as a deadlock).
        live = self._live(scenario_id, lock=True)
        row = self._row(scenario_id)
        writer = current_writer()
        row.status, row.finished_at = RunStatus.RUNNING, None
        row.pid, row.hostname, row.process_token = writer.pid, writer.hostname, writer.token
        live.owner = owner
        if step is not None:
            live.step = int(step)
        row.heartbeat_at = datetime.now(timezone.utc)
        self.session.flush()

    def owner(self, scenario_id: int) -> str | None:
        """The tab that drives the run (None when it was released or never claimed)."""
        self._row(scenario_id)
        return self.session.execute(select(LiveRunRow.owner).where(LiveRunRow.scenario_id == scenario_id)).scalar()

    def live_step(self, scenario_id: int) -> int | None:
        """The step a live run reached; None when ``scenario_id`` is not a live run."""
        self._row(scenario_id)
        return self.session.execute(select(LiveRunRow.step).where(LiveRunRow.scenario_id == scenario_id)).scalar()

    def release(self, scenario_id: int, owner: str) -> None:
        """``owner`` stops driving the run ("New scenario"): it stays unfinished and resumable."""
        live = self.session.get(LiveRunRow, scenario_id)
        if live is not None and live.owner == owner:
            live.owner = None
            self.session.flush()

    def _driven_by(self, scenario_id: int, owner: str) -> LiveRunRow:
        """The run's row, locked, when ``owner`` still drives it (or nobody does); else
        :class:`RunTakenOver` (another tab or server claimed it since: it must not write)."""
        live = self._live(scenario_id, lock=True)
        if live.owner is not None and live.owner != owner:
            raise RunTakenOver(scenario_id, live.owner)
        return live

    def mark_progress(self, scenario_id: int, step: int, owner: str) -> None:
        """Cheap: the step the run reached, and a heartbeat (no series written). Raises
        :class:`RunTakenOver` when another tab drives the run now."""
        live = self._driven_by(scenario_id, owner)
        live.step, live.owner = int(step), owner
        self.scenarios.heartbeat(scenario_id)

    def checkpoint(self, scenario_id: int, snapshot: ScenarioResult, owner: str) -> None:
        """Store everything ``snapshot`` observed (series and events; its metrics when it has
        them); the row stays "running", driven by ``owner``; the models are left alone. Raises
        :class:`RunTakenOver` (nothing written) when another tab drives the run now."""
        live = self._driven_by(scenario_id, owner)
        self.scenarios.save_result(scenario_id, snapshot, complete=False, incremental=True)
        live.step, live.owner = int(snapshot.actual.shape[0]), owner
        self.scenarios.heartbeat(scenario_id)
        self.session.flush()

    def save_keeping_models(self, scenario_id: int, result: ScenarioResult) -> None:
        """:meth:`ScenarioRepository.save_result` (the row becomes complete), writing only the
        series steps since the last checkpoint; the models stay."""
        self.scenarios.save_result(scenario_id, result, incremental=True)

    # --- reading ---------------------------------------------------------------------------
    def unfinished_live_runs(self, limit: int = 5) -> list[LiveRun]:
        """Live runs (rows a tab has claimed) that are still "running" or "interrupted", newest first."""
        rows = self.session.execute(
            select(ScenarioRow.id, LiveRunRow.step, LiveRunRow.owner, LiveRunRow.models.is_not(None))
            .join(LiveRunRow, LiveRunRow.scenario_id == ScenarioRow.id)
            .where(ScenarioRow.status.in_((RunStatus.RUNNING, RunStatus.INTERRUPTED)))
            .order_by(ScenarioRow.id.desc())).all()
        out: list[LiveRun] = []
        for sid, step, owner, has_models in rows:
            d = self.scenarios.get_scenario(sid)
            if d.status not in (RunStatus.RUNNING, RunStatus.INTERRUPTED):
                continue
            out.append(LiveRun(id=sid, topology=d.topology.name, label=d.label, status=d.status, step=int(step),
                               total_steps=(d.config or {}).get("steps"), events=list(d.events), owner=owner,
                               has_models=bool(has_models), created=d.created))
            if len(out) >= limit:
                break
        return out
