"""A real Prometheus server for the tests (Debian's ``prometheus`` and ``promtool``, installed by
``scripts/setup.sh --test``): started on a free loopback port with a temporary TSDB and config,
its history backfilled with ``promtool tsdb create-blocks-from openmetrics``, stopped afterwards.

The backfilled history is SNMP-like octet counters of a 4-node ring (``RING``), one series per
interface (``instance`` = the router, ``ifName`` = the interface), every 5 minutes for 3 hours
from ``T0``; one direction is a LAG of two interfaces and one counter resets (a router reload).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from netdrift.engine.network.topology import Link, Node, Topology

#: The history's first sample: 2024-01-01T00:00:00Z (old data: the server keeps 50 years).
T0 = 1_704_067_200
STEP_S = 300
SAMPLES = 37  # 3 hours at 5 minutes, both ends included

RING = Topology("ring4", tuple(Node(n, n.upper()) for n in "abcd"),
                (Link("a-b", "a", "b", 1000.0), Link("b-c", "b", "c", 1000.0),
                 Link("c-d", "c", "d", 1000.0), Link("d-a", "d", "a", 1000.0)))


@dataclass(frozen=True)
class Interface:
    instance: str
    if_name: str
    link: str
    src: str


def ring_interfaces() -> list[Interface]:
    """Each router's interface towards each neighbour; a -> b is a LAG of two ports."""
    out = []
    for link in RING.links:
        for src, dst in ((link.u, link.v), (link.v, link.u)):
            names = ["ae0-1", "ae0-2"] if (src, dst) == ("a", "b") else [f"to-{dst}"]
            out += [Interface(src, n, link.id, src) for n in names]
    return out


def mapping_rows(interfaces: list[Interface] | None = None) -> list[dict[str, str]]:
    return [{"instance": i.instance, "ifName": i.if_name, "link": i.link, "src": i.src}
            for i in (interfaces or ring_interfaces())]


def ring_counters(seed: int = 7) -> dict[Interface, np.ndarray]:
    """Cumulative ifHCOutOctets per interface at each sample (int64), seeded; the counter of
    c's interface to d resets to a small value at sample 20 (a reload)."""
    rng = np.random.default_rng(seed)
    out = {}
    for itf in ring_interfaces():
        mbps = rng.uniform(50.0, 400.0, SAMPLES - 1)
        octets = np.round(mbps * 1e6 / 8 * STEP_S).astype(np.int64)
        counter = np.concatenate([[int(rng.integers(0, 10**12))], octets]).cumsum()
        if (itf.instance, itf.if_name) == ("c", "to-d"):
            counter[20:] = counter[20:] - counter[20] + octets[19] // 3  # restarted from zero, a few octets in
        out[itf] = counter
    return out


def openmetrics(counters: dict[Interface, np.ndarray]) -> str:
    """The counters as OpenMetrics text (what promtool backfills), one family ``ifHCOutOctets``."""
    lines = ["# HELP ifHCOutOctets The total number of octets transmitted out of the interface.",
             "# TYPE ifHCOutOctets unknown"]
    for itf, values in counters.items():
        labels = f'{{ifName="{itf.if_name}",instance="{itf.instance}",job="snmp"}}'
        lines += [f"ifHCOutOctets{labels} {int(v)} {T0 + k * STEP_S}" for k, v in enumerate(values)]
    return "\n".join(lines + ["# EOF", ""])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrometheusServer:
    url: str
    port: int
    process: subprocess.Popen
    log: Path

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False


def _wait_ready(server: PrometheusServer, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"prometheus exited ({server.process.returncode}): {server.log.read_text()[-2000:]}")
        if server.ready():
            return
        time.sleep(0.1)  # between polls only; readiness is what ends the loop
    raise RuntimeError(f"prometheus not ready within {limit_s} s: {server.log.read_text()[-2000:]}")


def start_prometheus(folder: Path, scrape_targets: list[str] | None = None,
                     history: str | None = None) -> PrometheusServer:
    """Backfill ``history`` (OpenMetrics text) into a fresh TSDB under ``folder``, then start the
    server on 127.0.0.1 scraping ``scrape_targets`` (host:port) every second."""
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("Debian's prometheus is not installed (run scripts/setup.sh --test)")
    tsdb = folder / "tsdb"
    tsdb.mkdir(parents=True)
    if history is not None:
        src = folder / "history.om.txt"
        src.write_text(history)
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(src), str(tsdb)],
                       check=True, capture_output=True, text=True, timeout=120)
    config = ["global:", "  scrape_interval: 1s", "  evaluation_interval: 1s", "scrape_configs:"]
    config += ["  - job_name: netdrift", "    static_configs:",
               f"      - targets: {list(scrape_targets or ['127.0.0.1:1'])}"]
    (folder / "prometheus.yml").write_text("\n".join(config) + "\n")
    port = free_port()
    log = folder / "prometheus.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={tsdb}",
             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=50y",
             "--web.console.templates=/nonexistent", "--web.console.libraries=/nonexistent"],
            stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    server = PrometheusServer(f"http://127.0.0.1:{port}", port, proc, log)
    try:
        _wait_ready(server)
    except BaseException:
        stop_prometheus(server)
        raise
    return server


def stop_prometheus(server: PrometheusServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="module")
def ring_history() -> dict[Interface, np.ndarray]:
    return ring_counters()


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory,
               ring_history: dict[Interface, np.ndarray]) -> Iterator[PrometheusServer]:
    """A Prometheus whose TSDB holds ``ring_history`` (module-scoped: started once)."""
    server = start_prometheus(tmp_path_factory.mktemp("prom"), history=openmetrics(ring_history))
    try:
        yield server
    finally:
        stop_prometheus(server)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A socket that accepts connections and never answers (a stuck server)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for c in held:
            c.close()
        srv.close()
