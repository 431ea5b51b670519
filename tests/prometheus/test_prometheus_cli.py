"""`--link-loads http://HOST:PORT` through the CLI against a real Prometheus: the same loads (and the
same deduced demands) as the CSV of the same counters; a bad source is one line, exit 2, nothing
written."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netdrift.engine.network.loaders import topology_to_dict
from netdrift.engine.traffic.link_load_csv import load_link_loads_csv
from netdrift.engine.traffic.prometheus_mapping import mapping_from_rows
from netdrift.engine.traffic.prometheus_source import read_prometheus
from tests.prometheus.conftest import RING, STEP_S, T0, Interface, mapping_rows
from tests.prometheus.test_prometheus_source import WHOLE

START = "2024-01-01T00:00:00Z"
END = "2024-01-01T02:55:00Z"  # 36 steps: every interval between two samples
RESET_STEP = 19  # c's interface to d restarts from zero at sample 20


def counters_csv(history: dict[Interface, np.ndarray], path: Path) -> Path:
    """The backfilled counters as the CSV reader's `time,src,dst,interface,octets` (LAG members by interface)."""
    dst_of = {(lk.id, lk.u): lk.v for lk in RING.links} | {(lk.id, lk.v): lk.u for lk in RING.links}
    rows = [(datetime.fromtimestamp(T0 + k * STEP_S, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), itf.src,
             dst_of[(itf.link, itf.src)], f"{itf.instance}:{itf.if_name}", int(v))
            for itf, counter in history.items() for k, v in enumerate(counter)]
    frame = pd.DataFrame(rows, columns=["time", "src", "dst", "interface", "octets"]).sort_values("time", kind="stable")
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def files(tmp_path: Path, ring_history) -> dict[str, Path]:
    (tmp_path / "ring.json").write_text(json.dumps(topology_to_dict(RING)))
    pd.DataFrame(mapping_rows()).to_csv(tmp_path / "interfaces.csv", index=False)
    counters_csv(ring_history, tmp_path / "counters.csv")
    return {"topology": tmp_path / "ring.json", "mapping": tmp_path / "interfaces.csv",
            "csv": tmp_path / "counters.csv", "folder": tmp_path}


def test_prometheus_gives_the_loads_of_the_csv_path(backfilled, files):
    """Every step equal, but the reset: the CSV reader leaves the step of a reset a gap (documented in
    link_load_csv), Prometheus's rate() counts the new value from zero."""
    from_prom = read_prometheus(backfilled.url, RING, mapping_from_rows(mapping_rows(), RING), WHOLE)
    from_csv = load_link_loads_csv(files["csv"], RING)
    assert (from_csv.steps, from_csv.step_minutes, from_csv.start) == (from_prom.steps, 5.0, from_prom.start)
    reset = RING.direction_index("c-d", "c")
    assert np.isnan(from_csv.loads[RESET_STEP, reset]) and np.isfinite(from_prom.loads[RESET_STEP, reset])
    keep = np.ones_like(from_csv.loads, dtype=bool)
    keep[RESET_STEP, reset] = False
    assert np.isfinite(from_csv.loads[keep]).all()
    np.testing.assert_allclose(from_prom.loads[keep], from_csv.loads[keep], rtol=1e-6)


def netdrift(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netdrift", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env={**__import__("os").environ, "NETDRIFT_DATA_DIR": str(cwd / "data")})


@pytest.mark.slow  # two netdrift processes: about 6 s
def test_deduce_from_prometheus_equals_deduce_from_the_csv(backfilled, files):
    folder = files["folder"]
    common = ["deduce", "--topology", files["topology"], "--deduce", "tomogravity", "--json"]
    prom = netdrift(*common, "--link-loads", backfilled.url, "--prom-mapping", files["mapping"],
                    "--prom-start", START, "--prom-end", END, "--out", folder / "prom.csv", cwd=folder)
    assert prom.returncode == 0, prom.stderr
    csv = netdrift(*common, "--link-loads", files["csv"], "--out", folder / "csv.csv", cwd=folder)
    assert csv.returncode == 0, csv.stderr
    a, b = pd.read_csv(folder / "prom.csv"), pd.read_csv(folder / "csv.csv")
    assert list(a.columns) == ["time", "src", "dst", "mbps"] and len(a) == len(b) == 36 * 12
    reset_time = pd.Timestamp(START).tz_localize(None) + pd.Timedelta(minutes=5 * RESET_STEP)
    same = pd.to_datetime(a["time"]) != reset_time
    np.testing.assert_allclose(a.loc[same, "mbps"], b.loc[same, "mbps"], rtol=1e-5, atol=1e-6)
    report = json.loads(prom.stdout)
    assert report["link_loads"] == backfilled.url
    assert max(s["link_fit"] for s in report["steps"]) < 0.01  # every measured load reproduced within 1 %


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_bad(files: dict[str, Path], url: str, *extra: str) -> subprocess.CompletedProcess:
    folder = files["folder"]
    proc = netdrift("deduce", "--topology", files["topology"], "--link-loads", url, "--prom-mapping", files["mapping"],
                    "--prom-start", START, "--prom-end", END, *extra, "--out", folder / "out.csv", cwd=folder)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (folder / "out.csv").exists() and proc.stdout == ""  # nothing written
    return proc


def test_server_down(files, closed_port):
    proc = run_bad(files, f"http://127.0.0.1:{closed_port}")
    assert proc.stderr.startswith(f"netdrift: error: --link-loads 'http://127.0.0.1:{closed_port}': cannot connect (")


def test_server_that_never_answers(files, silent_server):
    proc = run_bad(files, silent_server, "--prom-timeout", "0.5")
    assert proc.stderr.startswith(f"netdrift: error: --link-loads '{silent_server}': no answer within 0.5 s")


def test_query_that_returns_nothing(backfilled, files):
    proc = run_bad(files, backfilled.url, "--prom-query", "rate(ifHCInOctets[5m])")
    assert proc.stderr.startswith("netdrift: error: --prom-query 'rate(ifHCInOctets[5m])': returned no series")


def test_mapping_that_misses_interfaces(backfilled, files):
    rows = [r for r in mapping_rows() if r["instance"] != "d"]
    pd.DataFrame(rows).to_csv(files["mapping"], index=False)
    proc = run_bad(files, backfilled.url)
    assert proc.stderr.strip() == (f"netdrift: error: --prom-mapping '{files['mapping']}': no interface for 2 of 8 "
                                   "directions: d->c (link c-d), d->a (link d-a)")


def test_mapping_missing_and_options_without_prometheus(files):
    folder = files["folder"]
    proc = netdrift("deduce", "--topology", files["topology"], "--link-loads", "http://127.0.0.1:9", "--prom-steps",
                    "3", "--out", folder / "out.csv", cwd=folder)
    assert proc.returncode == 2 and "a Prometheus source needs --prom-mapping FILE" in proc.stderr
    proc = netdrift("deduce", "--topology", files["topology"], "--link-loads", files["csv"], "--prom-steps", "3",
                    "--out", folder / "out.csv", cwd=folder)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("netdrift: error: --prom-steps: only applies with --link-loads http://HOST:PORT "
                                   "(a Prometheus server)")
    assert not (folder / "out.csv").exists()


def test_sweep_on_demands_deduced_from_prometheus(backfilled, files):
    folder = files["folder"]
    db = folder / "history.sqlite"
    proc = netdrift("sweep", "--topology", files["topology"], "--link-loads", backfilled.url, "--prom-mapping",
                    files["mapping"], "--prom-start", START, "--prom-end", END, "--steps", "36", "--kind", "link",
                    "--from", "0", "--to", "36", "--db", f"sqlite:///{db}", "--json", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["n_failures"] == 4 and db.exists()


@pytest.mark.parametrize("command", [
    ["sweep", "--steps", "36", "--kind", "link", "--from", "0", "--to", "36"],
    ["run", "--steps", "36", "--train-steps", "24", "--models", "persistence"],
])
def test_run_and_sweep_store_nothing_when_prometheus_is_down(files, closed_port, command):
    folder = files["folder"]
    db = folder / "history.sqlite"
    url = f"http://127.0.0.1:{closed_port}"
    proc = netdrift(*command, "--topology", files["topology"], "--link-loads", url, "--prom-mapping", files["mapping"],
                    "--prom-start", START, "--prom-end", END, "--db", f"sqlite:///{db}", cwd=folder)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"netdrift: error: --link-loads '{url}': cannot connect (Connection refused); is Prometheus running there?"]
    assert not db.exists() and not (folder / "data").exists()  # no history, no deduced demands kept
