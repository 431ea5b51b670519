"""Run, store and open failure sweeps: the one path from a sweep's settings to a stored sweep,
taken by ``netdrift sweep`` and the dashboard's Impact page alike (one check of the settings,
one window rule, one stored ``config``).

A sweep fails every element of a set (each link, each node, each link pair, each shared-risk
link group) over the steps ``[start, stop)`` of a traffic series and ranks the failures by
severity (see :mod:`netdrift.engine.sweep` for the definitions). Bad input (an unknown kind, a window
outside the run, an empty or unknown-link SRLG file, a sweep over the memory budget) raises
:class:`netdrift.engine.errors.InputError` with one line, before anything is computed or stored.
Each user interface names its inputs its own way: ``names`` maps the settings' names (``from``,
``to``, ``kind``, ``srlg``, ...) to what the user typed (the CLI passes its flags, ``--from``).

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders import topology_from_dict
from netdrift.engine.network.routing import all_pairs
from netdrift.engine.network.topology import Topology
from netdrift.engine.progress_text import progress_text  # re-exported: the Impact page reads it here
from netdrift.engine.sweep import (
    KINDS,
    Failure,
    estimate_bytes,
    failure_set,
    load_srlgs,
    srlgs_from_topology_file,
    sweep,
)
from netdrift.engine.sweep.evaluate import routing_entries_per_pair
from netdrift.engine.traffic.backbone import backbone_memory_bytes
from netdrift.engine.traffic.sources import (
    check_replay_step,
    check_synthetic_fits,
    check_traffic_model,
    make_traffic,
)
from netdrift.engine.traffic.synthetic import check_seed, synthetic_memory_bytes
from netdrift.storage.database import display_url, driver_problem
from netdrift.storage.models import SweepRow, TopologyRow
from netdrift.storage.sweep_repository import SweepRepository

if TYPE_CHECKING:
    from netdrift.engine.sweep import SweepResult

__all__ = ["SweepSettings", "SrlgUpload", "StoredSweep", "run_sweep", "list_sweeps", "open_sweep",
           "store_deduction_bounds", "stored_deduction_bounds",
           "srlgs_from_upload", "progress_text", "SRLG_TYPES", "EXECUTORS", "DEVICES"]

#: File types an SRLG upload may have (as :func:`netdrift.engine.sweep.load_srlgs` reads them).
SRLG_TYPES = ("csv", "json")

#: Where the failures run: worker processes (or threads) here, or Ray tasks.
EXECUTORS = ("local", "ray")
#: Where the loads are computed: ``auto`` is cuda when a GPU is available, else cpu (numpy).
DEVICES = ("auto", "cpu", "cuda")
#: Step length of synthetic traffic when none is given (a replay keeps its own).
SYNTHETIC_STEP_MINUTES = 5.0

Progress = Callable[[int, int], None]
#: The sessions of the history, or a function opening them (called once the sweep has run).
Sessions = sessionmaker[Session] | Callable[[], sessionmaker[Session]]


def _namer(names: Mapping[str, str] | None) -> Callable[[str], str]:
    """``n(key)``: how the user interface names the setting ``key`` (the key itself by default)."""
    table = dict(names or {})
    return lambda key: table.get(key, key)


@dataclass(frozen=True)
class SweepSettings:
    """What to sweep: the failure ``kind`` (one of :data:`netdrift.engine.sweep.KINDS`), the window
    ``[start, stop)`` in steps, and the traffic (``"synthetic"`` or a replay file) of ``steps``
    steps of ``step_minutes`` minutes (None: 5 for synthetic traffic, the replay's own step for a
    replay, which refuses another), seeded, scaled so the busiest direction peaks at
    ``peak_utilization`` with every link up. With ``forecast`` (a routed model name), the demands
    swept are that model's forecast at ``start`` for the ``stop - start`` steps ahead ("what will
    hurt most if it fails now"; ``stop`` may then lie past the traffic's end); with ``interval``
    (a level in (0, 1)) the forecast's upper bound at that level."""

    kind: str
    start: int
    stop: int
    steps: int
    traffic: str = "synthetic"
    step_minutes: float | None = None
    seed: int = 0
    peak_utilization: float = 0.6
    forecast: str | None = None
    interval: float | None = None
    #: the generator of synthetic traffic ('sine' when None; refused with a replay)
    traffic_model: str | None = None

    @property
    def synthetic(self) -> bool:
        """Whether the traffic is generated (not replayed)."""
        return self.traffic.strip().lower() == "synthetic"

    def check(self, names: Mapping[str, str] | None = None) -> None:
        """Raise :class:`InputError` (one line, naming the setting as ``names`` does) for a bad
        setting. The one window rule: ``start < stop <= steps``, or with a forecast
        ``1 <= start <= steps`` (observed steps before it; ``stop`` may lie past the run)."""
        n = _namer(names)
        if self.step_minutes is not None and not (math.isfinite(self.step_minutes) and self.step_minutes > 0):
            raise InputError(n("step_minutes"), f"must be > 0 (got {self.step_minutes})")
        try:
            check_seed(self.seed)
        except InputError as err:
            raise InputError(n("seed"), err.problem) from None
        if not (math.isfinite(self.peak_utilization) and self.peak_utilization > 0):
            raise InputError(n("peak_utilization"), f"must be > 0 (got {self.peak_utilization})")
        try:
            check_traffic_model(self.traffic_model, self.traffic)
        except InputError as err:
            raise InputError(n("traffic_model"), err.problem) from None
        if self.steps < 1:
            raise InputError(n("steps"), f"must be at least 1 (got {self.steps})")
        if self.start < 0:
            raise InputError(n("from"), f"must be >= 0 (got {self.start})")
        if self.forecast is None:
            if self.start >= self.stop:
                raise InputError(n("from"), f"must be smaller than {n('to')} (got {self.start} >= {self.stop})")
            if self.stop > self.steps:
                raise InputError(n("to"), f"step {self.stop} is past the end of the run ({self.steps} steps)")
        else:
            if self.interval is not None and not (math.isfinite(self.interval) and 0.0 < self.interval < 1.0):
                raise InputError(n("interval"), f"must be a level between 0 and 1 (got {self.interval})")
            if not 1 <= self.start <= self.steps:
                raise InputError(n("from"), f"a forecast from step {self.start} needs observed steps before it "
                                            f"(1..{self.steps})")
            if self.start >= self.stop:
                raise InputError(n("from"), f"must be smaller than {n('to')} (got {self.start} >= {self.stop})")
        if self.interval is not None and self.forecast is None:
            raise InputError(n("interval"), f"only applies with {n('forecast')} MODEL")
        if self.kind not in KINDS:
            what = "failure kind" if n("kind") == "kind" else n("kind")
            raise InputError(f"{what} '{self.kind}'", f"expected one of {', '.join(KINDS)}")


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
    outcome: SweepResult | None = field(default=None, repr=False, compare=False)

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


def _srlg_name(srlg: SrlgUpload | str | Path | None) -> str | None:
    return srlg.name if isinstance(srlg, SrlgUpload) else (None if srlg is None else str(srlg))


def _failures(topology: Topology, settings: SweepSettings, srlg: SrlgUpload | str | Path | None,
              topology_source: str | None, names: Mapping[str, str] | None) -> list[Failure]:
    n, named = _namer(names), bool(names)
    if settings.kind != "srlg":
        return failure_set(topology, settings.kind)
    groups: list[Failure] | None
    if isinstance(srlg, SrlgUpload):
        groups = srlgs_from_upload(srlg, topology)
    elif srlg is not None:
        groups = load_srlgs(srlg, topology)  # its errors name ``srlg '<path>'``
    else:
        groups = srlgs_from_topology_file(topology_source, topology) if topology_source else None
    if not groups and named:
        raise InputError(n("srlg"), f"{n('kind')} srlg needs shared-risk link groups ({n('srlg')} FILE or "
                                    "'srlgs' in the topology JSON)")
    if not groups:
        raise InputError("srlg", "the SRLG failure kind needs a shared-risk link group file "
                                 "(CSV 'srlg,link_id' or JSON {\"srlgs\": [{id, links}]})")
    return failure_set(topology, "srlg", groups)


def sweep_config(settings: SweepSettings, topology_source: str, step_minutes: float, srlg: str | None,
                 executor: str = "local", ray_address: str | None = None, device: str = "cpu") -> dict[str, Any]:
    """The ``config`` stored with a sweep (the one set of keys, whoever ran it)."""
    return {"topology": topology_source, "traffic": settings.traffic, "steps": settings.steps,
            "step_minutes": step_minutes, "seed": settings.seed, "peak_utilization": settings.peak_utilization,
            "traffic_model": (settings.traffic_model or "sine") if settings.synthetic else None,
            "kind": settings.kind, "srlg": srlg, "from": settings.start, "to": settings.stop,
            "executor": executor, "ray_address": ray_address, "device": device, "forecast": settings.forecast,
            "horizon": settings.stop - settings.start if settings.forecast else None, "interval": settings.interval}


def run_sweep(sessions: Sessions, topology: Topology | str, settings: SweepSettings, *,
              topology_source: str | None = None, srlg: SrlgUpload | str | Path | None = None,
              budget_bytes: int | None = None, workers: int | None = None, processes: bool | None = None,
              executor: str = "local", ray_address: str | None = None, device: str = "cpu",
              progress: Progress | None = None, size: Callable[[int], None] | None = None,
              names: Mapping[str, str] | None = None) -> StoredSweep:
    """Sweep ``settings.kind`` failures of ``topology``, store the sweep and return the record.

    ``topology`` is a loaded topology or a bundled name / file (then loaded here, after a
    synthetic traffic too large for it was refused from the file's counts alone).
    ``topology_source`` is how the topology was chosen (stored as ``config["topology"]``; a
    netdrift JSON file's ``srlgs`` serve the SRLG kind when no ``srlg`` is given). ``srlg``: an
    uploaded file or a file path. ``budget_bytes``: the memory budget (default
    :func:`netdrift.engine.budget.memory_budget_bytes`), checked before the traffic is generated
    and again by the sweep. ``workers``, ``processes``, ``executor``, ``ray_address``: see
    :func:`netdrift.engine.sweep.sweep` (the dashboard runs threads: it must not fork a server);
    ``device``: one of :data:`DEVICES`. ``progress(done, total)`` is called in the calling thread
    after each failure; ``size(cells)`` once before the sweep starts, with its size in failures x
    steps x node pairs (a user interface decides from it whether to show progress). ``sessions`` may be a function opening the history: it is called only
    once the sweep has run, so a refused sweep creates no database. ``names``: see the module.
    The returned record carries the engine's :class:`netdrift.engine.sweep.SweepResult` as
    ``outcome`` (its per-failure ``table()``).
    """
    n = _namer(names)
    settings.check(names)
    if srlg is not None and settings.kind != "srlg":
        if names:
            raise InputError(n("srlg"), f"only applies to {n('kind')} srlg (got {n('kind')} {settings.kind})")
        raise InputError(f"srlg '{_srlg_name(srlg)}'", f"only applies to the SRLG failure kind (got '{settings.kind}')")
    if executor not in EXECUTORS:
        raise InputError(f"{n('executor')} '{executor}'", f"expected one of {', '.join(EXECUTORS)}")
    if ray_address and executor != "ray":
        raise InputError(n("ray_address"), f"only applies to {n('executor')} ray")
    if device not in DEVICES:
        raise InputError(f"{n('device')} '{device}'", f"expected one of {', '.join(DEVICES)}")
    if executor == "ray":
        from netdrift.engine.sweep.ray_executor import import_ray

        import_ray()
    from netdrift.engine.sweep.batched import resolve_sweep_device

    engine_device = None if device == "cpu" else resolve_sweep_device(device)
    if isinstance(topology, str):
        source = topology_source or topology
        if settings.synthetic:  # a topology file too large for its traffic is refused before it is loaded
            check_synthetic_fits(topology, settings.steps, budget_bytes, model=settings.traffic_model)
        from netdrift.engine.network.loaders import load_topology

        topology = load_topology(topology)
    else:
        source = topology_source or topology.name
    failures = _failures(topology, settings, srlg, topology_source or source, names)
    n_nodes = len(topology.nodes)
    window = settings.stop - settings.start
    # Refused before the traffic is generated (synthetic traffic has every ordered node pair):
    # the generator's peak (what it frees mostly stays resident) plus the sweep's, its routing
    # measured on a sample of pairs; the topology and failure set are counted as resident now.
    n_pairs = n_nodes * (n_nodes - 1)
    generator = backbone_memory_bytes if settings.traffic_model == "backbone" else synthetic_memory_bytes
    traffic_bytes = (generator(n_nodes, topology.n_directions, settings.steps)
                     if settings.synthetic else 4.0 * settings.steps * n_pairs)
    src, dst = all_pairs(n_nodes)
    check_memory(f"sweep of {len(failures)} failures x {window} steps on '{topology.name}'",
                 traffic_bytes + estimate_bytes(n_pairs, topology.n_directions, window, len(failures),
                                                workers or os.cpu_count() or 1, n_nodes,
                                                entries_per_pair=routing_entries_per_pair(topology, src, dst)),
                 budget_bytes, held_now=True)
    minutes = settings.step_minutes
    if minutes is None and settings.synthetic:
        minutes = SYNTHETIC_STEP_MINUTES
    traffic = make_traffic(settings.traffic, topology, settings.steps, minutes, settings.seed,
                           peak_utilization=settings.peak_utilization, require_steps=True,
                           budget_bytes=budget_bytes, model=settings.traffic_model)
    if not settings.synthetic:
        check_replay_step(settings.traffic, settings.step_minutes, traffic.step_minutes)
    if size is not None:
        size(len(failures) * window * max(traffic.n_pairs, 1))
    result = sweep(topology, traffic, settings.kind, settings.start, settings.stop, failures,
                   workers=workers, progress=progress, budget_bytes=budget_bytes, processes=processes,
                   executor=executor, ray_address=ray_address, device=engine_device,
                   forecast=settings.forecast, forecast_seed=settings.seed, interval=settings.interval)
    config = sweep_config(settings, source, traffic.step_minutes, _srlg_name(srlg), executor, ray_address, device)
    record = result.to_dict(top=0)
    if not isinstance(sessions, sessionmaker):
        sessions = sessions()
    try:
        with sessions.begin() as s:
            sweep_id = SweepRepository(s).save_sweep(topology, settings.kind, config, record)
            created = SweepRepository(s).get_sweep(sweep_id)["created_at"]
    except SQLAlchemyError as err:
        raise InputError(f"history '{_url(sessions)}'", f"the sweep could not be stored ({driver_problem(err)})") from None
    return StoredSweep(sweep_id, topology, settings.kind, config, created, record.get("seconds"), record, result)


def store_deduction_bounds(sessions: sessionmaker[Session], stored: StoredSweep,
                           bounds: Sequence[Mapping[str, Any] | None]) -> StoredSweep:
    """``stored`` with ``bounds`` (one per failure from rank 1, see
    :func:`netdrift.engine.sweep.deduction_bounds.deduction_bounds`) kept with its failures in the
    history, so that every door that opens the sweep shows them."""
    try:
        with sessions.begin() as s:
            result = SweepRepository(s).set_deduction_bounds(stored.id, bounds)
    except SQLAlchemyError as err:
        raise InputError(f"history '{_url(sessions)}'", f"the bounds could not be stored ({driver_problem(err)})") from None
    return replace(stored, result=dict(result))


def stored_deduction_bounds(stored: StoredSweep) -> list[dict[str, Any] | None]:
    """The bounds kept with the sweep's leading failures (rank 1 first), as far as they go."""
    out: list[dict[str, Any] | None] = []
    for f in stored.failures:
        if "deduction_bounds" not in f:
            break
        out.append(f["deduction_bounds"])
    return out


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

