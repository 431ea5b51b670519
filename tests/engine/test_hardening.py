"""Issue 14, hardening of the engine's inputs: seeds, replay length, piped topologies, kept results."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.sources import make_traffic
from netdrift.engine.traffic.synthetic import synthetic_traffic

ROOT = Path(__file__).parents[2]
CSV = ROOT / "tests" / "fixtures" / "traffic" / "long4.csv"
SNDLIB_DIR = ROOT / "tests" / "fixtures" / "traffic" / "sndlib_abilene4"


@pytest.fixture(scope="module")
def topo() -> Topology:
    ids = ["ATLAng", "CHINng", "NYCMng", "WASHng"]
    return Topology("abilene4", tuple(Node(i, i) for i in ids),
                    (Link("l1", "ATLAng", "WASHng", 1e4), Link("l2", "WASHng", "NYCMng", 1e4),
                     Link("l3", "NYCMng", "CHINng", 1e4), Link("l4", "CHINng", "ATLAng", 1e4)))


@pytest.mark.parametrize("seed", [-1, -(2**40), 2**63, 1.5, "3", True])
def test_bad_seeds_are_an_input_error_naming_seed(topo, seed):
    for call in (lambda: synthetic_traffic(topo, 12, seed=seed), lambda: make_traffic("synthetic", topo, 12, 5.0, seed)):
        with pytest.raises(InputError) as err:
            call()
        assert err.value.what == "seed"
    with pytest.raises(InputError):  # replayed traffic too: the run's models are seeded with it
        make_traffic(str(CSV), topo, 4, 5.0, seed)


def test_good_seeds_pass(topo):
    from netdrift.engine.traffic.synthetic import check_seed

    assert check_seed(0) == 0 and check_seed(np.int64(7)) == 7 and check_seed(2**63 - 1) == 2**63 - 1
    assert synthetic_traffic(topo, 3, seed=np.int64(2)).steps == 3


def test_require_steps_refuses_shorter_replay(topo):
    for source in (CSV, SNDLIB_DIR):
        with pytest.raises(InputError) as err:
            make_traffic(str(source), topo, 100, 5.0, 0, require_steps=True)
        assert err.value.what == f"traffic '{source}'" and "has 4 steps" in str(err.value) and "100" in str(err.value)
    assert make_traffic(str(SNDLIB_DIR), topo, 4, 5.0, 0, require_steps=True).steps == 4
    assert make_traffic(str(SNDLIB_DIR), topo, 2, 5.0, 0, require_steps=True).steps == 2


def _feed(fifo: Path, data: bytes) -> threading.Thread:
    def feed():
        try:
            with open(fifo, "wb") as f:
                f.write(data)
        except OSError:
            pass

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    return t


def _release(fifo: Path, writer: threading.Thread) -> None:
    if writer.is_alive():
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    writer.join(timeout=10)


def test_topology_from_a_fifo(tmp_path):
    fifo = tmp_path / "net.pipe"
    os.mkfifo(fifo)
    writer = _feed(fifo, (ROOT / "sample_topologies" / "Abilene.graphml").read_bytes())
    try:
        t = load_topology(str(fifo))
    finally:
        _release(fifo, writer)
    assert (len(t.nodes), len(t.links)) == (11, 14)


def test_an_oversized_pipe_is_refused_without_reading_it_all(tmp_path):
    fifo = tmp_path / "big.pipe"
    os.mkfifo(fifo)
    writer = _feed(fifo, b"<graphml>" + b" " * 5000)
    try:
        with pytest.raises(InputError) as err:
            load_topology(str(fifo), max_bytes=1000)
    finally:
        _release(fifo, writer)
    assert "limit" in str(err.value) and "no such file" not in str(err.value)


def test_kept_result_round_trips(tmp_path):
    """netdrift.service.scenarios.write_unsaved: every array back from the .npz, the rest in the .json."""
    from datetime import datetime

    from netdrift.engine.network.events import FailureEvent
    from netdrift.engine.results import MetricRow, ScenarioResult
    from netdrift.service.scenarios import write_unsaved

    t = load_topology("abilene")
    T, D = 6, t.n_directions
    rng = np.random.default_rng(0)
    result = ScenarioResult(
        topology=t, config={"steps": T, "path": tmp_path}, seed=4, events=[FailureEvent(3, "fail", "0-1", "link")],
        step_minutes=5.0, start=datetime(2024, 1, 1), train_steps=2,
        actual=rng.random((T, D), dtype=np.float32), forecasts={"persistence": np.full((T, D), np.nan, np.float32)},
        link_up=np.ones((T, len(t.links)), bool), dropped_mbps=np.zeros(T),
        metrics=[MetricRow("persistence", "post", "rmse", float("nan"))],
        lower={"persistence": np.zeros((T, D))}, upper={"persistence": np.ones((T, D))},
    )
    path = write_unsaved(result, tmp_path, 9, "database is locked")
    assert path.name.startswith("netdrift-unsaved-") and path.name.endswith("-scenario9.npz")
    with np.load(path) as z:
        np.testing.assert_array_equal(z["actual"], result.actual)
        np.testing.assert_array_equal(z["forecast/persistence"], result.forecasts["persistence"])
        np.testing.assert_array_equal(z["upper/persistence"], 1.0)
        assert z["link_up"].dtype == bool
    js = json.loads(path.with_suffix(".json").read_text())
    assert js["scenario_id"] == 9 and js["not_stored_because"] == "database is locked"
    assert js["events"] == [{"step": 3, "action": "fail", "target": "0-1", "kind": "link"}]
    assert js["metrics"][0]["value"] is None and js["config"]["path"] == str(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, path.with_suffix(".json").name])
