"""What ``netdrift exporter`` serves to Prometheus, read from the history: plain metric families.

Every family is a gauge in base units (bits per second, ratios of capacity, seconds), named after
the Prometheus conventions (``netdrift_<what>_<unit>``; no ``_total``: nothing here is a counter).
Labels: ``scenario`` / ``sweep`` (history ids), ``link`` (link id), ``direction`` (``src->dst``
node ids), ``model``, ``horizon`` (steps ahead the forecast was made), ``failure`` (the failed
element of a sweep). See docs/prometheus.md for the list and an example scrape.

The scenario exported is the newest complete one (or a chosen id); its *latest forecasts* are each
model's H-step-ahead forecast of the scenario's last stored step, with the interval bounds when the
run stored them. A direction is *warned* (``netdrift_overload_warning`` 1) when a model's upper
bound (its point forecast without intervals) for that step reaches the scenario's
``warn_utilization`` x capacity on a link that is up. The sweep exported is the newest one (or a
chosen id): per direction, the worst utilisation over all failures and the failure causing it.

Stored scenarios and sweeps never change once complete, so the families of an id are built once
and kept; a scrape only asks the history which ids are newest.

Examples
--------
>>> import tempfile
>>> from netdrift.storage.database import open_database
>>> HistoryMetrics(open_database(f"sqlite:///{tempfile.mkdtemp()}/h.sqlite")).families()[0].samples
[Sample(labels={}, value=1.0)]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology
from netdrift.service.sweeps import StoredSweep, open_sweep
from netdrift.storage.database import driver_problem
from netdrift.storage.models import ScenarioRow, SweepRow
from netdrift.storage.repository import ScenarioRepository

__all__ = ["Sample", "Family", "HistoryMetrics", "scenario_families", "sweep_families", "FAMILY_NAMES"]

MBPS = 1e6  # bits per second in one Mbit/s


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Family:
    """One gauge: its name, help text and samples."""

    name: str
    help: str
    samples: list[Sample] = field(default_factory=list)


#: Every family the exporter can serve, with its help text.
FAMILY_NAMES: dict[str, str] = {
    "netdrift_history_up": "1 when the history database answered this scrape, 0 when it did not",
    "netdrift_forecast_bits_per_second": "A model's point forecast of the direction's load for the scenario's last step",
    "netdrift_forecast_lower_bits_per_second": "Lower bound of the forecast's prediction interval",
    "netdrift_forecast_upper_bits_per_second": "Upper bound of the forecast's prediction interval",
    "netdrift_forecast_utilization_ratio": "Point forecast / capacity of the direction",
    "netdrift_forecast_lower_utilization_ratio": "Lower bound of the interval / capacity",
    "netdrift_forecast_upper_utilization_ratio": "Upper bound of the interval / capacity",
    "netdrift_forecast_interval_level_ratio": "Nominal coverage of the prediction intervals (e.g. 0.9)",
    "netdrift_forecast_target_timestamp_seconds": "Unix time of the step the latest forecasts are for",
    "netdrift_observed_bits_per_second": "Load the scenario observed at its last step",
    "netdrift_link_capacity_bits_per_second": "Capacity of the direction",
    "netdrift_overload_warning": "1 when the model's upper bound reaches the warning threshold on a link that is up",
    "netdrift_overload_threshold_ratio": "Utilisation at which an overload warning is raised",
    "netdrift_sweep_worst_utilization_ratio": "Worst utilisation of the direction over all failures of the sweep; "
                                              "failure = the failed element causing it",
    "netdrift_sweep_no_failure_utilization_ratio": "Highest utilisation of the direction over the sweep's window "
                                                   "with every element up",
    "netdrift_sweep_created_timestamp_seconds": "Unix time the sweep was stored",
}


def _family(name: str, samples: list[Sample]) -> Family:
    return Family(name, FAMILY_NAMES[name], samples)


def _direction_labels(topology: Topology) -> list[dict[str, str]]:
    return [{"link": link, "direction": f"{src}->{dst}"} for link, src, dst in topology.direction_names()]


def scenario_families(scenario_id: int, repo: ScenarioRepository) -> list[Family]:
    """The latest forecasts, observed loads, capacities and overload warnings of a complete scenario."""
    detail = repo.get_scenario(scenario_id)
    topology = detail.topology
    config: dict[str, Any] = detail.config or {}
    horizon = str((config.get("forecast") or {}).get("horizon", ""))
    capacity = np.asarray(topology.direction_capacity, dtype=np.float64)
    dirs = _direction_labels(topology)
    sid = {"scenario": str(scenario_id)}
    actual = repo.load_series(scenario_id)
    last = actual.shape[0] - 1
    up_links = repo.load_link_up(scenario_id)[last]
    up = np.repeat(up_links, 2)  # each link's two directions, in direction order
    threshold = config.get("warn_utilization")
    out: dict[str, list[Sample]] = {name: [] for name in FAMILY_NAMES}
    for d, labels in enumerate(dirs):
        out["netdrift_link_capacity_bits_per_second"].append(Sample({**sid, **labels}, float(capacity[d]) * MBPS))
        if np.isfinite(actual[last, d]):
            out["netdrift_observed_bits_per_second"].append(Sample({**sid, **labels}, float(actual[last, d]) * MBPS))
    bounds = {kind: _bounds(repo, scenario_id, detail.models, kind) for kind in ("lower", "upper")}
    for model in detail.models:
        point = repo.load_series(scenario_id, model)[last].astype(np.float64)
        series = {"": point, **{f"{k}_": b[model][last].astype(np.float64) for k, b in bounds.items() if model in b}}
        for prefix, values in series.items():
            for d, labels in enumerate(dirs):
                if not np.isfinite(values[d]):
                    continue
                full = {**sid, **labels, "model": model, "horizon": horizon}
                out[f"netdrift_forecast_{prefix}bits_per_second"].append(Sample(full, float(values[d]) * MBPS))
                if capacity[d] > 0:
                    out[f"netdrift_forecast_{prefix}utilization_ratio"].append(Sample(full, float(values[d] / capacity[d])))
        if threshold is not None:
            watch = series.get("upper_", point)
            with np.errstate(invalid="ignore"):
                warned = up & (capacity > 0) & np.isfinite(watch) & (watch >= float(threshold) * capacity)
            out["netdrift_overload_warning"] += [Sample({**sid, **labels, "model": model, "horizon": horizon},
                                                        float(warned[d])) for d, labels in enumerate(dirs)]
    if threshold is not None:
        out["netdrift_overload_threshold_ratio"].append(Sample(sid, float(threshold)))
    if config.get("interval") is not None and bounds["upper"]:
        out["netdrift_forecast_interval_level_ratio"].append(Sample(sid, float(config["interval"])))
    if detail.start is not None and detail.step_minutes:
        target = _utc_seconds(detail.start)
        out["netdrift_forecast_target_timestamp_seconds"].append(
            Sample(sid, target + last * float(detail.step_minutes) * 60.0))
    return [_family(n, s) for n, s in out.items() if s and not n.startswith("netdrift_sweep")]


def _utc_seconds(when: datetime) -> float:
    """Unix seconds of ``when`` (a naive time is UTC, as the history stores it)."""
    return float((when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp())


def _bounds(repo: ScenarioRepository, scenario_id: int, models: list[str], kind: str) -> dict[str, np.ndarray]:
    """{model: (T, D)} interval bounds of ``kind`` stored for the scenario (none for runs without)."""
    out = {}
    for model in models:
        try:
            out[model] = repo.load_series(scenario_id, model, kind=kind)
        except InputError:  # no bounds stored for this model
            continue
    return out


def sweep_families(sweep: StoredSweep) -> list[Family]:
    """Per direction: the sweep's worst utilisation (with the failure causing it) and the no-failure one."""
    sw = {"sweep": str(sweep.id), "kind": sweep.kind}
    worst, base = [], []
    for entry in sweep.per_direction.values():
        labels = {"link": str(entry["link_id"]), "direction": f"{entry['src']}->{entry['dst']}"}
        if entry.get("worst_utilization") is not None:
            worst.append(Sample({**sw, **labels, "failure": str(entry.get("failure"))},
                                float(entry["worst_utilization"])))
        if entry.get("no_failure_utilization") is not None:
            base.append(Sample({**sw, **labels}, float(entry["no_failure_utilization"])))
    stamp = _utc_seconds(datetime.fromisoformat(sweep.created_at))
    out = [_family("netdrift_sweep_worst_utilization_ratio", worst),
           _family("netdrift_sweep_no_failure_utilization_ratio", base),
           _family("netdrift_sweep_created_timestamp_seconds", [Sample(sw, stamp)])]
    return [f for f in out if f.samples]


class HistoryMetrics:
    """The families of one history: the newest complete scenario (or ``scenario_id``) and the newest
    sweep (or ``sweep_id``), re-read on every :meth:`families` call when a newer one was stored."""

    def __init__(self, sessions: sessionmaker[Session], scenario_id: int | None = None,
                 sweep_id: int | None = None) -> None:
        self.sessions = sessions
        self.scenario_id, self.sweep_id = scenario_id, sweep_id
        self._cache: dict[tuple[str, int], list[Family]] = {}
        #: Why the last scrape could not read the history (None after a good one).
        self.last_error: str | None = None

    def check(self) -> None:
        """Refuse (InputError) a chosen scenario that is missing or not complete, or a missing sweep."""
        with self.sessions() as s:
            if self.scenario_id is not None:
                detail = ScenarioRepository(s).get_scenario(self.scenario_id)
                if detail.status != "complete":
                    raise InputError(f"scenario {self.scenario_id}", f"is {detail.status}; only a complete "
                                                                     "scenario has forecasts to export")
        if self.sweep_id is not None:
            open_sweep(self.sessions, self.sweep_id)

    def latest_ids(self) -> tuple[int | None, int | None]:
        """(scenario id, sweep id) exported now."""
        with self.sessions() as s:
            sid = self.scenario_id if self.scenario_id is not None else s.execute(
                select(ScenarioRow.id).where(ScenarioRow.status == "complete").order_by(ScenarioRow.id.desc())
                .limit(1)).scalar()
            wid = self.sweep_id if self.sweep_id is not None else s.execute(
                select(SweepRow.id).order_by(SweepRow.id.desc()).limit(1)).scalar()
        return sid, wid

    def families(self) -> list[Family]:
        """Every family to serve now; ``netdrift_history_up`` 0 (and nothing else) when the history
        cannot be read."""
        try:
            sid, wid = self.latest_ids()
            out: list[Family] = []
            if sid is not None:
                out += self._cached("scenario", sid)
            if wid is not None:
                out += self._cached("sweep", wid)
        except (SQLAlchemyError, OSError, InputError) as err:
            self.last_error = driver_problem(err) if not isinstance(err, InputError) else str(err)
            return [_family("netdrift_history_up", [Sample({}, 0.0)])]
        self.last_error = None
        return [_family("netdrift_history_up", [Sample({}, 1.0)]), *out]

    def _cached(self, kind: str, ident: int) -> list[Family]:
        key = (kind, ident)
        if key not in self._cache:
            if kind == "scenario":
                with self.sessions() as s:
                    self._cache[key] = scenario_families(ident, ScenarioRepository(s))
            else:
                self._cache[key] = sweep_families(open_sweep(self.sessions, ident))
            for old in [k for k in self._cache if k[0] == kind and k != key]:
                del self._cache[old]
        return self._cache[key]
