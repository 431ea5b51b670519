"""Run, store and open failure sweeps: the path the dashboard's Impact page takes to the engine
and the history (``netdrift sweep`` stores the same record, with the same ``config`` keys).

A sweep fails every element of a set (each link, each node, each link pair, each shared-risk
link group) over the steps ``[start, stop)`` of a traffic series and ranks the failures by
severity (see :mod:`netdrift.engine.sweep` for the definitions). Bad input (an unknown kind, a window
outside the run, an empty or unknown-link SRLG file, a sweep over the memory budget) raises
:class:`netdrift.engine.errors.InputError` with one line, before anything is computed or stored.

Examples
--------
>>> import tempfile
>>> from netdrift.engine.network.loaders import load_topology
>>> from netdrift.storage.database import open_database
>>> Session = open_database(f"sqlite:///{tempfile.mkdtemp()}/h.sqlite")
>>> stored = run_sweep(Session, load_topology("abilene"), SweepSettings("link", 0, 12, steps=12),
...                    topology_source="abilene", workers=1)
>>> stored.kind, len(stored.failures), stored.failures[0]["rank"]
('link', 14, 1)
>>> open_sweep(Session, stored.id).failures == stored.failures
True
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders import topology_from_dict
from netdrift.engine.network.topology import Topology
from netdrift.engine.sweep import (
    KINDS,
    Failure,
    estimate_bytes,
    failure_set,
    load_srlgs,
    srlgs_from_topology_file,
    sweep,
)
from netdrift.engine.traffic.sources import make_traffic
from netdrift.storage.database import display_url, driver_problem
from netdrift.storage.models import SweepRow, TopologyRow
from netdrift.storage.repository import SweepRepository

__all__ = ["SweepSettings", "SrlgUpload", "StoredSweep", "run_sweep", "list_sweeps", "open_sweep",
           "srlgs_from_upload", "SRLG_TYPES"]

#: File types an SRLG upload may have (as :func:`netdrift.engine.sweep.load_srlgs` reads them).
SRLG_TYPES = ("csv", "json")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SweepSettings:
    """What to sweep: the failure ``kind`` (one of :data:`netdrift.engine.sweep.KINDS`), the window
    ``[start, stop)`` in steps, and the traffic (``"synthetic"`` or a replay file) of ``steps``
    steps of ``step_minutes`` minutes, seeded, scaled so the busiest direction peaks at
    ``peak_utilization`` with every link up. With ``forecast`` (a routed model name), the demands
    swept are that model's forecast at ``start`` for the ``stop - start`` steps ahead ("what will
    hurt most if it fails now"; ``stop`` may then lie past the traffic's end)."""

    kind: str
    start: int
    stop: int
    steps: int
    traffic: str = "synthetic"
    step_minutes: float = 5.0
    seed: int = 0
    peak_utilization: float = 0.6
    forecast: str | None = None

    def check(self) -> None:
        """Raise :class:`InputError` (one line, naming the setting) for a bad setting."""
        if self.kind not in KINDS:
            raise InputError(f"failure kind '{self.kind}'", f"expected one of {', '.join(KINDS)}")
        if self.steps < 1:
            raise InputError("steps", f"must be at least 1 (got {self.steps})")
        if self.start < 0:
            raise InputError("from", f"must be >= 0 (got {self.start})")
        if self.start >= self.stop:
            raise InputError("from", f"must be smaller than to (got {self.start} >= {self.stop})")
        if self.forecast is None and self.stop > self.steps:
            raise InputError("to", f"step {self.stop} is past the end of the run ({self.steps} steps)")
        if self.forecast is not None and not 1 <= self.start <= self.steps:
            raise InputError("from", f"a forecast from step {self.start} needs observed steps before it "
                                     f"(1..{self.steps})")
        if not (math.isfinite(self.step_minutes) and self.step_minutes > 0):
            raise InputError("step minutes", f"must be > 0 (got {self.step_minutes})")
        if not (math.isfinite(self.peak_utilization) and self.peak_utilization > 0):
            raise InputError("peak utilisation", f"must be > 0 (got {self.peak_utilization})")
        if self.seed < 0:
            raise InputError("seed", f"must be a whole number >= 0 (got {self.seed})")


@dataclass(frozen=True)
class SrlgUpload:
    """A shared-risk link group file as uploaded: its name (``.csv`` with header
    ``srlg,link_id``, or ``.json`` with ``{"srlgs": [{id, links}]}``) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class StoredSweep:
    """A sweep record of the history: ``result`` is the sweep's JSON with every failure
    (:meth:`netdrift.engine.sweep.SweepResult.to_dict` with ``top=0``), ``config`` what was run
    (``topology`` is the source it was chosen by: a bundled name, a file or a dashboard label)."""

    id: int
    topology: Topology
    kind: str
    config: dict[str, Any]
    created_at: str
    seconds: float | None
    result: dict[str, Any]

    @property
    def failures(self) -> list[dict[str, Any]]:
        """The failures, ranked by severity (rank 1 first)."""
        return list(self.result.get("failures", []))

    @property
    def per_direction(self) -> dict[str, dict[str, Any]]:
        """Each direction's worst case over all failures and the failure causing it."""
        return dict(self.result.get("per_direction", {}))

    @property
    def topology_source(self) -> str:
        """How the topology was chosen (bundled name, file, dashboard label), else its name."""
        return str(self.config.get("topology") or self.topology.name)


def srlgs_from_upload(upload: SrlgUpload, topology: Topology) -> list[Failure]:
    """The shared-risk link groups of an uploaded file, checked against ``topology``.

    An empty file, a wrong type, an empty group or an unknown link id raises
    :class:`InputError` naming ``srlg '<upload name>'``.
    """
    what = f"srlg '{upload.name}'"
    suffix = Path(upload.name).suffix.lower().lstrip(".")
    if suffix not in SRLG_TYPES:
        raise InputError(what, "expected a .csv ('srlg,link_id') or .json ({\"srlgs\": [{id, links}]}) file")
    if not upload.data.strip():
        raise InputError(what, "the file is empty")
    with tempfile.TemporaryDirectory(prefix="netdrift-srlg-") as folder:
        path = Path(folder) / f"srlg.{suffix}"
        path.write_bytes(upload.data)
        try:
            return load_srlgs(path, topology)
        except InputError as err:  # name the upload, not the temporary copy
            raise InputError(what, err.problem or str(err)) from None


def _failures(topology: Topology, settings: SweepSettings, srlg: SrlgUpload | None,
              topology_source: str | None) -> list[Failure]:
    if srlg is not None and settings.kind != "srlg":
        raise InputError(f"srlg '{srlg.name}'", f"only applies to the SRLG failure kind (got '{settings.kind}')")
    if settings.kind != "srlg":
        return failure_set(topology, settings.kind)
    groups = srlgs_from_upload(srlg, topology) if srlg is not None else None
    if groups is None and topology_source:
        groups = srlgs_from_topology_file(topology_source, topology)
    if not groups:
        raise InputError("srlg", "the SRLG failure kind needs a shared-risk link group file "
                                 "(CSV 'srlg,link_id' or JSON {\"srlgs\": [{id, links}]})")
    return failure_set(topology, "srlg", groups)


def run_sweep(sessions: sessionmaker[Session], topology: Topology, settings: SweepSettings, *,
              topology_source: str | None = None, srlg: SrlgUpload | None = None,
              budget_bytes: int | None = None, workers: int | None = None, processes: bool | None = None,
              progress: Progress | None = None) -> StoredSweep:
    """Sweep ``settings.kind`` failures of ``topology``, store the sweep and return the record.

    ``topology_source`` is how the topology was chosen (stored as ``config["topology"]``; a
    netdrift JSON file's ``srlgs`` serve the SRLG kind when no ``srlg`` file is given).
    ``budget_bytes``: the memory budget (default :func:`netdrift.engine.budget.memory_budget_bytes`),
    checked before the traffic is generated and again by the sweep. ``workers`` / ``processes``:
    see :func:`netdrift.engine.sweep.sweep` (the dashboard runs threads: it must not fork a server).
    ``progress(done, total)`` is called in the calling thread after each failure.
    """
    settings.check()
    failures = _failures(topology, settings, srlg, topology_source)
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    n = len(topology.nodes)
    window = settings.stop - settings.start
    # Refused before the traffic is generated (synthetic traffic has every ordered node pair).
    check_memory(f"sweep of {len(failures)} failures x {window} steps on '{topology.name}'",
                 4.0 * settings.steps * n * (n - 1)
                 + estimate_bytes(n * (n - 1), topology.n_directions, window, len(failures), n_workers, n),
                 budget_bytes)
    traffic = make_traffic(settings.traffic, topology, settings.steps, settings.step_minutes, settings.seed,
                           peak_utilization=settings.peak_utilization, require_steps=True,
                           budget_bytes=budget_bytes)
    result = sweep(topology, traffic, settings.kind, settings.start, settings.stop, failures,
                   workers=n_workers, progress=progress, budget_bytes=budget_bytes, processes=processes,
                   forecast=settings.forecast, forecast_seed=settings.seed)
    config = {"topology": topology_source or topology.name, "traffic": settings.traffic, "steps": settings.steps,
              "step_minutes": traffic.step_minutes, "seed": settings.seed,
              "peak_utilization": settings.peak_utilization, "kind": settings.kind,
              "srlg": srlg.name if srlg is not None else None, "from": settings.start, "to": settings.stop,
              "forecast": settings.forecast, "horizon": window if settings.forecast else None}
    record = result.to_dict(top=0)
    try:
        with sessions.begin() as s:
            sweep_id = SweepRepository(s).save_sweep(topology, settings.kind, config, record)
            created = SweepRepository(s).get_sweep(sweep_id)["created_at"]
    except SQLAlchemyError as err:
        raise InputError(f"history '{_url(sessions)}'", f"the sweep could not be stored ({driver_problem(err)})") from None
    return StoredSweep(sweep_id, topology, settings.kind, config, created, record.get("seconds"), record)


def list_sweeps(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    """Every stored sweep, newest first: id, topology, kind, n_failures, created_at."""
    with sessions() as s:
        return SweepRepository(s).list_sweeps()


def open_sweep(sessions: sessionmaker[Session], sweep_id: int) -> StoredSweep:
    """A stored sweep with its topology (as stored with it); an unknown id raises InputError."""
    with sessions() as s:
        rec = SweepRepository(s).get_sweep(sweep_id)
        row = s.get(SweepRow, sweep_id)
        topo_row = s.get(TopologyRow, row.topology_id) if row is not None else None
        if topo_row is None:
            raise InputError(f"sweep {sweep_id}", "its topology is missing from the history")
        topology = topology_from_dict(topo_row.data, source=f"topology of sweep {sweep_id}")
    return StoredSweep(rec["id"], topology, rec["kind"], dict(rec["config"] or {}), rec["created_at"],
                       rec["seconds"], dict(rec["result"] or {}))


def _url(sessions: sessionmaker[Session]) -> str:
    bind = sessions.kw.get("bind")
    return display_url(bind.url) if bind is not None else "?"

