"""Issue 14, hardening: each reproducer of "late or raw errors" and the save-time database error.

Every bad input ends with exit 2, one line naming the flag or file, no traceback, nothing written;
a finished run the database refuses is kept in a file; a closed stdout ends quietly.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.exc import OperationalError

from netdrift.cli.main import main
from netdrift.engine.network.loaders import load_topology, save_topology_json
from netdrift.engine.network.topology import Link, Node, Topology
from tests.helpers import one_line_error

ROOT = Path(__file__).parents[2]
TRAFFIC = ROOT / "tests" / "fixtures" / "traffic"
CSV = TRAFFIC / "long4.csv"  # 15-minute steps, 4 of them
SIM = ["simulate", "--topology", "abilene", "--steps", "12", "--step-minutes", "60", "--seed", "3"]
RUN = ["run", "--topology", "abilene", "--steps", "120", "--train-steps", "72", "--step-minutes", "60",
       "--window", "8", "--models", "persistence", "--seed", "1"]


@pytest.fixture
def no_simulation(monkeypatch):
    """Make any traffic generation fail loudly: a refusal must come before the work."""
    import netdrift.engine.traffic.sources

    def boom(*a, **k):
        raise AssertionError("the simulation started before the input was checked")

    monkeypatch.setattr(netdrift.engine.traffic.sources, "make_traffic", boom)


@pytest.fixture
def abilene4(tmp_path) -> Path:
    """The four nodes of the replay fixtures, as a netdrift JSON topology file."""
    ids = ["ATLAng", "CHINng", "NYCMng", "WASHng"]
    t = Topology("abilene4", tuple(Node(i, i) for i in ids),
                 (Link("l1", "ATLAng", "WASHng", 1e4), Link("l2", "WASHng", "NYCMng", 1e4),
                  Link("l3", "NYCMng", "CHINng", 1e4), Link("l4", "CHINng", "ATLAng", 1e4)))
    path = tmp_path / "abilene4.json"
    save_topology_json(t, path)
    return path


# --- 1. negative seeds --------------------------------------------------------------------------
def test_negative_seed_on_simulate_is_one_line(capsys):
    one_line_error(capsys, SIM[:-1] + ["-1"], "--seed", ">= 0", "-1")


def test_negative_seed_on_run_is_one_line_and_stores_nothing(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    one_line_error(capsys, RUN[:-1] + ["-1", "--db", f"sqlite:///{db}"], "--seed", ">= 0")
    one_line_error(capsys, RUN[:-1] + [str(2**64), "--db", f"sqlite:///{db}"], "--seed", "at most")
    assert main(["history", "list", "--json", "--db", f"sqlite:///{db}"]) == 0
    assert json.loads(capsys.readouterr().out) == []


# --- 2. a database error at save time keeps the result in a file --------------------------------
def _rows(db: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as con:
        return con.execute("select id, status from scenarios").fetchall()


def _check_kept(path_text: str, folder: Path) -> None:
    kept = sorted(folder.glob("netdrift-unsaved-*.npz"))
    assert len(kept) == 1 and str(kept[0]) in path_text
    assert f"netdrift history import {kept[0]}" in path_text  # the line says how to store it later
    with np.load(kept[0]) as z:
        assert z["actual"].shape == (120, 28)
        assert z["link_up"].shape == (120, 14) and z["dropped_mbps"].shape == (120,)
        assert z["forecast/persistence"].shape == (120, 28)
        assert np.isfinite(z["forecast/persistence"][100:]).all()
    summary = json.loads(kept[0].with_suffix(".json").read_text())
    assert summary["topology"]["name"] == "Abilene" and summary["seed"] == 1 and summary["train_steps"] == 72
    assert summary["not_stored_because"] and summary["metrics"]
    assert not list(folder.glob(".*tmp"))


def test_save_error_keeps_the_result_in_a_file_and_marks_the_row(tmp_path, capsys, monkeypatch):
    from netdrift.storage.repository import ScenarioRepository

    def refuse(self, scenario_id, result):
        raise OperationalError("INSERT INTO series ...", {}, sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(ScenarioRepository, "save_result", refuse)
    monkeypatch.setattr("netdrift.storage.retries.SAVE_RETRY_DELAYS_S", (0.01,))  # retried once, then kept in a file
    db = tmp_path / "h.sqlite"
    line = one_line_error(capsys, RUN + ["--db", f"sqlite:///{db}"], "database or disk is full", "netdrift-unsaved-")
    assert "INSERT" not in line
    _check_kept(line, tmp_path)
    assert _rows(db) == [(1, "interrupted")]


def test_a_write_lock_held_past_the_busy_timeout_keeps_the_result(tmp_path, capsys, monkeypatch):
    import netdrift.service.scenarios
    import netdrift.storage.database

    monkeypatch.setattr(netdrift.storage.database, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr("netdrift.storage.retries.SAVE_RETRY_DELAYS_S", (0.01,))
    db = tmp_path / "h.sqlite"
    holder: list[sqlite3.Connection] = []
    real_run_to_end = netdrift.service.scenarios.run_to_end

    def run_then_lock(*a, **k):
        result = real_run_to_end(*a, **k)
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")  # another writer holds the lock while the result is saved
        holder.append(con)
        return result

    monkeypatch.setattr(netdrift.service.scenarios, "run_to_end", run_then_lock)
    try:
        line = one_line_error(capsys, RUN + ["--db", f"sqlite:///{db}"], "database is locked", "netdrift-unsaved-")
    finally:
        for con in holder:
            con.rollback()
            con.close()
    _check_kept(line, tmp_path)
    assert [status for _, status in _rows(db)] != ["complete"]


# --- 3. --out checked before any work -----------------------------------------------------------
@pytest.mark.parametrize("make, needle", [
    (lambda tmp: (tmp / "loads.csv").mkdir() or tmp / "loads.csv", "is a folder"),
    (lambda tmp: (tmp / "file").write_text("x") and tmp / "file" / "loads.csv", "is not a folder"),
    (lambda tmp: Path("/proc/loads.csv"), "cannot write"),
])
def test_unwritable_out_is_refused_before_simulating(tmp_path, capsys, no_simulation, make, needle):
    out = make(tmp_path)
    one_line_error(capsys, SIM + ["--out", str(out)], "--out", needle)
    assert not list(tmp_path.glob(".*"))  # no probe or temporary file left


# --- 4. a closed stdout ends quietly ------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["simulate", "--topology", "abilene", "--steps", "12", "--step-minutes", "60"],
    ["simulate", "--topology", "abilene", "--steps", "12", "--step-minutes", "60", "--json"],
    ["topology", "info", "abilene"],
    ["topology", "list", "--json"],
    ["history", "list"],
])
def test_closed_stdout_ends_quietly(tmp_path, args):
    env = {**os.environ, "NETDRIFT_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "netdrift", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before anything is written (`| head` that already quit)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err


def test_print_json_to_a_closed_stdout():
    # A real pipe whose reader has gone (`netdrift ... --json | head -c0`): the child waits until
    # the parent has closed its end, then prints. Oracle: exit 0 and an empty stderr (an unhandled
    # BrokenPipeError, or the interpreter's failing last flush, would print there and exit 1 / 120).
    code = ("import sys\nfrom netdrift.cli.common import print_json\nsys.stdin.readline()\n"
            "print_json({'a': list(range(20000))})\nprint('later output goes nowhere')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
    child.stdout.close()  # the reader goes away before anything is written
    _, err = child.communicate(b"go\n", timeout=120)
    assert err.decode() == ""
    assert child.returncode == 0


# --- 5. replay data and --steps / --step-minutes ------------------------------------------------
def test_replay_shorter_than_steps_is_refused(capsys, abilene4):
    one_line_error(capsys, ["simulate", "--topology", str(abilene4), "--traffic", str(CSV), "--steps", "100"],
                   "--traffic", str(CSV), "has 4 steps", "100 steps asked")


def test_step_minutes_that_differ_from_the_replay_are_refused(capsys, abilene4):
    one_line_error(capsys, ["simulate", "--topology", str(abilene4), "--traffic", str(CSV), "--steps", "4",
                            "--step-minutes", "60"], "--step-minutes", "60", "15 minutes")


def test_replay_without_step_minutes_keeps_the_files_step(capsys, abilene4):
    assert main(["simulate", "--topology", str(abilene4), "--traffic", str(CSV), "--steps", "3", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["steps"] == 3 and s["step_minutes"] == 15.0
    assert main(["simulate", "--topology", str(abilene4), "--traffic", str(CSV), "--steps", "3",
                 "--step-minutes", "15", "--json"]) == 0
    capsys.readouterr()


def test_run_refuses_step_minutes_that_differ_from_the_replay_before_any_work(tmp_path, capsys, abilene4):
    db = tmp_path / "h.sqlite"
    one_line_error(capsys, ["run", "--topology", str(abilene4), "--traffic", str(CSV), "--steps", "4",
                            "--train-steps", "2", "--step-minutes", "60", "--db", f"sqlite:///{db}"],
                   "--step-minutes: 60 does not match the replayed traffic", "15 minutes")
    assert not db.exists()  # refused before the history was opened


def test_run_with_the_replays_own_step_minutes_gets_past_the_check(tmp_path, capsys, abilene4):
    # 15 is the data's step: accepted; the run then stops at the replay's length (4 < 100 steps)
    one_line_error(capsys, ["run", "--topology", str(abilene4), "--traffic", str(CSV), "--steps", "100",
                            "--train-steps", "50", "--step-minutes", "15", "--db", f"sqlite:///{tmp_path}/h.sqlite"],
                   "--traffic", "has 4 steps, fewer than the 100 steps asked")


def test_step_minutes_is_the_step_of_a_single_interval_replay(tmp_path, capsys, abilene4):
    one = tmp_path / "one.csv"
    one.write_text("time,src,dst,mbps\n2024-01-01T00:00,ATLAng,CHINng,5\n")
    one_line_error(capsys, ["simulate", "--topology", str(abilene4), "--traffic", str(one), "--steps", "1"],
                   "--traffic", "only one interval")
    assert main(["simulate", "--topology", str(abilene4), "--traffic", str(one), "--steps", "1",
                 "--step-minutes", "10", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["steps"] == 1 and s["step_minutes"] == 10.0


def test_synthetic_traffic_needs_step_minutes(capsys, no_simulation):
    one_line_error(capsys, ["simulate", "--topology", "abilene", "--steps", "12"], "--step-minutes", "synthetic")


# --- 6. history show names the topology ---------------------------------------------------------
def test_history_show_names_the_topology(tmp_path, capsys):
    db = f"sqlite:///{tmp_path}/h.sqlite"
    assert main(RUN + ["--db", db, "--json"]) == 0
    sid = json.loads(capsys.readouterr().out)["scenario_id"]
    assert main(["history", "show", str(sid), "--db", db]) == 0
    out = capsys.readouterr().out
    assert "topology: Abilene" in out.splitlines()
    assert main(["history", "show", str(sid), "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["topology"] == "Abilene"


# --- 7. a piped topology ------------------------------------------------------------------------
def test_topology_from_a_pipe(tmp_path, capsys):
    fifo = tmp_path / "topology.pipe"
    os.mkfifo(fifo)
    data = (ROOT / "sample_topologies" / "Abilene.graphml").read_bytes()

    def feed():
        try:
            with open(fifo, "wb") as f:
                f.write(data)
        except OSError:  # the reader never read it (the failure is reported by the main thread)
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        assert main(["topology", "info", str(fifo)]) == 0
    finally:
        if writer.is_alive():  # nobody opened the pipe: open and close it so the writer ends
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(timeout=10)
    assert "11 nodes, 14 links" in capsys.readouterr().out


def test_topology_from_dev_stdin():
    data = (ROOT / "sample_topologies" / "Abilene.graphml").read_bytes()
    proc = subprocess.run([sys.executable, "-m", "netdrift", "topology", "info", "/dev/stdin"], cwd=ROOT, input=data,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"11 nodes, 14 links" in proc.stdout


def test_an_empty_pipe_is_not_called_missing():
    proc = subprocess.run([sys.executable, "-m", "netdrift", "topology", "info", "/dev/stdin"], cwd=ROOT, input=b"",
                          capture_output=True, timeout=120)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and len(err.strip().splitlines()) == 1
    assert "no such file" not in err and "not a regular file" in err


# --- 8. the same link failed twice --------------------------------------------------------------
@pytest.mark.parametrize("fails", [["0-1@3", "0-1@5"], ["0-1@3:8", "0-1@5"], ["0@2", "0@4:6"]])
def test_failing_an_element_that_is_down_is_refused(capsys, no_simulation, fails):
    args = SIM + [a for f in fails for a in ("--fail", f)]
    one_line_error(capsys, args, "--fail", "already down")


def test_failing_again_after_a_restore_is_accepted(capsys):
    assert main(SIM + ["--fail", "0-1@3:5", "--fail", "0-1@5", "--fail", "0-1@1:2", "--json"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert [(e["step"], e["action"]) for e in events] == [(1, "fail"), (2, "restore"), (3, "fail"),
                                                        (5, "fail"), (5, "restore")]


def test_abilene_link_ids_used_above_exist():
    ids = {l.id for l in load_topology("abilene").links}
    assert "0-1" in ids
