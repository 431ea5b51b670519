"""Measured link loads from a CSV file: per-direction rates or cumulative interface counters.

Columns (header line, any order, names case-insensitive):

- ``time``: ISO 8601, SNDlib's ``YYYYMMDD-HHMM``, or seconds since the epoch; rows in time order.
- the direction: ``src,dst`` (the direction ``src -> dst`` of the link between them; a ``link``
  column names the link when there are parallel ones), or ``link,direction`` where direction is
  ``SRC->DST`` or the node the direction leaves;
- the value: ``mbps`` (a rate, Mbit/s, over the step that starts at ``time``) or ``octets`` (a
  cumulative counter such as ifHCOutOctets; see docs/counters.md);
- optional ``interface``: several interfaces of one direction (a LAG's members) are summed; a
  step where one member has no value is a gap for the direction.

``netdrift simulate --out`` tables are read as they are (``load_mbps`` for ``mbps``, ``link_id``
for ``link``; ``step`` and ``capacity_mbps`` ignored; ``up`` says which links were up; a blank
``load_mbps`` is simulate's missing interval, a gap: anywhere else a blank value is refused).

Counters: per interface, the rate of the step that starts at one sample is the increase to the
next sample, times 8, over the seconds between them. A decrease is a 32- or 64-bit **wrap** when
the previous value lies in the top quarter of the counter's range and the new one in the bottom
quarter (the increase is then ``new + 2^bits - previous``); any other decrease is a **reset**
(a reboot, a cleared counter): that step is a gap and counting starts again from the new value.
A counter is 64-bit when any of its values is at least 2^32, else 32-bit. Samples more than one
step apart leave the steps between them as gaps.

Time grid: when every time lies on one regular grid the step is its most common gap
(:func:`netdrift.engine.traffic.time_grid.time_grid`). Otherwise (polls that jitter) the step is
the median gap between an interface's consecutive samples, rounded to whole seconds, the grid
starts at the first time, and each time is moved to the nearest grid point when it is within a
quarter of a step of it; a time further off refuses the file, as do two samples of one interface
on the same grid point.

A gap (no row, a reset, a LAG member missing) stays NaN, never zero. Bad input (an unknown node
or link, a direction that does not exist, a time before the same interface's previous one, a value that is not a finite
number >= 0, a duplicate row, no data) is an InputError naming the file and the line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology
from netdrift.engine.traffic.link_loads import LinkLoadSeries
from netdrift.engine.traffic.time_grid import MAX_STEPS, epoch_seconds, from_epoch, parse_time, time_grid

__all__ = ["load_link_loads_csv", "JITTER_TOLERANCE", "WRAP_QUARTER"]

#: A time is moved to the nearest grid point when within this fraction of a step of it.
JITTER_TOLERANCE = 0.25
#: Wrap: previous value above (1 - this) of the counter range and the new one below this.
WRAP_QUARTER = 0.25
_ALIASES = {"load_mbps": "mbps", "link_id": "link"}
_IGNORED = {"step", "capacity_mbps"}
_KNOWN = {"time", "src", "dst", "link", "direction", "interface", "mbps", "octets", "up"}


def load_link_loads_csv(path: str | Path, topology: Topology) -> LinkLoadSeries:
    """The per-direction loads (Mbit/s, NaN for gaps) in ``path``, in ``topology``'s direction order.

    >>> import tempfile, os
    >>> from netdrift.engine.network.topology import Node, Link
    >>> t = Topology("ab", (Node("a", "a"), Node("b", "b")), (Link("ab", "a", "b", 1000.0),))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = os.path.join(tmp, "c.csv")
    ...     _ = open(p, "w").write("time,src,dst,octets\\n2024-01-01T00:00,a,b,0\\n"
    ...                            "2024-01-01T00:05,a,b,7500000\\n2024-01-01T00:10,a,b,15000000\\n")
    ...     s = load_link_loads_csv(p, t)
    >>> s.step_minutes, s.loads.tolist()   # 7.5 MB in 300 s = 0.2 Mbit/s; b -> a never measured
    (5.0, [[0.2, nan], [0.2, nan]])
    """
    path = Path(path).expanduser()
    what = f"link loads '{path}'"
    if not path.is_file():
        raise InputError(what, "no such file" if not path.exists() else "is not a file")
    frame = _read(path, what)
    simulated = "load_mbps" in frame.attrs.get("given", ())       # simulate's table: a blank load is a missing step
    lines = np.arange(len(frame)) + 2
    secs = _times(frame["time"], lines, what)
    direction = _directions(frame, topology, lines, what)
    iface = frame["interface"].str.strip().to_numpy() if "interface" in frame else np.full(len(frame), "")
    counters = "octets" in frame
    values = (_octets(frame["octets"], lines, what) if counters
              else _values(frame["mbps"], lines, what, "load_mbps" if simulated else "mbps", blank_ok=simulated))
    series_key = pd.factorize(pd.Series(direction).astype(str) + "\x00" + iface)[0]
    _check_time_order(frame, secs, series_key, lines, what)
    grid_start, step_s, steps, rows = _grid(secs, series_key, what, lines)
    dup = pd.DataFrame({"k": series_key, "r": rows}).duplicated().to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        extra = "" if "interface" in frame else " (name an 'interface' column to sum a LAG's members)"
        raise InputError(what, f"line {lines[i]}: a second value for direction {_dir_name(topology, direction[i])}"
                               f"{' interface ' + repr(iface[i]) if iface[i] else ''} at "
                               f"{from_epoch(grid_start + rows[i] * step_s):%Y-%m-%d %H:%M:%S}{extra}")
    if counters:
        steps, rates = _counter_rates(values, secs, rows, series_key, steps, what, lines)
    else:
        rates = values
    loads = _sum_members(topology, direction, series_key, rows, rates, steps)
    up = _link_up(frame, topology, direction, rows, steps, lines, what) if "up" in frame else None
    return LinkLoadSeries(tuple(topology.direction_names()), loads, step_s / 60.0, from_epoch(grid_start),
                          str(path), up)


# --- reading and checking ----------------------------------------------------------------------

def _read(path: Path, what: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except UnicodeDecodeError:
        raise InputError(what, "is not UTF-8 text") from None
    except pd.errors.EmptyDataError:
        raise InputError(what, "is empty") from None
    except pd.errors.ParserError as err:
        raise InputError(what, f"unreadable CSV ({str(err).strip().splitlines()[-1]})") from None
    given = [c.strip().lower() for c in frame.columns]
    frame.columns = [_ALIASES.get(c, c) for c in given]
    frame.attrs["given"] = tuple(given)
    unknown = [c for c in frame.columns if c not in _KNOWN and c not in _IGNORED]
    if unknown:
        raise InputError(what, f"line 1: unknown column(s) {', '.join(map(repr, unknown))}; expected time, "
                               "src,dst (or link,direction), mbps or octets, and optionally link, interface")
    if len(set(frame.columns)) != len(frame.columns):
        raise InputError(what, "line 1: a column is named twice")
    has_pair = {"src", "dst"} <= set(frame.columns)
    has_dir = {"link", "direction"} <= set(frame.columns)
    if "time" not in frame or not (has_pair or has_dir) or ("mbps" in frame) == ("octets" in frame):
        raise InputError(what, "line 1: header must have time, src,dst (or link,direction) and one of mbps "
                               f"or octets (got {','.join(frame.columns)})")
    if not len(frame):
        raise InputError(what, "no data rows")
    return frame


def _check_time_order(frame: pd.DataFrame, secs: np.ndarray, series: np.ndarray, lines: np.ndarray,
                      what: str) -> None:
    """Each interface's rows must come in time order (interfaces may interleave)."""
    order = np.argsort(series, kind="stable")               # file order within each interface
    back = (np.diff(secs[order]) < 0) & (series[order][1:] == series[order][:-1])
    if back.any():
        j = int(np.argmax(back))
        k, prev = order[j + 1], order[j]
        raise InputError(what, f"line {lines[k]}: time {frame['time'].iat[k].strip()} is before the same direction's "
                               f"previous time {frame['time'].iat[prev].strip()} (line {lines[prev]}; rows must be "
                               "in time order)")


def _times(col: pd.Series, lines: np.ndarray, what: str) -> np.ndarray:
    texts, codes = np.unique(col.str.strip().to_numpy(), return_inverse=True)
    secs = np.empty(len(texts), dtype=np.int64)
    for k, text in enumerate(texts):
        try:
            secs[k] = int(round(float(text))) if text.replace(".", "", 1).isdigit() else epoch_seconds(parse_time(text))
        except (ValueError, OverflowError):
            i = int(np.argmax(codes == k))
            raise InputError(what, f"line {lines[i]}: unparsable time {text!r} (expected ISO 8601, YYYYMMDD-HHMM "
                                   "or seconds since the epoch)") from None
    return secs[codes.ravel()]


def _values(col: pd.Series, lines: np.ndarray, what: str, name: str, blank_ok: bool = False) -> np.ndarray:
    """Finite numbers >= 0; with ``blank_ok`` (simulate's tables) a blank is NaN: a gap."""
    text = col.str.strip()
    v = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(v) | (v < 0)
    if blank_ok:
        bad &= (text != "").to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(what, f"line {lines[i]}: {name} {col.iat[i].strip()!r} is not a finite number >= 0")
    return v


def _octets(col: pd.Series, lines: np.ndarray, what: str) -> np.ndarray:
    """Counter values as exact unsigned 64-bit integers (float64 would lose the low digits)."""
    text = col.str.strip()
    bad = ~text.str.fullmatch(r"\d{1,20}").to_numpy(dtype=bool)
    if not bad.any():
        v = pd.to_numeric(text, errors="coerce")
        bad = v.isna().to_numpy() | (v.dtype.kind == "f")
        if not np.any(bad):
            return v.to_numpy().astype(np.uint64)
        bad = np.broadcast_to(bad, len(text)) if np.ndim(bad) == 0 else bad
        if not bad.any():   # floats: a value above 2^64 - 1 made the column float
            bad = np.array([int(t) >= 2**64 for t in text])
    i = int(np.argmax(bad))
    raise InputError(what, f"line {lines[i]}: octets {col.iat[i].strip()!r} is not a whole number >= 0 "
                           "(below 2^64)")


def _directions(frame: pd.DataFrame, topology: Topology, lines: np.ndarray, what: str) -> np.ndarray:
    """Direction index of every row."""
    nodes = topology.node_index
    between: dict[frozenset, list[str]] = {}
    for lk in topology.links:
        between.setdefault(frozenset((lk.u, lk.v)), []).append(lk.id)
    link = frame["link"].str.strip() if "link" in frame else None
    if "src" in frame and "dst" in frame:
        src, dst = frame["src"].str.strip(), frame["dst"].str.strip()
    else:
        text = frame["direction"].str.strip()
        parts = text.str.split("->", n=1, regex=False)
        two = parts.str.len() == 2
        src = parts.str[0].str.strip()
        assert link is not None  # the header check asks for link with direction
        ends = link.map(lambda i: topology.links[topology.link_index[i]] if i in topology.link_index else None)
        other = [(e.v if s == e.u else e.u) if e is not None else "" for e, s in zip(ends, src)]
        dst = pd.Series(np.where(two, parts.str[-1].str.strip(), other), index=frame.index)
    keys = pd.DataFrame({"s": src, "d": dst, "l": link if link is not None else ""})
    uniq, codes = np.unique(keys.to_numpy(dtype=str), axis=0, return_inverse=True)
    out = np.empty(len(uniq), dtype=np.int64)
    for k, (s, d, lid) in enumerate(uniq.tolist()):
        i = int(np.argmax(codes.ravel() == k))
        where = f"line {lines[i]}: "
        if lid and lid not in topology.link_index:
            raise InputError(what, f"{where}link {lid!r} is not in topology '{topology.name}'")
        for node in (s, d):
            if node not in nodes:
                raise InputError(what, f"{where}node {node!r} is not in topology '{topology.name}'")
        if lid:
            lk = topology.links[topology.link_index[lid]]
            if {lk.u, lk.v} != {s, d} or s == d:
                raise InputError(what, f"{where}link {lid!r} joins {lk.u} and {lk.v}: it has no direction {s} -> {d}")
            out[k] = topology.direction_index(lid, s)
            continue
        ids = between.get(frozenset((s, d)), []) if s != d else []
        if not ids:
            raise InputError(what, f"{where}no link between {s!r} and {d!r} in topology '{topology.name}'")
        if len(ids) > 1:
            raise InputError(what, f"{where}{len(ids)} parallel links between {s!r} and {d!r} "
                                   f"({', '.join(ids[:5])}): name one in a 'link' column")
        out[k] = topology.direction_index(ids[0], s)
    return out[codes.ravel()]


def _grid(secs: np.ndarray, series: np.ndarray, what: str, lines: np.ndarray) -> tuple[int, int, int, np.ndarray]:
    """(start, step seconds, steps, row of every record) by the module's grid rule."""
    distinct = np.unique(secs)
    if len(distinct) < 2:
        raise InputError(what, "only one time: need at least two to tell the step length")
    try:
        g = time_grid(what, distinct, None)
        return g.start_s, g.step_s, g.steps, g.row_of(secs)
    except InputError:
        pass
    order = np.lexsort((secs, series))
    s_sorted, k_sorted = secs[order], series[order]
    same = k_sorted[1:] == k_sorted[:-1]
    gaps = np.diff(s_sorted)[same]
    gaps = gaps[gaps > 0]
    if not len(gaps):
        raise InputError(what, "no interface has two samples: cannot tell the step length")
    step_s = max(1, int(round(float(np.median(gaps)))))
    start = int(distinct[0])
    pos = (secs - start) / step_s
    rows = np.rint(pos).astype(np.int64)
    off = np.abs(pos - rows)
    if (off > JITTER_TOLERANCE).any():
        i = int(np.argmax(off > JITTER_TOLERANCE))
        raise InputError(what, f"line {lines[i]}: time {from_epoch(secs[i]):%Y-%m-%d %H:%M:%S} is "
                               f"{off[i] * step_s:.0f} s off the {step_s / 60:g}-minute grid that starts "
                               f"{from_epoch(start):%Y-%m-%d %H:%M:%S} (at most a quarter of a step is accepted)")
    steps = int(rows.max()) + 1
    if steps > MAX_STEPS:
        raise InputError(what, f"the times span {steps} steps; at most {MAX_STEPS} are accepted")
    return start, step_s, steps, rows


def _counter_rates(octets: np.ndarray, secs: np.ndarray, rows: np.ndarray, series: np.ndarray, steps: int,
                   what: str, lines: np.ndarray) -> tuple[int, np.ndarray]:
    """Mbit/s per record (NaN for a reset, a gap or the series' last sample), by the wrap rule."""
    order = np.lexsort((rows, series))
    rate = np.full(len(octets), np.nan)
    k = series[order]
    wide = pd.Series(octets).groupby(series).transform("max").to_numpy() >= np.uint64(2**32)
    nxt = order[1:][k[1:] == k[:-1]]
    cur = order[:-1][k[1:] == k[:-1]]
    adjacent = rows[nxt] - rows[cur] == 1
    prev, new = octets[cur], octets[nxt]
    # Thresholds of the top and bottom quarters, exact in uint64 (2^64 itself is not).
    top = np.where(wide[cur], np.uint64(3 << 62), np.uint64(3 << 30))
    bottom = np.where(wide[cur], np.uint64(1 << 62), np.uint64(1 << 30))
    wrap = (new < prev) & (prev >= top) & (new < bottom)
    with np.errstate(over="ignore"):
        delta = new - prev                                  # modulo 2^64: a 64-bit wrap's increase
    delta = np.where(wrap & ~wide[cur], delta & np.uint64(2**32 - 1), delta)   # modulo 2^32
    ok = adjacent & ((new >= prev) | wrap)
    seconds = (secs[nxt] - secs[cur]).astype(np.float64)
    rate[cur[ok]] = delta[ok].astype(np.float64) * 8.0 / 1e6 / seconds[ok]
    if steps < 2:
        raise InputError(what, "counters need samples at two times at least")
    return steps - 1, rate


def _sum_members(topology: Topology, direction: np.ndarray, series: np.ndarray, rows: np.ndarray,
                 rates: np.ndarray, steps: int) -> np.ndarray:
    """(steps, directions): the sum over a direction's interfaces; NaN unless every member has a value."""
    loads = np.zeros((steps, topology.n_directions))
    have = np.zeros((steps, topology.n_directions), dtype=np.int64)
    keep = rows < steps
    good = keep & np.isfinite(rates)
    np.add.at(loads, (rows[good], direction[good]), rates[good])
    np.add.at(have, (rows[good], direction[good]), 1)
    members = np.zeros(topology.n_directions, dtype=np.int64)
    np.add.at(members, direction[np.unique(series, return_index=True)[1]], 1)
    loads[have < members[None, :]] = np.nan
    loads[:, members == 0] = np.nan
    return loads


def _link_up(frame: pd.DataFrame, topology: Topology, direction: np.ndarray, rows: np.ndarray, steps: int,
             lines: np.ndarray, what: str) -> np.ndarray:
    text = frame["up"].str.strip().str.lower()
    value = text.map({"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False})
    if value.isna().any():
        i = int(np.argmax(value.isna().to_numpy()))
        raise InputError(what, f"line {lines[i]}: up {frame['up'].iat[i]!r} is not true or false")
    up = np.ones((steps, len(topology.links)), dtype=bool)
    down = ~value.to_numpy(dtype=bool) & (rows < steps)
    up[rows[down], direction[down] // 2] = False
    return up


def _dir_name(topology: Topology, d: int) -> str:
    lid, s, t = topology.direction_names()[d]
    return f"{s} -> {t} (link {lid})"
