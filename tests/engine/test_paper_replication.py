"""`paper`: intervals over distinct failures (never one replayed failure once per seed), and how
many failures of each class were found."""

from __future__ import annotations

import pytest

from netdrift.cli.paper_cmd import found_lines
from netdrift.engine.experiments.paper import PaperConfig, PaperRow, aggregate, failure_counts

T_975_1 = 12.706204736  # Student t, 97.5 % quantile, 1 degree of freedom (tables)
T_975_5 = 2.570581836   # ... 5 degrees of freedom


def row(link: str, model: str, seed: int, rmse: float, replayed: bool, cls: str = "moderate") -> PaperRow:
    return PaperRow(link, cls, 0.3, model, None, rmse, 5.0, None, seed, rmse, 0.0, None, replayed)


def rows(replayed: bool) -> list[PaperRow]:
    """Two failures (A, B) x three seeds: persistence is deterministic, liquid is not."""
    out = []
    for seed, (la, lb) in enumerate([(11.0, 15.0), (12.0, 16.0), (13.0, 18.0)]):
        out += [row("A", "persistence", seed, 10.0, replayed), row("B", "persistence", seed, 14.0, replayed),
                row("A", "liquid-cfc", seed, la, replayed), row("B", "liquid-cfc", seed, lb, replayed)]
    return out


def line(table: list[dict], model: str) -> dict:
    return next(r for r in table if r["model"] == model)


def test_replayed_traffic_intervals_are_over_the_two_failures_not_six_runs():
    table = aggregate(rows(replayed=True))
    liquid, persistence = line(table, "liquid-cfc"), line(table, "persistence")
    assert (liquid["failures"], liquid["runs"], liquid["seeds"]) == (2, 6, 3)
    # per failure, the mean over seeds: A 12, B 49/3; then a t-interval over the two
    a, b = 12.0, 49.0 / 3.0
    mean, sd = (a + b) / 2, abs(a - b) / 2 ** 0.5
    assert liquid["rmse_post_mbps"]["mean"] == pytest.approx(mean)
    assert liquid["rmse_post_mbps"]["n"] == 2
    assert liquid["rmse_post_mbps"]["ci"] == pytest.approx([mean - T_975_1 * sd / 2 ** 0.5,
                                                            mean + T_975_1 * sd / 2 ** 0.5])
    # persistence ran the same two failures three times: two values, not six copies (its
    # interval is the spread of the failures, never a zero-width one from identical copies)
    assert persistence["rmse_post_mbps"]["n"] == 2
    assert persistence["rmse_post_mbps"]["ci"] == pytest.approx([12 - T_975_1 * 2, 12 + T_975_1 * 2])
    # paired difference to persistence per failure: A mean(1, 2, 3) = 2, B mean(1, 2, 4) = 7/3
    d = liquid["rmse_post_vs_persistence"]
    dm, dsd = (2 + 7 / 3) / 2, abs(2 - 7 / 3) / 2 ** 0.5
    assert d["n"] == 2 and d["mean"] == pytest.approx(dm)
    assert d["ci"] == pytest.approx([dm - T_975_1 * dsd / 2 ** 0.5, dm + T_975_1 * dsd / 2 ** 0.5])
    assert d["within_noise"] is False  # [0.05, 4.28]: above zero


def test_synthetic_traffic_keeps_each_seed_as_its_own_scenario():
    table = aggregate(rows(replayed=False))
    liquid = line(table, "liquid-cfc")
    assert (liquid["failures"], liquid["runs"]) == (6, 6)
    values = [11.0, 15.0, 12.0, 16.0, 13.0, 18.0]
    mean = sum(values) / 6
    sd = (sum((v - mean) ** 2 for v in values) / 5) ** 0.5
    assert liquid["rmse_post_mbps"]["ci"] == pytest.approx([mean - T_975_5 * sd / 6 ** 0.5,
                                                            mean + T_975_5 * sd / 6 ** 0.5])


def test_one_replayed_failure_over_many_seeds_has_no_interval():
    rs = [row("A", "persistence", s, 10.0, True) for s in range(4)]
    p = line(aggregate(rs), "persistence")
    assert p["failures"] == 1 and p["rmse_post_mbps"] == {"mean": 10.0, "ci": None, "n": 1}


def test_failures_found_are_counted_and_a_shortfall_is_said():
    rs = rows(replayed=True) + [row("C", "persistence", 0, 9.0, True, cls="drastic")]
    found = failure_counts(rs, PaperConfig(traffic="week.csv", per_class=3, seeds=3))
    assert found == {"moderate": {"asked": 3, "found": 2, "short": True},
                     "drastic": {"asked": 3, "found": 1, "short": True}}
    text = found_lines(found)
    assert "moderate drift: 2 failure scenario(s) found of 3 asked -- FEWER THAN ASKED" in text[0]
    # synthetic traffic: each seed draws new traffic, so per_class is asked of each seed
    found = failure_counts(rows(replayed=False), PaperConfig(per_class=2, seeds=3))
    assert found["moderate"] == {"asked": 6, "found": 6, "short": False}
    assert found["drastic"] == {"asked": 6, "found": 0, "short": True}
    assert "FEWER" not in found_lines(found)[0]


@pytest.mark.slow
def test_paper_on_replayed_traffic_counts_each_failure_once(tmp_path, capsys):
    """End to end: `paper --traffic FILE --seeds 2`: the seeds share the failures, the table's
    intervals are over those failures, and the count found is reported."""
    import json
    from datetime import datetime

    from netdrift.cli.main import main
    from netdrift.engine.network.loaders import load_topology
    from netdrift.engine.traffic.backbone import backbone_traffic

    tm = backbone_traffic(load_topology("abilene"), 192, 60.0, seed=4, start=datetime(2024, 3, 4))
    lines = ["time,src,dst,mbps"]
    for t in range(tm.steps):
        if not tm.missing[t]:
            when = tm.time_of(t).strftime("%Y-%m-%dT%H:%M")
            lines += [f"{when},{tm.node_ids[s]},{tm.node_ids[d]},{v:.4f}"
                      for s, d, v in zip(tm.src, tm.dst, tm.demands[t])]
    csv = tmp_path / "abilene.csv"
    csv.write_text("\n".join(lines) + "\n")
    code = main(["paper", "--topology", "abilene", "--traffic", str(csv), "--steps", "192", "--train-steps", "96",
                 "--batch-sizes", "12", "--il-windows", "48", "--per-class", "1", "--seeds", "2", "--epochs", "1",
                 "--train-windows", "256", "--window", "8", "--ltc-epochs", "1", "--ltc-unfolds", "1",
                 "--db", f"sqlite:///{tmp_path}/h.db", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    data = json.loads(out.out)
    links = {(r["drift_class"], r["link"]) for r in data["rows"]}
    assert {(r["drift_class"], r["link"]) for r in data["rows"] if r["seed"] == 0} == \
        {(r["drift_class"], r["link"]) for r in data["rows"] if r["seed"] == 1}  # the same failures
    for line in data["table"]:
        assert line["failures"] == len({lk for lk in links if lk[0] == line["drift_class"]})
        assert line["runs"] == 2 * line["failures"]
    for cls, found in data["failures_found"].items():
        assert found["asked"] == 1 and found["found"] == len({lk for lk in links if lk[0] == cls})
    assert data["replicates"].startswith("models only")
