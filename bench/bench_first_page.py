"""Benchmark: seconds from `netdrift dashboard` answering healthy to the first page with its map.

Starts ``netdrift dashboard --headless`` on a free port with an empty history, opens headless
Debian Chromium (already running, as for an operator whose browser is open), loads the page
and waits until the topology map has drawn its links. Repeats with a fresh server each time and
prints JSON: every run's figures and the median, plus where the time went in the page (script
run, map component code arriving, map drawn), measured with the browser's own clock.

Unlike the browser test, requests are not intercepted (interception adds ~0.4 s per page);
nothing here reaches the network anyway. Needs the test extras (``./test.sh`` installs them).
Run: ``.venv/bin/python bench/bench_first_page.py [--runs 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"

# Browser-side probe: time stamps (ms since navigation) of the script run and the map.
_PROBE = """
window.__bench = {};
const poll = () => {
  const app = document.querySelector('[data-testid=stApp]');
  const b = window.__bench;
  if (app) {
    const s = app.getAttribute('data-test-script-state');
    if (s === 'running' && b.script_started_ms === undefined) b.script_started_ms = performance.now();
    if (s === 'notRunning' && b.script_started_ms !== undefined && b.script_done_ms === undefined)
      b.script_done_ms = performance.now();
  }
  const m = window.__netdriftMap;
  if (m && m.renders >= 1 && m.fitted && m.edges.length > 0 && b.map_drawn_ms === undefined)
    b.map_drawn_ms = performance.now();
  if (b.map_drawn_ms === undefined) requestAnimationFrame(poll);
};
requestAnimationFrame(poll);
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _netdrift() -> list[str]:
    exe = Path(sys.executable).parent / "netdrift"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "netdrift"]


def _wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 120.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return time.perf_counter()
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dashboard on {base} did not become healthy")


def one_run(browser, workdir: Path) -> dict[str, float]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, NETDRIFT_DATA_DIR=str(workdir / "data"))
    with open(workdir / "server.log", "w") as log:
        proc = subprocess.Popen(
            [*_netdrift(), "dashboard", "--headless", "--port", str(port), "--db", f"sqlite:///{workdir}/h.sqlite"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 1000})
            page = context.new_page()
            page.add_init_script(_PROBE)
            healthy = _wait_healthy(base, proc)
            page.goto(base)
            page.wait_for_function("() => window.__bench && window.__bench.map_drawn_ms !== undefined",
                                   timeout=60_000)
            total = time.perf_counter() - healthy
            marks = page.evaluate("() => window.__bench")
            component = page.evaluate(
                "() => Math.max(0, ...performance.getEntriesByType('resource')"
                ".filter(r => /BidiComponent/.test(r.name)).map(r => r.responseEnd))")
            context.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {
        "first_map_after_health_s": round(total, 3),
        "script_done_ms": round(marks.get("script_done_ms", float("nan"))),
        "map_component_code_loaded_ms": round(component),
        "map_drawn_ms": round(marks["map_drawn_ms"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh servers to time (default 5)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("bench_first_page: playwright is not installed (run ./test.sh once to install the test extras)",
              file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists():
        print(f"bench_first_page: {CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)
        return 2
    runs = []
    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="netdrift-bench-") as tmp:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        for i in range(args.runs):
            work = Path(tmp) / f"run{i}"
            work.mkdir()
            runs.append(one_run(browser, work))
            print(f"run {i + 1}/{args.runs}: {runs[-1]['first_map_after_health_s']} s", file=sys.stderr)
        browser.close()
    firsts = [r["first_map_after_health_s"] for r in runs]
    print(json.dumps({
        "benchmark": "dashboard first page with the map (Live view, Geant2012 preview)",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "first_map_after_health_s_median": round(statistics.median(firsts), 3),
        "first_map_after_health_s_max": max(firsts),
        "target_s": 5.0,
        "runs": runs,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
