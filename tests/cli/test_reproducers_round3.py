"""Issue 22's reproducers (hardening, round three), each run as a real `netdrift` process.

A bad input ends with exit 2, exactly one stderr line naming the input, no traceback, no
warning, and nothing written anywhere (no output file, no database, nothing in the data folder).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.traffic.series import TrafficMatrixSeries
from netdrift.engine.traffic.synthetic import synthetic_traffic
from netdrift.engine.traffic.time_grid import MAX_STEP_MINUTES, MAX_STEPS
from tests.cli.test_reproducers import netdrift, netdrift_command, refused

SIM = ["simulate", "--topology", "abilene", "--steps", "50"]
RUN = ["run", "--topology", "abilene", "--steps", "120", "--train-steps", "72", "--window", "8",
       "--models", "persistence"]
SWEEP = ["sweep", "--topology", "abilene", "--steps", "24", "--kind", "link", "--from", "0", "--to", "24"]


@pytest.fixture
def home(tmp_path) -> Path:
    """An empty working folder with an empty data folder (where the default history lives)."""
    (tmp_path / "data").mkdir()
    return tmp_path


# --- 1. every numeric argument bounded -------------------------------------------------------
@pytest.mark.parametrize("value", ["1e8", "1e12", "1e308", "inf", "nan", "0", "-5"])
def test_absurd_step_minutes_on_simulate(home, value):
    refused(home, SIM + ["--step-minutes", value], "--step-minutes", "(0, 10080]", value)


@pytest.mark.parametrize("extra", [["--out", "loads.csv"], ["--out", "loads.parquet"], ["--json"]])
def test_absurd_step_minutes_with_out_or_json(home, extra):
    # --out used to be written before the crash, --json used to exit 0
    refused(home, SIM + ["--step-minutes", "1e8"] + extra, "--step-minutes", "1e8")


@pytest.mark.parametrize("args", [RUN, ["paper", "--steps", "120", "--train-steps", "72"], SWEEP],
                         ids=["run", "paper", "sweep"])
def test_absurd_step_minutes_on_run_paper_sweep(home, args):
    # run/paper printed numpy overflow warnings; sweep stored the sweep
    refused(home, args + ["--step-minutes", "1e308"], "--step-minutes", "1e308")
    assert not list((home / "data").iterdir())  # no history opened, nothing stored


@pytest.mark.parametrize("args, flag", [
    (SIM[:-1] + [str(MAX_STEPS + 1), "--step-minutes", "5"], "--steps"),
    (RUN[:6] + [str(10**12)] + RUN[7:], "--train-steps"),
    (SWEEP[:-1] + ["99999999999"], "--to"),
])
def test_step_counts_bounded(home, args, flag):
    refused(home, args, flag, f"at most {MAX_STEPS}")


@pytest.mark.parametrize("args, flag, bound", [
    (RUN + ["--seeds", "1000000000"], "--seeds", 1000),
    (["paper", "--per-class", "1000000000"], "--per-class", 1000),
    (SWEEP + ["--workers", "1000000000"], "--workers", 1024),
])
def test_repeats_and_workers_bounded(home, args, flag, bound):
    # --seeds 10^9 used to run (and store) for ever; --workers 10^9 reached the memory check
    refused(home, args, flag, f"at most {bound}")


@pytest.mark.parametrize("command", ["simulate", "run", "sweep", "paper", "plan"])
def test_bounds_are_in_help(home, command):
    proc = netdrift(home, command, "--help")
    text = " ".join(proc.stdout.decode().split())  # argparse wraps lines
    assert proc.returncode == 0
    assert "(0, 10080]" in text and "1..5,000,000" in text


def test_the_bound_is_a_week_and_the_engine_refuses_too():
    assert MAX_STEP_MINUTES == 7 * 24 * 60
    topo = load_topology("abilene")
    for bad in (1e8, 1e308, float("inf"), float("nan"), 0.0, MAX_STEP_MINUTES + 1):
        with pytest.raises(InputError, match="step_minutes"):
            synthetic_traffic(topo, 10, step_minutes=bad)
    # a week per step is accepted, but 600,000 weeks from 2024 end after the year 9999
    with pytest.raises(InputError, match="end after the year 9999"):
        synthetic_traffic(topo, 600_000, step_minutes=MAX_STEP_MINUTES)


def test_a_series_whose_times_leave_the_calendar_is_refused():
    demands = np.zeros((3, 1), dtype=np.float32)
    with pytest.raises(InputError, match="step_minutes"):
        TrafficMatrixSeries(("a", "b"), np.array([0]), np.array([1]), demands, 1e308, datetime(2024, 1, 1))
    ok = TrafficMatrixSeries(("a", "b"), np.array([0]), np.array([1]), demands, 1e6, datetime(2024, 1, 1))
    assert ok.time_of(2) == datetime(2027, 10, 20, 21, 20)  # 2e6 minutes = 1388 days 21:20 later


# --- 3. a memory budget fixed at the start, refused before allocating -------------------------
#: Runs argv[2:] and writes "exit-code peak-kilobytes" to the file argv[1]. A child's ru_maxrss
#: includes the memory of the process it was forked from until its exec (Linux records the old
#: address space's high-water mark at exec), so the command is started from this small process,
#: not from the test runner, whose size would otherwise be measured too.
_MEASURE = ("import os, subprocess, sys\n"
            "p = subprocess.Popen(sys.argv[2:])\n"
            "_, status, usage = os.wait4(p.pid, 0)\n"
            "open(sys.argv[1], 'w').write(f'{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}')\n")


def peak_of(home: Path, *args: str) -> tuple[subprocess.CompletedProcess, int]:
    """Run `netdrift ARGS` in ``home``; the process and its peak resident bytes (the kernel's
    ru_maxrss of that process, what /usr/bin/time -v reports)."""
    env = {**os.environ, "NETDRIFT_DATA_DIR": str(home / "data")}
    env.pop("NETDRIFT_MAX_MEMORY", None)
    with tempfile.TemporaryDirectory() as tmp:
        measured = Path(tmp) / "peak"
        proc = subprocess.run([sys.executable, "-c", _MEASURE, str(measured), *netdrift_command(), *args], cwd=home,
                              env=env, capture_output=True, timeout=600)
        rc, kib = map(int, measured.read_text().split())
    return subprocess.CompletedProcess(proc.args, rc, proc.stdout, proc.stderr), kib * 1024


def test_the_budget_is_fixed_once_for_the_command(monkeypatch):
    from netdrift.engine.budget import command_budget, memory_budget_bytes

    monkeypatch.delenv("NETDRIFT_MAX_MEMORY", raising=False)
    with command_budget(None) as budget:
        held = np.ones(64 * 1024**2 // 8)  # 64 MiB allocated inside the command
        assert memory_budget_bytes() == budget  # not re-read from the memory available now
        del held
    monkeypatch.setenv("NETDRIFT_MAX_MEMORY", "3G")
    with command_budget(None) as budget:
        monkeypatch.setenv("NETDRIFT_MAX_MEMORY", "1G")  # read once, at the start
        assert budget == memory_budget_bytes() == 3 * 1024**3
    with command_budget(512 * 1024**2) as budget:  # --max-memory wins
        assert budget == memory_budget_bytes() == 512 * 1024**2


@pytest.mark.slow
def test_kdl_over_a_2_8g_budget_is_refused_before_allocating(home):
    # used to be refused after 53 s at a 3.07 GB peak: now before the traffic is generated
    proc, peak = peak_of(home, "simulate", "--topology", "kdl", "--steps", "1152", "--step-minutes", "5",
                         "--out", "x.parquet", "--max-memory", "2.8G")
    err = proc.stderr.decode().splitlines()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr.decode()
    assert err[-1].startswith("netdrift: error: simulation of 1152 steps x 1790 link directions on 'Kdl' with --out")
    assert "over the memory budget of 2.80 GiB (--max-memory)" in err[-1]
    assert all(line.startswith("warning: ") for line in err[:-1])  # the loader's notes on Kdl's links
    assert peak < 0.5 * 1024**3  # nothing large was allocated
    assert not (home / "x.parquet").exists() and not list((home / "data").iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("budget, shown", [("1G", "1.00"), ("1.25G", "1.25"), ("1.5G", "1.50"), ("2G", "2.00")])
def test_kdl_link_pairs_sweep_over_the_budget_is_refused(home, budget, shown):
    # 1.25G used to be accepted and peaked at 1.44 GiB within its first minute: the routing's build
    # (64 bytes per entry, 15.9 M entries) and the traffic generator's peak were under-counted, and
    # the 400,065 results kept to the end and stored (about 5.3 KB each) were counted as 400 bytes
    proc, peak = peak_of(home, "sweep", "--topology", "kdl", "--kind", "link-pairs", "--steps", "12", "--from", "0",
                         "--to", "12", "--workers", "1", "--max-memory", budget)
    err = proc.stderr.decode().strip().splitlines()
    assert proc.returncode == 2 and len(err) == 1, proc.stderr.decode()
    assert "sweep of 400065 failures x 12 steps on 'Kdl'" in err[0] and f"{shown} GiB (--max-memory)" in err[0]
    assert 400065 == 895 * 894 // 2  # Kdl's links, pairwise
    # (400,065 results at about 5 KB each are already 2 GB: none of these budgets holds the sweep)
    assert peak < 0.5 * 1024**3 and not list((home / "data").iterdir())  # refused before the traffic


def test_link_pairs_set_refused_before_it_is_built():
    from netdrift.engine.budget import memory_budget
    from netdrift.engine.network.topology import Link, Node, Topology
    from netdrift.engine.sweep.failures import failure_set

    n = 3000  # a ring of 3000 links: 4,498,500 pairs, about 1 GiB as a list
    ring = Topology("ring", tuple(Node(str(i), str(i)) for i in range(n)),
                    tuple(Link(f"l{i}", str(i), str((i + 1) % n), 1e4) for i in range(n)))
    with memory_budget(256 * 1024**2), pytest.raises(InputError, match="link-pairs failure set of 4498500 failures"):
        failure_set(ring, "link-pairs")


def test_sweep_progress_says_done_total_rate_and_time_left(capsys):
    from netdrift.cli.common import CountProgress, StderrProgress

    progress = CountProgress(StderrProgress(interval=0.0), "sweeping")
    progress(0, 400_065)
    progress(10, 400_065)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].endswith("sweeping: 0 of 400,065 failures (time left unknown yet)")
    assert "sweeping: 10 of 400,065 failures (" in lines[1] and "/s, about " in lines[1] and lines[1].endswith(" left)")


# --- 4. a refused command creates nothing; missing folders refused everywhere -------------------
PAPER = ["paper", "--steps", "120", "--train-steps", "72", "--per-class", "1", "--window", "8"]


@pytest.mark.parametrize("args, needles", [
    (["paper", "--steps", "120", "--train-steps", "200"], ("--train-steps", "200", "smaller than")),
    (PAPER + ["--topology", "nosuch"], ("topology file 'nosuch'", "no such file")),
    (PAPER + ["--traffic", "missing.csv"], ("--traffic 'missing.csv'", "no such file")),
    (PAPER + ["--step-minutes", "0"], ("--step-minutes", "(0, 10080]")),
    (["dashboard", "--headless", "--topology", "nosuch"], ("topology file 'nosuch'",)),
], ids=["paper-train-steps", "paper-topology", "paper-traffic", "paper-step-minutes", "dashboard-topology"])
def test_refused_commands_create_no_database(home, args, needles):
    if args[0] == "dashboard":  # a free port: another dashboard may hold the default one
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            args = args + ["--port", str(s.getsockname()[1])]
    refused(home, args, *needles)
    assert not list((home / "data").iterdir())  # no netdrift.sqlite


def test_dashboard_on_a_port_in_use(home):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused(home, ["dashboard", "--headless", "--port", str(port)], f"--port {port}", "choose another port")
    assert not list((home / "data").iterdir())


@pytest.mark.parametrize("args, needles", [
    (RUN + ["--step-minutes", "60", "--db", "sqlite:////missing/dir/x.sqlite"],
     ("--db 'sqlite:////missing/dir/x.sqlite'", "folder '/missing/dir' does not exist")),
    (SWEEP + ["--db", "sqlite:////missing/dir/x.sqlite"], ("folder '/missing/dir' does not exist",)),
    (SWEEP + ["--out", "/missing/x.csv"], ("--out '/missing/x.csv'", "folder does not exist")),
    (SIM + ["--step-minutes", "5", "--out", "/missing/x.csv"], ("--out '/missing/x.csv'", "folder does not exist")),
], ids=["run-db", "sweep-db", "sweep-out", "simulate-out"])
def test_missing_folders_refused_alike(home, args, needles):
    refused(home, args, *needles)
    assert not Path("/missing").exists()


def test_not_a_tar_archive_is_one_line(home):
    (home / "notatar.tar.gz").write_text("hello\n")
    before = set(home.rglob("*"))
    refused(home, SIM + ["--traffic", "notatar.tar.gz"], "--traffic 'notatar.tar.gz'", "not a readable tar archive",
            before=before)


def test_a_link_out_of_the_replay_folder_is_refused(home, tmp_path_factory):
    fixture = Path(__file__).parents[1] / "fixtures" / "traffic" / "sndlib_abilene4"
    folder, outside = home / "matrices", tmp_path_factory.mktemp("outside")
    folder.mkdir()
    xml = sorted(fixture.glob("*.xml"))
    for f in xml[:-1]:
        (folder / f.name).write_bytes(f.read_bytes())
    (outside / xml[-1].name).write_bytes(xml[-1].read_bytes())
    link = folder / xml[-1].name
    link.symlink_to(outside / xml[-1].name)
    topo = home / "abilene4.json"
    ids = ["ATLAng", "CHINng", "NYCMng", "WASHng"]
    topo.write_text(json.dumps({"nodes": [{"id": i} for i in ids],
                                "links": [{"u": a, "v": b, "capacity_mbps": 1e4} for a, b in zip(ids, ids[1:] + ids[:1])]}))
    refused(home, ["simulate", "--topology", str(topo), "--traffic", str(folder), "--steps", "2"],
            f"traffic file '{link}'", "outside the folder")
    link.unlink()  # the same folder without the link is read
    ok = netdrift(home, "simulate", "--topology", str(topo), "--traffic", str(folder), "--steps", "2")
    assert ok.returncode == 0, ok.stderr.decode()


def test_a_listener_that_is_not_ray_is_one_line_without_ray_logs(home):
    pytest.importorskip("ray")
    import http.server
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        address = f"127.0.0.1:{server.server_address[1]}"
        refused(home, SWEEP + ["--executor", "ray", "--ray-address", address], f"--ray-address '{address}'",
                "not a Ray head")
    finally:
        server.shutdown()
        server.server_close()
