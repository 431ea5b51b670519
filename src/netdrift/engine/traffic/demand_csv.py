"""A demand series as the long table ``time,src,dst,mbps`` that ``--traffic FILE.csv`` replays."""

from __future__ import annotations

import numpy as np
import pandas as pd

from netdrift.engine.traffic.series import TrafficMatrixSeries

__all__ = ["demands_frame"]


def demands_frame(traffic: TrafficMatrixSeries) -> pd.DataFrame:
    """One row per step and pair with a value (a missing step has no rows, so the replay reads it
    back as missing); times ISO 8601, node ids as in the topology.

    >>> from datetime import datetime
    >>> tm = TrafficMatrixSeries(("a", "b"), np.array([0, 1]), np.array([1, 0]),
    ...                          np.array([[1.5, 2.0], [np.nan, np.nan]], np.float32), 5.0, datetime(2024, 1, 1))
    >>> demands_frame(tm).to_csv(index=False).splitlines()
    ['time,src,dst,mbps', '2024-01-01T00:00:00,a,b,1.5', '2024-01-01T00:00:00,b,a,2.0']
    """
    d = np.asarray(traffic.demands)
    steps, pairs = d.shape
    keep = np.isfinite(d).reshape(-1)
    times = np.datetime_as_string(traffic.times(), unit="s")
    nodes = pd.Categorical.from_codes(np.arange(len(traffic.node_ids)), categories=list(traffic.node_ids))
    return pd.DataFrame({
        "time": pd.Categorical(times)[np.repeat(np.arange(steps), pairs)[keep]],
        "src": nodes[np.tile(traffic.src, steps)[keep]],
        "dst": nodes[np.tile(traffic.dst, steps)[keep]],
        "mbps": d.reshape(-1)[keep],
    })
