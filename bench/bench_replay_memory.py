"""Peak memory of replaying a large long CSV (``time,src,dst,mbps``), streamed in blocks.

Writes a CSV of about ``--mb`` MB in a temporary folder (deleted afterwards), on a ring of
``--nodes`` nodes with every ordered pair in every interval, then loads it with
``netdrift.engine.traffic.csv_replay.load_traffic_csv`` in a fresh interpreter and reports that process's peak
RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) against the RSS it had before loading
(numpy, pyarrow and the engine imported) and the size of the float32 array it returns.

Prints JSON: {file_mb, final_arrays_mb, baseline_rss_mb, peak_rss_mb, peak_over_baseline_mb,
ratio_to_final_arrays, seconds, steps, pairs, block_mb}.

    python bench/bench_replay_memory.py --mb 1024
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, time
import numpy as np, pyarrow, pyarrow.csv, pyarrow.compute
from netdrift.engine.traffic.csv_replay import load_traffic_csv
from netdrift.engine.network.topology import Link, Node, Topology

path, nodes, block = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ids = [f"n{i}" for i in range(nodes)]
topo = Topology("ring", tuple(Node(i, i) for i in ids),
                tuple(Link(f"l{i}", ids[i], ids[(i + 1) % nodes], 1e5) for i in range(nodes)))

def rss_kb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

base = rss_kb()
t0 = time.perf_counter()
tm = load_traffic_csv(path, topo, budget_bytes=1 << 40, block_bytes=block)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
print(json.dumps({"baseline_kb": base, "peak_kb": peak, "seconds": seconds, "steps": tm.steps,
                  "pairs": tm.n_pairs, "array_bytes": tm.demands.nbytes}))
"""


def write_csv(path: Path, target_bytes: int, nodes: int, seed: int = 0) -> int:
    """Rows for every ordered pair, interval after interval (5 minutes), until ``target_bytes``."""
    rng = np.random.default_rng(seed)
    pair_text = [f"n{a},n{b}," for a in range(nodes) for b in range(nodes) if a != b]
    pool = [f"{v:.3f}" for v in rng.uniform(0, 5000, 4096)]
    written, step = 0, 0
    with open(path, "w", encoding="utf-8") as f:
        written += f.write("time,src,dst,mbps\n")
        while written < target_bytes:
            day, minute = divmod(step * 5, 1440)
            stamp = f"{np.datetime64('2024-01-01') + np.timedelta64(day, 'D')}T{minute // 60:02d}:{minute % 60:02d},"
            picks = rng.integers(0, len(pool), len(pair_text))
            written += f.write("".join(stamp + p + pool[k] + "\n" for p, k in zip(pair_text, picks)))
            step += 1
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=1024.0, help="size of the CSV to write, MB (default 1024)")
    ap.add_argument("--nodes", type=int, default=30, help="nodes of the ring (default 30: 870 pairs)")
    ap.add_argument("--block-mb", type=float, default=None, help="block size, MB (default: the reader's)")
    ap.add_argument("--dir", default=None, help="where to write the CSV (default: a temporary folder)")
    args = ap.parse_args()
    from netdrift.engine.traffic.csv_replay import BLOCK_BYTES

    block = int(args.block_mb * 1024**2) if args.block_mb else BLOCK_BYTES
    folder = Path(tempfile.mkdtemp(prefix="netdrift-replay-bench-", dir=args.dir))
    try:
        path = folder / "traffic.csv"
        size = write_csv(path, int(args.mb * 1e6), args.nodes)
        out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(args.nodes), str(block)],
                             cwd=ROOT, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    mb = 1024.0**2
    array_mb = r["array_bytes"] / mb
    over = (r["peak_kb"] - r["baseline_kb"]) / 1024.0
    print(json.dumps({
        "file_mb": round(size / mb, 1), "final_arrays_mb": round(array_mb, 1),
        "baseline_rss_mb": round(r["baseline_kb"] / 1024.0, 1), "peak_rss_mb": round(r["peak_kb"] / 1024.0, 1),
        "peak_over_baseline_mb": round(over, 1), "ratio_to_final_arrays": round(over / array_mb, 2),
        "seconds": round(r["seconds"], 2), "steps": r["steps"], "pairs": r["pairs"],
        "block_mb": round(block / mb, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
