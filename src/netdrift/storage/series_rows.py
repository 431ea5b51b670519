"""A run's arrays as ``series`` rows, written whole or, for a run that goes on, only what changed.

Each array is stored as float32 little-endian, one row per link direction for the actual,
forecasts and bounds (so a chart of one direction reads 4*T bytes), one row each for link_up
(uint8, T x links) and dropped demand (T,). A row holds the contiguous steps
``[start, start + n_steps)`` of its series: a finished run's arrays are one row per series from
step 0; a live run's checkpoints add rows (pieces of at most :data:`PIECE_STEPS` steps) for the
steps observed since the last one, and rewrite only the last piece while it is shorter than
that. Steps that happened never change (a failure or restore takes effect from the current step
on), so a checkpoint after N more steps writes O(N + PIECE_STEPS) steps per series, not the
whole history. Readers join the pieces in step order.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterator, Sequence

import numpy as np
from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.orm import Session

from netdrift.engine.errors import InputError
from netdrift.engine.results import ScenarioResult
from netdrift.storage.models import SeriesRow

__all__ = ["F32", "U8", "PIECE_STEPS", "series_rows", "write_series", "read_series", "read_whole_series"]

F32 = "<f4"
U8 = "|u1"

#: The most steps a piece written by a checkpoint holds: a checkpoint rewrites at most this many
#: steps of what it stored before (the last, short piece), per series row.
PIECE_STEPS = 256

_SERIES: Table = SeriesRow.__table__  # type: ignore[assignment]  # the ORM model's Core table


def check_result(scenario_id: int, result: ScenarioResult) -> tuple[int, int]:
    """(T, D) of ``result``; InputError (naming the array) for any shape that does not fit the
    topology and the run's length, before a row is made."""
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
    if np.shape(result.link_up) != (T, n_links):
        raise InputError(what, f"link_up has shape {np.shape(result.link_up)}, expected {(T, n_links)}")
    if np.shape(result.dropped_mbps) != (T,):
        raise InputError(what, f"dropped_mbps has shape {np.shape(result.dropped_mbps)}, expected {(T,)}")
    return T, D


def _series(result: ScenarioResult) -> Iterator[tuple[str, str | None, np.ndarray]]:
    """(kind, model, array) of every series of ``result``."""
    yield "actual", None, np.asarray(result.actual)
    for name, f in result.forecasts.items():
        yield "forecast", str(name), np.asarray(f)
    for kind, bounds in (("lower", result.lower), ("upper", result.upper)):
        for name, b in bounds.items():
            yield kind, str(name), np.asarray(b)
    yield "link_up", None, np.asarray(result.link_up)
    yield "dropped", None, np.asarray(result.dropped_mbps)


def _pieces(start: int, stop: int, piece: int | None) -> list[tuple[int, int]]:
    if piece is None:
        return [(start, stop)] if stop > start else []
    return [(a, min(a + piece, stop)) for a in range(start, stop, piece)]


def series_rows(scenario_id: int, result: ScenarioResult, start: int = 0,
                piece: int | None = None) -> list[dict[str, Any]]:
    """The ``series`` rows of ``result``'s steps ``[start, T)``: one row per series (and link
    direction) and piece, pieces of ``piece`` steps from ``start`` (None: one piece)."""
    T, D = check_result(scenario_id, result)
    rows: list[dict[str, Any]] = []
    spans = _pieces(start, T, piece)
    for kind, model, arr in _series(result):
        if kind in ("link_up", "dropped"):
            dtype = U8 if kind == "link_up" else F32
            n_cols = arr.shape[1] if arr.ndim == 2 else None
            for a, b in spans:
                rows.append(dict(scenario_id=scenario_id, kind=kind, model=model, direction=None, start=a,
                                 n_steps=b - a, n_cols=n_cols, dtype=dtype,
                                 data=np.ascontiguousarray(arr[a:b], dtype=dtype).tobytes()))
            continue
        for a, b in spans:
            cols = np.ascontiguousarray(np.asarray(arr[a:b], dtype=F32).T)  # (D, n): one direction per row
            rows.extend(dict(scenario_id=scenario_id, kind=kind, model=model, direction=d, start=a, n_steps=b - a,
                             n_cols=None, dtype=F32, data=cols[d].tobytes()) for d in range(D))
    return rows


def _stored_layout(session: Session, scenario_id: int) -> dict[tuple[str, str | None], list[tuple[int, int, int]]]:
    """{(kind, model): [(start, n_steps, rows)] in step order} of what the scenario has stored."""
    q = (select(SeriesRow.kind, SeriesRow.model, SeriesRow.start, SeriesRow.n_steps, func.count())
         .where(SeriesRow.scenario_id == scenario_id)
         .group_by(SeriesRow.kind, SeriesRow.model, SeriesRow.start, SeriesRow.n_steps))
    out: dict[tuple[str, str | None], list[tuple[int, int, int]]] = defaultdict(list)
    for kind, model, start, n, count in session.execute(q):
        out[(kind, model)].append((int(start), int(n), int(count)))
    return {k: sorted(v) for k, v in out.items()}


def _appendable(layout: dict[tuple[str, str | None], list[tuple[int, int, int]]], result: ScenarioResult,
                T: int, D: int) -> list[tuple[int, int]] | None:
    """The stored pieces [(start, n_steps)] when ``result`` extends what is stored (the same
    series, every one stored contiguously from step 0 to the same step <= T); else None."""
    keys = {(kind, model) for kind, model, _ in _series(result)}
    if not layout or set(layout) != keys:
        return None
    pieces: list[tuple[int, int]] | None = None
    for (kind, _), stored in layout.items():
        per_piece = 1 if kind in ("link_up", "dropped") else D
        mine = [(a, n) for a, n, _ in stored]
        if any(count != per_piece for _, _, count in stored) or (pieces is not None and mine != pieces):
            return None
        pieces = mine
    assert pieces is not None
    end = 0
    for a, n in pieces:
        if a != end:
            return None
        end = a + n
    return pieces if end <= T else None


def write_series(session: Session, scenario_id: int, result: ScenarioResult, incremental: bool = False) -> None:
    """Store ``result``'s series. Whole (every row deleted and written again, one piece per
    series), or with ``incremental`` only what changed since the last write when ``result`` extends
    what is stored (a live run's checkpoint): the rows of its new steps, and its last piece again
    while that is shorter than :data:`PIECE_STEPS`. Shapes are checked before anything is written."""
    T, D = check_result(scenario_id, result)
    pieces = _appendable(_stored_layout(session, scenario_id), result, T, D) if incremental else None
    if pieces is None:
        rows = series_rows(scenario_id, result)
        session.execute(delete(_SERIES).where(SeriesRow.scenario_id == scenario_id))
    else:
        last_start, last_n = pieces[-1] if pieces else (0, 0)
        if last_n < PIECE_STEPS:  # the short last piece grows: written again with the new steps
            since = last_start
            session.execute(delete(_SERIES).where(SeriesRow.scenario_id == scenario_id,
                                                  SeriesRow.start == last_start))
        else:
            since = last_start + last_n
        rows = series_rows(scenario_id, result, since, PIECE_STEPS)
    if rows:
        session.execute(insert(_SERIES), rows)


def _join(rows: Sequence[Any], dtype: str, n_cols: int | None) -> np.ndarray:
    """One direction's (or a whole series') pieces, in step order, as one array."""
    arr = np.frombuffer(b"".join(r.data for r in rows), dtype=np.dtype(dtype))
    return (arr if n_cols is None else arr.reshape(-1, n_cols)).copy()  # writable, native


def read_series(session: Session, scenario_id: int, kind: str, model: str | None,
                direction: int | None) -> np.ndarray | None:
    """A per-direction series as (T, D) float32, or (T,) for one ``direction``; None when none is stored."""
    q = select(SeriesRow.direction, SeriesRow.start, SeriesRow.n_steps, SeriesRow.data, SeriesRow.dtype).where(
        SeriesRow.scenario_id == scenario_id, SeriesRow.kind == kind,
        SeriesRow.model.is_(None) if model is None else SeriesRow.model == model)
    if direction is not None:
        q = q.where(SeriesRow.direction == int(direction))
    rows = session.execute(q.order_by(SeriesRow.start, SeriesRow.direction)).all()
    if not rows:
        return None
    dtype = rows[0].dtype
    if direction is not None:
        return _join(rows, dtype, None)
    by_start: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        by_start[r.start].append(r)
    D = len(by_start[rows[0].start])
    T = max(r.start + r.n_steps for r in rows)
    out = np.empty((T, D), dtype=np.dtype(dtype).newbyteorder("="))
    for start, piece in by_start.items():
        n = piece[0].n_steps
        out[start:start + n] = np.frombuffer(b"".join(r.data for r in piece), dtype=np.dtype(dtype)).reshape(D, n).T
    return out


def read_whole_series(session: Session, scenario_id: int, kind: str) -> np.ndarray | None:
    """A one-row-per-piece series (link_up (T, L), dropped (T,)); None when none is stored."""
    rows = session.execute(select(SeriesRow.data, SeriesRow.dtype, SeriesRow.n_cols).where(
        SeriesRow.scenario_id == scenario_id, SeriesRow.kind == kind).order_by(SeriesRow.start)).all()
    if not rows:
        return None
    return _join(rows, rows[0].dtype, rows[0].n_cols)
