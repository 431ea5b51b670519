"""Issue 22: a real two-node Ray cluster on this machine; a sweep sharded over both nodes equals
the local one (a real `netdrift sweep` process each)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.cli.test_reproducers import netdrift_command


@pytest.fixture
def home(tmp_path) -> Path:
    """An empty working folder with an empty data folder (where the default history lives)."""
    (tmp_path / "data").mkdir()
    return tmp_path


# --- 5. a real two-node Ray cluster on this machine ----------------------------------------------
@pytest.fixture
def two_node_ray(tmp_path):
    """A Ray head and a second node (`ray start --address`, its own resources) on this machine,
    both stopped (their process groups) afterwards. Yields (address, env for a driver)."""
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
        yield address, env
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
    address, env = two_node_ray
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
