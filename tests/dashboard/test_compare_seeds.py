"""Repeats over seeds in the Compare view: grouping, means with intervals, differences to persistence."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from netdrift.dashboard.compare import seeds as cs
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.results import MetricRow

T975_1 = 12.706204736174698  # Student t, 97.5 % quantile, 1 degree of freedom
T975_2 = 4.302652729749464  # ... 2 degrees of freedom


def rows(post: dict[str, float], day1: dict[str, float] | None = None) -> list[MetricRow]:
    """Aggregate RMSE rows of one run, plus rows the seed figures must ignore."""
    out = [MetricRow(m, "post", "rmse", v) for m, v in post.items()]
    out += [MetricRow(m, "day1", "rmse", v) for m, v in (day1 or {}).items()]
    out += [MetricRow(m, "post", "mae", 999.0) for m in post]  # another metric
    out += [MetricRow(m, "post", "rmse", 999.0, direction=0) for m in post]  # a per-direction row
    out += [MetricRow(m, "pre", "rmse", 999.0) for m in post]  # another period
    return out


def group(*metric_rows: list[MetricRow]) -> list[cs.SeedRun]:
    return [cs.SeedRun(i + 1, f"r{i + 1}", "k", i, m) for i, m in enumerate(metric_rows)]


def detail(topology: str = "Abilene", events=((70, "fail", "0-1"),), models=("persistence", "frozen"),
           steps: int | None = 96, train: int | None = 60, seed: int = 0) -> SimpleNamespace:
    config = {"seed": seed, "step_minutes": 60}
    if steps is not None:
        config["steps"] = steps
    if train is not None:
        config["train_steps"] = train
    return SimpleNamespace(topology=SimpleNamespace(name=topology), events=[FailureEvent(*e) for e in events],
                           models=list(models), config=config, seed=seed)


# --- grouping ------------------------------------------------------------------------------------------------
def test_scenario_key_ignores_seed_and_event_order() -> None:
    a = detail(events=((70, "fail", "0-1"), (80, "restore", "0-1")), seed=0)
    b = detail(events=((80, "restore", "0-1"), (70, "fail", "0-1")), seed=5)
    assert cs.scenario_key(a) == cs.scenario_key(b)
    assert cs.scenario_key(detail(steps=None)) is None
    assert cs.scenario_key(detail(train=None)) is None


@pytest.mark.parametrize("other", [
    dict(topology="Geant"),
    dict(events=((71, "fail", "0-1"),)),
    dict(events=((70, "fail", "0-2"),)),
    dict(events=((70, "restore", "0-1"),)),
    dict(events=()),
    dict(models=("persistence",)),
    dict(models=("frozen", "persistence")),
    dict(steps=97),
    dict(train=61),
])
def test_grouping_keeps_different_scenarios_apart(other: dict) -> None:
    runs = [cs.SeedRun(1, "a", cs.scenario_key(detail(seed=0)), 0),
            cs.SeedRun(2, "b", cs.scenario_key(detail(seed=1, **other)), 1)]
    assert cs.seed_groups(runs) == []


def test_grouping_finds_repeats_among_other_runs() -> None:
    same = [detail(seed=s) for s in (0, 1, 2)]
    runs = [cs.SeedRun(1, "a", cs.scenario_key(same[0]), 0),
            cs.SeedRun(2, "b", cs.scenario_key(detail(topology="Geant")), 0),
            cs.SeedRun(3, "c", cs.scenario_key(same[1]), 1),
            cs.SeedRun(3, "c", cs.scenario_key(same[1]), 1),  # picked twice
            cs.SeedRun(4, "d", cs.scenario_key(same[2]), 1),  # a rerun of seed 1
            cs.SeedRun(5, "e", cs.scenario_key(detail(steps=None)), 7),
            cs.SeedRun(6, "f", cs.scenario_key(detail(steps=None, seed=8)), 8)]
    groups = cs.seed_groups(runs)
    assert [[r.id for r in g] for g in groups] == [[1, 3]]
    assert cs.group_title(groups[0]) == "Abilene, fail 0-1@70: runs #1, #3"


# --- means and intervals, by hand -----------------------------------------------------------------------------
def test_model_means_by_hand() -> None:
    g = group(rows({"persistence": 4.0, "frozen": 1.0}, {"persistence": 8.0}),
              rows({"persistence": 6.0, "frozen": 2.0}, {"persistence": 8.0}),
              rows({"persistence": 5.0, "frozen": 3.0}, {"persistence": 11.0}))
    df = cs.model_means(g, "g")
    assert list(df.columns) == cs.MEANS_COLUMNS
    assert df[["model", "period"]].values.tolist() == [["persistence", "post"], ["frozen", "post"],
                                                       ["persistence", "day1"]]
    # post, persistence: 4, 6, 5 -> mean 5, sd 1, half = t(2) * 1 / sqrt(3)
    half = T975_2 / np.sqrt(3)
    cols = ["rmse_mean_mbps", "ci_low_mbps", "ci_high_mbps"]
    assert df.loc[0, cols].tolist() == pytest.approx([5, 5 - half, 5 + half])
    # post, frozen: 1, 2, 3 -> mean 2, same spread
    assert df.loc[1, cols].tolist() == pytest.approx([2, max(0.0, 2 - half), 2 + half])  # an RMSE stops at 0
    # day 1, persistence: 8, 8, 11 -> mean 9, sd sqrt(3), half = t(2) * sqrt(3) / sqrt(3)
    assert df.loc[2, ["rmse_mean_mbps", "ci_low_mbps", "ci_high_mbps"]].tolist() == pytest.approx(
        [9, 9 - T975_2, 9 + T975_2])
    assert df["runs"].tolist() == [3, 3, 3]


def test_model_means_two_runs_and_censored_value() -> None:
    g = group(rows({"persistence": 4.0, "frozen": 2.0}), rows({"persistence": 6.0, "frozen": None}))
    df = cs.model_means(g, "g").set_index("model")
    # 4, 6 -> mean 5, sd sqrt(2), half = t(1) * sqrt(2) / sqrt(2)
    assert df.loc["persistence", ["rmse_mean_mbps", "ci_low_mbps", "ci_high_mbps"]].tolist() == pytest.approx(
        [5, max(0.0, 5 - T975_1), 5 + T975_1])  # 5 - 12.7 < 0: the whisker stops at 0
    # one finite value: a mean, no interval
    assert df.loc["frozen", "rmse_mean_mbps"] == 2.0 and df.loc["frozen", "runs"] == 1
    assert np.isnan(df.loc["frozen", "ci_low_mbps"]) and np.isnan(df.loc["frozen", "ci_high_mbps"])


@pytest.mark.parametrize("frozen, mean, sd, expected", [
    ((7.0, 8.0, 9.0), -2.0, 1.0, "within noise"),  # diffs -3, -2, -1
    ((6.9, 7.0, 7.1), -3.0, 0.1, "better"),  # diffs -3.1, -3, -2.9
    ((11.0, 11.2, 11.4), 1.2, 0.2, "worse"),  # diffs 1, 1.2, 1.4
])
def test_vs_persistence_by_hand(frozen: tuple[float, ...], mean: float, sd: float, expected: str) -> None:
    g = group(*(rows({"persistence": 10.0, "frozen": f}) for f in frozen))
    df = cs.vs_baseline(g, name="g")
    assert list(df.columns) == cs.DIFF_COLUMNS
    assert df["model"].tolist() == ["frozen"] and df["period"].tolist() == ["post"]
    half = T975_2 * sd / np.sqrt(3)
    assert df.loc[0, ["diff_mean_mbps", "ci_low_mbps", "ci_high_mbps"]].tolist() == pytest.approx(
        [mean, mean - half, mean + half])
    assert df.loc[0, "runs"] == 3 and df.loc[0, "verdict"] == expected


def test_vs_persistence_is_paired_per_run() -> None:
    # Persistence varies a lot across runs, frozen is always 1 below it: unpaired means would overlap,
    # the paired difference is exactly -1 with no spread (an interval of zero width, clear of zero).
    g = group(rows({"persistence": 10.0, "frozen": 9.0}, {"persistence": 3.0, "frozen": 3.5}),
              rows({"persistence": 50.0, "frozen": 49.0}, {"persistence": 4.0, "frozen": 4.5}),
              rows({"persistence": 90.0, "frozen": 89.0}, {"persistence": 9.0}))  # frozen day 1 missing
    df = cs.vs_baseline(g, name="g").set_index("period")
    assert df.loc["post", ["diff_mean_mbps", "ci_low_mbps", "ci_high_mbps"]].tolist() == pytest.approx([-1, -1, -1])
    assert df.loc["post", "verdict"] == "better"
    # day 1: only the first two runs have both -> 0.5, 0.5
    assert df.loc["day1", "runs"] == 2 and df.loc["day1", "diff_mean_mbps"] == pytest.approx(0.5)
    assert df.loc["day1", "verdict"] == "worse"


def test_vs_persistence_without_baseline_or_with_one_run() -> None:
    assert cs.vs_baseline(group(rows({"frozen": 1.0}), rows({"frozen": 2.0}))).empty
    one = cs.vs_baseline(group(rows({"persistence": 1.0, "frozen": 2.0}), rows({"persistence": 1.0})), name="g")
    assert one.loc[0, "runs"] == 1 and one.loc[0, "verdict"] == "too few runs"


def test_seed_means_chart_exports() -> None:
    from netdrift.dashboard.common import charts, export

    g = group(rows({"persistence": 4.0, "frozen": 1.0}), rows({"persistence": 6.0, "frozen": 2.0}))
    chart = charts.seed_means_chart(cs.model_means(g, "g"))
    spec = chart.to_dict()
    assert [layer["mark"]["type"] for layer in spec["spec"]["layer"]] == ["errorbar", "point"]
    assert export.chart_bytes(chart, "svg").lstrip().startswith(b"<svg")


# --- on runs stored by the service ---------------------------------------------------------------------------
def test_stored_seed_runs_group_and_agree_with_the_engine(tmp_path: Path) -> None:
    from netdrift.engine.experiments.spec import ScenarioSpec
    from netdrift.engine.forecasting.settings import ForecastSettings
    from netdrift.service.scenarios import ScenarioService
    from netdrift.storage.database import open_database
    from netdrift.storage.repository import ScenarioRepository

    spec = ScenarioSpec(topology="abilene", steps=96, train_steps=60, step_minutes=60,
                        models=("persistence", "frozen"), failures=("0-1@70",),
                        forecast=ForecastSettings.from_flat(dict(window=6, epochs=1)))
    Session = open_database(f"sqlite:///{tmp_path / 'h.sqlite'}")
    service = ScenarioService(Session)
    _, together = service.run_seeds(spec, 2)
    service.run(ScenarioSpec(topology="abilene", steps=96, train_steps=60, step_minutes=60,
                             models=("persistence", "frozen"), failures=("0-2@70",),
                             forecast=ForecastSettings.from_flat(dict(window=6, epochs=1))))
    with Session() as s:
        repo = ScenarioRepository(s)
        runs = []
        for summary in repo.list_scenarios():
            d = repo.get_scenario(summary.id)
            runs.append(cs.SeedRun(summary.id, summary.label or "", cs.scenario_key(d), d.seed,
                                   repo.load_metrics(summary.id)))
    groups = cs.seed_groups(sorted(runs, key=lambda r: r.id))
    assert [[r.id for r in g] for g in groups] == [[1, 2]]
    means = cs.model_means(groups[0]).set_index(["model", "period"])
    engine = together["models"]["frozen"]["rmse_post"]
    assert means.loc[("frozen", "post"), "rmse_mean_mbps"] == pytest.approx(engine["mean"])
    assert [means.loc[("frozen", "post"), c] for c in ("ci_low_mbps", "ci_high_mbps")] == pytest.approx(
        [max(0.0, engine["ci"][0]), engine["ci"][1]])  # the engine's interval, its low end stopped at 0
    diffs = cs.vs_baseline(groups[0])
    assert set(diffs["period"]) == {"post", "day1"} and diffs["verdict"].isin(
        ["within noise", "better", "worse"]).all()


def test_rmse_whiskers_stop_at_zero() -> None:
    """Two seeds with RMSE 0.5 and 9.5: mean 5, t(0.975, 1) = 12.706, s = 6.364, half-width
    12.706 * 6.364 / sqrt(2) = 57.2: the Student-t interval reaches -52, the whisker stops at 0."""
    from netdrift.dashboard.compare.seeds import SeedRun, model_means

    g = [SeedRun(1, "a", "k", metrics=[MetricRow("persistence", "post", "rmse", 0.5)]),
         SeedRun(2, "b", "k", metrics=[MetricRow("persistence", "post", "rmse", 9.5)])]
    row = model_means(g, "g").iloc[0]
    assert row["rmse_mean_mbps"] == 5.0 and row["ci_low_mbps"] == 0.0
    assert abs(row["ci_high_mbps"] - (5.0 + 12.706 * 6.3640 / 2 ** 0.5)) < 0.05
