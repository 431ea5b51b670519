"""Benchmark: a month of 5-minute interface counters on Cogentco read from a real Prometheus.

Writes SNMP-like ``ifHCOutOctets`` counters for every direction of Cogentco (one interface each,
486) every 5 minutes for ``--days`` days as OpenMetrics, backfills them with ``promtool tsdb
create-blocks-from openmetrics``, starts Debian's ``prometheus`` on a free loopback port and reads
the loads with :func:`netdrift.engine.traffic.prometheus_source.read_prometheus` in a fresh Python
process, which reports its own peak RSS (``ru_maxrss``), its RSS before reading, the seconds and
the number of ``query_range`` pages. Also checks the loads against the rates written. Prints JSON.

Run: ``.venv/bin/python bench/bench_prometheus_read.py [--days 30]`` (needs ``scripts/setup.sh --test``).
The backfill is the slow part: promtool took 31 minutes for the 4.2 M samples of 30 days on a shared,
loaded 2-core machine (10 s for 2 days); the read itself took 34 s there, in 22 pages.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
STEP_S = 300

READER = r"""
import json, resource, sys, time
from datetime import datetime, timedelta, timezone
import numpy as np
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.traffic import prometheus_source as ps
from netdrift.engine.traffic.prometheus_mapping import read_mapping

url, mapping_file, steps, expected = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
topo = load_topology("cogentco")
mapping = read_mapping(mapping_file, topo)
pages = []
original = ps._query_range
def counted(*a, **k):
    pages.append(1)
    return original(*a, **k)
ps._query_range = counted
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
start = datetime.fromtimestamp(%d, timezone.utc)
t = time.perf_counter()
loads = ps.read_prometheus(url, topo, mapping, ps.PrometheusWindow(start, start + timedelta(minutes=5 * (steps - 1))),
                           timeout=120)
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
want = np.load(expected)
print(json.dumps({"steps": loads.steps, "directions": loads.n_directions, "pages": len(pages),
                  "read_seconds": round(seconds, 2), "rss_before_bytes": before, "peak_rss_bytes": peak,
                  "peak_increase_mib": round((peak - before) / 2**20, 1),
                  "load_array_mib": round(loads.loads.nbytes / 2**20, 1),
                  "max_rel_error": float(np.nanmax(np.abs(loads.loads - want) / want)),
                  "missing_fraction": loads.missing_fraction}))
""" % T0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from netdrift.engine.network.loaders import load_topology

    topo = load_topology("cogentco")
    steps = int(args.days * 24 * 12)
    rng = np.random.default_rng(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="netdrift-prom-bench-"))
    names = topo.direction_names()
    mbps = rng.uniform(10.0, 900.0, (steps, len(names))).astype(np.float32)
    np.save(folder / "expected.npy", mbps)
    octets = np.round(mbps.astype(np.float64) * 1e6 / 8 * STEP_S).astype(np.int64)
    counters = np.vstack([rng.integers(0, 10**12, (1, len(names))), octets]).cumsum(axis=0)
    t = time.perf_counter()
    with open(folder / "history.om.txt", "w") as out:
        out.write("# TYPE ifHCOutOctets unknown\n")
        for d, (_link, src, dst) in enumerate(names):
            labels = f'{{ifName="to-{dst}",instance="{src}"}}'
            out.writelines(f"ifHCOutOctets{labels} {v} {T0 + k * STEP_S}\n" for k, v in enumerate(counters[:, d]))
        out.write("# EOF\n")
    with open(folder / "mapping.csv", "w") as m:
        m.write("instance,ifName,link,src\n")
        m.writelines(f"{src},to-{dst},{link},{src}\n" for link, src, dst in names)
    write_s = time.perf_counter() - t
    tsdb = folder / "tsdb"
    t = time.perf_counter()
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(folder / "history.om.txt"),
                    str(tsdb)], check=True, capture_output=True)
    backfill_s = time.perf_counter() - t
    (folder / "history.om.txt").unlink()
    (folder / "prometheus.yml").write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    port = free_port()
    proc = subprocess.Popen(["prometheus", f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={tsdb}",
                             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=50y"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        read = subprocess.run([sys.executable, "-c", READER, f"http://127.0.0.1:{port}", str(folder / "mapping.csv"),
                               str(steps), str(folder / "expected.npy")], capture_output=True, text=True, check=True)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    figures = json.loads(read.stdout)
    print(json.dumps({"topology": "cogentco", "days": args.days, "interfaces": len(names), "samples": counters.size,
                      "write_openmetrics_seconds": round(write_s, 1), "promtool_backfill_seconds": round(backfill_s, 1),
                      **figures}, indent=1))


if __name__ == "__main__":
    main()
