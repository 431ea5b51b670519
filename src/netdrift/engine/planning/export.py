"""Writing a plan's files: the upgraded topology (netdrift JSON) and the demand series (long CSV),
each atomically (a temporary file beside the target, renamed once complete)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from netdrift.engine.atomic_files import atomic_path
from netdrift.engine.network.loaders import save_topology_json
from netdrift.engine.network.topology import Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries

__all__ = ["save_demands_csv", "save_topology_json", "write_plan_files"]

#: Steps written per batch (bounds the memory of the text columns).
_BATCH_STEPS = 32


def save_demands_csv(series: TrafficMatrixSeries, path: str | Path) -> Path:
    """Write ``series`` as ``time,src,dst,mbps`` (one row per step and pair, ISO times, values as
    float32 in their shortest exact text), readable by ``--traffic FILE.csv``. Missing steps
    (all NaN) are left out, so the reader marks them missing again; an isolated NaN is written 0.

    >>> import tempfile, os
    >>> from datetime import datetime
    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> from netdrift.engine.traffic.csv_replay import load_traffic_csv
    >>> topo = Topology("t", (Node("a", "a"), Node("b", "b")), (Link("a-b", "a", "b", 1e3),))
    >>> tm = TrafficMatrixSeries(("a", "b"), np.array([0, 1]), np.array([1, 0]),
    ...                          np.array([[1.5, 2.0], [0.1, 3.0]]), 15.0, datetime(2024, 1, 1))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = save_demands_csv(tm, os.path.join(tmp, "d.csv"))
    ...     back = load_traffic_csv(p, topo)
    ...     head = open(p).read().splitlines()[:2]
    >>> head, back.step_minutes, bool(np.array_equal(back.demands, tm.demands.astype(np.float32)))
    (['time,src,dst,mbps', '2024-01-01T00:00:00,a,b,1.5'], 15.0, True)
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = Path(path)
    ids = np.asarray(series.node_ids, dtype=object)
    src, dst = ids[np.asarray(series.src)], ids[np.asarray(series.dst)]
    plain = all(not any(c in str(x) for c in ',"\n\r') for x in series.node_ids)
    opts = pacsv.WriteOptions(include_header=False, quoting_style="none" if plain else "needed")
    times = series.times()
    present = np.flatnonzero(~series.missing)
    P = series.n_pairs
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(b"time,src,dst,mbps\n")
        for a in range(0, len(present), _BATCH_STEPS):
            steps = present[a:a + _BATCH_STEPS]
            vals = np.nan_to_num(np.asarray(series.demands[steps], dtype=np.float32), nan=0.0).ravel()
            text = np.datetime_as_string(times[steps], unit="s").astype(object)
            table = pa.table({"time": pa.array(np.repeat(text, P), pa.string()),
                              "src": pa.array(np.tile(src, len(steps)), pa.string()),
                              "dst": pa.array(np.tile(dst, len(steps)), pa.string()),
                              "mbps": pa.array(vals, pa.float32())})
            pacsv.write_csv(table, f, opts)
    return path


def write_plan_files(upgraded: Topology, demands: TrafficMatrixSeries, out_topology: str | Path | None,
                     out_demands: str | Path | None) -> None:
    """Both outputs, each atomically; the demands first (the larger), so a failure there leaves
    no topology behind either."""
    if out_demands is not None:
        save_demands_csv(demands, out_demands)
    if out_topology is not None:
        save_topology_json(upgraded, out_topology)
