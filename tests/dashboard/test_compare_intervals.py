"""Compare-view intervals and warnings: rolling coverage and the scores table by hand, the stored
bounds through a real SQLite history (and runs stored without them), and the metrics table's
day1 / transient periods."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from netdrift.dashboard.compare import data as cd
from netdrift.dashboard.compare import intervals as ci
from netdrift.engine.results import MetricRow
from tests.dashboard.test_compare_data import FAIL, RADIUS, SPD, T, make_db


def test_rolling_coverage_pools_directions_and_rolls_counts_by_hand() -> None:
    a = np.array([[10.0, 100.0], [10.0, 100.0], [10.0, 100.0], [20.0, 100.0], [10.0, np.nan]])
    lower = {"m": np.array([[np.nan, np.nan], [9.0, 90.0], [11.0, 90.0], [9.0, 90.0], [9.0, 90.0]])}
    upper = {"m": np.array([[np.nan, np.nan], [11.0, 110.0], [12.0, 110.0], [11.0, 110.0], [11.0, 110.0]])}
    df = ci.aligned_coverage(a, lower, upper, align_step=2, run="r", nominal=0.9, window=2)
    # covered / valid per step: 0/0, 2/2, 1/2, 1/2, 1/1 (dir 1 has no actual at step 4)
    # trailing sums over 2 steps: step1 2/2, step2 3/4, step3 2/4, step4 2/3
    assert df["step"].tolist() == [1, 2, 3, 4]
    assert df["step_rel"].tolist() == [-1.0, 0.0, 1.0, 2.0]
    assert df["rolling_coverage_pct"].tolist() == pytest.approx([100.0, 75.0, 50.0, 200.0 / 3])
    assert df["nominal_pct"].eq(90.0).all() and set(df["run"]) == {"r"} and set(df["model"]) == {"m"}
    assert list(df.columns) == ci.COVERAGE_COLUMNS


def test_rolling_coverage_window_bounds_and_no_bounds() -> None:
    a = np.full((100, 1), 5.0)
    band = {"m": np.full((100, 1), 4.0)}, {"m": np.full((100, 1), 6.0)}
    df = ci.aligned_coverage(a, *band, 50, "r", before=10, after=5, window=1)
    assert df["step_rel"].min() == -10 and df["step_rel"].max() == 5
    assert df["rolling_coverage_pct"].eq(100.0).all() and df["nominal_pct"].isna().all()
    empty = ci.aligned_coverage(a, {}, {}, 50, "r")
    assert empty.empty and list(empty.columns) == ci.COVERAGE_COLUMNS


def test_interval_table_collects_the_scores_in_screen_units() -> None:
    rows = [
        MetricRow("liquid", "pre", "coverage", 91.0), MetricRow("liquid", "post", "coverage", 80.0),
        MetricRow("liquid", "day1", "coverage", 70.0), MetricRow("liquid", "day1_informed", "coverage", 75.0),
        MetricRow("liquid", "post", "width", 12.5),
        MetricRow("liquid", "post", "winkler", 30.0), MetricRow("liquid", "pre", "width", 9.0),
        MetricRow("liquid", "run", "warn_precision", 0.25), MetricRow("liquid", "run", "warn_recall", None),
        MetricRow("liquid", "run", "warn_recall_3", 0.0), MetricRow("liquid", "run", "warn_lead_steps_median", 2.0),
        MetricRow("liquid", "run", "warn_raised", 4.0), MetricRow("liquid", "run", "warn_crossings", 0.0),
        MetricRow("frozen", "post", "coverage", 60.0), MetricRow("frozen", "post", "coverage", 1.0, 3),
        MetricRow("frozen", "post", "rmse", 3.0),
    ]
    df = ci.interval_table(rows, "#1", 0.9, models=["frozen", "liquid", "seasonal"])
    assert list(df.columns) == ci.INTERVAL_COLUMNS
    assert df["model"].tolist() == ["frozen", "liquid"]  # the models' order; no row without scores
    liquid = df.set_index("model").loc["liquid"]
    assert liquid[["nominal_pct", "coverage_pre_pct", "coverage_post_pct", "coverage_day1_pct",
                   "coverage_day1_informed_pct", "width_post_mbps", "winkler_post_mbps"]].tolist() == [
        90.0, 91.0, 80.0, 70.0, 75.0, 12.5, 30.0]
    assert liquid["warn_precision_pct"] == 25.0 and np.isnan(liquid["warn_recall_pct"])
    assert liquid[["warn_recall_3_pct", "warn_lead_median_steps", "warn_raised", "warn_crossings"]].tolist() == [
        0.0, 2.0, 4.0, 0.0]
    frozen = df.set_index("model").loc["frozen"]
    assert frozen["coverage_post_pct"] == 60.0  # the per-direction row is not the aggregate
    assert np.isnan(frozen["warn_precision_pct"])
    assert ci.interval_table([MetricRow("m", "post", "rmse", 1.0)], "#2").empty
    assert list(ci.INTERVAL_HEADERS) == ci.INTERVAL_COLUMNS[2:]  # every score has its header on the screen


def test_metrics_table_lists_day1_and_transient_in_reading_order() -> None:
    rows = [MetricRow("m", p, "rmse", float(i)) for i, p in
            enumerate(["event:1", "transient", "day1", "post", "event:0", "pre"])]
    rows += [MetricRow("m", "run", "warn_recall", 0.5), MetricRow("m", "post", "coverage", 90.0)]
    table = cd.metrics_table(rows, "#1")
    assert table["period"].tolist() == ["pre", "post", "day1", "transient", "event:0", "event:1"]


def test_stored_bounds_are_loaded_and_older_runs_have_none(tmp_path: Path) -> None:
    from netdrift.service.history import reading
    from netdrift.storage.database import open_database

    url = make_db(tmp_path, n_complete=2, with_intervals=1)
    with reading(open_database(url)) as repo:
        ids = sorted(r.id for r in repo.list_scenarios())
        with_bounds = cd.load_run_data(repo, ids[0], "#new")
        older = cd.load_run_data(repo, ids[1], "#old")
    assert older.problem is None and older.lower == {} and older.upper == {} and older.interval is None
    assert with_bounds.interval == 0.9 and with_bounds.warn_utilization == pytest.approx(0.12)
    assert set(with_bounds.lower) == {"persistence", "frozen"}
    np.testing.assert_allclose(with_bounds.upper["frozen"] - with_bounds.lower["frozen"], 2 * RADIUS["frozen"])

    cov = ci.aligned_coverage(with_bounds.actual, with_bounds.lower, with_bounds.upper, FAIL, "#new",
                              nominal=with_bounds.interval, window=1)
    by = cov.set_index(["model", "step_rel"])["rolling_coverage_pct"]
    # persistence (+-20) misses both directions only at the failure (jumps of 50 and 100)
    assert by[("persistence", -1.0)] == 100.0 and by[("persistence", 0.0)] == 0.0
    assert by[("persistence", 1.0)] == 100.0
    # frozen (+-30) never adapts: both directions missed from the failure on
    assert by[("frozen", -1.0)] == 100.0 and by[("frozen", float(T - 1 - FAIL))] == 0.0

    table = ci.interval_table(with_bounds.metrics, "#new", with_bounds.interval, list(with_bounds.forecasts))
    frozen = table.set_index("model").loc["frozen"]
    assert frozen["coverage_pre_pct"] == 100.0 and frozen["coverage_post_pct"] == 0.0
    assert frozen["width_post_mbps"] == pytest.approx(60.0)
    persistence = table.set_index("model").loc["persistence"]
    # post has T - FAIL steps and day 1 SPD steps; both directions missed only at FAIL
    assert persistence["coverage_post_pct"] == pytest.approx(100.0 * (T - FAIL - 1) / (T - FAIL))
    assert persistence["coverage_day1_pct"] == pytest.approx(100.0 * (SPD - 1) / SPD)
    assert ci.interval_table(older.metrics, "#old").empty
