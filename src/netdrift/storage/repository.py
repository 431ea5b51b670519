"""A small repository over the history schema: scenarios in, scenarios out.

The repository never opens, commits or rolls back a transaction: the caller does, so that
``save_result`` and the status change to "complete" land in one transaction::

    Session = open_database(url)
    with Session.begin() as s:                      # committed: the run shows as "running"
        sid = ScenarioRepository(s).create_scenario(topology, config, seed, models)
    ...                                             # the run
    with Session.begin() as s:                      # all or nothing
        ScenarioRepository(s).save_result(sid, result)

A "running" scenario whose writer process is gone (same host, pid no longer alive, see
:mod:`netdrift.storage.writer`), or whose heartbeat (:meth:`ScenarioRepository.heartbeat`) is older than
:data:`HEARTBEAT_STALE_S`, is reported as "interrupted".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence, cast

import numpy as np
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from netdrift.engine.errors import InputError
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.loaders import topology_from_dict
from netdrift.engine.network.topology import Topology
from netdrift.engine.results import MetricRow, ScenarioResult
from netdrift.storage.database import display_url
from netdrift.storage.models import (
    EventRow,
    MetricRowDB,
    RunStatus,
    ScenarioRow,
    SeriesRow,
    TopologyRow,
)
from netdrift.storage.records import jsonable, library_versions, save_topology
from netdrift.storage.series_rows import check_result, read_series, read_whole_series, write_series
from netdrift.storage.writer import current_writer, writer_alive

__all__ = ["HEARTBEAT_STALE_S", "ScenarioRepository", "ScenarioSummary", "ScenarioDetail"]

#: A "running" row whose heartbeat is older than this (seconds) counts as interrupted: its
#: writer (e.g. a dashboard session whose browser tab is gone) stopped stamping it.
HEARTBEAT_STALE_S = 60



# --- plain return types ---------------------------------------------------------------------
@dataclass(frozen=True)
class ScenarioSummary:
    """One line of the history list. ``events`` reads like ``["fail A-B@300", "restore A-B@600"]``."""

    id: int
    topology: str
    created: datetime
    status: str
    events: list[str]
    models: list[str]
    label: str | None
    seed: int
    finished: datetime | None = None


@dataclass(frozen=True)
class ScenarioDetail:
    """Everything stored about a scenario except its arrays and metric rows."""

    id: int
    topology: Topology
    label: str | None
    config: dict[str, Any]
    seed: int
    models: list[str]
    status: str
    versions: dict[str, str | None]
    events: list[FailureEvent]
    summary: dict[str, Any] | None
    created: datetime
    finished: datetime | None
    pid: int
    hostname: str
    step_minutes: float | None = None
    start: datetime | None = None
    train_steps: int | None = None


def _table(model: Any) -> Table:
    """The Core table of an ORM model (what bulk ``insert`` / ``delete`` take)."""
    return cast(Table, model.__table__)


def _event_text(e: FailureEvent | EventRow) -> str:
    node = " node" if e.kind == "node" else ""
    return f"{e.action}{node} {e.target}@{e.step}"


def _heartbeat_stale(row: ScenarioRow, now: datetime | None = None) -> bool:
    """True when the row was stamped by a heartbeat and the last stamp is older than the limit."""
    if row.heartbeat_at is None:
        return False
    now = now or datetime.now(timezone.utc)
    return now - row.heartbeat_at > timedelta(seconds=HEARTBEAT_STALE_S)


def _effective_status(row: ScenarioRow) -> str:
    """The status as readers see it (a plain string): a running row whose writer is gone reads interrupted."""
    if row.status == RunStatus.RUNNING and (
        _heartbeat_stale(row) or writer_alive(row.pid, row.hostname, row.process_token) is False
    ):
        return RunStatus.INTERRUPTED.value
    return RunStatus(row.status).value


class ScenarioRepository:
    """Scenario history over one SQLAlchemy session (the caller owns the transaction).

    Examples
    --------
    >>> import tempfile
    >>> from netdrift.engine.network.topology import Link, Node, Topology
    >>> from netdrift.storage.database import open_database
    >>> Session = open_database(f"sqlite:///{tempfile.mkdtemp()}/h.sqlite")
    >>> t = Topology("t", (Node("a", "A"), Node("b", "B")), (Link("a-b", "a", "b", 1e3),))
    >>> with Session.begin() as s:
    ...     sid = ScenarioRepository(s).create_scenario(t, {"steps": 10}, seed=1, models=["cfc"])
    >>> with Session() as s:
    ...     [(x.topology, x.status) for x in ScenarioRepository(s).list_scenarios()]
    [('t', 'running')]
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- helpers ---------------------------------------------------------------------------
    def _url(self) -> str:
        return display_url(self.session.get_bind().engine.url)

    def _row(self, scenario_id: int) -> ScenarioRow:
        row = self.session.get(ScenarioRow, scenario_id)
        if row is None:
            raise InputError(f"scenario {scenario_id}", f"not found in database '{self._url()}'")
        return row

    # --- writing ---------------------------------------------------------------------------
    def save_topology(self, t: Topology) -> int:
        """Store ``t`` unless an identical one is stored already; return its id."""
        return save_topology(self.session, t)

    def create_scenario(
        self,
        topology: Topology,
        config: dict[str, Any],
        seed: int,
        models: list[str],
        label: str | None = None,
    ) -> int:
        """Record a new run as "running" (with library versions, pid and host); return its id."""
        writer = current_writer()
        row = ScenarioRow(
            topology_id=self.save_topology(topology),
            label=label,
            config=jsonable(config),
            seed=int(seed),
            models=[str(m) for m in models],
            status=RunStatus.RUNNING,
            versions=library_versions(),
            created_at=datetime.now(timezone.utc),
            finished_at=None,
            pid=writer.pid,
            hostname=writer.hostname,
            process_token=writer.token,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def _stored_events(self, scenario_id: int) -> list[tuple[int, str, str, str]]:
        """The scenario's event log, in order, as (step, action, target, kind)."""
        rows = self.session.execute(
            select(EventRow.step, EventRow.action, EventRow.target, EventRow.kind)
            .where(EventRow.scenario_id == scenario_id).order_by(EventRow.seq)
        )
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    def _append_events(self, scenario_id: int, events: Sequence[FailureEvent], stored: int) -> None:
        rows = [dict(scenario_id=scenario_id, seq=stored + i, step=int(e.step), action=e.action, target=e.target,
                     kind=e.kind) for i, e in enumerate(events)]
        if rows:
            self.session.execute(insert(_table(EventRow)), rows)

    def _insert_events(self, scenario_id: int, events: Sequence[FailureEvent]) -> None:
        """Append the events of the log ``events`` that the stored log does not hold yet.

        Normally the stored log is the start of ``events`` (events recorded as they happened) and
        the rest is appended. Otherwise each stored event accounts for one equal event of
        ``events`` and every other one is appended in order. Either way repeated identical
        events (a link clicked seven times at one step) all stay."""
        stored = self._stored_events(scenario_id)
        keys = [(int(e.step), e.action, e.target, e.kind) for e in events]
        if keys[: len(stored)] == stored:
            self._append_events(scenario_id, list(events)[len(stored):], len(stored))
            return
        left = Counter(stored)
        new = []
        for e in events:
            key = (int(e.step), e.action, e.target, e.kind)
            if left[key] > 0:
                left[key] -= 1
            else:
                new.append(e)
        self._append_events(scenario_id, new, len(stored))

    def record_events(self, scenario_id: int, events: Sequence[FailureEvent]) -> None:
        """Append to the stored event log what ``events`` (the scenario's whole log) adds to it."""
        self._row(scenario_id)
        self._insert_events(scenario_id, events)

    def add_event(self, scenario_id: int, event: FailureEvent) -> None:
        """Append a failure/restore event of a running scenario to its log (a live click; a
        repeated identical click is a new event too)."""
        self._row(scenario_id)
        n = self.session.scalar(select(func.count()).select_from(EventRow).where(EventRow.scenario_id == scenario_id))
        self._append_events(scenario_id, [event], int(n or 0))

    def save_result(self, scenario_id: int, result: ScenarioResult, *, complete: bool = True,
                    incremental: bool = False) -> None:
        """Store everything ``result`` holds and mark the scenario complete (``complete=False``: a
        checkpoint of a run that goes on; the row stays running). With ``incremental`` (a live
        run, whose observed steps never change), only the series rows of the steps stored since
        the last save are written (:func:`netdrift.storage.series_rows.write_series`).

        Writes the events not yet stored, the actual and every model's forecast (float32, one
        row per link direction), link_up and dropped demand, all metric rows, and a summary
        JSON (model_stats, sizes, aggregate metrics). Call it inside one transaction: the
        scenario then becomes complete atomically. Calling it again replaces the arrays and
        metrics.
        """
        row = self._row(scenario_id)
        T, D = check_result(scenario_id, result)  # every shape checked before anything is written
        n_links = len(result.topology.links)
        dropped = np.asarray(result.dropped_mbps)
        s = self.session
        write_series(s, scenario_id, result, incremental)
        s.execute(delete(_table(MetricRowDB)).where(MetricRowDB.scenario_id == scenario_id))
        self._insert_events(scenario_id, result.events)

        metric_rows = [
            dict(
                scenario_id=scenario_id,
                model=m.model,
                period=m.period,
                metric=m.metric,
                direction=None if m.direction is None else int(m.direction),
                value=None if m.value is None else float(m.value),
            )
            for m in result.metrics
        ]
        if metric_rows:
            s.execute(insert(_table(MetricRowDB)), metric_rows)

        aggregate: dict[str, dict[str, dict[str, float | None]]] = {}
        for m in result.metrics:
            if m.direction is None:
                aggregate.setdefault(m.model, {}).setdefault(m.period, {})[m.metric] = m.value
        summary = {
            "steps": T,
            "directions": D,
            "links": n_links,
            "events": [_event_text(e) for e in result.events],
            "model_stats": result.model_stats,
            "aggregate": aggregate,
            "dropped_total_mbps_steps": float(np.nansum(dropped)),
        }
        row.topology_id = self.save_topology(result.topology)
        row.config = jsonable(result.config)
        row.seed = int(result.seed)
        row.models = [str(m) for m in result.forecasts]
        row.step_minutes = float(result.step_minutes)
        row.start_time = result.start.isoformat()
        row.train_steps = int(result.train_steps)
        row.summary = jsonable(summary)
        if complete:
            row.status, row.finished_at = RunStatus.COMPLETE, datetime.now(timezone.utc)
        else:
            row.status, row.finished_at = RunStatus.RUNNING, None
        s.flush()

    def heartbeat(self, scenario_id: int) -> None:
        """Stamp the scenario's ``heartbeat_at`` with UTC now: its writer is still at work.

        Once a run has stamped it, the row stays "running" only while stamps keep coming at
        least every :data:`HEARTBEAT_STALE_S` seconds (stamp every ~10 s); a missing id raises
        :class:`netdrift.engine.errors.InputError`.
        """
        done = self.session.execute(
            update(ScenarioRow).where(ScenarioRow.id == scenario_id)
            .values(heartbeat_at=datetime.now(timezone.utc))
            .execution_options(synchronize_session="fetch")
        )
        if cast("CursorResult[Any]", done).rowcount == 0:  # an UPDATE's result counts its rows
            self._row(scenario_id)  # raises "not found"

    def mark_interrupted(self, scenario_id: int) -> None:
        """Mark a running scenario as interrupted (e.g. the run raised); a complete one is left alone."""
        row = self._row(scenario_id)
        if row.status == RunStatus.RUNNING:
            row.status = RunStatus.INTERRUPTED
            row.finished_at = datetime.now(timezone.utc)
            self.session.flush()

    def reap_interrupted(self) -> list[int]:
        """Store "interrupted" for every running scenario whose writer is known to be gone."""
        rows = self.session.scalars(select(ScenarioRow).where(ScenarioRow.status == "running")).all()
        gone = [r.id for r in rows if _effective_status(r) == "interrupted"]
        if gone:
            self.session.execute(
                update(ScenarioRow).where(ScenarioRow.id.in_(gone), ScenarioRow.status == "running")
                .values(status=RunStatus.INTERRUPTED)
            )
        return gone

    def delete_scenario(self, scenario_id: int) -> None:
        """Delete a scenario with its events, series and metrics (the database cascades)."""
        self.session.delete(self._row(scenario_id))
        self.session.flush()

    # --- reading ---------------------------------------------------------------------------
    def list_scenarios(self) -> list[ScenarioSummary]:
        """Every scenario, newest first; a running one whose writer is gone shows "interrupted"."""
        s = self.session
        rows = s.execute(
            select(ScenarioRow, TopologyRow.name)
            .join(TopologyRow, TopologyRow.id == ScenarioRow.topology_id)
            .order_by(ScenarioRow.id.desc())
        ).all()
        events: dict[int, list[EventRow]] = {}
        for e in s.scalars(select(EventRow).order_by(EventRow.scenario_id, EventRow.seq)):
            events.setdefault(e.scenario_id, []).append(e)
        return [
            ScenarioSummary(
                id=r.id,
                topology=name,
                created=r.created_at,
                status=_effective_status(r),
                events=[_event_text(e) for e in events.get(r.id, [])],
                models=list(r.models),
                label=r.label,
                seed=r.seed,
                finished=r.finished_at,
            )
            for r, name in rows
        ]

    def get_scenario(self, scenario_id: int) -> ScenarioDetail:
        """The stored scenario ``scenario_id`` (config, seed, status, versions, events, summary, topology)."""
        r = self._row(scenario_id)
        topo = self.session.get(TopologyRow, r.topology_id)
        assert topo is not None  # enforced by the foreign key
        evs = self.session.scalars(
            select(EventRow).where(EventRow.scenario_id == scenario_id).order_by(EventRow.seq)
        )
        return ScenarioDetail(
            id=r.id,
            topology=topology_from_dict(topo.data),
            label=r.label,
            config=r.config,
            seed=r.seed,
            models=list(r.models),
            status=_effective_status(r),
            versions=dict(r.versions),
            events=[FailureEvent(e.step, e.action, e.target, e.kind) for e in evs],  # type: ignore[arg-type]  # rows written from FailureEvents
            summary=r.summary,
            created=r.created_at,
            finished=r.finished_at,
            pid=r.pid,
            hostname=r.hostname,
            step_minutes=r.step_minutes,
            start=None if r.start_time is None else datetime.fromisoformat(r.start_time),
            train_steps=r.train_steps,
        )

    def load_series(self, scenario_id: int, model: str | None = None, direction: int | None = None,
                    kind: str | None = None) -> np.ndarray:
        """Stored loads in Mbit/s, float32: the actual (``model=None``) or a model's forecast, or
        with ``kind="lower"``/``"upper"`` its interval bounds.

        Returns (T, D), or (T,) for one ``direction`` (which reads only that direction's bytes).
        """
        kind = kind or ("actual" if model is None else "forecast")
        out = read_series(self.session, scenario_id, kind, model, direction)
        if out is None:
            row = self._row(scenario_id)
            what = "actual loads" if model is None else f"{kind} of model '{model}'"
            if direction is not None:
                what += f" for direction {direction}"
            raise InputError(f"scenario {scenario_id}", f"no {what} stored (status {_effective_status(row)})")
        return out

    def _whole_series(self, scenario_id: int, kind: str) -> np.ndarray:
        out = read_whole_series(self.session, scenario_id, kind)
        if out is None:
            row = self._row(scenario_id)
            raise InputError(f"scenario {scenario_id}", f"no {kind} series stored (status {_effective_status(row)})")
        return out

    def load_link_up(self, scenario_id: int) -> np.ndarray:
        """(T, L) bool: whether each physical link was up at each step."""
        return self._whole_series(scenario_id, "link_up").astype(bool)

    def load_dropped(self, scenario_id: int) -> np.ndarray:
        """(T,) float32: demand dropped for lack of a path, Mbit/s."""
        return self._whole_series(scenario_id, "dropped")

    def load_metrics(
        self,
        scenario_id: int,
        model: str | None = None,
        metric: str | None = None,
        period: str | None = None,
    ) -> list[MetricRow]:
        """The stored metric rows (in the order they were saved), optionally filtered.

        A ``value`` of None is a censored value (SQLite also stores NaN as NULL).
        """
        self._row(scenario_id)
        q = select(MetricRowDB.model, MetricRowDB.period, MetricRowDB.metric, MetricRowDB.value,
                   MetricRowDB.direction).where(MetricRowDB.scenario_id == scenario_id)
        if model is not None:
            q = q.where(MetricRowDB.model == model)
        if metric is not None:
            q = q.where(MetricRowDB.metric == metric)
        if period is not None:
            q = q.where(MetricRowDB.period == period)
        return [MetricRow(*r) for r in self.session.execute(q.order_by(MetricRowDB.id))]

    def load_result(self, scenario_id: int) -> ScenarioResult:
        """Rebuild the :class:`ScenarioResult` of a complete scenario (arrays as float32)."""
        d = self.get_scenario(scenario_id)
        if d.status != "complete":
            raise InputError(f"scenario {scenario_id}", f"is {d.status}, it has no stored result")
        return ScenarioResult(
            topology=d.topology,
            config=d.config,
            seed=d.seed,
            events=d.events,
            step_minutes=float(d.step_minutes or 0.0),
            start=d.start,  # type: ignore[arg-type]  # a complete scenario has its start
            train_steps=int(d.train_steps or 0),
            actual=self.load_series(scenario_id),
            forecasts={m: self.load_series(scenario_id, m) for m in d.models},
            link_up=self.load_link_up(scenario_id),
            dropped_mbps=self.load_dropped(scenario_id),
            metrics=self.load_metrics(scenario_id),
            model_stats=(d.summary or {}).get("model_stats", {}),
            lower=self._bounds(scenario_id, "lower"),
            upper=self._bounds(scenario_id, "upper"),
        )

    def _bounds(self, scenario_id: int, kind: str) -> dict[str, np.ndarray]:
        """{model: (T, D)} interval bounds of ``kind`` stored for the scenario (none for older runs)."""
        models = self.session.execute(select(SeriesRow.model).where(
            SeriesRow.scenario_id == scenario_id, SeriesRow.kind == kind).distinct()).scalars().all()
        return {m: self.load_series(scenario_id, m, kind=kind) for m in sorted(m for m in models if m is not None)}


