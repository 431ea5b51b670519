"""Compare-view data: expectations computed by hand on tiny series, plus a real SQLite round trip."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from netdrift.dashboard.compare import data as cd
from netdrift.engine.evaluation.interval_scores import interval_rows, warning_rows, warning_scores
from netdrift.engine.evaluation.scoring import scenario_metrics
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.results import MetricRow, ScenarioResult
from netdrift.storage.repository import ScenarioSummary

T, FAIL, SPD = 40, 20, 10


def tiny_topology() -> Topology:
    return Topology("tiny", (Node("a", "A"), Node("b", "B")), (Link("a-b", "a", "b", 1000.0),))


#: Interval half-widths of the runs stored with intervals (Mbit/s), and their warning threshold.
RADIUS = {"persistence": 20.0, "frozen": 30.0}
WARN = 0.12


def tiny_result(topology: Topology, low_load_fraction: float = 0.01, intervals: bool = False) -> ScenarioResult:
    """dir 0: 100 -> 150 Mbit/s at FAIL (+50%); dir 1: 200 -> 100 (-50%); 144-minute steps (10 a day).

    With ``intervals``, every forecast +- :data:`RADIUS` as its 90 % interval (H = 1), and the
    interval and warning rows (threshold :data:`WARN`: dir 0 crosses it at FAIL) as the engine
    scores them."""
    actual = np.empty((T, 2))
    actual[:FAIL] = [100.0, 200.0]
    actual[FAIL:] = [150.0, 100.0]
    persistence = np.vstack([np.full((1, 2), np.nan), actual[:-1]])
    frozen = np.tile([100.0, 200.0], (T, 1))  # never adapts: errors 50 and 100 after the failure
    forecasts = {"persistence": persistence, "frozen": frozen}
    events = [FailureEvent(FAIL, "fail", "a-b")]
    metrics = scenario_metrics(actual, forecasts, topology.direction_capacity, 10, [FAIL], SPD)
    lower = {m: f - RADIUS[m] for m, f in forecasts.items()} if intervals else {}
    upper = {m: f + RADIUS[m] for m, f in forecasts.items()} if intervals else {}
    periods = [("pre", 10, FAIL), ("post", FAIL, T), ("day1", FAIL, FAIL + SPD)]
    for m in lower:
        metrics += interval_rows(m, actual, lower[m], upper[m], 0.9, periods)
        metrics += warning_rows(m, warning_scores(actual, upper[m], topology.direction_capacity, WARN, 1, 10))
    config = {"step_minutes": 144.0, "metrics": {"low_load_fraction": low_load_fraction}}
    if intervals:
        config.update(interval=0.9, warn_utilization=WARN)
    return ScenarioResult(
        topology=topology, config=config,
        seed=0, events=events, step_minutes=144.0,
        start=datetime(2024, 1, 1, tzinfo=timezone.utc), train_steps=10, actual=actual, forecasts=forecasts,
        link_up=np.ones((T, 1), dtype=bool), dropped_mbps=np.zeros(T), metrics=metrics,
        lower=lower, upper=upper, peak_upper=upper,
    )


def make_db(tmp_path: Path, n_complete: int = 2, interrupted: bool = False, low_load_fraction: float = 0.01,
            with_intervals: int = 0) -> str:
    """A SQLite history with ``n_complete`` finished tiny runs (the first ``with_intervals`` of
    them with intervals; + one interrupted); returns its URL."""
    from netdrift.storage.database import open_database
    from netdrift.storage.repository import ScenarioRepository

    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    Session = open_database(url)
    topo = tiny_topology()
    for i in range(n_complete):
        with Session.begin() as s:
            repo = ScenarioRepository(s)
            result = tiny_result(topo, low_load_fraction, intervals=i < with_intervals)
            sid = repo.create_scenario(topo, result.config, i, ["persistence", "frozen"], label=f"run{i}")
            repo.save_result(sid, result)
    if interrupted:
        with Session.begin() as s:
            repo = ScenarioRepository(s)
            sid = repo.create_scenario(topo, {}, 9, ["persistence"], label="stopped")
            repo.mark_interrupted(sid)
    return url


# --- pure functions on hand-made inputs -------------------------------------------------------------
def test_aligned_errors_by_hand() -> None:
    a = np.array([[10.0, 100.0], [10.0, 100.0], [10.0, 100.0], [20.0, 100.0]])
    f = {"m": np.array([[np.nan, np.nan], [12.0, 100.0], [10.0, 90.0], [10.0, 100.0]])}
    df = cd.aligned_errors(a, f, align_step=2, run="r", window=2, capacity=np.array([1000.0, 1000.0]))
    # per-step MAE: step1 (2+0)/2=1, step2 (0+10)/2=5, step3 (10+0)/2=5 -> trailing mean of 2
    assert df["step_rel"].tolist() == [-1.0, 0.0, 1.0]
    assert df["rolling_mae_mbps"].tolist() == pytest.approx([1.0, 3.0, 5.0])
    # APE: step1 (20%, 0%)->10, step2 (0, 10%)->5, step3 (50%, 0)->25; dir0 actual 10 = 1% of 1000 kept
    assert df["rolling_mape_pct"].tolist() == pytest.approx([10.0, 7.5, 15.0])
    assert set(df["run"]) == {"r"} and set(df["model"]) == {"m"}


def test_aligned_errors_window_bounds_and_mape_floor() -> None:
    a = np.full((100, 1), 5.0)  # 0.5% of capacity: below the MAPE floor
    df = cd.aligned_errors(a, {"m": a + 1.0}, 50, "r", capacity=np.array([1000.0]), before=10, after=5, window=1)
    assert df["step_rel"].min() == -10 and df["step_rel"].max() == 5
    assert df["rolling_mae_mbps"].eq(1.0).all()
    assert df["rolling_mape_pct"].isna().all()


def test_metrics_table_censored_and_order() -> None:
    rows = [
        MetricRow("liquid", "event:0", "ttc", None),
        MetricRow("mlp", "event:0", "ttc", 12.0),
        MetricRow("liquid", "post", "rmse", 3.0),
        MetricRow("liquid", "post", "mape", 7.5),
        MetricRow("liquid", "pre", "rmse", 1.0),
        MetricRow("liquid", "post", "rmse", 99.0, 3),  # per-direction: not in the table
    ]
    df = cd.metrics_table(rows, "#1")
    assert df[["period", "model"]].values.tolist() == [
        ["pre", "liquid"], ["post", "liquid"], ["event:0", "liquid"], ["event:0", "mlp"]
    ]
    assert df["ttc_steps"].tolist() == [None, None, "censored", "12"]
    assert df.loc[1, "rmse_mbps"] == 3.0 and df.loc[1, "mape_pct"] == 7.5


def test_drift_vs_error_from_rows_skips_infinite() -> None:
    rows = [
        MetricRow("actual", "event:0", "drift", 0.5, 0),
        MetricRow("actual", "event:0", "drift", float("inf"), 1),
        MetricRow("liquid", "post", "mae", 4.0, 0),
        MetricRow("liquid", "post", "mae", 8.0, 1),
        MetricRow("liquid", "pre", "mae", 1.0, 0),
    ]
    df = cd.drift_vs_error(rows, "#1", direction_names=["a-b: a->b", "a-b: b->a"])
    assert df[["model", "direction_name", "abs_drift_pct", "error_mbps"]].values.tolist() == [
        ["liquid", "a-b: a->b", 50.0, 4.0]
    ]


def test_history_table_counts_failures_and_keeps_status() -> None:
    rows = [
        ScenarioSummary(1, "abilene", datetime(2024, 1, 1), "complete",
                        ["fail 1-2@10", "restore 1-2@20", "fail node 3@30"], ["liquid", "frozen"], None, 0),
        ScenarioSummary(2, "geant", datetime(2024, 2, 1), "interrupted", [], [], "x", 1),
    ]
    df = cd.history_table(rows)
    assert df["id"].tolist() == [2, 1]  # newest first
    assert df["status"].tolist() == ["interrupted", "complete"]
    assert df["failures"].tolist() == [0, 2]
    assert df["models"].tolist() == ["", "liquid, frozen"]
    assert df["label"].tolist() == ["x", ""]
    assert df.loc[1, "events"] == "fail 1-2@10, restore 1-2@20, fail node 3@30"


def test_first_failure_step() -> None:
    assert cd.first_failure_step([FailureEvent(30, "fail", "x"), FailureEvent(7, "restore", "y"),
                                  FailureEvent(12, "fail", "y")]) == 12
    assert cd.first_failure_step([FailureEvent(5, "restore", "y")]) is None
    assert cd.first_failure_step([]) is None


# --- real storage round trip ----------------------------------------------------------------------
def test_load_run_data_from_sqlite(tmp_path: Path) -> None:
    from netdrift.service.history import reading
    from netdrift.storage.database import open_database

    url = make_db(tmp_path, n_complete=1, interrupted=True)
    with reading(open_database(url)) as repo:
        summaries = repo.list_scenarios()
        hist = cd.history_table(summaries)
        assert sorted(hist["status"]) == ["complete", "interrupted"]
        done = int(hist.loc[hist["status"] == "complete", "id"].iloc[0])
        stopped = int(hist.loc[hist["status"] == "interrupted", "id"].iloc[0])
        run = cd.load_run_data(repo, done, "#done")
        broken = cd.load_run_data(repo, stopped, "#stopped")
    assert run.problem is None and run.first_failure == FAIL and run.steps_per_day == SPD
    assert run.actual.shape == (T, 2) and set(run.forecasts) == {"persistence", "frozen"}
    assert broken.actual is None and broken.problem
    # Exports name the run: its topology, its failure by the nodes' names, its models.
    assert run.scenario.startswith("Topology ") and "models: persistence, frozen" in run.scenario
    assert f"fail A – B (a-b) at step {FAIL}" in run.scenario, run.scenario

    # frozen misses by 50 (dir 0) and 100 (dir 1) after the failure: MAE 75 just after step 0
    err = cd.aligned_errors(run.actual, run.forecasts, run.first_failure, run.label, capacity=run.capacity,
                            low_load_fraction=run.low_load_fraction, window=1)
    frozen = err[err["model"] == "frozen"].set_index("step_rel")["rolling_mae_mbps"]
    assert frozen[-1.0] == pytest.approx(0.0) and frozen[0.0] == pytest.approx(75.0)

    drift = cd.drift_vs_error(run.metrics, run.label, direction_names=run.direction_names)
    # The CSV names each direction by its nodes' labels (issue 13, item 5).
    assert sorted(set(drift["direction_name"])) == ["a-b: A -> B", "a-b: B -> A"]
    by = drift[drift["model"] == "frozen"].set_index("direction")
    assert by["abs_drift_pct"].to_dict() == pytest.approx({0: 50.0, 1: 50.0})
    assert by["error_mbps"].to_dict() == pytest.approx({0: 50.0, 1: 100.0})
    series = cd.drift_vs_error_from_series(run.actual, run.forecasts, FAIL, SPD, run.label, capacity=run.capacity)
    s_by = series[series["model"] == "frozen"].set_index("direction")
    assert s_by["error_mbps"].to_dict() == pytest.approx({0: 50.0, 1: 100.0})

    table = cd.metrics_table(run.metrics, run.label)
    ttc = table[(table["period"] == "event:0")].set_index("model")["ttc_steps"]
    assert ttc["frozen"] == "censored"  # a constant forecast never converges to the new level


def test_aligned_errors_pool_directions_per_step_and_skip_missing_actuals() -> None:
    a = np.array([[50.0, np.nan], [50.0, 400.0]])
    f = {"m": np.array([[40.0, 300.0], [60.0, 300.0]])}
    df = cd.aligned_errors(a, f, align_step=0, run="r", capacity=np.array([100.0, 1000.0]), window=1)
    # step 0: only dir 0 has an actual: |40-50| = 10, 20 %; step 1: (10 + 100) / 2 = 55, (20 % + 25 %) / 2
    assert df["rolling_mae_mbps"].tolist() == pytest.approx([10.0, 55.0])
    assert df["rolling_mape_pct"].tolist() == pytest.approx([20.0, 22.5])


def test_a_run_is_charted_with_its_own_mape_floor(tmp_path: Path) -> None:
    from netdrift.service.history import reading
    from netdrift.storage.database import open_database

    # Floor 20 % of 1000 Mbit/s = 200: dir 0 (100 -> 150) is always below it, dir 1 (200 -> 100)
    # is at it before the failure and below it after.
    url = make_db(tmp_path, n_complete=1, low_load_fraction=0.2)
    with reading(open_database(url)) as repo:
        run = cd.load_run_data(repo, repo.list_scenarios()[0].id, "#1")
    assert run.low_load_fraction == 0.2
    err = cd.aligned_errors(run.actual, run.forecasts, FAIL, "#1", capacity=run.capacity,
                            low_load_fraction=run.low_load_fraction, window=1)
    frozen = err[err["model"] == "frozen"].set_index("step_rel")["rolling_mape_pct"]
    assert frozen[-1.0] == pytest.approx(0.0)  # dir 1 only: forecast 200, actual 200
    assert np.isnan(frozen[0.0])  # after the failure no direction is above the floor
