"""`netdrift plan` (issue 23): the plan checked by `netdrift sweep` on its own outputs, the JSON and
files, and one-line refusals that write nothing."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from netdrift.cli.main import main
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.sweep import sweep
from netdrift.engine.traffic.csv_replay import load_traffic_csv
from tests.helpers import one_line_error

ISSUE_CHECK = ["plan", "--topology", "geant2012", "--steps", "2016", "--step-minutes", "15", "--horizon-days", "90",
               "--growth", "0.3", "--survive", "link", "--target-utilization", "0.8",
               "--modules", "10000,40000,100000"]
SMALL = ["plan", "--topology", "abilene", "--steps", "168", "--step-minutes", "60", "--peak-utilization", "0.75",
         "--horizon-days", "30", "--growth", "0.3", "--survive", "link", "--target-utilization", "0.8",
         "--modules", "10000,40000", "--workers", "1"]


def worst(s: dict) -> float:
    """The sweep's worst utilisation over every direction, failure or none."""
    return max(max(d["worst_utilization"], d["no_failure_utilization"]) for d in s["per_direction"].values())


def sweep_cli(capsys, topology: str, demands: str, steps: int, db: str) -> dict:
    assert main(["sweep", "--topology", topology, "--traffic", demands, "--steps", str(steps), "--kind", "link",
                 "--from", "0", "--to", str(steps), "--top", "0", "--json", "--db", db]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_the_issue_check_on_geant2012(tmp_path, capsys):
    up, d, db = tmp_path / "up.json", tmp_path / "d.csv", f"sqlite:///{tmp_path}/h.sqlite"
    assert main(ISSUE_CHECK + ["--out-topology", str(up), "--out-demands", str(d), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["n_upgrades"] >= 1 and plan["worst_after"]["utilization"] <= 0.8
    week = plan["plan_week"]["steps"]
    after = sweep_cli(capsys, str(up), str(d), week, db)
    assert after["n_failures"] == 61 and worst(after) <= 0.8           # no direction over 0.8 under any failure
    before = sweep_cli(capsys, "geant2012", str(d), week, db)
    assert worst(before) > 0.8                                         # the plan was needed
    # No upgrade is wasted: each one's link set back to its capacity makes some failure exceed 0.8.
    upgraded = load_topology(up)
    demands = load_traffic_csv(d, upgraded)
    for u in plan["upgrades"]:
        links = [replace(lk, capacity_mbps=u["capacity_before_mbps"]) if lk.id == u["link_id"] else lk
                 for lk in upgraded.links]
        back = sweep(upgraded.with_links(links), demands, "link", 0, week, workers=1)
        assert max(f["worst_utilization"] for f in back.failures) > 0.8, u["link_id"]
        # and so does one module fewer
        for m in u["modules"]:
            less = [replace(lk, capacity_mbps=lk.capacity_mbps - m["mbps"]) if lk.id == u["link_id"] else lk
                    for lk in upgraded.links]
            back = sweep(upgraded.with_links(less), demands, "link", 0, week, workers=1)
            assert max(f["worst_utilization"] for f in back.failures) > 0.8, (u["link_id"], m)


def test_json_and_files_of_a_small_plan(tmp_path, capsys):
    up, d = tmp_path / "up.json", tmp_path / "d.csv"
    assert main(SMALL + ["--out-topology", str(up), "--out-demands", str(d), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert {"upgrades", "worst_before", "worst_after", "cut_off", "growth", "plan_week", "total_cost"} <= set(plan)
    assert plan["growth"]["rate_per_year"] == 0.3 and plan["plan_week"]["steps"] == 168 and plan["n_upgrades"] >= 1
    topo, upgraded = load_topology("abilene"), load_topology(up)
    caps = {lk.id: lk.capacity_mbps for lk in upgraded.links}
    assert [lk.id for lk in upgraded.links] == [lk.id for lk in topo.links]
    changed = {lk.id for lk in topo.links if caps[lk.id] != lk.capacity_mbps}
    assert changed == {u["link_id"] for u in plan["upgrades"]}
    for u in plan["upgrades"]:
        assert caps[u["link_id"]] == u["capacity_before_mbps"] + sum(m["mbps"] * m["count"] for m in u["modules"])
        assert u["utilization_before"] > 0.8 >= u["utilization_after"]
    demands = load_traffic_csv(d, upgraded)
    assert demands.steps == 168 and demands.step_minutes == 60.0
    assert str(demands.start.isoformat(timespec="minutes")) == plan["plan_week"]["from"]
    assert np.all(np.asarray(demands.demands) >= 0)


def test_readable_output(capsys):
    assert main(SMALL) == 0
    out = capsys.readouterr().out
    assert "Abilene: plan for 30 days" in out and "total cost" in out


@pytest.mark.parametrize("change, needles", [
    ({"--target-utilization": "1.5"}, ("--target-utilization", "(0, 1]")),
    ({"--target-utilization": "0"}, ("--target-utilization", "(0, 1]")),
    ({"--modules": ","}, ("--modules", "no module sizes")),
    ({"--modules": "10000,-5"}, ("--modules", "> 0")),
    ({"--growth": "fast"}, ("--growth 'fast'", "auto")),
    ({"--growth": "auto"}, ("--growth", "14 days of history")),
    ({"--survive": "ducts"}, ("--survive", "invalid choice")),
    ({"--horizon-days": "3"}, ("--horizon-days", "at least 7")),
    ({"--interval": "0.9"}, ("--interval", "two whole weeks")),
    ({"--cost-per-module": "1,2,3"}, ("--cost-per-module", "one per module size")),
    ({"--steps": "100"}, ("--steps", "one whole week")),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, change, needles):
    argv = list(SMALL)
    for flag, value in change.items():
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    up, d = tmp_path / "up.json", tmp_path / "d.csv"
    one_line_error(capsys, argv + ["--out-topology", str(up), "--out-demands", str(d)], *needles)
    assert list(tmp_path.iterdir()) == []


def test_auto_growth_horizon_rule(tmp_path, capsys):
    argv = [a if a != "168" else "672" for a in SMALL]  # four weeks of history
    argv[argv.index("--growth") + 1] = "auto"
    one_line_error(capsys, argv[:argv.index("--horizon-days") + 1] + ["29"] + argv[argv.index("--horizon-days") + 2:],
                   "--horizon-days", "beyond what 28 days of history support")
    argv[argv.index("--horizon-days") + 1] = "28"
    assert main(argv + ["--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["growth"]["mode"] == "auto" and set(plan["growth"]["per_origin"]) == {
        n.id for n in load_topology("abilene").nodes}


def test_outputs_refused_before_any_work(tmp_path, capsys):
    one_line_error(capsys, SMALL + ["--out-topology", str(tmp_path / "up.graphml")], "--out-topology", ".json")
    one_line_error(capsys, SMALL + ["--out-demands", str(tmp_path / "no" / "d.csv")], "--out-demands",
                   "folder does not exist")



def test_link_loads_plan_like_the_demands_they_come_from(tmp_path, capsys):
    # Deduced demands reproduce every measured load, and without failure the plan depends only on
    # the loads (the forecast is linear in the demands): the same upgrades as on the true demands.
    loads = tmp_path / "loads.csv"
    assert main(["simulate", "--topology", "abilene", "--steps", "168", "--step-minutes", "60",
                 "--peak-utilization", "0.8", "--out", str(loads)]) == 0
    capsys.readouterr()
    common = ["plan", "--topology", "abilene", "--steps", "168", "--horizon-days", "30", "--growth", "0.3",
              "--survive", "none", "--target-utilization", "0.8", "--modules", "1000,10000", "--json", "--workers", "1"]
    assert main(common + ["--link-loads", str(loads)]) == 0
    deduced = json.loads(capsys.readouterr().out)
    assert main(common + ["--step-minutes", "60", "--peak-utilization", "0.8"]) == 0
    true = json.loads(capsys.readouterr().out)
    assert deduced["traffic"] == f"deduced from {loads}" and "deduction" in deduced
    assert true["n_upgrades"] >= 1
    assert [(u["link_id"], u["modules"]) for u in deduced["upgrades"]] == [
        (u["link_id"], u["modules"]) for u in true["upgrades"]]
    for a, b in zip(deduced["upgrades"], true["upgrades"]):
        assert a["worst_load_mbps"] == pytest.approx(b["worst_load_mbps"], rel=1e-4)
    one_line_error(capsys, common + ["--link-loads", str(loads), "--traffic", "x.csv"], "--traffic")


def test_srlg_groups_of_one_link_plan_like_single_link_failures(tmp_path, capsys):
    groups = tmp_path / "groups.csv"
    groups.write_text("srlg,link_id\n" + "".join(f"g{lk.id},{lk.id}\n" for lk in load_topology("abilene").links))
    plans = []
    for extra in (["--survive", "srlg", "--srlg", str(groups)], ["--survive", "link"]):
        argv = [a for a in SMALL if a not in ("--survive", "link")] + extra + ["--json"]
        assert main(argv) == 0
        plans.append(json.loads(capsys.readouterr().out))
    srlg, link = plans
    assert srlg["n_failures"] == link["n_failures"] == 14 and link["n_upgrades"] >= 1
    assert [(u["link_id"], u["modules"], u["needed_from"]["failure"].removeprefix("g")) for u in srlg["upgrades"]] == [
        (u["link_id"], u["modules"], u["needed_from"]["failure"]) for u in link["upgrades"]]
