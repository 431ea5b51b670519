"""`netdrift exporter` scraped by a real Prometheus: the forecasts, bounds, warnings and sweep worst
cases queried back equal what the run and the sweep computed (their in-memory results, not the
history the exporter reads)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import numpy as np
import pytest

from netdrift.engine.experiments.spec import ScenarioSpec
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.engine.network.loaders import load_topology
from netdrift.service.metrics import HistoryMetrics
from netdrift.service.scenarios import RunOutcome, ScenarioService
from netdrift.service.sweeps import StoredSweep, SweepSettings, run_sweep
from netdrift.storage.database import open_database
from tests.prometheus.conftest import free_port, start_prometheus, stop_prometheus

#: The scrape tests share a run, a sweep, an exporter and a Prometheus (about 8 s to set up, once).
SCRAPE = pytest.mark.slow

SPEC = ScenarioSpec(topology="abilene", steps=120, train_steps=60, models=("persistence", "seasonal"),
                    forecast=ForecastSettings.from_flat({"horizon": 3, "window": 8}), failures=("2-9@90",),
                    peak_utilization=0.95, warn_utilization=0.6, counterfactual=False, seed=3)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, RunOutcome, StoredSweep]:
    url = f"sqlite:///{tmp_path_factory.mktemp('history')}/h.sqlite"
    sessions = open_database(url)
    outcome = ScenarioService(sessions).run(SPEC, label="exported")
    swept = run_sweep(sessions, load_topology("abilene"), SweepSettings("link", 0, 12, steps=12, seed=1),
                      topology_source="abilene", workers=1)
    return url, outcome, swept


def netdrift(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netdrift", *args], capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture(scope="module")
def exporter(history) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "netdrift", "exporter", "--port", str(port), "--db", history[0]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    try:
        while True:  # until it serves (bounded)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"exporter did not start: {proc.communicate()[1][-2000:]}") from None
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def query(url: str, promql: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}", timeout=10) as r:
        return json.load(r)["data"]["result"]


@pytest.fixture(scope="module")
def scraped(tmp_path_factory, exporter) -> Iterator[str]:
    """A Prometheus that has scraped the exporter at least once (polled, bounded)."""
    server = start_prometheus(tmp_path_factory.mktemp("prom-scrape"), scrape_targets=[f"127.0.0.1:{exporter}"])
    try:
        deadline = time.monotonic() + 60
        while not query(server.url, "netdrift_sweep_worst_utilization_ratio"):
            assert time.monotonic() < deadline, f"no scrape within 60 s: {server.log.read_text()[-2000:]}"
            time.sleep(0.2)
        yield server.url
    finally:
        stop_prometheus(server)


def by_direction(result: list[dict], **match: str) -> dict[tuple[str, str], float]:
    return {(r["metric"]["link"], r["metric"]["direction"]): float(r["value"][1]) for r in result
            if all(r["metric"].get(k) == v for k, v in match.items())}


def expected(outcome: RunOutcome, arrays: dict[str, np.ndarray], model: str) -> dict[tuple[str, str], float]:
    names = outcome.result.topology.direction_names()
    row = arrays[model][-1]
    return {(lk, f"{s}->{t}"): float(row[d]) * 1e6 for d, (lk, s, t) in enumerate(names) if np.isfinite(row[d])}


@SCRAPE
def test_forecasts_read_back_from_prometheus_equal_the_runs(scraped, history):
    _, outcome, _ = history
    result = outcome.result
    for model in SPEC.models:
        base = {"model": model, "horizon": "3", "scenario": str(outcome.scenario_id)}
        got = by_direction(query(scraped, "netdrift_forecast_bits_per_second"), **base)
        want = expected(outcome, result.forecasts, model)
        assert got.keys() == want.keys() and len(want) == result.topology.n_directions
        np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-12)
        for bound, arrays in (("lower", result.lower), ("upper", result.upper)):
            got = by_direction(query(scraped, f"netdrift_forecast_{bound}_bits_per_second"), **base)
            want = expected(outcome, arrays, model)
            np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-12)


@SCRAPE
def test_utilisation_and_overload_warnings(scraped, history):
    _, outcome, _ = history
    result = outcome.result
    topo = result.topology
    cap = {(lk, f"{s}->{t}"): c for (lk, s, t), c in zip(topo.direction_names(), topo.direction_capacity)}
    up = {lk: bool(u) for lk, u in zip([link.id for link in topo.links], result.link_up[-1])}
    assert not up["2-9"]  # the failed link
    upper = expected(outcome, result.upper, "seasonal")
    ratio = by_direction(query(scraped, 'netdrift_forecast_upper_utilization_ratio{model="seasonal"}'))
    np.testing.assert_allclose([ratio[k] for k in upper], [upper[k] / 1e6 / cap[k] for k in upper], rtol=1e-9)
    warned = by_direction(query(scraped, 'netdrift_overload_warning{model="seasonal"}'))
    want = {k for k, v in upper.items() if v / 1e6 >= 0.6 * cap[k] and up[k[0]]}
    assert {k for k, v in warned.items() if v == 1.0} == want
    assert want, "the scenario is meant to warn somewhere (upper bounds up to 0.69 of capacity)"
    assert float(query(scraped, "netdrift_overload_threshold_ratio")[0]["value"][1]) == 0.6


@SCRAPE
def test_sweep_worst_case_per_direction(scraped, history):
    _, _, swept = history
    got = {(r["metric"]["link"], r["metric"]["direction"]): (float(r["value"][1]), r["metric"]["failure"])
           for r in query(scraped, "netdrift_sweep_worst_utilization_ratio")}
    want = {(e["link_id"], f"{e['src']}->{e['dst']}"): (e["worst_utilization"], e["failure"])
            for e in swept.result["per_direction"].values() if e["worst_utilization"] is not None}
    assert got.keys() == want.keys() and len(want) == 28
    for k, (value, failure) in want.items():
        assert got[k][1] == failure and got[k][0] == pytest.approx(value, rel=1e-12)


@SCRAPE
def test_exporter_serves_only_on_loopback(exporter):
    out = subprocess.run(["ss", "-ltnH", f"sport = :{exporter}"], capture_output=True, text=True).stdout
    assert out.strip() and all("127.0.0.1:" in line for line in out.strip().splitlines())


def test_once_prints_the_exposition_and_a_newer_scenario_replaces_the_older(tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    url = f"sqlite:///{tmp_path}/h.sqlite"
    outcome = ScenarioService(open_database(url)).run(SPEC, label="first")
    proc = netdrift("exporter", "--once", "--db", url)
    assert proc.returncode == 0, proc.stderr
    families = {f.name: f for f in text_string_to_metric_families(proc.stdout)}
    samples = families["netdrift_forecast_utilization_ratio"].samples
    assert {s.labels["scenario"] for s in samples} == {str(outcome.scenario_id)}
    metrics = HistoryMetrics(open_database(url))
    assert metrics.latest_ids()[0] == outcome.scenario_id
    later = ScenarioService(open_database(url)).run(SPEC, label="later")
    names = {f.name: f for f in metrics.families()}
    assert {s.labels["scenario"] for s in names["netdrift_forecast_bits_per_second"].samples} == {
        str(later.scenario_id)}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``netdrift ARGS`` in this process: its exit code and stderr."""
    from netdrift.cli.main import main

    rc = main(list(args))
    return rc, capsys.readouterr().err


def test_bad_ids_and_a_busy_port_are_one_line(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/h.sqlite"
    open_database(url)  # an empty history
    assert cli(capsys, "exporter", "--once", "--db", url, "--scenario", "99") == (
        2, f"netdrift: error: scenario 99: not found in database '{url}'\n")
    assert cli(capsys, "exporter", "--once", "--db", url, "--sweep", "42") == (
        2, f"netdrift: error: sweep 42: not found in database '{url}'\n")
    missing = tmp_path / "none" / "h.sqlite"
    rc, err = cli(capsys, "exporter", "--once", "--db", f"sqlite:///{missing}", "--scenario", "1")
    assert rc == 2 and err.startswith("netdrift: error: scenario 1: no database at ") and err.count("\n") == 1
    assert not missing.parent.exists()  # reading never creates a history
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert cli(capsys, "exporter", "--port", str(port), "--db", url) == (
            2, f"netdrift: error: --port {port}: cannot listen on 127.0.0.1:{port} (Address already in use)\n")
