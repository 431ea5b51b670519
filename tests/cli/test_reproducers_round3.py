"""Issue 22's reproducers (hardening, round three), each run as a real `netdrift` process.

A bad input ends with exit 2, exactly one stderr line naming the input, no traceback, no
warning, and nothing written anywhere (no output file, no database, nothing in the data folder).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.traffic.series import TrafficMatrixSeries
from netdrift.engine.traffic.synthetic import synthetic_traffic
from netdrift.engine.traffic.time_grid import MAX_STEP_MINUTES, MAX_STEPS
from tests.cli.test_reproducers import netdrift, refused

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
