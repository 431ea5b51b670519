"""Create, run and record scenarios in the history.

Every interface goes through :class:`ScenarioService`: ``netdrift run`` (:meth:`run`), ``netdrift
paper`` (:meth:`record`, one call per failure scenario) and the dashboard's live runs
(:meth:`open_live` when a run starts, :meth:`mark_progress` and :meth:`checkpoint` as it goes,
:meth:`save` when it is saved or ends, :meth:`resume_live` after a reload or a restart). A scenario row
becomes complete in one transaction; a run that raises is marked interrupted.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from netdrift.engine.errors import InputError
from netdrift.engine.evaluation.counterfactual import DRIFT_CLASSES, drift_classes
from netdrift.engine.evaluation.metrics import MetricsConfig
from netdrift.engine.evaluation.scoring import summary_table
from netdrift.engine.experiments.scenario import LiveScenario, Progress, run_to_end
from netdrift.engine.experiments.seeds import aggregate_seeds, seed_specs
from netdrift.engine.experiments.spec import ScenarioSpec, spec_from_dict
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.results import ScenarioResult
from netdrift.engine.traffic.time_grid import steps_per_day
from netdrift.service.recovery import UNSAVED_PREFIX, write_unsaved, write_unsaved_somewhere
from netdrift.storage.checkpoints import CheckpointRepository, LiveRun, RunTakenOver
from netdrift.storage.data_dir import default_data_dir
from netdrift.storage.database import driver_problem, sqlite_path
from netdrift.storage.repository import ScenarioRepository
from netdrift.storage.retries import save_result_with_retries, with_retries

__all__ = ["RunOutcome", "ScenarioService", "RunTakenOver", "run_summary", "write_unsaved", "UNSAVED_PREFIX"]


@dataclass(frozen=True)
class RunOutcome:
    """A finished, stored run: its history id, result and timings (seconds)."""

    scenario_id: int
    result: ScenarioResult
    run_seconds: float
    store_seconds: float


def drift_summary(result: ScenarioResult, config: MetricsConfig | None = None) -> dict[str, Any] | None:
    """Directions per drift class against the counterfactual run (None without one)."""
    config = config or MetricsConfig()
    values = [r.value for r in result.metrics if r.metric == "drift_cf" and r.direction is not None]
    if not values:
        return None
    classes = drift_classes(np.array([np.nan if v is None else v for v in values], dtype=float), config)
    return {"measured_against": "the same traffic routed without the failures, first day after the first failure",
            "thresholds": {"moderate": config.affected_threshold, "drastic": config.drastic_threshold},
            "counts": {c: int((classes == c).sum()) for c in DRIFT_CLASSES}}


def run_summary(outcome: RunOutcome, device: str) -> dict[str, Any]:
    """The run's JSON (``netdrift run --json``): per model the headline metrics and costs."""
    result = outcome.result
    table = summary_table(result.metrics)
    models = {
        label: {**table.get(label, {}), "retrains": stats["retrains"], "fit_seconds": stats["fit_seconds"],
                "predict_ms_per_step": stats["predict_ms_per_step"]}
        for label, stats in result.model_stats.items()
    }
    return {
        "scenario_id": outcome.scenario_id, "topology": result.topology.name, "steps": result.actual.shape[0],
        "train_steps": result.train_steps, "device": device,
        "events": [{"step": e.step, "action": e.action, "target": e.target, "kind": e.kind} for e in result.events],
        "observe": result.config.get("observe"),
        "warnings": result.config.get("warnings", []),
        **({"drift": drift} if (drift := drift_summary(result)) else {}),
        "models": models, "run_seconds": outcome.run_seconds, "store_seconds": outcome.store_seconds,
        **({"tm_estimation": result.config["tm_estimation"]} if result.config.get("tm_estimation") else {}),
        **({"interval": result.config["interval"], "warn_utilization": result.config.get("warn_utilization"),
            "interval_ms_per_step": result.config.get("interval_ms_per_step")}
           if result.config.get("interval") is not None else {}),
    }


def _retry_notice(progress: Progress) -> Callable[[int, BaseException, float], None]:
    """Say through ``progress`` that the result is being stored again, and when (a locked SQLite
    file can take minutes: nobody should think the run hangs)."""
    def notice(attempt: int, err: BaseException, delay: float) -> None:
        progress(f"storing the result: {driver_problem(err)}; trying again in {delay:g} s (attempt {attempt + 1})",
                 0.999)
    return notice


class ScenarioService:
    """Scenarios to and from one history database (a SQLAlchemy ``sessionmaker``)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def open_record(self, live: LiveScenario, label: str | None = None) -> int:
        """Create the history row of a scenario about to run (status "running"); its id."""
        config = live.spec.to_dict() if live.spec else {}
        with self.sessions.begin() as s:
            repo = ScenarioRepository(s)
            sid = int(repo.create_scenario(live.topology, config, live.seed, [e.label for e in live.entries],
                                           label=label))
            repo.record_events(sid, live.events)  # the log starts with the run's own events
            return sid

    def save(self, scenario_id: int, live: LiveScenario) -> float:
        """Store what ``live`` observed so far as the row's result (complete, metrics scored); seconds
        it took. A live run's fitted models stay stored, so it can still be resumed from a checkpoint."""
        result = live.result()
        t0 = time.perf_counter()
        with_retries(self.sessions, lambda s: CheckpointRepository(s).save_keeping_models(scenario_id, result))
        return time.perf_counter() - t0

    # --- durable live runs (see netdrift.storage.checkpoints) ------------------------------------------
    def open_live(self, live: LiveScenario, owner: str, label: str | None = None) -> int:
        """The history row of a trained live run, driven by the tab ``owner``, with its fitted
        models stored when it is still where training left it (so it can be resumed without training
        again; else a resume trains them again from the seed); its id."""
        config = live.spec.to_dict() if live.spec else {}
        blob = live.export_models() if live.trained and live.step == live.train_steps else None
        with self.sessions.begin() as s:
            repo = ScenarioRepository(s)
            sid = int(repo.create_scenario(live.topology, config, live.seed, [e.label for e in live.entries],
                                           label=label))
            repo.record_events(sid, live.events)  # the log starts with the run's own events
            checkpoints = CheckpointRepository(s)
            checkpoints.claim(sid, owner, step=live.step)
            if blob is not None:
                checkpoints.store_models(sid, blob)
        return sid

    def mark_progress(self, scenario_id: int, step: int, owner: str) -> None:
        """Heartbeat of a live run, with the step it reached (cheap: no series written).
        :class:`RunTakenOver` when another tab, of this server or another, drives it now."""
        with self.sessions.begin() as s:
            CheckpointRepository(s).mark_progress(scenario_id, step, owner)

    def checkpoint(self, scenario_id: int, live: LiveScenario, owner: str) -> float:
        """Store what ``live`` observed so far (series and events, no metrics) and keep the row
        running; seconds it took. :class:`RunTakenOver` (nothing written) when another tab drives it now."""
        snap = live.snapshot()
        t0 = time.perf_counter()
        with self.sessions.begin() as s:
            CheckpointRepository(s).checkpoint(scenario_id, snap, owner)
        return time.perf_counter() - t0

    def claim(self, scenario_id: int, owner: str, step: int) -> None:
        """The tab ``owner`` drives live run ``scenario_id`` from now on (it is "running" again)."""
        with self.sessions.begin() as s:
            CheckpointRepository(s).claim(scenario_id, owner, step=step)

    def owner(self, scenario_id: int) -> str | None:
        """The tab that drives live run ``scenario_id`` (None when released)."""
        with self.sessions() as s:
            return CheckpointRepository(s).owner(scenario_id)

    def release(self, scenario_id: int, owner: str) -> None:
        """The tab ``owner`` stops driving the run; it stays unfinished and resumable."""
        with self.sessions.begin() as s:
            CheckpointRepository(s).release(scenario_id, owner)

    def unfinished_live_runs(self, limit: int = 5) -> list[LiveRun]:
        """Live runs still running or interrupted, newest first (what the Live page offers to resume)."""
        with self.sessions() as s:
            return CheckpointRepository(s).unfinished_live_runs(limit)

    def resume_live(self, scenario_id: int, owner: str, progress: Progress | None = None) -> LiveScenario:
        """Rebuild live run ``scenario_id`` where it was (its spec, stored topology, events and
        fitted models; the steps after training replayed) and let ``owner`` drive it."""
        with self.sessions() as s:
            detail = ScenarioRepository(s).get_scenario(scenario_id)
            checkpoints = CheckpointRepository(s)
            blob = checkpoints.load_models(scenario_id)
            reached = checkpoints.live_step(scenario_id)
        config = detail.config or {}
        if reached is None:
            raise InputError(f"scenario {scenario_id}", "is not a live run of the dashboard; it cannot be resumed")
        step = max([reached, *(e.step for e in detail.events)])
        live = LiveScenario.resume(spec_from_dict(config), detail.events, step, models=blob,
                                   topology=detail.topology, progress=progress)
        with self.sessions.begin() as s:
            CheckpointRepository(s).claim(scenario_id, owner, step=live.step)
        return live

    def add_event(self, scenario_id: int, event: FailureEvent) -> None:
        """Record a failure or restore of a running scenario as it happens (a live click)."""
        with self.sessions.begin() as s:
            ScenarioRepository(s).add_event(scenario_id, event)

    def mark_interrupted(self, scenario_id: int) -> None:
        with self.sessions.begin() as s:
            ScenarioRepository(s).mark_interrupted(scenario_id)

    def run(self, spec: ScenarioSpec, label: str | None = None, progress: Progress | None = None,
            live: LiveScenario | None = None) -> RunOutcome:
        """Validate ``spec`` (nothing is stored if it is bad), run it to the end, store it. ``live``:
        the scenario already built from ``spec`` (a caller that validates before opening the history)."""
        live = LiveScenario.from_spec(spec) if live is None else live
        t0 = time.perf_counter()
        sid = self.open_record(live, label)
        try:
            result = run_to_end(live, progress, spec.counterfactual)
        except BaseException:
            self.mark_interrupted(sid)
            raise
        t_store = time.perf_counter()
        try:
            save_result_with_retries(self.sessions, sid, result,  # a locked or restarting database passes
                                     on_retry=None if progress is None else _retry_notice(progress))
        except (SQLAlchemyError, OSError) as err:
            self._keep_unsaved(sid, result, err)  # raises InputError naming the file
        store_seconds = time.perf_counter() - t_store
        return RunOutcome(sid, result, time.perf_counter() - t0, store_seconds)

    def _keep_unsaved(self, sid: int, result: ScenarioResult, err: BaseException) -> None:
        """The finished run could not be stored: keep it in a file, mark the row, say where.

        The file goes next to a SQLite database; when that folder cannot take it (a full
        disk), into the data directory, then the temporary folder (the message says where and
        why): ``netdrift-unsaved-<UTC time>-scenario<id>.npz`` with every array of the result,
        and a ``.json`` of the same name with the rest (topology, config, seed, events,
        metrics, model stats) and the database error.
        """
        problem = driver_problem(err)
        try:
            self.mark_interrupted(sid)
        except (SQLAlchemyError, OSError):
            pass  # the database that refused the result may refuse this too; the file matters
        try:
            path, refused = write_unsaved_somewhere(result, _unsaved_folders(self.sessions), sid, problem)
        except OSError as file_err:
            raise InputError(f"scenario {sid}", f"the finished run could not be stored ({problem}) nor kept in a "
                                                f"file ({file_err.strerror or file_err})") from err
        not_there = f"; not kept in {', '.join(refused)}" if refused else ""
        raise InputError(f"scenario {sid}", f"the finished run could not be stored ({problem}); "
                                            f"it was kept in {path} (with {path.with_suffix('.json').name}{not_there}); "
                                            f"store it later with: netdrift history import {path}") from err

    def run_seeds(self, spec: ScenarioSpec, seeds: int, label: str | None = None,
                  progress: Progress | None = None,
                  first: LiveScenario | None = None) -> tuple[list[RunOutcome], dict[str, Any]]:
        """Run and store ``spec`` once per seed (:func:`netdrift.engine.experiments.seeds.seed_specs`); the
        outcomes and what they say together (means, intervals, differences to persistence).
        ``first``: the first seed's scenario, already built from ``spec``."""
        outcomes = []
        for k, one in enumerate(seed_specs(spec, seeds)):
            name = f"{label or 'run'} (seed {one.seed}, {k + 1}/{seeds})"

            def step(msg: str, f: float, k: int = k) -> None:
                if progress:
                    progress(f"seed {k + 1}/{seeds}: {msg}", (k + f) / seeds)

            prepared = first if k == 0 and one.seed == spec.seed else None
            outcomes.append(self.run(one, label=name, progress=step, live=prepared))
        day = steps_per_day(outcomes[0].result.step_minutes)
        together = aggregate_seeds([o.result for o in outcomes], day, spec.forecast.common.horizon)
        return outcomes, together

    def record(self, result: ScenarioResult, label: str | None = None) -> int:
        """Store an already computed result as a complete scenario in one go; its id."""
        with self.sessions.begin() as s:
            repo = ScenarioRepository(s)
            sid = repo.create_scenario(result.topology, result.config, result.seed, list(result.forecasts),
                                       label=label)
            repo.save_result(sid, result)
        return int(sid)


def _unsaved_folders(sessions: sessionmaker[Session]) -> list[Path]:
    """Where a recovery file is tried, in order: beside the SQLite file of ``sessions``, the
    data directory (when it can be made), the temporary folder."""
    bind = sessions.kw.get("bind")
    url = getattr(bind, "url", None)
    db = sqlite_path(url) if url is not None else None
    folders = [db.parent] if db is not None and db.parent.is_dir() else []
    data = default_data_dir()
    try:
        data.mkdir(parents=True, exist_ok=True)
        folders.append(data)
    except OSError:
        pass
    folders.append(Path(tempfile.gettempdir()))
    unique: list[Path] = []
    for f in folders:
        if f.resolve() not in [u.resolve() for u in unique]:
            unique.append(f)
    return unique
