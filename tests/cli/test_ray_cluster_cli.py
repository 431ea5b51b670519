"""Issue 22: a real two-node Ray cluster on this machine; a sweep sharded over both nodes equals
the local one (a real `netdrift sweep` process each)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.cli.test_reproducers import netdrift_command


@pytest.fixture
def home(tmp_path) -> Path:
    """An empty working folder with an empty data folder (where the default history lives)."""
    (tmp_path / "data").mkdir()
    return tmp_path


# --- 5. a real two-node Ray cluster on this machine ----------------------------------------------
@dataclass
class RayCluster:
    """The head's address, the environment of a driver, and how to kill the second node (SIGKILL
    to its process group: the `ray start` process, its raylet and its workers)."""

    address: str
    env: dict[str, str]
    kill_second: Callable[[], None]


@pytest.fixture
def two_node_ray(tmp_path):
    """A Ray head and a second node (`ray start --address`, its own resources) on this machine,
    both stopped (their process groups) afterwards. Yields a :class:`RayCluster`."""
    pytest.importorskip("ray")
    import signal
    import socket
    import sys as _sys

    ray_cli = Path(_sys.executable).with_name("ray")
    if not ray_cli.exists():
        pytest.skip("the `ray` command is not installed beside this Python")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"127.0.0.1:{port}"
    # Its own short temp folder (Ray's socket paths must stay short): the cluster's address file
    # (ray_current_cluster) is written there, not in /tmp/ray where a later local ray.init() would find it.
    ray_tmp = Path(tempfile.mkdtemp(prefix="ndray", dir="/tmp"))
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": str(ray_tmp)}
    common = ["--block", "--num-cpus=1", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    procs = []

    def start(*args: str, name: str) -> None:
        log = open(tmp_path / f"{name}.log", "wb")
        procs.append(subprocess.Popen([str(ray_cli), "start", *args, *common], env=env, stdout=log, stderr=log,
                                      start_new_session=True))

    def wait_for(script: str) -> None:
        done = subprocess.run([_sys.executable, "-c", script], env=env, capture_output=True, timeout=90)
        assert done.returncode == 0, done.stderr.decode()[-2000:]

    try:
        start("--head", f"--port={port}", '--resources={"head_node": 1}', "--include-dashboard=false", name="head")
        wait_for("import socket, time\n"
                 "for _ in range(600):\n"
                 f"    try: socket.create_connection(('127.0.0.1', {port}), 1).close(); break\n"
                 "    except OSError: time.sleep(0.1)\n"
                 "else: raise SystemExit('no head')")
        start(f"--address={address}", '--resources={"second_node": 1}', name="second")
        wait_for("import ray, time\n"
                 f"ray.init(address='{address}', log_to_driver=False, logging_level='ERROR')\n"
                 "for _ in range(600):\n"
                 "    if sum(n['Alive'] for n in ray.nodes()) == 2: break\n"
                 "    time.sleep(0.1)\n"
                 "else: raise SystemExit('the second node did not join')\n"
                 "f = ray.remote(lambda: 1)\n"  # each node runs a task: its workers are up
                 "assert ray.get([f.options(resources={r: 0.01}).remote() for r in ('head_node', 'second_node')]) "
                 "== [1, 1]\n"
                 "ray.shutdown()")
        yield RayCluster(address, env, lambda: os.killpg(procs[1].pid, signal.SIGKILL))
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        shutil.rmtree(ray_tmp, ignore_errors=True)


@pytest.mark.slow
def test_a_sweep_sharded_over_two_ray_nodes_equals_the_local_one(home, two_node_ray):
    address, env = two_node_ray.address, two_node_ray.env
    args = ["sweep", "--topology", "geant2012", "--steps", "96", "--kind", "link", "--from", "0", "--to", "96",
            "--top", "0", "--json"]
    env = {**env, "NETDRIFT_DATA_DIR": str(home / "data")}

    def nd(*extra: str) -> dict:
        proc = subprocess.run(netdrift_command() + args + list(extra), cwd=home, env=env, capture_output=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        return json.loads(proc.stdout)

    local = nd("--workers", "1")
    on_ray = nd("--executor", "ray", "--ray-address", address)
    assert len(on_ray["ray_nodes"]) == 2, (on_ray["ray_nodes"], on_ray["ray_cpus"])  # shards ran on both nodes
    assert sum(on_ray["ray_nodes"].values()) == on_ray["tasks"] > 2
    assert on_ray["failures"] == local["failures"]  # every failure, ranked, every figure
    assert on_ray["per_direction"] == local["per_direction"]


#: The driver of the node-kill test, a process of its own: the real sweeper and run_on_ray on the
#: cluster, except that a shard on the second node first says it started (file "started") and
#: then waits for the file "gate", which the test creates only once it has killed that node.
_KILL_DRIVER = r'''
import json, sys, time
from pathlib import Path
import numpy as np
import ray
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.traffic.sources import make_traffic
from netdrift.engine.sweep.evaluate import _Sweeper
from netdrift.engine.sweep.failures import failure_set
from netdrift.engine.sweep.ray_executor import run_on_ray

address, folder = sys.argv[1], Path(sys.argv[2])


class GatedSweeper(_Sweeper):
    gate_node = ""

    def run_gated(self, f):
        if ray.get_runtime_context().get_node_id() == self.gate_node:
            (folder / "started").touch()
            while not (folder / "gate").exists():
                time.sleep(0.05)
        return self.run_one(f)


ray.init(address=address, log_to_driver=False, logging_level="ERROR")
alive = [n for n in ray.nodes() if n["Alive"]]
second = next(n["NodeID"] for n in alive if "second_node" in n["Resources"])
head = next(n["NodeID"] for n in alive if "head_node" in n["Resources"])
topo = load_topology("geant2012")
tm = make_traffic("synthetic", topo, 96, 5.0, 0, peak_utilization=0.6)
fl = failure_set(topo, "link")
sw = GatedSweeper(topo, tm, 0, 96, True)
sw.gate_node = second
got = {}
info = run_on_ray(sw, fl, 2, lambda r: got.__setitem__(r[0], r[1]), None, "run_gated")
local = [sw.run_one(f) for f in fl]  # the local executor's computation, in this process
same = [sorted(got) == list(range(len(fl)))] + [
    bool(np.array_equal(np.asarray(got[i][k]), np.asarray(v), equal_nan=np.asarray(v).dtype.kind == "f"))
    for i, r in enumerate(local) for k, v in r.items()]
print(json.dumps({"same": all(same), "n_failures": len(fl), "head": head, "second": second, **info}))
ray.shutdown()
'''


@pytest.mark.slow
def test_a_node_killed_mid_sweep_has_its_shards_retried_on_the_other(tmp_path, two_node_ray):
    import sys as _sys
    import time

    folder = tmp_path / "gate"
    folder.mkdir()
    driver = subprocess.Popen([_sys.executable, "-c", _KILL_DRIVER, two_node_ray.address, str(folder)],
                              env=two_node_ray.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240  # a guard against a hang, not a measure
        while not (folder / "started").exists():  # a shard is running on the second node
            assert driver.poll() is None, driver.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "no shard started on the second node"
            time.sleep(0.05)
        two_node_ray.kill_second()  # the node dies under its running (and waiting) shards
        (folder / "gate").touch()
        out, err = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 0, err.decode()[-3000:]
    res = json.loads(out.decode().strip().splitlines()[-1])  # Ray logs the retry on stdout before it
    # Every shard, the one killed while running on the second node included, returned from the head
    assert res["ray_nodes"] == {res["head"]: res["tasks"]} and res["tasks"] == 8
    assert res["same"] and res["n_failures"] == 61  # every failure's figures equal the local ones
