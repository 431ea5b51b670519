"""Every `netdrift ...` command shown in README.md's ```bash blocks runs, so the README cannot drift
from the CLI (issue 14).

Each command runs as a real `netdrift` process in a temporary folder with its own data directory
(so its own history), in README order (the runs store the scenario `history show 1` shows).
Long commands run with the shortened arguments stated in SHORTENED, keyed by the command as the
README writes it; a README command missing from the table fails the test, so that a new one gets
its arguments stated here. The files the README names (my-network.graphml, traffic.csv,
sndlib-matrices.tar.gz) are written by this test.
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from netdrift.engine.network.loaders import load_topology

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

#: Not run here, with the reason.
SKIPPED = {
    "netdrift dashboard": "starts a long-running web server; the browser tests (tests/e2e) cover it",
    "netdrift deduce --topology my-network.graphml --link-loads http://":
        "needs a Prometheus server with the operator's counters; tests/prometheus runs it against a real one",
    "netdrift exporter --port": "starts a long-running server; tests/prometheus has a real Prometheus scrape it",
}

_FAST_MODELS = {"--epochs": "1", "--train-windows": "256", "--window": "8", "--ltc-epochs": "1", "--ltc-unfolds": "1"}

#: README command (as written, continuation lines joined, comments dropped) -> flags replaced (or
#: added when the command lacks them); a list value replaces every occurrence of a repeated flag.
#: The shortened runs keep each command's shape: the same flags, failures inside the shorter run.
SHORTENED: dict[str, dict[str, str | list[str]]] = {
    "netdrift topology list": {},
    "netdrift topology info geant2012 --json": {},
    "netdrift topology info my-network.graphml --weights distance": {},
    "netdrift simulate --topology cogentco --steps 4032 --step-minutes 5 --seed 1 --fail 0-9@2000:3000 --fail 12@2500 "
    "--out loads.parquet --json": {"--steps": "400", "--fail": ["0-9@200:300", "12@250"]},
    "netdrift simulate --topology abilene --traffic traffic.csv --steps 288": {},
    "netdrift simulate --topology geant2001 --traffic sndlib-matrices.tar.gz --steps 2016": {"--steps": "12"},
    "netdrift run --topology geant2001 --steps 4032 --train-steps 2016 --fail 2-7@2160 --models "
    "liquid,incremental,persistence,seasonal,frozen --liquid-cell cfc --il-batch 48 --json":
        {"--steps": "400", "--train-steps": "300", "--fail": "2-7@320", **_FAST_MODELS},
    "netdrift history list": {},
    "netdrift history show 1 --json": {},
    "netdrift paper": {"--steps": "192", "--train-steps": "96", "--step-minutes": "60", "--batch-sizes": "12",
                       "--il-windows": "48", "--per-class": "1", **_FAST_MODELS},
    "netdrift sweep --topology cogentco --steps 288 --kind link --from 0 --to 288 --top 10 --out sweep.csv":
        {"--steps": "48", "--to": "48"},
    "netdrift sweep --topology geant2012 --steps 600 --kind link --from 576 --forecast routed-seasonal --horizon 12": {},
    "netdrift sweep --topology geant2012 --steps 288 --kind link-pairs --from 0 --to 288 --executor ray --workers 2":
        {"--steps": "48", "--to": "48"},
    "netdrift history list --sweeps": {},
    "netdrift plan --topology geant2012 --steps 2016 --step-minutes 15 --horizon-days 90 --growth 0.3 --survive link "
    "--target-utilization 0.8 --modules 10000,40000,100000 --out-topology up.json --out-demands d.csv --json": {},
    "netdrift sweep --topology up.json --traffic d.csv --steps 672 --kind link --from 0 --to 672 --top 0 --json": {},
    "netdrift exporter --once": {},
    "netdrift simulate --topology geant2001 --steps 288 --step-minutes 5 --seed 2 --out loads.csv": {"--steps": "48"},
    "netdrift deduce --topology geant2001 --link-loads loads.csv --out demands.csv --json": {},
    "netdrift sweep --topology geant2001 --link-loads loads.csv --steps 288 --kind link --from 0 --to 288 --top 5 "
    "--bounds":
        {"--steps": "48", "--to": "48"},
    "netdrift run --topology geant2001 --steps 4032 --train-steps 2016 --fail 2-7@2304 --seeds 3 --json":
        {"--steps": "400", "--train-steps": "300", "--fail": "2-7@320", "--seeds": "2",
         "--models": "persistence,frozen", **_FAST_MODELS},
    "netdrift run --topology geant2001 --steps 4032 --train-steps 2016 --fail 2-7@2160 --horizon 12 --models "
    "liquid,incremental,frozen,persistence,routed-liquid,routed-incremental,routed-frozen,routed-persistence "
    "--observe links --json": {"--steps": "400", "--train-steps": "300", "--fail": "2-7@320", **_FAST_MODELS},
}


def readme_commands() -> list[str]:
    """The `netdrift ...` commands of README.md's ```bash blocks, in order."""
    commands, in_bash, pending = [], False, ""
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_bash = line.strip() == "```bash"
            continue
        if not in_bash:
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        words = shlex.split(pending, comments=True)
        pending = ""
        if words and words[0] == "netdrift":
            commands.append(" ".join(words))
    return commands


def shortened(command: str) -> list[str]:
    """``command``'s words with SHORTENED's replacements."""
    words = shlex.split(command)
    for flag, value in SHORTENED[command].items():
        values = list(value) if isinstance(value, list) else [value]
        at = [i for i, w in enumerate(words) if w == flag]
        if isinstance(value, list):
            assert len(at) == len(values), f"{flag} occurs {len(at)} times in {command!r}"
        for i, v in zip(at, values):
            words[i + 1] = v
        if not at:
            words += [flag, values[0]]
    return words


def write_readme_files(folder: Path) -> None:
    """The input files the README's commands name, for the topologies they use."""
    shutil.copy(ROOT / "sample_topologies" / "Abilene.graphml", folder / "my-network.graphml")
    ids = [n.id for n in load_topology("abilene").nodes]
    rows = ["time,src,dst,mbps"]
    for step in range(288):  # one day of 5-minute intervals, every pair
        hh, mm = divmod(5 * step, 60)
        rows += [f"2024-01-01T{hh:02d}:{mm:02d},{a},{b},{1 + (step + i + j) % 50}"
                 for i, a in enumerate(ids) for j, b in enumerate(ids) if a != b]
    (folder / "traffic.csv").write_text("\n".join(rows) + "\n")
    ids = [n.id for n in load_topology("geant2001").nodes]
    with tarfile.open(folder / "sndlib-matrices.tar.gz", "w:gz") as tar:
        for step in range(12):
            when = f"20050504-{(5 * step) // 60:02d}{(5 * step) % 60:02d}"
            body = "".join(f'<demand id="{a}_{b}"><source>{a}</source><target>{b}</target>'
                           f"<demandValue>{10 + step}</demandValue></demand>" for a, b in zip(ids, ids[1:]))
            data = (f'<?xml version="1.0"?><network xmlns="http://sndlib.zib.de/network"><meta><time>{when}</time>'
                    f"</meta><demands>{body}</demands></network>").encode()
            info = tarfile.TarInfo(f"matrices/demandMatrix-{when}.xml")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_the_readme_shows_commands_and_each_has_its_arguments_stated():
    commands = readme_commands()
    assert len(commands) >= 10
    unknown = [c for c in commands if c not in SHORTENED and not any(c.startswith(s) for s in SKIPPED)]
    assert not unknown, f"README commands without arguments stated in SHORTENED: {unknown}"


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path):
    write_readme_files(tmp_path)
    env = {**os.environ, "NETDRIFT_DATA_DIR": str(tmp_path / "data")}
    script = Path(sys.executable).with_name("netdrift")
    exe = [str(script)] if script.exists() else [sys.executable, "-m", "netdrift"]
    failures = []
    for command in readme_commands():
        if any(command.startswith(s) for s in SKIPPED):
            continue
        words = shortened(command)
        proc = subprocess.run(exe + words[1:], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            failures.append(f"{' '.join(words)} -> exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
        elif "Traceback" in proc.stderr:
            failures.append(f"{' '.join(words)}: traceback on stderr")
    assert not failures, "\n".join(failures)
    assert (tmp_path / "loads.parquet").exists() and (tmp_path / "sweep.csv").exists()
    listed = subprocess.run(exe + ["history", "list"], cwd=tmp_path, env=env, capture_output=True, text=True).stdout
    assert "Geant2001" in listed and "complete" in listed  # the runs were stored where the README says
