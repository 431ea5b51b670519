"""Real traffic replay: SNDlib dynamic traffic matrices and a long CSV, as TrafficMatrixSeries
(the CSV reader, streamed in blocks, is :mod:`netdrift.engine.traffic.csv_replay`).

Both readers share the same semantics:

- values are in Mbit/s; a pair absent from a present interval has demand 0;
- the step length is the most common gap between consecutive times, and an interval on that
  grid with no data at all is *missing* (a NaN row), never zero;
- the pairs are those that appear somewhere in the data, ordered by (source, destination) in
  the topology's node order; node ids must match the topology's exactly;
- demands are float32, like the synthetic generator's.
"""

from __future__ import annotations

import math
import re
import tarfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries
from netdrift.engine.traffic.time_grid import MAX_MBPS, check_cells, epoch_seconds, time_grid, unknown_ids_error

__all__ = ["load_sndlib_dynamic", "sndlib_step_minutes", "MAX_XML_BYTES", "MAX_FILES"]

#: Largest single demand-matrix XML accepted (real SNDlib files are tens of KB).
MAX_XML_BYTES = 64 * 1024 * 1024
#: Largest number of demand-matrix files accepted in one folder or archive.
MAX_FILES = 2_000_000
#: Bytes per record (time index, src, dst as int64, value as float64) plus the sort of the
#: assembly (pair codes, their unique inverse), on top of the float32 (steps x pairs) array.
_ASSEMBLY_BYTES_PER_RECORD = 64

_SNDLIB_TIME = "%Y%m%d-%H%M"
_FILENAME_TIME = re.compile(r"(\d{8}-\d{4})(?!\d)")
_GRANULARITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(min|minute|minutes|h|hour|hours|d|day|days)\s*$", re.I)
_GRANULARITY_MINUTES = {"min": 1, "minute": 1, "minutes": 1, "h": 60, "hour": 60, "hours": 60,
                        "d": 1440, "day": 1440, "days": 1440}


# --- shared assembly ---------------------------------------------------------------------------
@dataclass
class _Records:
    """Flat demand records: one per (interval, pair), times as whole seconds since the epoch."""

    times: list[int] = field(default_factory=list)  # unique interval times, any order
    t: list[np.ndarray] = field(default_factory=list)  # per chunk: index into ``times``
    src: list[np.ndarray] = field(default_factory=list)
    dst: list[np.ndarray] = field(default_factory=list)
    val: list[np.ndarray] = field(default_factory=list)


def _assemble(what: str, rec: _Records, topology: Topology,
              single_step_minutes: float | None, budget_bytes: int | None = None) -> TrafficMatrixSeries:
    """Lay the records on a regular time grid; intervals with no record become NaN rows."""
    times = np.asarray(rec.times, dtype=np.int64)
    grid = time_grid(what, times, single_step_minutes)
    row_of_time = grid.row_of(times)

    n = len(topology.nodes)
    t = np.concatenate(rec.t) if rec.t else np.zeros(0, np.int64)
    s = np.concatenate(rec.src) if rec.src else np.zeros(0, np.int64)
    d = np.concatenate(rec.dst) if rec.dst else np.zeros(0, np.int64)
    v = np.concatenate(rec.val) if rec.val else np.zeros(0, np.float64)
    codes = s.astype(np.int64) * n + d
    pair_codes, col = np.unique(codes, return_inverse=True)
    steps = grid.steps
    check_cells(what, steps, len(pair_codes))
    check_memory(f"{what} ({steps} steps x {len(pair_codes)} pairs)",
                 4.0 * steps * len(pair_codes) + _ASSEMBLY_BYTES_PER_RECORD * len(codes), budget_bytes)
    demands = np.full((steps, len(pair_codes)), np.nan, dtype=np.float32)
    demands[row_of_time] = 0.0
    demands[row_of_time[t], col] = v
    return TrafficMatrixSeries(
        tuple(nd.id for nd in topology.nodes),
        (pair_codes // n).astype(np.int64),
        (pair_codes % n).astype(np.int64),
        demands,
        grid.step_s / 60.0,
        grid.start,
    )


# --- SNDlib ------------------------------------------------------------------------------------
def _parse_granularity(text: str | None) -> float | None:
    if not text:
        return None
    m = _GRANULARITY.match(text)
    if not m:
        return None
    return float(m[1]) * _GRANULARITY_MINUTES[m[2].lower()]


def _parse_sndlib_matrix(name: str, data: bytes):
    """(time, granularity minutes or None, {(src, dst): mbps}) of one demand-matrix document."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import ElementTree as DET
    from defusedxml.common import DefusedXmlException

    what = f"traffic file '{name}'"
    try:
        root = DET.fromstring(data)
    except DefusedXmlException as err:
        raise InputError(what, f"refused unsafe XML ({type(err).__name__})") from None
    except ParseError as err:
        raise InputError(what, f"not well-formed XML ({err})") from None
    # SNDlib uses the default namespace http://sndlib.zib.de/network; accept any (or none).
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    demands = root.find(f"{ns}demands")
    if demands is None:
        raise InputError(what, "not an SNDlib demand matrix (no <demands> element under the root)")
    time_text = (root.findtext(f"{ns}meta/{ns}time") or "").strip()
    if not time_text:
        m = _FILENAME_TIME.search(Path(name).name)
        if m is None:
            raise InputError(what, "no <meta><time> (expected YYYYMMDD-HHMM) and none in the file name")
        time_text = m[1]
    try:
        when = datetime.strptime(time_text, _SNDLIB_TIME)
    except ValueError:
        raise InputError(what, f"unparsable <time> {time_text!r} (expected YYYYMMDD-HHMM)") from None
    granularity = _parse_granularity(root.findtext(f"{ns}meta/{ns}granularity"))

    values: dict[tuple[str, str], float] = {}
    tag_src, tag_dst, tag_val = f"{ns}source", f"{ns}target", f"{ns}demandValue"
    for i, dem in enumerate(demands.iterfind(f"{ns}demand")):
        src, dst, raw = dem.findtext(tag_src), dem.findtext(tag_dst), dem.findtext(tag_val)
        if src is None or dst is None or raw is None:
            label = dem.get("id") or f"#{i + 1}"
            raise InputError(what, f"demand {label!r} lacks <source>, <target> or <demandValue>")
        src, dst = src.strip(), dst.strip()
        try:
            value = float(raw)
        except ValueError:
            label = dem.get("id") or f"#{i + 1}"
            raise InputError(what, f"demand {label!r}: value {raw.strip()!r} is not a number") from None
        if not (value >= 0 and value != math.inf):  # also catches NaN
            label = dem.get("id") or f"#{i + 1}"
            raise InputError(what, f"demand {label!r}: value {raw.strip()} must be a finite number >= 0 Mbit/s")
        if value > MAX_MBPS:
            label = dem.get("id") or f"#{i + 1}"
            raise InputError(what, f"demand {label!r}: value {raw.strip()} Mbit/s is above the largest demand "
                                   f"accepted ({MAX_MBPS:.4g}, float32)")
        if not src or not dst:
            raise InputError(what, f"demand {dem.get('id') or f'#{i + 1}'!r} has an empty <source> or <target>")
        if src == dst:
            # Real SNDlib matrices (e.g. Abilene's) carry a node's traffic to itself; it never
            # crosses a link, so it is left out rather than rejected.
            continue
        key = (src, dst)
        # Parallel demands between the same nodes add up.
        values[key] = values.get(key, 0.0) + value
        if values[key] > MAX_MBPS:
            raise InputError(what, f"demands {src} -> {dst} add up to {values[key]:.4g} Mbit/s, above the largest "
                                   f"demand accepted ({MAX_MBPS:.4g}, float32)")
    return when, granularity, values


def _iter_sndlib_documents(path: Path):
    """(display name, bytes) of every XML document under a folder (sorted) or in a tar archive.

    An archive is read in one forward pass, in its own member order: a gzip stream cannot seek
    back cheaply, so members are never revisited.
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".xml" and p.is_file())
        inside = path.resolve()
        for p in files:  # only regular files inside the folder: a link leading out of it is refused
            if not p.resolve().is_relative_to(inside):
                raise InputError(f"traffic file '{p}'", f"is a link to '{p.resolve()}', outside the folder "
                                                        f"'{path}'; only files inside it are read")
        if len(files) > MAX_FILES:
            raise InputError(f"traffic '{path}'", f"{len(files)} XML files; at most {MAX_FILES} are accepted")
        for p in files:
            size = p.stat().st_size
            if size > MAX_XML_BYTES:
                raise InputError(f"traffic file '{p}'", f"{size} bytes is too large for a demand matrix "
                                 f"(limit {MAX_XML_BYTES})")
            yield str(p), p.read_bytes()
        return
    try:
        tar = tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError) as err:  # tarfile lists every method it tried: the first line is enough
        first = str(err).strip().splitlines()[0].rstrip(":") if str(err).strip() else type(err).__name__
        raise InputError(f"traffic '{path}'", f"not a readable tar archive, plain or gzip/bzip2/xz "
                                              f"compressed ({first})") from None
    with tar:
        count = 0
        members = iter(tar)
        while True:
            try:
                m = next(members, None)
                if m is None:
                    return
                if not (m.isfile() and m.name.lower().endswith(".xml")):
                    continue
                count += 1
                if count > MAX_FILES:
                    raise InputError(f"traffic '{path}'", f"more than {MAX_FILES} XML members")
                name = f"{path}:{m.name}"
                if m.size > MAX_XML_BYTES:
                    raise InputError(f"traffic file '{name}'", f"{m.size} bytes is too large for a demand "
                                     f"matrix (limit {MAX_XML_BYTES})")
                f = tar.extractfile(m)
                data = f.read() if f is not None else b""
            except (tarfile.TarError, OSError, EOFError) as err:
                raise InputError(f"traffic '{path}'", f"damaged archive ({err})") from None
            yield name, data


def load_sndlib_dynamic(path: str | Path, topology: Topology, budget_bytes: int | None = None, *,
                        step_minutes: float | None = None) -> TrafficMatrixSeries:
    """Read SNDlib dynamic traffic matrices: one ``demandMatrix`` XML per interval.

    ``path`` is a folder holding ``*.xml`` files (subfolders included) or a ``.tar.gz`` /
    ``.tgz`` archive of them (read in memory in one pass, never extracted). Each document is
    an SNDlib ``<network>`` (namespace ``http://sndlib.zib.de/network``) with
    ``<meta><time>YYYYMMDD-HHMM</time></meta>`` (else the time in the file name) and
    ``<demands><demand id=..><source>..</source><target>..</target>
    <demandValue>..</demandValue></demand>...</demands>`` in Mbit/s. Zero demands are omitted,
    so an absent pair is 0 within a present interval. Non-XML files are ignored. A grid
    interval with no file is missing (a NaN row). A node's demand to itself (present in real
    SNDlib data) never crosses a link and is skipped; parallel demands add up.

    Parameters
    ----------
    path : folder or tar archive of demand-matrix XML files.
    topology : the network whose node ids the matrices must use.
    budget_bytes : memory budget (``None``: :func:`netdrift.engine.budget.memory_budget_bytes`), checked
        against the (steps x pairs) array and the records before the array is allocated.
    step_minutes : the step of data with a single interval and no ``<granularity>`` (data with
        more than one tells its own step).

    Returns
    -------
    TrafficMatrixSeries
        Demands (steps, pairs) in float32 Mbit/s; the step is the most common gap between times.

    Raises
    ------
    InputError
        Naming the file, for unsafe or malformed XML, a bad time or value, duplicate times,
        node ids missing from the topology, or absurd sizes.

    Examples
    --------
    >>> from pathlib import Path
    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> folder = Path(__file__).parents[4] / "tests/fixtures/traffic/sndlib_abilene4"
    >>> ids = ["ATLAng", "CHINng", "NYCMng", "WASHng"]
    >>> topo = Topology("abilene4", tuple(Node(i, i) for i in ids),
    ...                 (Link("l1", "ATLAng", "WASHng", 1e4), Link("l2", "WASHng", "NYCMng", 1e4),
    ...                  Link("l3", "NYCMng", "CHINng", 1e4), Link("l4", "CHINng", "ATLAng", 1e4)))
    >>> tm = load_sndlib_dynamic(folder, topo)
    >>> tm.steps, tm.step_minutes, tm.missing.tolist()
    (4, 5.0, [False, False, True, False])
    """
    path = Path(path)
    what = f"traffic '{path}'"
    if not path.exists():
        raise InputError(what, "no such file or folder")
    index = topology.node_index
    rec = _Records()
    seen_time: dict[int, str] = {}
    unknown: dict[str, None] = {}
    first_unknown_file: str | None = None
    granularity: float | None = None
    n_docs = 0
    for name, data in _iter_sndlib_documents(path):
        n_docs += 1
        when, gran, values = _parse_sndlib_matrix(name, data)
        granularity = granularity if granularity is not None else gran
        secs = epoch_seconds(when)
        if secs in seen_time:
            raise InputError(f"traffic file '{name}'",
                             f"interval {when:%Y%m%d-%H%M} already given by '{seen_time[secs]}'")
        seen_time[secs] = name
        ti = len(rec.times)
        rec.times.append(secs)
        srcs, dsts, vals = [], [], []
        for (a, b), val in values.items():
            ia, ib = index.get(a), index.get(b)
            if ia is None or ib is None:
                for x, ix in ((a, ia), (b, ib)):
                    if ix is None and x not in unknown:
                        unknown[x] = None
                        first_unknown_file = first_unknown_file or name
                continue
            srcs.append(ia)
            dsts.append(ib)
            vals.append(val)
        rec.t.append(np.full(len(srcs), ti, dtype=np.int64))
        rec.src.append(np.asarray(srcs, dtype=np.int64))
        rec.dst.append(np.asarray(dsts, dtype=np.int64))
        rec.val.append(np.asarray(vals, dtype=np.float64))
    if unknown:
        raise unknown_ids_error(f"traffic '{path}' (first in '{first_unknown_file}')", list(unknown), topology)
    if n_docs == 0:
        raise InputError(what, "no demand-matrix XML files found")
    return _assemble(what, rec, topology, granularity if granularity is not None else step_minutes, budget_bytes)


def sndlib_step_minutes(path: str | Path, step_minutes: float | None = None) -> float:
    """The step of SNDlib dynamic traffic matrices (see :func:`load_sndlib_dynamic`), reading the
    documents one at a time and keeping only their times.

    >>> from pathlib import Path
    >>> sndlib_step_minutes(Path(__file__).parents[4] / "tests/fixtures/traffic/sndlib_abilene4")
    5.0
    """
    path = Path(path)
    what = f"traffic '{path}'"
    if not path.exists():
        raise InputError(what, "no such file or folder")
    times: set[int] = set()
    granularity: float | None = None
    for name, data in _iter_sndlib_documents(path):
        when, gran, _ = _parse_sndlib_matrix(name, data)
        granularity = granularity if granularity is not None else gran
        times.add(epoch_seconds(when))
    if not times:
        raise InputError(what, "no demand-matrix XML files found")
    fallback = granularity if granularity is not None else step_minutes
    return time_grid(what, np.fromiter(times, np.int64, len(times)), fallback).step_s / 60.0

