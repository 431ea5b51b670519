"""A run's arrays as ``series`` rows: float32 little-endian, one row per link direction for the
actual, forecasts and bounds (so a chart of one direction reads 4*T bytes), one row each for
link_up (uint8, T x links) and dropped demand (T,)."""

from __future__ import annotations

from typing import Any

import numpy as np

from netdrift.engine.errors import InputError
from netdrift.engine.results import ScenarioResult

__all__ = ["F32", "U8", "series_rows"]

F32 = "<f4"
U8 = "|u1"


def series_rows(scenario_id: int, result: ScenarioResult) -> list[dict[str, Any]]:
    """The ``series`` rows of ``result``; InputError (naming the array) for any shape that does not
    fit the topology and the run's length, before a row is made."""
    what = f"result of scenario {scenario_id}"
    actual = np.asarray(result.actual)
    if actual.ndim != 2:
        raise InputError(what, f"actual has shape {actual.shape}, expected (T, D)")
    T, D = actual.shape
    n_links = len(result.topology.links)
    if D != result.topology.n_directions:
        raise InputError(what, f"actual has {D} columns but the topology has {result.topology.n_directions} "
                               "link directions")
    for name, f in result.forecasts.items():
        if np.shape(f) != (T, D):
            raise InputError(what, f"forecast '{name}' has shape {np.shape(f)}, expected {(T, D)}")
    for kind, bounds in (("lower", result.lower), ("upper", result.upper)):
        for name, b in bounds.items():
            if np.shape(b) != (T, D):
                raise InputError(what, f"{kind} bound of '{name}' has shape {np.shape(b)}, expected {(T, D)}")
    link_up = np.asarray(result.link_up)
    if link_up.shape != (T, n_links):
        raise InputError(what, f"link_up has shape {link_up.shape}, expected {(T, n_links)}")
    dropped = np.asarray(result.dropped_mbps)
    if dropped.shape != (T,):
        raise InputError(what, f"dropped_mbps has shape {dropped.shape}, expected {(T,)}")

    rows: list[dict[str, Any]] = []

    def per_direction(kind: str, model: str | None, arr: np.ndarray) -> None:
        cols = np.ascontiguousarray(np.asarray(arr, dtype=F32).T)  # (D, T): one direction per row
        rows.extend(dict(scenario_id=scenario_id, kind=kind, model=model, direction=d, n_steps=T, n_cols=None,
                         dtype=F32, data=cols[d].tobytes()) for d in range(D))

    per_direction("actual", None, actual)
    for name, f in result.forecasts.items():
        per_direction("forecast", str(name), f)
    for kind, bounds in (("lower", result.lower), ("upper", result.upper)):
        for name, b in bounds.items():
            per_direction(kind, str(name), b)
    rows.append(dict(scenario_id=scenario_id, kind="link_up", model=None, direction=None, n_steps=T,
                     n_cols=n_links, dtype=U8, data=np.ascontiguousarray(link_up, dtype=U8).tobytes()))
    rows.append(dict(scenario_id=scenario_id, kind="dropped", model=None, direction=None, n_steps=T,
                     n_cols=None, dtype=F32, data=np.ascontiguousarray(dropped, dtype=F32).tobytes()))
    return rows
