"""Records the behaviour-preservation reference: one fixed `netdrift run`, its JSON and its stored series.

Run once before a restructuring (``python tests/golden/record_golden.py``); the test
``tests/golden/test_golden_run.py`` then runs the same command on the restructured code and
compares. The reference was recorded from the code *before* the model-protocol / evaluation-loop
restructuring (issue 8), so it is an independent oracle for that change, not the code under test
checking itself. Re-record only for a deliberate change of numbers, and say so in the commit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
#: A drastic Geant2001 failure (2-7), every model, a fixed seed; short settings so it runs in CI.
ARGS = [
    "run", "--topology", "geant2001", "--steps", "480", "--train-steps", "300", "--step-minutes", "15",
    "--fail", "2-7@330", "--fail", "8-9@400:440", "--models", "liquid,incremental,persistence,seasonal,frozen",
    "--window", "12", "--horizon", "2", "--epochs", "2", "--train-windows", "256", "--il-batch", "24",
    "--il-window", "96", "--seed", "7", "--device", "cpu", "--json",
    "--residual", "off",  # the paper form, recorded before residual learning existed (issue 19)
]
#: Fields of the run JSON that depend on the machine's speed, not on the numbers.
TIMING_FIELDS = ("fit_seconds", "predict_ms_per_step")


def run_and_collect(db_url: str) -> tuple[dict, dict[str, np.ndarray]]:
    """Run the fixed scenario through the CLI into ``db_url``; (run JSON, stored series)."""
    from netdrift.storage.database import open_database
    from netdrift.storage.repository import ScenarioRepository

    proc = subprocess.run([sys.executable, "-m", "netdrift", *ARGS, "--db", db_url], capture_output=True, text=True,
                          env={"NETDRIFT_TORCH_THREADS": "1", "PATH": "/usr/bin:/bin"}, cwd=HERE.parents[1])
    if proc.returncode != 0:
        raise RuntimeError(f"netdrift run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout)
    Session = open_database(db_url)
    with Session() as s:
        result = ScenarioRepository(s).load_result(out["scenario_id"])
    series = {"actual": result.actual, "link_up": result.link_up.astype(np.int8), "dropped": result.dropped_mbps}
    series.update({f"forecast_{k}": v for k, v in result.forecasts.items()})
    return out, series


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out, series = run_and_collect(f"sqlite:///{tmp}/golden.sqlite")
    for m in out["models"].values():
        for f in TIMING_FIELDS:
            m.pop(f, None)
    keep = {k: out[k] for k in ("topology", "steps", "train_steps", "events", "models")}
    (HERE / "golden_run.json").write_text(json.dumps(keep, indent=1, sort_keys=True))
    np.savez_compressed(HERE / "golden_series.npz", **series)
    print(json.dumps(keep["models"], indent=1))


if __name__ == "__main__":
    main()
