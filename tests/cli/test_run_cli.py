"""`netdrift run`, `history` and `paper`: the CLI contract the dashboard and checks rely on."""

from __future__ import annotations

import json
import sqlite3

import pytest
import torch

from netdrift.cli.main import main

BASE = ["run", "--topology", "abilene", "--steps", "120", "--train-steps", "72", "--step-minutes", "60",
        "--window", "8", "--epochs", "1", "--train-windows", "256", "--il-batch", "12", "--il-window", "48", "--seed", "1"]


def count_scenarios(db_file) -> int:
    if not db_file.exists():
        return 0
    with sqlite3.connect(db_file) as con:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
        if "scenarios" not in tables:
            return 0
        return con.execute("select count(*) from scenarios").fetchone()[0]


def run_json(capsys, args):
    code = main(args)
    out = capsys.readouterr()
    return code, out


@pytest.mark.slow
def test_run_stores_and_reports_every_model(tmp_path, capsys):
    db = f"sqlite:///{tmp_path}/h.sqlite"
    code, out = run_json(capsys, BASE + ["--fail", "0-1@80", "--db", db, "--json",
                                         "--models", "liquid,incremental,persistence,seasonal,frozen"])
    assert code == 0, out.err
    data = json.loads(out.out)
    assert isinstance(data["scenario_id"], int)
    keys = {"rmse_pre", "rmse_post", "mape_pre", "mape_post", "mae_post", "smape_post", "ttc_steps",
            "retrains", "fit_seconds", "predict_ms_per_step"}
    assert set(data["models"]) == {"liquid", "incremental", "persistence", "seasonal", "frozen"}
    for m in data["models"].values():
        assert keys <= set(m)
        assert len(m["ttc_steps"]) == 1
        assert m["ttc_steps"][0] is None or isinstance(m["ttc_steps"][0], int)
    assert data["models"]["incremental"]["retrains"] == (120 - 72) // 12
    assert data["models"]["liquid"]["retrains"] == 0
    assert "%" in out.err or "step" in out.err  # progress went to stderr

    code, out = run_json(capsys, ["history", "list", "--db", db, "--json"])
    items = json.loads(out.out)
    assert [i["id"] for i in items] == [data["scenario_id"]]
    assert items[0]["status"] == "complete"
    code, out = run_json(capsys, ["history", "show", str(data["scenario_id"]), "--db", db, "--json"])
    shown = json.loads(out.out)
    assert shown["metrics"]["persistence"]["rmse_post"] == pytest.approx(data["models"]["persistence"]["rmse_post"])


@pytest.mark.parametrize("extra, message", [
    (["--models", "persistence,oracle"], "model 'oracle'"),
    (["--train-steps", "120"], "--train-steps"),
    (["--fail", "0-1@500"], "--fail '0-1@500': step 500 is outside the run"),
    (["--il-batch", "300"], "--il-window (N=48): must be greater than il_batch (B=300)"),
    (["--fail", "no-such-link@80"], "no-such-link"),
])
def test_bad_input_exits_2_with_one_line_and_stores_nothing(tmp_path, capsys, extra, message):
    db_file = tmp_path / "h.sqlite"
    args = BASE + ["--db", f"sqlite:///{db_file}", "--models", "persistence"] + extra
    code, out = run_json(capsys, args)
    assert code == 2
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert count_scenarios(db_file) == 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_refused(tmp_path, capsys):
    code, out = run_json(capsys, BASE + ["--device", "cuda", "--db", f"sqlite:///{tmp_path}/h.sqlite"])
    assert code == 2 and "cuda" in out.err.lower()
    assert count_scenarios(tmp_path / "h.sqlite") == 0


def test_unreachable_database_is_refused(tmp_path, capsys):
    code, out = run_json(capsys, BASE + ["--db", "postgresql://nobody@127.0.0.1:1/none", "--models", "persistence"])
    assert code == 2 and "database" in out.err.lower()
    code, out = run_json(capsys, BASE + ["--db", f"sqlite:///{tmp_path}", "--models", "persistence"])
    assert code == 2 and str(tmp_path) in out.err


def test_history_of_an_unknown_id(tmp_path, capsys):
    from netdrift.storage.database import open_database

    open_database(f"sqlite:///{tmp_path}/h.sqlite")
    code, out = run_json(capsys, ["history", "show", "42", "--db", f"sqlite:///{tmp_path}/h.sqlite"])
    assert code == 2 and "42" in out.err


def test_reading_history_at_a_mistyped_path_creates_nothing(tmp_path, capsys):
    db = f"sqlite:///{tmp_path}/typo/h.sqlite"
    code, out = run_json(capsys, ["history", "list", "--db", db])
    assert code == 0 and "no scenarios stored yet" in out.out and f"{tmp_path}/typo/h.sqlite" in out.out
    code, out = run_json(capsys, ["history", "list", "--db", db, "--json"])
    assert code == 0 and json.loads(out.out) == []
    code, out = run_json(capsys, ["history", "show", "1", "--db", db])
    assert code == 2 and f"{tmp_path}/typo/h.sqlite" in out.err
    assert not (tmp_path / "typo").exists()


@pytest.mark.slow
def test_paper_tabulates_and_stores_each_failure(tmp_path, capsys):
    db = f"sqlite:///{tmp_path}/p.sqlite"
    code, out = run_json(capsys, ["paper", "--topology", "abilene", "--steps", "96", "--train-steps", "60",
                                  "--step-minutes", "60", "--window", "6", "--epochs", "1", "--train-windows", "256", "--il-window", "30",
                                  "--batch-sizes", "6,12", "--per-class", "1", "--db", db, "--json"])
    assert code == 0, out.err
    data = json.loads(out.out)
    models = {r["model"] for r in data["rows"]}
    assert {"liquid-cfc", "liquid-ltc", "incremental-b6", "incremental-b12", "persistence"} <= models
    assert len(data["scenario_ids"]) == len({r["link"] for r in data["rows"]})
    assert {r["drift_class"] for r in data["table"]} <= {"moderate", "drastic"}


@pytest.mark.parametrize("observe", ["links", "demands"])
def test_routed_models_run_next_to_link_level_ones_and_report_the_estimation(tmp_path, capsys, observe):
    db = f"sqlite:///{tmp_path}/h.sqlite"
    code, out = run_json(capsys, BASE + ["--db", db, "--models", "persistence,routed-persistence,routed-frozen",
                                         "--observe", observe, "--fail", "0-1@80", "--json"])
    assert code == 0, out.err
    data = json.loads(out.out)
    assert data["observe"] == observe
    assert set(data["models"]) == {"persistence", "routed-persistence", "routed-frozen"}
    for m in data["models"].values():
        assert m["rmse_day1"] is not None and m["rmse_transient"] is None  # H = 1: no transient target
    if observe == "links":
        est = data["tm_estimation"]
        assert 0 < est["rel_l2_demands"] < 1 and 0 <= est["rel_l2_links"] < 1e-3
    else:
        assert "tm_estimation" not in data
    code, out = run_json(capsys, ["history", "show", str(data["scenario_id"]), "--db", db, "--json"])
    assert set(json.loads(out.out)["metrics"]) >= {"routed-persistence", "routed-frozen"}


def test_unknown_observe_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(BASE + ["--db", f"sqlite:///{tmp_path}/h.sqlite", "--observe", "flows"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--observe" in err and "flows" in err


def test_seeds_give_means_intervals_and_differences_to_persistence(tmp_path, capsys):
    db = f"sqlite:///{tmp_path}/h.sqlite"
    code, out = run_json(capsys, BASE + ["--db", db, "--models", "persistence,routed-persistence", "--fail", "0-1@80",
                                         "--seeds", "2", "--json"])
    assert code == 0, out.err
    data = json.loads(out.out)
    assert data["seeds"] == [1, 2] and len(data["scenario_ids"]) == 2
    line = data["models"]["routed-persistence"]
    for key in ("rmse_post", "rmse_day1", "excess_rmse_post"):
        values = line[key]["values"]
        assert line[key]["mean"] == pytest.approx(sum(values) / 2) and len(line[key]["ci"]) == 2
    diff = data["vs_baseline"]["routed-persistence"]["rmse_post_diff"]
    assert diff["ci"][0] <= diff["estimate"] <= diff["ci"][1] and isinstance(diff["within_noise"], bool)
    assert count_scenarios(tmp_path / "h.sqlite") == 2


def test_run_refuses_a_link_failed_twice_and_replay_shorter_than_the_run(tmp_path, capsys):
    db_file = tmp_path / "h.sqlite"
    args = BASE + ["--db", f"sqlite:///{db_file}", "--models", "persistence"]
    code, out = run_json(capsys, args + ["--fail", "0-1@80", "--fail", "0-1@90"])
    assert code == 2 and "--fail '0-1@90'" in out.err and "already down" in out.err
    csv = tmp_path / "short.csv"
    csv.write_text("time,src,dst,mbps\n2024-01-01T00:00:00,0,1,5\n2024-01-01T01:00:00,0,1,6\n")
    code, out = run_json(capsys, args + ["--traffic", str(csv)])
    assert code == 2 and "fewer than the 120 steps" in out.err
    assert count_scenarios(db_file) == 0


@pytest.mark.slow
@pytest.mark.parametrize("topology, routed", [("abilene", True), ("cogentco", False)])
def test_default_models_leave_the_costly_routed_member_out_on_large_maps(tmp_path, capsys, topology, routed):
    # Cogentco has 197 nodes: 38,612 node pairs to deduce at every step with --observe links
    # (over the 10,000 of the rule); Abilene 11 nodes, 110 pairs.
    args = ["run", "--topology", topology, "--steps", "60", "--train-steps", "48", "--step-minutes", "60",
            "--window", "8", "--epochs", "1", "--train-windows", "64", "--il-batch", "12", "--il-window", "24",
            "--seed", "1", "--db", f"sqlite:///{tmp_path}/h.sqlite", "--json"]
    code, out = run_json(capsys, args)
    assert code == 0, out.err
    models = set(json.loads(out.out)["models"])
    assert {"liquid", "persistence", "online-ar", "ensemble"} <= models
    assert ("routed-persistence" in models) is routed
