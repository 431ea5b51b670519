"""Peak resident memory of `netdrift` commands against their memory budget (issue 22, item 3).

Each case runs as its own `netdrift` process; its peak RSS is the kernel's ``ru_maxrss`` of that
child (``os.wait4``), the figure ``/usr/bin/time -v`` prints as "Maximum resident set size". A
case refused by the budget should end in seconds with a peak far below it; a case that runs
should stay under it. Long cases are stopped after ``--limit`` seconds (the peak so far is
reported, with the progress line the command printed last).

    .venv/bin/python bench/bench_budget.py            # all cases, about two minutes
    .venv/bin/python bench/bench_budget.py --limit 30 --only sweep
    .venv/bin/python bench/bench_budget.py --only link-pairs --json   # one JSON object per case

Kdl's link-pairs sweep (400,065 failures, about 3 days on one core here) needs about 3.8 GiB by the
sweep's estimate: refused at 1G .. 2G, run (and stopped at --limit) at 4G.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GIB = 1024**3
KDL_SIM = ["simulate", "--topology", "kdl", "--step-minutes", "5"]
KDL_PAIRS = ["sweep", "--topology", "kdl", "--kind", "link-pairs", "--steps", "12", "--from", "0", "--to", "12",
             "--workers", "1"]

#: (name, arguments, budget as given to --max-memory, budget in bytes)
CASES = [
    ("simulate kdl 4032 steps --out (the issue's 6.48 GiB budget)",
     KDL_SIM + ["--steps", "4032", "--out", "OUT/x.parquet", "--max-memory", "6.48G"], 6.48 * GIB),
    ("simulate kdl 1152 steps --out, 2.8G budget",
     KDL_SIM + ["--steps", "1152", "--out", "OUT/x.parquet", "--max-memory", "2.8G"], 2.8 * GIB),
    *[(f"sweep kdl link-pairs (400,065 failures), {b} budget", KDL_PAIRS + ["--max-memory", b], float(b[:-1]) * GIB)
      for b in ("1G", "1.25G", "1.5G", "2G", "4G")],
    ("sweep geant2012 link-pairs (1,830 failures, runs to the end), 200M budget",
     ["sweep", "--topology", "geant2012", "--kind", "link-pairs", "--steps", "288", "--from", "0", "--to", "288",
      "--workers", "1", "--max-memory", "200M"], 200 / 1024 * GIB),
]


def netdrift() -> list[str]:
    script = Path(sys.executable).with_name("netdrift")
    return [str(script)] if script.exists() else [sys.executable, "-m", "netdrift"]


def run_case(args: list[str], limit: float, folder: Path) -> tuple[int | None, float, int, str]:
    """(exit code or None when stopped, seconds, peak RSS bytes, last stderr line)."""
    args = [a.replace("OUT/", f"{folder}/") for a in args]
    env = {**os.environ, "NETDRIFT_DATA_DIR": str(folder / "data")}
    env.pop("NETDRIFT_MAX_MEMORY", None)
    err_path = folder / "stderr.txt"
    t0 = time.monotonic()
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(netdrift() + args, stdout=subprocess.DEVNULL, stderr=err, env=env)
        stopped = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - t0 > limit and not stopped:
                proc.send_signal(signal.SIGINT)  # KeyboardInterrupt: the command stops, nothing stored
                stopped = True
            time.sleep(0.2)
    seconds = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = [ln for ln in err_path.read_text(errors="replace").splitlines() if ln.strip()]
    last = lines[-1] if not stopped or len(lines) < 2 else lines[-2]  # the last progress line, not "interrupted"
    return (None if stopped else proc.returncode), seconds, usage.ru_maxrss * 1024, last


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=60.0, help="seconds before a running case is stopped (default 60)")
    ap.add_argument("--only", help="run only the cases whose name contains this text")
    ap.add_argument("--json", action="store_true", help="one JSON object per case instead of the table")
    opts = ap.parse_args()
    if not opts.json:
        print(f"{'case':<62}{'exit':>6}{'seconds':>9}{'peak RSS':>11}{'budget':>10}  within")
    for name, args, budget in CASES:
        if opts.only and opts.only not in name:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            code, seconds, peak, last = run_case(args, opts.limit, Path(tmp))
            left = sorted(p.name for p in Path(tmp).iterdir() if p.name != "stderr.txt")
        if opts.json:
            print(json.dumps({"case": name, "exit": code, "stopped": code is None, "seconds": round(seconds, 1),
                              "peak_rss_bytes": peak, "budget_bytes": int(budget), "within": peak <= budget,
                              "last_line": last[:300], "left_behind": left, "load_average": os.getloadavg()}))
            continue
        shown = "stopped" if code is None else str(code)
        print(f"{name:<62}{shown:>6}{seconds:>9.1f}{peak / GIB:>9.2f} G{budget / GIB:>8.2f} G  "
              f"{'yes' if peak <= budget else 'NO'}")
        print(f"    {last[:200]}")
        if left:
            print(f"    left behind: {left}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
