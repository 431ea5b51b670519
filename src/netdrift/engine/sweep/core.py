"""The sweep: every failure of a set over a window, ranked, with each direction's worst case.
See :mod:`netdrift.engine.sweep` for the definitions."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology
from netdrift.engine.sweep.evaluate import _run, _Sweeper, estimate_bytes, routing_entries_per_pair
from netdrift.engine.sweep.failures import Failure, failure_set
from netdrift.engine.traffic.series import TrafficMatrixSeries

__all__ = ["SweepResult", "sweep", "rank_failures", "EXECUTORS", "TIE"]

EXECUTORS = ("local", "ray")

#: Two worst utilisations (or dropped totals) this close, relative, are the same figure: failures
#: with one effect (the links on either side of a node of degree 2) differ only by float rounding.
TIE = 1e-6

#: A device batch is sent once its failures' routing deltas hold this many entries (about 240 MB).
PENDING_ENTRIES = 20_000_000


def rank_failures(rows: list[dict[str, Any]]) -> None:
    """Sort ``rows`` in place by worst utilisation (highest first, None last), then by dropped
    traffic, then by name, and number them (``rank``). Figures within :data:`TIE` of each other
    count as equal, so that failures with the same effect come in the same order on any machine
    and on any traffic that gives them that effect."""
    def worst(x: dict[str, Any]) -> float:
        return x["worst_utilization"] if x["worst_utilization"] is not None else -np.inf

    def dropped(x: dict[str, Any]) -> float:
        return x["dropped_mbps_total"]

    rows.sort(key=lambda x: (-worst(x), -dropped(x), x["target"]))
    ranked = []
    for run in _ties(rows, worst):
        run.sort(key=lambda x: -dropped(x))
        for part in _ties(run, dropped):
            ranked.extend(sorted(part, key=lambda x: x["target"]))
    rows[:] = ranked
    for k, x in enumerate(rows, start=1):
        x["rank"] = k


def _ties(rows: list[dict[str, Any]], value: Callable[[dict[str, Any]], float]) -> list[list[dict[str, Any]]]:
    """``rows`` (sorted by ``value``) cut into runs whose values are within :data:`TIE` of the run's first."""
    runs: list[list[dict[str, Any]]] = []
    for x in rows:
        v, first = value(x), value(runs[-1][0]) if runs else None
        if first is not None and (v == first or abs(v - first) <= TIE * max(abs(v), abs(first))):
            runs[-1].append(x)
        else:
            runs.append([x])
    return runs


@dataclass
class SweepResult:
    """What a sweep found; :meth:`to_dict` is the JSON of the CLI and the stored record."""

    kind: str
    start: int
    stop: int
    step_minutes: float
    topology: Topology
    failures: list[dict[str, Any]]                 # ranked, all of them
    per_direction: dict[str, dict[str, Any]]
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, top: int = 20) -> dict[str, Any]:
        fl = self.failures if top == 0 else self.failures[:top]
        return {"kind": self.kind, "topology": self.topology.name, "from": self.start, "to": self.stop,
                "step_minutes": self.step_minutes, "n_failures": len(self.failures),
                "severity": "worst_utilization, ties by dropped_mbps_total",
                "failures": fl, "per_direction": self.per_direction, "seconds": self.seconds, **self.extra}

    def table(self) -> list[dict[str, Any]]:
        """One flat row per failure (the ``--out`` table)."""
        rows = []
        for f in self.failures:
            wd = f["worst_direction"] or {}
            rows.append({"rank": f["rank"], "target": f["target"], "links": " ".join(f["links"]),
                         "nodes": " ".join(f["nodes"]), "severity": f["severity"],
                         "worst_utilization": f["worst_utilization"], "worst_link_id": wd.get("link_id"),
                         "worst_src": wd.get("src"), "worst_dst": wd.get("dst"), "worst_step": f["worst_step"],
                         "overloaded_directions": len(f["overloaded"]),
                         "max_excess_mbps": max((o["excess_mbps"] for o in f["overloaded"]), default=0.0),
                         "dropped_mbps_max": f["dropped_mbps_max"], "dropped_mbps_total": f["dropped_mbps_total"],
                         "dropped_mbit": f["dropped_mbit"], "cut_pairs": f["cut_pairs"],
                         "lost_endpoint_pairs": f["lost_endpoint_pairs"]})
        return rows


def sweep(topology: Topology, traffic: TrafficMatrixSeries, kind: str, start: int, stop: int,
          failures: Sequence[Failure] | None = None, workers: int | None = None, incremental: bool = True,
          progress: Callable[[int, int], None] | None = None, budget_bytes: int | None = None,
          processes: bool | None = None, executor: str = "local", ray_address: str | None = None,
          device: str | None = None, forecast: str | None = None, forecast_seed: int = 0,
          device_batch: int | None = None, interval: float | None = None) -> SweepResult:
    """Sweep every failure of ``kind`` (or the given ``failures``) over steps ``[start, stop)``.

    ``workers`` (default: the CPU count) run the failures in forked worker processes when
    ``processes`` (default: when fork is available, there is more than one worker and more than
    a few failures): building a failure's routing plan is mostly Python-level work that threads
    cannot overlap. Otherwise they run on threads. Results do not depend on either.

    ``executor="ray"`` shards the failures over Ray tasks instead (a local Ray with ``workers``
    CPUs, the Ray this process is connected to, or the cluster at ``ray_address``); the results
    are identical. ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:N"``) computes the loads of batches
    of failure states as batched torch products there (:mod:`netdrift.engine.sweep.batched`; the
    incremental routing deltas are still built on the CPU); ``None`` (default) is the numpy path.
    ``device_batch`` failures go in one product (default: as many as fit in about 256 MB of
    output). Resolve ``"auto"`` with :func:`netdrift.engine.sweep.batched.resolve_sweep_device` first.

    ``forecast`` (a routed model name, :mod:`netdrift.engine.sweep.forecast`) sweeps the demands that
    model forecasts at ``start`` for the H = ``stop - start`` steps ahead instead of the actual
    ones (``stop`` may then lie past the end of the traffic); the result carries
    ``forecast: {model, horizon}``. ``interval`` (a level in (0, 1), with ``forecast`` only)
    sweeps the forecast's upper bound instead: each direction's forecast load plus the start
    radius of :class:`netdrift.engine.evaluation.intervals.ConformalTracker` for that horizon and direction
    (:func:`netdrift.engine.sweep.forecast.upper_radius`).

    Raises :class:`InputError` for a bad window, a sweep over the memory budget, an unknown
    executor, Ray missing or unreachable, or a cuda device without a GPU.
    """
    t0 = time.perf_counter()
    if tuple(traffic.node_ids) != tuple(n.id for n in topology.nodes):
        raise InputError("traffic", f"its nodes do not match topology '{topology.name}'")
    if not 0 <= start < traffic.steps + (forecast is not None):
        raise InputError("from", f"step {start} is outside the run (0..{traffic.steps - 1})")
    if not start < stop:
        raise InputError("from", f"must be smaller than --to (got {start} >= {stop})")
    if interval is not None and forecast is None:
        raise InputError("interval", "only applies to a forecast-aware sweep (forecast=MODEL)")
    if interval is not None and not 0.0 < interval < 1.0:
        raise InputError("interval", f"must be a level between 0 and 1 (got {interval})")
    if stop > traffic.steps and forecast is None:
        raise InputError("to", f"step {stop} is past the end of the run ({traffic.steps} steps)")
    if executor not in EXECUTORS:
        raise InputError(f"executor '{executor}'", f"expected one of {', '.join(EXECUTORS)}")
    if executor == "ray":
        from netdrift.engine.sweep.ray_executor import import_ray

        import_ray()
    if device is not None:
        from netdrift.engine.sweep.batched import resolve_sweep_device

        if device == "auto":
            raise InputError("device 'auto'", "resolve it first (netdrift.engine.sweep.batched.resolve_sweep_device)")
        device = resolve_sweep_device(device)
        incremental = True  # the batched path applies the incremental routing deltas
    fl = list(failures) if failures is not None else failure_set(topology, kind)
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    # The routing's size is measured on a sample of pairs before it is built; what the process
    # already holds (the traffic, the failure set) is counted as it is now (held_now below).
    per_pair = (routing_entries_per_pair(topology, np.asarray(traffic.src), np.asarray(traffic.dst))
                if incremental else None)
    need = estimate_bytes(traffic.n_pairs, topology.n_directions, stop - start, len(fl), n_workers,
                          len(topology.nodes), incremental, per_pair)
    if executor == "ray":  # the sweeper's copy in the object store: the window's demands, the routing
        need += 4.0 * traffic.n_pairs * (stop - start) + 20.0 * traffic.n_pairs * 1.5 * len(topology.nodes) ** 0.5
    if device is not None:  # the routing deltas waiting for a batch, and their copy as a torch matrix
        need += 2 * 12.0 * PENDING_ENTRIES
    if device == "cpu":  # the batched products' working arrays (on a GPU they live there)
        from netdrift.engine.sweep.batched import BATCH_VALUES, BYTES_PER_VALUE

        need += BYTES_PER_VALUE * BATCH_VALUES["cpu"]
    check_memory(f"sweep of {len(fl)} failures x {stop - start} steps on '{topology.name}'", need, budget_bytes,
                 held_now=True)
    if forecast is not None:
        from netdrift.engine.sweep.forecast import forecast_traffic

        fc = forecast_traffic(traffic, forecast, start, stop - start, forecast_seed, device or "cpu")
        sw = _Sweeper(topology, fc, 0, stop - start, incremental)
        if interval is not None:
            from netdrift.engine.sweep.forecast import upper_radius

            sw.add_radius(upper_radius(sw.base, traffic, start, stop - start, interval))
    else:
        sw = _Sweeper(topology, traffic, start, stop, incremental)
    names = topology.direction_names()
    n_dir = topology.n_directions
    best_util = np.full(n_dir, -np.inf)
    best_step = np.zeros(n_dir, dtype=np.int64)
    best_fail = np.full(n_dir, -1, dtype=np.int64)
    step_s = traffic.step_minutes * 60.0
    rows: list[dict[str, Any]] = []

    def record(res: tuple[int, dict[str, Any]]) -> None:
        i, r = res
        f = fl[i]
        util, step = r["util"], r["step"]
        better = util > best_util
        best_util[better], best_step[better], best_fail[better] = util[better], step[better], i
        over = np.flatnonzero(util > 1.0)
        over = over[np.argsort(-util[over], kind="stable")]
        finite = np.isfinite(util)
        wd = int(np.argmax(np.where(finite, util, -np.inf))) if finite.any() else None
        dr = r["dropped"]
        has_dr = np.isfinite(dr).any()
        total = float(np.nansum(dr)) if has_dr else 0.0
        rows.append({
            "target": f.target, "links": list(f.links), "nodes": list(f.nodes),
            "severity": float(util[wd]) if wd is not None else None,
            "worst_utilization": float(util[wd]) if wd is not None else None,
            "worst_direction": ({"link_id": names[wd][0], "src": names[wd][1], "dst": names[wd][2]}
                                if wd is not None else None),
            "worst_step": int(start + step[wd]) if wd is not None else None,
            "overloaded": [{"link_id": names[d][0], "src": names[d][1], "dst": names[d][2],
                            "utilization": float(util[d]), "step": int(start + step[d]),
                            "excess_mbps": float(r["load"][d] - sw.cap[d])} for d in over],
            "dropped_mbps_max": float(np.nanmax(dr)) if has_dr else 0.0,
            "dropped_mbps_total": total, "dropped_mbit": total * step_s,
            "cut_pairs": int(len(r["cut"])),
            "cut_pairs_sample": [[traffic.node_ids[sw.src[p]], traffic.node_ids[sw.dst[p]]] for p in r["cut"][:20]],
            "lost_endpoint_pairs": r["lost_endpoint"],
        })
        if progress is not None:
            progress(len(rows), len(fl))

    extra: dict[str, Any] = {"incremental": incremental, "workers": n_workers, "executor": executor,
                             "device": device or "numpy"}
    if forecast is not None:
        extra["forecast"] = {"model": forecast, "horizon": stop - start, "from": start,
                             "demands": f"forecast at step {start} from steps up to {start - 1}"}
        if interval is not None:
            extra["forecast"]["interval"] = {
                "level": interval, "bound": "upper",
                "radius": "per horizon and direction: the level quantile of the load's h-step change over "
                          "the no-failure loads before --from (the conformal tracker's start radius)"}
    method, sink = "run_one", record
    if device is not None:
        from netdrift.engine.sweep.batched import TorchLoads

        batch = device_batch if device_batch is not None else TorchLoads.batch_for(sw, device)
        on_device: list[TorchLoads] = []  # made at the first batch: after the workers are forked
        pending: list[tuple[int, dict[str, Any]]] = []

        def flush() -> None:
            if not pending:
                return
            if not on_device:
                on_device.append(TorchLoads(sw, device, batch))
            for (i, d), (wutil, wstep, dropped) in zip(pending, on_device[0].compute([d for _, d in pending])):
                record((i, sw.summary(wutil, wstep, dropped, d["unreach"], d["node_up"])))
            pending.clear()

        held = [0]  # routing-delta entries waiting for the device (bounded: they are 12 bytes each)

        def collect(res: tuple[int, dict[str, Any]]) -> None:
            pending.append(res)
            held[0] += res[1]["delta"].nnz
            if len(pending) >= batch or held[0] >= PENDING_ENTRIES:
                flush()
                held[0] = 0

        method, sink = "delta", collect
    if executor == "ray":
        from netdrift.engine.sweep.ray_executor import run_on_ray

        extra.update(run_on_ray(sw, fl, n_workers, sink, ray_address, method))
    else:
        _run(sw, fl, n_workers, sink, processes, method)
    if device is not None:
        flush()
    rank_failures(rows)
    base_u = sw.base_loads / sw.cap[None, :]
    base_max = np.nanmax(np.where(np.isnan(base_u), -np.inf, base_u), axis=0) if len(base_u) else np.full(n_dir, -np.inf)
    per_dir: dict[str, dict[str, Any]] = {}
    for d in range(n_dir):
        ok = np.isfinite(best_util[d]) and best_fail[d] >= 0
        per_dir[f"{names[d][0]}:{names[d][1]}->{names[d][2]}"] = {
            "link_id": names[d][0], "src": names[d][1], "dst": names[d][2],
            "worst_utilization": float(best_util[d]) if ok else None,
            "step": int(start + best_step[d]) if ok else None,
            "failure": fl[best_fail[d]].target if ok else None,
            "no_failure_utilization": float(base_max[d]) if np.isfinite(base_max[d]) else None,
        }
    return SweepResult(kind, start, stop, traffic.step_minutes, topology, rows, per_dir,
                       round(time.perf_counter() - t0, 3), extra)
