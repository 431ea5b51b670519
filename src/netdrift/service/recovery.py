"""Recovery files: a finished run the history refused at save time, kept in files and stored later.

When a result cannot be saved even after retries, the service keeps it (:func:`write_unsaved`) in
``netdrift-unsaved-<UTC time>[-scenario<id>].npz`` (every array) with a ``.json`` of the same
name (topology, config, seed, events, metrics, model stats). :func:`read_unsaved` checks such a pair completely
before anything is opened or written; :func:`store_recovered` stores it as a new complete
scenario labelled ``recovered from <file>`` (once: a second import of the same file is refused).

Example::

    recovered = read_unsaved(Path("netdrift-unsaved-20261130T101500.000000Z-scenario4.npz"))
    new_id = store_recovered(open_database(url), recovered)
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from netdrift.engine.errors import InputError
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.loaders import topology_from_dict, topology_to_dict
from netdrift.engine.results import MetricRow, ScenarioResult
from netdrift.storage.database import driver_problem
from netdrift.storage.models import ScenarioRow
from netdrift.storage.records import jsonable
from netdrift.storage.repository import ScenarioRepository
from netdrift.storage.retries import with_retries

__all__ = ["Recovered", "read_unsaved", "store_recovered", "write_unsaved", "write_unsaved_somewhere",
           "UNSAVED_PREFIX"]

#: Name prefix of the files a run is kept in when the history refuses it.
UNSAVED_PREFIX = "netdrift-unsaved-"

_KEYS = ("topology", "config", "seed", "events", "step_minutes", "start", "train_steps", "metrics")


@dataclass(frozen=True)
class Recovered:
    """A recovery file read back: the result, the file it came from, the scenario id it had."""

    result: ScenarioResult
    source: Path
    old_scenario_id: int | None

    @property
    def label(self) -> str:
        """The label of the scenario it becomes (also how a second import is recognised)."""
        return f"recovered from {self.source.name}"


def _pair(path: Path) -> tuple[Path, Path]:
    """(npz, json) of a recovery file given either one."""
    if path.suffix == ".json":
        return path.with_suffix(".npz"), path
    return path, path.with_suffix(".json")


def _float(x: Any, what: str, key: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise InputError(what, f"'{key}' is not a number: {x!r}")
    return float(x)


def _int(x: Any, what: str, key: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise InputError(what, f"'{key}' is not a whole number: {x!r}")
    return x


def _events(raw: Any, what: str) -> list[FailureEvent]:
    if not isinstance(raw, list):
        raise InputError(what, "'events' is not a list")
    out = []
    for i, e in enumerate(raw):
        if (not isinstance(e, dict) or e.get("action") not in ("fail", "restore") or e.get("kind") not in ("link", "node")
                or not isinstance(e.get("target"), str) or isinstance(e.get("step"), bool)
                or not isinstance(e.get("step"), int)):
            raise InputError(what, f"events[{i}] is not a fail/restore event with step, target and kind")
        out.append(FailureEvent(e["step"], e["action"], e["target"], e["kind"]))
    return out


def _metrics(raw: Any, what: str) -> list[MetricRow]:
    if not isinstance(raw, list):
        raise InputError(what, "'metrics' is not a list")
    out = []
    for i, m in enumerate(raw):
        ok = (isinstance(m, dict) and all(isinstance(m.get(k), str) for k in ("model", "period", "metric"))
              and (m.get("value") is None or (isinstance(m["value"], (int, float)) and not isinstance(m["value"], bool)))
              and (m.get("direction") is None or (isinstance(m["direction"], int)
                                                  and not isinstance(m["direction"], bool))))
        if not ok:
            raise InputError(what, f"metrics[{i}] is not a metric row (model, period, metric, value, direction)")
        out.append(MetricRow(m["model"], m["period"], m["metric"], m.get("value"), m.get("direction")))
    return out


def _arrays(npz: Path, what: str) -> dict[str, np.ndarray]:
    try:
        with np.load(npz, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise InputError(what, f"its arrays file {npz.name} is missing (expected beside it)") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise InputError(what, f"its arrays file {npz.name} cannot be read ({err})") from None


def read_unsaved(path: Path) -> Recovered:
    """Read and check a recovery file (the ``.npz`` or its ``.json``); nothing is written.

    Raises :class:`netdrift.engine.errors.InputError` naming the file and the problem.
    """
    npz, js = _pair(Path(path))
    what = f"recovery file '{path}'"
    if Path(path).suffix not in (".npz", ".json"):
        raise InputError(what, "expected a netdrift-unsaved-*.npz file or its .json")
    try:
        meta = json.loads(js.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(what, f"{js.name} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(what, f"cannot read {js.name} ({getattr(err, 'strerror', None) or err})") from None
    except json.JSONDecodeError as err:
        raise InputError(what, f"{js.name} is not JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(meta, dict) or any(k not in meta for k in _KEYS):
        missing = [k for k in _KEYS if not isinstance(meta, dict) or k not in meta]
        raise InputError(what, f"{js.name} is not a netdrift recovery file (missing {', '.join(missing)})")
    if not isinstance(meta["config"], dict):
        raise InputError(what, "'config' is not an object")
    try:
        start = datetime.fromisoformat(str(meta["start"]))
    except ValueError:
        raise InputError(what, f"'start' is not an ISO 8601 time: {meta['start']!r}") from None
    topology = topology_from_dict(meta["topology"], source=f"{what}, topology")
    arrays = _arrays(npz, what)

    for key in ("actual", "link_up", "dropped_mbps"):
        if key not in arrays:
            raise InputError(what, f"{npz.name} holds no '{key}' array")
    actual = arrays["actual"]
    if actual.ndim != 2 or actual.shape[1] != topology.n_directions:
        raise InputError(what, f"'actual' has shape {actual.shape}, expected (steps, {topology.n_directions})")
    steps = actual.shape[0]
    per_model: dict[str, dict[str, np.ndarray]] = {"forecast": {}, "lower": {}, "upper": {}, "peak_upper": {}}
    for key, arr in arrays.items():
        kind, _, model = key.partition("/")
        if kind in per_model and model:
            if arr.shape != actual.shape:
                raise InputError(what, f"'{key}' has shape {arr.shape}, expected {actual.shape}")
            per_model[kind][model] = arr
    if arrays["link_up"].shape != (steps, len(topology.links)):
        raise InputError(what, f"'link_up' has shape {arrays['link_up'].shape}, expected {(steps, len(topology.links))}")
    if arrays["dropped_mbps"].shape != (steps,):
        raise InputError(what, f"'dropped_mbps' has shape {arrays['dropped_mbps'].shape}, expected {(steps,)}")

    stats = meta.get("model_stats") or {}
    result = ScenarioResult(
        topology=topology,
        config=meta["config"],
        seed=_int(meta["seed"], what, "seed"),
        events=_events(meta["events"], what),
        step_minutes=_float(meta["step_minutes"], what, "step_minutes"),
        start=start,
        train_steps=_int(meta["train_steps"], what, "train_steps"),
        actual=actual,
        forecasts=per_model["forecast"],
        link_up=arrays["link_up"].astype(bool),
        dropped_mbps=arrays["dropped_mbps"],
        metrics=_metrics(meta["metrics"], what),
        lower=per_model["lower"],
        upper=per_model["upper"],
        peak_upper=per_model["peak_upper"],
        model_stats=stats if isinstance(stats, dict) else {},
    )
    old = meta.get("scenario_id")
    return Recovered(result, npz, old if isinstance(old, int) and not isinstance(old, bool) else None)


def store_recovered(sessions: sessionmaker[Session], recovered: Recovered) -> int:
    """Store a read recovery file as a new complete scenario (one transaction, retried); its id.

    A file imported before (a scenario carries its label) is refused with that scenario's id.
    """

    def store(s: Session) -> int:
        before = s.execute(select(ScenarioRow.id).where(ScenarioRow.label == recovered.label)).scalar()
        if before is not None:
            raise InputError(f"recovery file '{recovered.source}'", f"already imported as scenario {before}")
        r = recovered.result
        repo = ScenarioRepository(s)
        sid = repo.create_scenario(r.topology, r.config, r.seed, list(r.forecasts), label=recovered.label)
        repo.save_result(sid, r)
        return int(sid)

    try:
        return with_retries(sessions, store)
    except (SQLAlchemyError, OSError) as err:  # a full disk or a refused database: one line, the file is kept
        raise InputError(f"recovery file '{recovered.source}'", f"could not be stored ({driver_problem(err)}); "
                                                               "nothing was stored and the file is kept") from None


def write_unsaved(result: ScenarioResult, folder: Path, scenario_id: int | None = None,
                  problem: str | None = None) -> Path:
    """Write ``result`` to ``folder/netdrift-unsaved-<UTC time>[-scenario<id>].npz`` (+ ``.json``).

    The ``.npz`` holds ``actual``, ``link_up``, ``dropped_mbps`` and, per model, ``forecast/<m>``
    (and ``lower/<m>``, ``upper/<m>``, ``peak_upper/<m>`` when intervals ran); the ``.json`` the
    rest of :class:`netdrift.engine.results.ScenarioResult` and the reason it was not stored. Both are
    written to a temporary name and renamed, so neither is ever half-written. Returns the
    ``.npz`` path.
    """
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    stem = UNSAVED_PREFIX + stamp + ("" if scenario_id is None else f"-scenario{scenario_id}")
    npz, js = folder / f"{stem}.npz", folder / f"{stem}.json"
    arrays: dict[str, np.ndarray] = {"actual": np.asarray(result.actual), "link_up": np.asarray(result.link_up),
                                     "dropped_mbps": np.asarray(result.dropped_mbps)}
    for kind, per_model in (("forecast", result.forecasts), ("lower", result.lower), ("upper", result.upper),
                            ("peak_upper", result.peak_upper)):
        arrays.update({f"{kind}/{m}": np.asarray(a) for m, a in per_model.items()})
    summary = {
        "scenario_id": scenario_id, "not_stored_because": problem, "arrays": npz.name,
        "topology": topology_to_dict(result.topology), "config": jsonable(result.config), "seed": result.seed,
        "events": [{"step": e.step, "action": e.action, "target": e.target, "kind": e.kind} for e in result.events],
        "step_minutes": result.step_minutes, "start": result.start.isoformat(), "train_steps": result.train_steps,
        "metrics": [jsonable(m) for m in result.metrics], "model_stats": jsonable(result.model_stats),
    }
    tmp_npz, tmp_js = folder / f".{stem}.npz.tmp", folder / f".{stem}.json.tmp"
    try:
        with open(tmp_npz, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub lets a **dict fill allow_pickle: bool
        tmp_js.write_text(json.dumps(summary, indent=1, allow_nan=False))
        os.replace(tmp_npz, npz)
        os.replace(tmp_js, js)
    finally:
        tmp_npz.unlink(missing_ok=True)
        tmp_js.unlink(missing_ok=True)
    return npz


def write_unsaved_somewhere(result: ScenarioResult, folders: list[Path], scenario_id: int | None = None,
                            problem: str | None = None) -> tuple[Path, list[str]]:
    """:func:`write_unsaved` into the first of ``folders`` that takes it (a full disk or a
    refused write moves on to the next, leaving nothing behind); the ``.npz`` path and, for each
    folder that refused, ``"FOLDER: why"``. OSError when every folder refused (its message
    names them all)."""
    refused: list[str] = []
    for folder in folders:
        try:
            return write_unsaved(result, folder, scenario_id, problem), refused
        except OSError as err:
            refused.append(f"{folder}: {os.strerror(err.errno) if err.errno else err}")
    raise OSError("; ".join(refused) or "no folder to write to")
