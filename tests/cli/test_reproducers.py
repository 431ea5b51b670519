"""Issue 14's reproducers (items 1, 2, 4, 5 of its list), each run as a real `netdrift` process.

A bad input ends with exit 2, exactly one line on stderr naming the input, no traceback, and
nothing written: no output file, no database, nothing in the data directory. A reader that closes
stdout early ends the command quietly with exit 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "tests" / "fixtures" / "traffic" / "long4.csv"  # 4 steps of 15 minutes, abilene4's nodes
ABILENE = ROOT / "sample_topologies" / "Abilene.graphml"
SIM = ["simulate", "--topology", "abilene", "--steps", "12", "--step-minutes", "60"]
RUN = ["run", "--topology", "abilene", "--steps", "120", "--train-steps", "72", "--step-minutes", "60",
       "--window", "8", "--models", "persistence"]


def netdrift_command() -> list[str]:
    """The installed console script beside this interpreter, else the package's module."""
    script = Path(sys.executable).with_name("netdrift")
    return [str(script)] if script.exists() else [sys.executable, "-m", "netdrift"]


@pytest.fixture
def home(tmp_path) -> Path:
    """An empty working folder with an empty data directory (where the default history lives)."""
    (tmp_path / "data").mkdir()
    return tmp_path


def netdrift(home: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NETDRIFT_DATA_DIR": str(home / "data")}
    env.pop("NETDRIFT_MAX_MEMORY", None)
    return subprocess.run(netdrift_command() + list(args), cwd=home, env=env, input=stdin, capture_output=True,
                          timeout=300)


def refused(home: Path, args: list[str], *needles: str, before: set[Path] | None = None) -> str:
    """Assert the reproducer is refused in one line holding every needle, writing nothing."""
    existing = set(home.rglob("*")) if before is None else before
    proc = netdrift(home, *args)
    err = proc.stderr.decode()
    lines = err.strip().splitlines()
    assert proc.returncode == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err and "Warning" not in err
    assert lines[0].startswith("netdrift: error: ")
    for n in needles:
        assert n in lines[0], lines[0]
    assert proc.stdout == b""
    assert set(home.rglob("*")) == existing  # no output, temporary or database file left
    return lines[0]


@pytest.fixture
def abilene4(home) -> Path:
    """The four nodes of the CSV fixture, as a netdrift JSON topology."""
    ids = ["ATLAng", "CHINng", "NYCMng", "WASHng"]
    links = [{"u": a, "v": b, "capacity_mbps": 1e4} for a, b in zip(ids, ids[1:] + ids[:1])]
    path = home / "abilene4.json"
    path.write_text(json.dumps({"nodes": [{"id": i} for i in ids], "links": links}))
    return path


# --- 1. synthetic traffic without a size check ------------------------------------------------
def big_graphml(path: Path, n: int = 198_000) -> Path:
    """A ring of ``n`` routers, labelled: 19 MB for 198,000 nodes, under the 20 MiB upload limit."""
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
                '<key attr.name="label" attr.type="string" for="node" id="d0"/>\n'
                '<graph edgedefault="undirected">\n')
        f.write("".join(f'<node id="{i}"><data key="d0">R{i}</data></node>\n' for i in range(n)))
        f.write("".join(f'<edge source="{i}" target="{(i + 1) % n}"></edge>\n' for i in range(n)))
        f.write("</graph></graphml>\n")
    return path


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> Path:
    return big_graphml(tmp_path_factory.mktemp("big") / "big.graphml")


@pytest.mark.parametrize("command", ["simulate", "run"])
def test_198k_node_graphml_refused_before_loading(home, big_file, command):
    path = big_file
    assert 18e6 < path.stat().st_size < 20 * 1024**2
    args = (SIM if command == "simulate" else RUN)[:]
    args[args.index("--topology") + 1] = str(path)
    refused(home, args, f"synthetic traffic on '{path}'", "198000 nodes counted before loading",
            "over the memory budget")


@pytest.mark.parametrize("command", ["simulate", "run"])
def test_absurd_steps_refused(home, command):
    args = (SIM if command == "simulate" else RUN)[:]
    args[args.index("--steps") + 1] = "99999999999"
    if command == "run":
        args[args.index("--train-steps") + 1] = "72"
    refused(home, args, "--steps", "at most 5000000", "99999999999")  # bounded since issue 22


# --- 2. a CSV larger than the budget ---------------------------------------------------------
def test_csv_replay_over_the_budget(home, abilene4):
    refused(home, ["simulate", "--topology", str(abilene4), "--traffic", str(CSV), "--steps", "4",
                   "--max-memory", "64M"],
            f"--traffic '{CSV}'", "4 steps x 4 pairs", "over the memory budget of 64 MiB")


# --- 4. values above float32's range --------------------------------------------------------
def test_demand_above_float32(home, abilene4):
    csv = home / "huge.csv"
    csv.write_text("time,src,dst,mbps\n2024-01-01T00:00,ATLAng,CHINng,5\n2024-01-01T00:05,CHINng,ATLAng,1e39\n")
    refused(home, ["simulate", "--topology", str(abilene4), "--traffic", str(csv), "--steps", "2"],
            f"--traffic '{csv}': line 3: mbps 1e39 is above the largest demand accepted")


@pytest.mark.parametrize("full_form", [False, True])
def test_capacity_above_float32(home, full_form):
    link = {"u": "a", "v": "b", "capacity_mbps": 1e39}
    if full_form:
        link.update(id="a-b", weight=1, length_km=None)
    topo = home / "t.json"
    topo.write_text(json.dumps({"nodes": [{"id": "a"}, {"id": "b"}], "links": [link]}))
    refused(home, ["simulate", "--topology", str(topo), "--steps", "4", "--step-minutes", "5"],
            f"topology file '{topo}'", "above the largest accepted", "float32")


# --- 5. late or raw errors --------------------------------------------------------------------
@pytest.mark.parametrize("args", [SIM, RUN], ids=["simulate", "run"])
def test_negative_seed(home, args):
    refused(home, args + ["--seed", "-1"], "--seed", "-1")


def test_out_to_an_unwritable_place(home):
    refused(home, SIM + ["--out", "/proc/loads.csv"], "--out '/proc/loads.csv'", "cannot write")


def test_out_to_a_folder(home):
    (home / "loads.csv").mkdir()
    refused(home, SIM + ["--out", "loads.csv"], "--out 'loads.csv'", "is a folder")


@pytest.mark.parametrize("args", [SIM + ["--json"], ["topology", "info", "cogentco", "--json"], ["history", "list"]])
def test_closed_stdout_ends_quietly(home, args):
    env = {**os.environ, "NETDRIFT_DATA_DIR": str(home / "data")}
    proc = subprocess.Popen(netdrift_command() + args, cwd=home, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # `| head` that has already quit: the first write gets EPIPE
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=300) == 0, err
    assert err == "", err


def test_replay_shorter_than_steps(home, abilene4):
    refused(home, ["simulate", "--topology", str(abilene4), "--traffic", str(CSV), "--steps", "100"],
            f"--traffic '{CSV}'", "has 4 steps, fewer than the 100 steps asked")


@pytest.mark.parametrize("command", ["simulate", "run"])
def test_step_minutes_contradicting_the_replay(home, abilene4, command):
    args = ["--topology", str(abilene4), "--traffic", str(CSV), "--steps", "4", "--step-minutes", "60"]
    if command == "run":
        args += ["--train-steps", "2"]
    refused(home, [command] + args, "--step-minutes: 60 does not match the replayed traffic", "15 minutes")


def test_the_same_link_failed_twice(home):
    refused(home, SIM + ["--fail", "0-1@3", "--fail", "0-1@5"], "--fail", "0-1", "already down")


def test_history_show_names_the_topology(home):
    run = netdrift(home, *RUN, "--seed", "1", "--json")
    assert run.returncode == 0, run.stderr.decode()
    sid = json.loads(run.stdout)["scenario_id"]
    show = netdrift(home, "history", "show", str(sid))
    assert show.returncode == 0 and "topology: Abilene" in show.stdout.decode().splitlines()


def test_piped_topology(home):
    proc = netdrift(home, "topology", "info", "/dev/stdin", stdin=ABILENE.read_bytes())
    assert proc.returncode == 0, proc.stderr.decode()
    assert "11 nodes, 14 links" in proc.stdout.decode() and proc.stderr == b""


@pytest.mark.parametrize("extra, needles", [
    (["--fail", "nosuch@100"], ("--fail", "nosuch")),
    (["--models", "persistence,bogus"], ("model 'bogus'", "unknown")),
    (["--train-steps", "4"], ("--train-steps",)),
])
def test_a_refused_run_opens_no_history(home, extra, needles):
    # found by this file: the history (a SQLite file in the data directory) used to be opened first
    i = RUN.index("--train-steps")
    base = RUN[:i] + RUN[i + 2:] if "--train-steps" in extra else RUN
    refused(home, base + extra, *needles)
    assert not list((home / "data").iterdir())
