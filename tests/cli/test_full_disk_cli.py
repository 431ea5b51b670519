"""Issue 22, full disks: `simulate --out`, `sweep --out`, `run --db` and `history import` on a real
full filesystem (a small tmpfs mounted for the test; we run as root), each a real `netdrift`
process: one line, exit 2, no partial file; a finished run is never lost (its recovery file falls
back to the data folder, then the temporary folder) and is imported complete elsewhere."""

from __future__ import annotations

import errno
import os
import subprocess
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from tests.cli.test_reproducers import netdrift, netdrift_command, refused
from tests.cli.test_reproducers_round3 import RUN, SIM, SWEEP


@pytest.fixture
def home(tmp_path) -> Path:
    """An empty working folder with an empty data folder (where the default history lives)."""
    (tmp_path / "data").mkdir()
    return tmp_path


# --- 2. full disks: one line, exit 2, nothing half-written, a finished run never lost ---------
@pytest.fixture
def tmpfs(tmp_path):
    """``make(name, size)``: a real tmpfs of ``size`` mounted at ``tmp_path/name`` (we run as
    root); unmounted afterwards. Skipped, saying why, where mounting is not permitted."""
    mounted: list[Path] = []

    def make(name: str, size: str = "64k") -> Path:
        folder = tmp_path / name
        folder.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=1777", "tmpfs", str(folder)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or proc.returncode}); the full-disk "
                        "tests need a real full filesystem")
        mounted.append(folder)
        return folder

    yield make
    for folder in reversed(mounted):
        subprocess.run(["umount", str(folder)], check=False)


def fill(folder: Path, leave: int = 0) -> None:
    """Write zeros into ``folder`` until the filesystem is full, then free ``leave`` bytes."""
    with open(folder / "fill", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as err:
            assert err.errno == errno.ENOSPC
    if leave:
        os.truncate(folder / "fill", (folder / "fill").stat().st_size - leave)


def one_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    err = proc.stderr.decode()
    lines = [ln for ln in err.splitlines() if not ln.startswith("[")]  # progress lines start with [ xx.x%]
    assert proc.returncode == 2, err
    assert len(lines) == 1 and lines[0].startswith("netdrift: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("name", ["loads.csv", "loads.parquet"])
def test_simulate_out_on_a_full_disk(home, tmpfs, name):
    full = tmpfs("full")
    fill(full)
    out = full / name
    refused(home, SIM + ["--step-minutes", "5", "--out", str(out)], f"--out '{out}'", "No space left on device")
    assert sorted(p.name for p in full.iterdir()) == ["fill"]  # no partial or temporary file


def test_sweep_out_on_a_full_disk(home, tmpfs):
    full = tmpfs("full")
    fill(full)
    out = full / "sweep.csv"
    line = one_line(netdrift(home, *SWEEP, "--out", str(out)), f"--out '{out}'", "No space left on device",
                    "stored as sweep 1")
    assert "Warning" not in line
    assert sorted(p.name for p in full.iterdir()) == ["fill"]
    listed = netdrift(home, "history", "list", "--sweeps")
    assert listed.returncode == 0 and "1 " in listed.stdout.decode()


def test_recovery_file_falls_back_to_the_data_folder_then_the_temporary_folder(tmpfs, tmp_path):
    from netdrift.engine.network.loaders import load_topology as load
    from netdrift.engine.results import ScenarioResult
    from netdrift.service.recovery import read_unsaved, write_unsaved_somewhere

    topo = load("abilene")
    steps, d = 40, topo.n_directions
    rng = np.random.default_rng(0)
    result = ScenarioResult(topology=topo, config={"steps": steps}, seed=0, events=[], step_minutes=5.0,
                            start=datetime(2024, 1, 1), train_steps=10, actual=rng.random((steps, d)),
                            forecasts={"persistence": rng.random((steps, d))},
                            link_up=np.ones((steps, len(topo.links)), bool), dropped_mbps=np.zeros(steps),
                            metrics=[])
    beside_db, data, temp = tmpfs("db"), tmpfs("data"), tmp_path / "tmp"
    temp.mkdir()
    fill(beside_db)
    path, refused_there = write_unsaved_somewhere(result, [beside_db, data, temp], 7, "disk full")
    assert path.parent == data and refused_there == [f"{beside_db}: No space left on device"]
    fill(data)
    path2, refused_there = write_unsaved_somewhere(result, [beside_db, data, temp], 7, "disk full")
    assert path2.parent == temp and len(refused_there) == 2
    assert sorted(p.name for p in beside_db.iterdir()) == ["fill"]  # nothing half-written where it failed
    back = read_unsaved(path2).result
    assert np.array_equal(back.actual, result.actual)
    assert np.array_equal(back.forecasts["persistence"], result.forecasts["persistence"])


@pytest.mark.slow
def test_run_on_a_full_disk_is_kept_and_imported_complete(tmpfs, tmp_path):
    """`run --db` on a full disk (the database's disk and the data folder full): the finished run
    is kept in the temporary folder, the line says where; `history import` into the full database
    is one line; into another database it is stored complete, equal to the file."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from netdrift.storage.repository import ScenarioRepository

    dbfs, data, temp = tmpfs("dbfs", "2m"), tmpfs("data"), tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "NETDRIFT_DATA_DIR": str(data), "TMPDIR": str(temp)}
    db = f"sqlite:///{dbfs}/h.sqlite"

    def nd(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(netdrift_command() + list(args), cwd=tmp_path, env=env, capture_output=True, timeout=300)

    small = RUN + ["--step-minutes", "60", "--db", db]
    assert nd(*small).returncode == 0  # the database exists, then its disk fills up
    fill(dbfs, leave=48 * 1024)  # room for the scenario's row, not for its 1500 steps of series
    fill(data)
    big = small[:]
    big[big.index("--steps") + 1] = "1500"
    line = one_line(nd(*big), "scenario 2", "could not be stored (database or disk is full)",
                    f"{dbfs}: No space left on device", f"{data}: No space left on device")
    kept = sorted(temp.glob("netdrift-unsaved-*-scenario2.npz"))
    assert len(kept) == 1 and f"kept in {kept[0]}" in line and f"netdrift history import {kept[0]}" in line

    one_line(nd("history", "import", str(kept[0]), "--db", db), f"recovery file '{kept[0]}'",
             "database or disk is full", "nothing was stored")
    other = tmp_path / "other.sqlite"
    done = nd("history", "import", str(kept[0]), "--db", f"sqlite:///{other}")
    assert done.returncode == 0, done.stderr.decode()
    with np.load(kept[0]) as z:
        actual, forecast = z["actual"], z["forecast/persistence"]
    assert actual.shape == (1500, 28)
    with sessionmaker(bind=create_engine(f"sqlite:///{other}"))() as s:
        repo = ScenarioRepository(s)
        (sid,) = [row.id for row in repo.list_scenarios()]
        assert repo.get_scenario(sid).status == "complete"
        back = repo.load_result(sid)
    np.testing.assert_allclose(back.actual, actual, rtol=1e-6)
    np.testing.assert_allclose(back.forecasts["persistence"], forecast, rtol=1e-6, equal_nan=True)
