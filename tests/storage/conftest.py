"""Shared fixtures: a tiny hand-built topology and ScenarioResult, a temporary database."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from engine.events import FailureEvent
from engine.results import MetricRow, ScenarioResult
from engine.topology import Link, Node, Topology
from storage.database import open_database


@pytest.fixture
def topo() -> Topology:
    return Topology(
        "tri",
        (Node("a", "A", 48.1, 11.6), Node("b", "B"), Node("c", "C", 50.0, 8.7)),
        (Link("a-b", "a", "b", 1000.0, 2.0, 12.5), Link("b-c", "b", "c", 2500.0)),
        warnings=("link b-c: no length",),
    )


@pytest.fixture
def result(topo: Topology) -> ScenarioResult:
    """6 steps x 4 directions; values chosen so float64 -> float32 rounds (0.1, 1/3, ...)."""
    T, D = 6, 4
    actual = np.arange(T * D, dtype=np.float64).reshape(T, D) / 3.0 + 0.1
    actual[2, 1] = np.nan  # a missing interval
    cfc = actual * 1.01
    cfc[0, :] = np.nan  # no forecast before the first observation
    mlp = actual - 0.7
    link_up = np.ones((T, 2), dtype=bool)
    link_up[3:, 0] = False
    dropped = np.array([0.0, 0.0, 0.0, 12.25, 7.5, 0.0])
    events = [FailureEvent(3, "fail", "a-b", "link"), FailureEvent(5, "restore", "a-b", "link")]
    metrics = [
        MetricRow("cfc", "pre", "rmse", 1.25),
        MetricRow("cfc", "post", "rmse", 3.5, 0),
        MetricRow("cfc", "event:0", "ttc", None, 1),
        MetricRow("mlp", "post", "mape", 12.0625, None),
        MetricRow("mlp", "event:0", "ttc", 4.0, 1),
    ]
    return ScenarioResult(
        topology=topo,
        config={"steps": T, "window": 3, "path": __import__("pathlib").Path("/x/y"), "alpha": np.float64(0.5)},
        seed=7,
        events=events,
        step_minutes=5.0,
        start=datetime(2005, 1, 1, tzinfo=timezone.utc),
        train_steps=2,
        actual=actual,
        forecasts={"cfc": cfc, "mlp": mlp},
        link_up=link_up,
        dropped_mbps=dropped,
        metrics=metrics,
        model_stats={"mlp": {"retrains": 2, "retrain_steps": [2, 4], "fit_seconds": np.float32(0.25)}},
    )


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/history.sqlite"


@pytest.fixture
def Session(db_url):
    maker = open_database(db_url)
    yield maker
    maker.kw["bind"].dispose()
