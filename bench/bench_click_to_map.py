"""Benchmark: milliseconds from a click on a link of the Live map to the re-routed map, per topology.

Starts ``netdrift dashboard --headless`` with an empty history, opens headless Debian Chromium,
and for each topology starts a Live run (the quick preset, the start form's models unless
``--models`` names others), picks a busy link whose middle the map picks unambiguously and clicks
it ``--clicks`` times (fail, restore, ...). Each latency is what tests/e2e/test_browser.py measures:
from the mouse click to the map showing the server's re-routed state for that link (not the
instant grey "pending" style). Prints JSON and merges it into artifacts/browser_bench.json under
``click_to_map`` with the load average before and after (the figures depend on what else runs).
Run: ``.venv/bin/python bench/bench_click_to_map.py [--topologies geant2012 cogentco kdl]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, _free_port, _netdrift_command  # noqa: E402
from tests.e2e.test_browser import _click_edge, _clickable_link, _map_ready, _start_scenario, _wait_idle  # noqa: E402

ARTIFACT = ROOT / "artifacts" / "browser_bench.json"


def _server(tmp: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, NETDRIFT_DATA_DIR=str(tmp / "data"))
    proc = subprocess.Popen([*_netdrift_command(), "dashboard", "--headless", "--port", str(port),
                             "--db", f"sqlite:///{tmp}/h.sqlite"], cwd=ROOT, env=env,
                            stdout=open(tmp / "server.log", "w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, base
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("dashboard did not become healthy:\n" + (tmp / "server.log").read_text()[-3000:])


def _choose_models(page, labels: list[str]) -> None:
    box = page.get_by_test_id("stMultiSelect").filter(has_text="Models")
    box.click()
    for _ in range(8):
        page.keyboard.press("Backspace")
    for label in labels:
        page.keyboard.type(label)
        page.keyboard.press("Enter")
    page.keyboard.press("Escape")


def measure(browser, base: str, topology: str, clicks: int, models: list[str] | None) -> dict:
    """One topology in a fresh browser session: train and start, then ``clicks`` clicks on one link."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    try:
        page.goto(base)
        _map_ready(page, "geant2012", timeout=180_000)  # a busy machine can take a minute to the first map
        if models:
            _choose_models(page, models)
        start_s = _start_scenario(page, topology, timeout=600_000)  # Kdl on a busy machine: minutes
        _map_ready(page, topology, timeout=180_000)
        _wait_idle(page)
        _, eid = _clickable_link(page)
        latencies = []
        for _ in range(clicks):
            latencies.append(_click_edge(page, eid, timeout=60_000))
            _wait_idle(page)
        return {"train_and_start_s": round(start_s, 2), "click_to_map_ms": [round(x, 1) for x in latencies],
                "click_to_map_ms_median": round(statistics.median(latencies), 1)}
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topologies", nargs="+", default=["geant2012", "cogentco"])
    parser.add_argument("--clicks", type=int, default=6)
    parser.add_argument("--key", default="click_to_map", help="the key of artifacts/browser_bench.json to write")
    parser.add_argument("--models", nargs="*", default=None,
                        help="start-form model labels (e.g. Persistence 'Seasonal naive'); default: the form's")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    import netdrift

    out: dict[str, object] = {"machine": platform.node(), "cpus": os.cpu_count(), "code": str(Path(netdrift.__file__).parent),
                              "load_average_before": [round(x, 2) for x in os.getloadavg()],
                              "models": args.models or "start form default", "clicks": args.clicks}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        proc, base = _server(Path(tmp))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for topology in args.topologies:
                try:
                    out[topology] = measure(browser, base, topology, args.clicks, args.models)
                except Exception:  # say what the server said (the temporary folder goes with the run)
                    print((Path(tmp) / "server.log").read_text(errors="replace")[-4000:], file=sys.stderr)
                    raise
                print(topology, json.dumps(out[topology]), flush=True)
        finally:
            browser.close()
            proc.terminate()
            proc.wait(timeout=30)
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    ARTIFACT.parent.mkdir(exist_ok=True)
    bench = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    bench[args.key] = out
    ARTIFACT.write_text(json.dumps(bench, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
