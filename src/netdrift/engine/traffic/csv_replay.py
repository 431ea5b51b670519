"""Long CSV traffic replay (``time,src,dst,mbps``), streamed in blocks into the final array.

The file is read twice with pyarrow's streaming CSV reader, one block at a time, so memory never
holds more than one block of text besides the result:

1. the first pass checks every row and collects the distinct times and node pairs, which fix the
   shape (steps x pairs) of the series; the memory budget is checked against that shape;
2. the second pass writes each block's values straight into the preallocated float32 array.

Semantics are those of :mod:`netdrift.engine.traffic.sndlib_replay` (shared with the SNDlib reader).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries
from netdrift.engine.traffic.time_grid import (
    MAX_MBPS,
    TimeGrid,
    check_cells,
    epoch_seconds,
    parse_time,
    time_grid,
    unknown_ids_error,
)

__all__ = ["load_traffic_csv", "csv_step_minutes", "csv_memory_bytes", "MAX_CSV_BYTES", "BLOCK_BYTES"]

#: Largest CSV accepted (a stray multi-GB file would otherwise take minutes to refuse).
MAX_CSV_BYTES = 4 * 1024**3
#: Bytes of CSV text parsed at a time (pyarrow's block size).
BLOCK_BYTES = 2 * 1024**2
#: Working memory besides the result, in block sizes: the chunk's bytes and their copies, pyarrow's
#: parsed columns, the trimmed copies and the per-row arrays (times, tokens, values, lines).
#: Measured by bench/bench_replay_memory.py (peak RSS minus the RSS before loading): 97 MB besides
#: the 118 MB array on a 977 MB file (35,557 steps x 870 pairs) with 2 MiB blocks, 37 MB besides
#: 6 MB on a 48 MB file; 13x the block plus a fixed part, the code pyarrow pages in on first use.
_BLOCK_WORKING_FACTOR = 16
#: The fixed part (pyarrow's CSV and compute code and tables, paged in on first use).
_READER_BASE_BYTES = 96 * 1024**2

_CSV_HEADER = ("time", "src", "dst", "mbps")


def csv_memory_bytes(steps: int, n_pairs: int, block_bytes: int = BLOCK_BYTES) -> float:
    """Peak memory of :func:`load_traffic_csv` for a result of ``steps`` x ``n_pairs``: the float32
    array plus one block's working memory (the file is streamed, so its size does not count).

    >>> round(csv_memory_bytes(100_000, 1_000) / 1024**2)   # 381 MiB of float32, 128 MiB besides
    509
    """
    return 4.0 * steps * n_pairs + _BLOCK_WORKING_FACTOR * float(block_bytes) + _READER_BASE_BYTES


@dataclass
class _Block:
    """The non-blank rows of one block, checked: times as epoch seconds, nodes as tokens
    (topology index >= 0; unknown ids get negative tokens), values in Mbit/s."""

    lines: np.ndarray  # line number of each row in the file
    secs: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    val: np.ndarray
    time_text: list[str]  # the block's distinct (trimmed) time strings
    time_code: np.ndarray  # index into time_text per row


class _Tokens:
    """Node id -> token: the topology index, or a negative number for an id the topology lacks
    (kept in order of first appearance, so unknown ids are listed in file order)."""

    def __init__(self, topology: Topology) -> None:
        self.index = topology.node_index
        self.unknown: dict[str, int] = {}

    def of(self, names: list[str]) -> np.ndarray:
        out = np.empty(len(names), dtype=np.int64)
        for k, name in enumerate(names):
            i = self.index.get(name)
            if i is None:
                i = self.unknown.get(name)
                if i is None:
                    i = -1 - len(self.unknown)
                    self.unknown[name] = i
            out[k] = i
        return out

    def name(self, token: int, topology: Topology) -> str:
        if token >= 0:
            return topology.nodes[token].id
        return next(n for n, t in self.unknown.items() if t == token)


def _dictionary_column(column, trim):
    """(indices as int64 numpy, trimmed distinct strings) of a dictionary-encoded string column."""
    import pyarrow as pa

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    values = trim(arr.dictionary).to_pylist()
    return arr.indices.to_numpy(zero_copy_only=False).astype(np.int64), values


def _first_unparsable(texts, cast_one) -> int:
    """Index of the first element of ``texts`` (a pyarrow string array) that does not cast,
    by bisection (only called once a whole block failed)."""
    lo, hi = 0, len(texts)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            cast_one(texts.slice(lo, mid - lo))
        except Exception:  # noqa: BLE001 (pyarrow's ArrowInvalid; any failure means "in this half")
            hi = mid
        else:
            lo = mid
    return lo


def _iter_blocks(path: Path, what: str, topology: Topology, tokens: _Tokens,
                 time_cache: dict[str, int], block_bytes: int) -> Iterator[_Block]:
    """Every block of the file, checked row by row (InputError naming the line)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pacsv

    bad_row: list[tuple[int | None, int]] = []
    skipped: list[int] = []  # whitespace-only lines (pyarrow sees one-field rows), numbered in the chunk

    def on_invalid(row) -> str:
        if row.text is not None and not row.text.strip():
            skipped.append(row.number if row.number is not None else 0)
            return "skip"
        bad_row.append((row.number, row.actual_columns))
        return "error"

    text_type = pa.dictionary(pa.int32(), pa.string())
    parse = pacsv.ParseOptions(ignore_empty_lines=False, invalid_row_handler=on_invalid)
    convert = pacsv.ConvertOptions(
        column_types={"time": text_type, "src": text_type, "dst": text_type, "mbps": pa.string()},
        strings_can_be_null=False, quoted_strings_can_be_null=False)
    trim = pc.utf8_trim_whitespace
    for first_line, chunk in _line_chunks(path, block_bytes):
        # One physical line per row (pyarrow's default: no newlines inside values), blank ones included.
        del bad_row[:], skipped[:]
        try:
            batch = pacsv.read_csv(
                pa.py_buffer(chunk),
                read_options=pacsv.ReadOptions(column_names=list(_CSV_HEADER), use_threads=False,
                                               block_size=len(chunk) + 1),
                parse_options=parse, convert_options=convert)
        except pa.ArrowInvalid as err:
            bad_row[:] = [(None if n is None else n + first_line - 1, f) for n, f in bad_row]
            raise _arrow_error(what, err, bad_row) from None
        n = batch.num_rows
        lines = np.arange(n, dtype=np.int64) + first_line
        if skipped:
            sk = np.asarray(skipped, dtype=np.int64) + first_line - 1
            for _ in range(len(sk) + 1):  # each pass can only move a line past more skipped lines
                shifted = np.arange(n, dtype=np.int64) + first_line + np.searchsorted(sk, lines, side="right")
                if np.array_equal(shifted, lines):
                    break
                lines = shifted
        if n == 0:
            continue
        t_idx, t_text = _dictionary_column(batch.column("time"), trim)
        s_idx, s_text = _dictionary_column(batch.column("src"), trim)
        d_idx, d_text = _dictionary_column(batch.column("dst"), trim)
        mbps = trim(batch.column("mbps"))
        t_empty = np.array([t == "" for t in t_text], dtype=bool)[t_idx]
        s_empty = np.array([t == "" for t in s_text], dtype=bool)[s_idx]
        d_empty = np.array([t == "" for t in d_text], dtype=bool)[d_idx]
        v_empty = pc.equal(mbps, "").to_numpy(zero_copy_only=False)
        blank = t_empty & s_empty & d_empty & v_empty
        some_empty = (t_empty | s_empty | d_empty | v_empty) & ~blank
        if some_empty.any():
            raise InputError(what, f"line {lines[np.argmax(some_empty)]}: expected 4 non-empty fields "
                                   "time,src,dst,mbps")
        keep = ~blank
        if not keep.any():
            continue
        if not keep.all():
            kept = np.nonzero(keep)[0]
            lines, t_idx, s_idx, d_idx = lines[kept], t_idx[kept], s_idx[kept], d_idx[kept]
            mbps = mbps.take(pa.array(kept))

        # Times: few distinct strings per block, each parsed once for the whole file.
        t_secs = np.empty(len(t_text), dtype=np.int64)
        for k, text in enumerate(t_text):
            secs = time_cache.get(text)
            if secs is None and text:
                try:
                    secs = time_cache[text] = epoch_seconds(parse_time(text))
                except ValueError:
                    hit = np.nonzero(t_idx == k)[0]
                    if len(hit):
                        raise InputError(what, f"line {lines[hit[0]]}: unparsable time {text!r} "
                                               "(expected ISO 8601 or YYYYMMDD-HHMM)") from None
            t_secs[k] = secs if secs is not None else 0
        secs = t_secs[t_idx]

        def cast(arr):
            return pc.cast(arr, pa.float64())

        try:
            values = cast(mbps).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            i = _first_unparsable(mbps, cast)
            raise InputError(what, f"line {lines[i]}: mbps {mbps[i].as_py()!r} is not a finite number") from None
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(what, f"line {lines[i]}: mbps {mbps[i].as_py()!r} is not a finite number")
        neg = values < 0
        if neg.any():
            i = int(np.argmax(neg))
            raise InputError(what, f"line {lines[i]}: mbps {mbps[i].as_py()} is negative")
        huge = values > MAX_MBPS
        if huge.any():
            i = int(np.argmax(huge))
            raise InputError(what, f"line {lines[i]}: mbps {mbps[i].as_py()} is above the largest demand accepted "
                                   f"({MAX_MBPS:.4g}, float32)")
        # Tokens in row-major (src, dst) order of first appearance, so unknown ids keep file order.
        if any(tokens.index.get(x) is None for x in s_text) or any(tokens.index.get(x) is None for x in d_text):
            both = np.column_stack([s_idx, d_idx + len(s_text)]).ravel()
            _, first = np.unique(both, return_index=True)
            names = s_text + d_text
            for code in both[np.sort(first)]:
                tokens.of([names[code]])
        src = _lookup(tokens, s_text, s_idx)
        dst = _lookup(tokens, d_text, d_idx)
        same = src == dst
        if same.any():
            i = int(np.argmax(same))
            raise InputError(what, f"line {lines[i]}: src and dst are the same node {s_text[s_idx[i]]!r}")
        yield _Block(lines, secs, src, dst, values, t_text, t_idx)


def _lookup(tokens: _Tokens, names: list[str], codes: np.ndarray) -> np.ndarray:
    """Token per row, for the dictionary entries the rows use (blank rows' "" is not one)."""
    lut = np.zeros(len(names), dtype=np.int64)
    used = np.unique(codes)
    lut[used] = tokens.of([names[u] for u in used])
    return lut[codes]


def _line_chunks(path: Path, block_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(number of its first line, text) of whole-line chunks of about ``block_bytes`` after the
    header line; a line longer than a block makes a chunk of its own."""
    with open(path, "rb") as f:
        f.readline()  # the header, checked by _check_header
        line = 2
        rest = b""
        while True:
            data = f.read(block_bytes)
            if not data:
                if rest:
                    yield line, rest
                return
            buf = rest + data
            cut = buf.rfind(b"\n")
            if cut < 0:
                rest = buf
                continue
            chunk, rest = buf[:cut + 1], buf[cut + 1:]
            yield line, chunk
            line += chunk.count(b"\n")


def _arrow_error(what: str, err: Exception, bad_row: list[tuple[int | None, int]]) -> InputError:
    if bad_row:
        number, fields = bad_row[0]
        where = f"line {number}: " if number is not None else ""
        if fields < len(_CSV_HEADER):
            return InputError(what, f"{where}expected 4 non-empty fields time,src,dst,mbps")
        return InputError(what, f"{where}expected 4 fields, saw {fields}")
    msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if "UTF8" in msg or "UTF-8" in msg:
        return InputError(what, "is not UTF-8 text")
    return InputError(what, f"unreadable CSV ({msg})")


def _check_header(path: Path, what: str) -> None:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            header_line = f.readline(4096)
    except UnicodeDecodeError:
        raise InputError(what, "is not UTF-8 text") from None
    header = tuple(h.strip().strip('"').strip().lower() for h in header_line.rstrip("\r\n").split(","))
    if header != _CSV_HEADER:
        raise InputError(what, f"line 1: header must be 'time,src,dst,mbps' (got {header_line.strip()!r})")


def load_traffic_csv(path: str | Path, topology: Topology, budget_bytes: int | None = None, *,
                     step_minutes: float | None = None, block_bytes: int = BLOCK_BYTES) -> TrafficMatrixSeries:
    """Read a long CSV ``time,src,dst,mbps`` (one row per interval and pair) as a series.

    Times are ISO 8601 (``2024-01-01T00:05``; with an offset they are converted to UTC) or
    ``YYYYMMDD-HHMM``. Values are Mbit/s, finite and >= 0. Pairs absent from a present
    interval are 0; a grid interval with no row at all is missing (a NaN row). Each
    (time, src, dst) may appear once. Blank lines are skipped.

    The file is streamed twice in blocks of ``block_bytes`` (see the module docstring): peak
    memory is the float32 result plus one block's working memory, whatever the file's size.

    Parameters
    ----------
    path : the CSV file (UTF-8, optional BOM), header ``time,src,dst,mbps``.
    topology : the network whose node ids the rows must use.
    budget_bytes : memory budget (``None``: :func:`netdrift.engine.budget.memory_budget_bytes`), checked
        with :func:`csv_memory_bytes` once the first pass knows the steps and pairs, before the
        array is allocated.
    step_minutes : the step of data with a single interval (data with more tells its own step).
    block_bytes : bytes of text parsed at a time (the result does not depend on it).

    Returns
    -------
    TrafficMatrixSeries
        Demands (steps, pairs) in float32 Mbit/s; the step is the most common gap between times.

    Raises
    ------
    InputError
        Naming the file (and the line where there is one) for a bad header, no rows, an
        unparsable time, a negative or non-numeric value, ``src == dst``, a duplicate row, or
        node ids missing from the topology.

    Examples
    --------
    >>> import tempfile, os
    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> topo = Topology("t", (Node("a", "a"), Node("b", "b")), (Link("a-b", "a", "b", 1e3),))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = os.path.join(tmp, "t.csv")
    ...     _ = open(p, "w").write("time,src,dst,mbps\\n2024-01-01T00:00,a,b,5\\n"
    ...                            "2024-01-01T00:10,b,a,2.5\\n")
    ...     tm = load_traffic_csv(p, topo)
    >>> tm.step_minutes, tm.demands.tolist()
    (10.0, [[5.0, 0.0], [0.0, 2.5]])
    """
    path = Path(path)
    what = f"traffic '{path}'"
    if not path.exists():
        raise InputError(what, "no such file or folder")
    if not path.is_file():
        raise InputError(what, "is not a file")
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise InputError(what, f"{size} bytes is too large (limit {MAX_CSV_BYTES})")
    _check_header(path, what)
    n = len(topology.nodes)
    tokens = _Tokens(topology)
    time_cache: dict[str, int] = {}

    # Pass 1: check every row; collect the distinct times and pairs.
    times: set[int] = set()
    pair_codes = np.zeros(0, dtype=np.int64)
    rows = 0
    for block in _iter_blocks(path, what, topology, tokens, time_cache, block_bytes):
        rows += len(block.lines)
        times.update(np.unique(block.secs).tolist())
        known = (block.src >= 0) & (block.dst >= 0)
        pair_codes = np.union1d(pair_codes, block.src[known] * n + block.dst[known])
    if tokens.unknown:
        raise unknown_ids_error(what, list(tokens.unknown), topology)
    if rows == 0:
        raise InputError(what, "no data rows")
    grid = time_grid(what, np.fromiter(times, dtype=np.int64, count=len(times)), step_minutes)
    check_cells(what, grid.steps, len(pair_codes))
    check_memory(f"{what} ({grid.steps} steps x {len(pair_codes)} pairs)",
                 csv_memory_bytes(grid.steps, len(pair_codes), block_bytes), budget_bytes)

    # Pass 2: values straight into the final array. NaN marks a cell not written yet, so a
    # second write to a cell is a duplicate row; present rows get 0 for their absent pairs last.
    demands = np.full((grid.steps, len(pair_codes)), np.nan, dtype=np.float32)
    present = np.zeros(grid.steps, dtype=bool)
    for block in _iter_blocks(path, what, topology, tokens, time_cache, block_bytes):
        r = grid.row_of(block.secs)
        c = np.searchsorted(pair_codes, block.src * n + block.dst)
        present[r] = True
        flat = r * len(pair_codes) + c
        order = np.argsort(flat, kind="stable")
        repeated = np.nonzero(np.diff(flat[order]) == 0)[0]
        taken = ~np.isnan(demands[r, c])
        if len(repeated) or taken.any():
            second = order[repeated + 1].min() if len(repeated) else len(flat)
            i = int(min(second, np.argmax(taken) if taken.any() else len(flat)))
            raise _duplicate_error(path, what, topology, tokens, time_cache, block_bytes, grid, block, i)
        demands[r, c] = block.val
    _zero_absent_pairs(demands, present)
    return TrafficMatrixSeries(
        tuple(nd.id for nd in topology.nodes),
        (pair_codes // n).astype(np.int64),
        (pair_codes % n).astype(np.int64),
        demands,
        grid.step_s / 60.0,
        grid.start,
    )


def csv_step_minutes(path: str | Path, step_minutes: float | None = None, block_bytes: int = BLOCK_BYTES) -> float:
    """The step of a long CSV (the most common gap between its distinct times), streaming only
    its ``time`` column; rows are not checked here (:func:`load_traffic_csv` does).

    >>> from pathlib import Path
    >>> csv_step_minutes(Path(__file__).parents[4] / "tests/fixtures/traffic/long4.csv")
    15.0
    """
    import pyarrow as pa
    from pyarrow import csv as pacsv

    path = Path(path)
    what = f"traffic '{path}'"
    if not path.is_file():
        raise InputError(what, "no such file")
    _check_header(path, what)
    times: set[int] = set()
    cache: dict[str, int] = {}
    for _, chunk in _line_chunks(path, block_bytes):
        try:
            table = pacsv.read_csv(
                pa.py_buffer(chunk),
                read_options=pacsv.ReadOptions(column_names=list(_CSV_HEADER), use_threads=False,
                                               block_size=len(chunk) + 1),
                parse_options=pacsv.ParseOptions(ignore_empty_lines=True, invalid_row_handler=lambda row: "skip"),
                convert_options=pacsv.ConvertOptions(include_columns=["time"],
                                                     column_types={"time": pa.dictionary(pa.int32(), pa.string())}))
        except pa.ArrowInvalid as err:
            raise _arrow_error(what, err, []) from None
        for text in table.column("time").combine_chunks().dictionary.to_pylist():
            text = text.strip()
            if text and text not in cache:
                try:
                    cache[text] = epoch_seconds(parse_time(text))
                except ValueError:
                    raise InputError(what, f"unparsable time {text!r} (expected ISO 8601 or YYYYMMDD-HHMM)") from None
                times.add(cache[text])
    if not times:
        raise InputError(what, "no data rows")
    return time_grid(what, np.fromiter(times, np.int64, len(times)), step_minutes).step_s / 60.0


def _zero_absent_pairs(demands: np.ndarray, present: np.ndarray, rows_at_once: int = 4096) -> None:
    """In place: NaN -> 0 in the present rows (missing rows stay all NaN), a slab at a time so
    the temporary mask stays small."""
    for a in range(0, len(demands), rows_at_once):
        slab = demands[a:a + rows_at_once]
        np.copyto(slab, np.float32(0.0), where=np.isnan(slab) & present[a:a + rows_at_once, None])


def _duplicate_error(path: Path, what: str, topology: Topology, tokens: _Tokens, time_cache: dict[str, int],
                     block_bytes: int, grid: TimeGrid, block: _Block, i: int) -> InputError:
    """The duplicate row at ``block`` row ``i``, with the line of its first occurrence (found by
    reading the file again: this only happens on the way to an error)."""
    secs, s, d = block.secs[i], block.src[i], block.dst[i]
    first = None
    for b in _iter_blocks(path, what, topology, tokens, time_cache, block_bytes):
        hit = np.nonzero((grid.row_of(b.secs) == grid.row_of(np.array([secs]))[0]) & (b.src == s) & (b.dst == d))[0]
        if len(hit):
            first = int(b.lines[hit[0]])
            break
    text = block.time_text[block.time_code[i]]
    where = f" (first on line {first})" if first is not None and first != block.lines[i] else ""
    return InputError(what, f"line {block.lines[i]}: duplicate row for time {text}, "
                            f"{tokens.name(int(s), topology)} -> {tokens.name(int(d), topology)}{where}")

