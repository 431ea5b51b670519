"""`--traffic-model sine|backbone` on simulate, run, sweep and paper: used end to end, recorded,
refused with replayed traffic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from netdrift.cli.main import main
from netdrift.engine.experiments.spec import ScenarioSpec, spec_from_dict
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.network.routing import routing_matrix
from netdrift.engine.traffic.backbone import backbone_traffic
from netdrift.engine.traffic.sources import make_traffic
from netdrift.engine.traffic.synthetic import synthetic_traffic

REPLAY = str(Path(__file__).parents[1] / "fixtures/traffic/long4.csv")


def test_simulate_with_the_backbone_model_end_to_end(capsys):
    code = main(["simulate", "--topology", "abilene", "--steps", "2016", "--step-minutes", "5",
                 "--traffic-model", "backbone", "--peak-utilization", "0.45", "--seed", "2", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    s = json.loads(out.out)
    assert s["traffic_model"] == "backbone"
    assert s["max_utilization"] == pytest.approx(0.45, rel=1e-4)  # no failure: the scaled peak
    # the same series as the generator's, and its gaps are reported as missing intervals
    tm = backbone_traffic(load_topology("abilene"), 2016, 5.0, seed=2, peak_utilization=0.45)
    assert s["missing_steps"] == int(tm.missing.sum()) > 0


def test_the_default_stays_the_paper_sine():
    topo = load_topology("abilene")
    a = make_traffic("synthetic", topo, 300, 5.0, 1)
    assert np.array_equal(a.demands, synthetic_traffic(topo, 300, 5.0, seed=1).demands)
    b = make_traffic("synthetic", topo, 300, 5.0, 1, model="backbone")
    assert b.missing.any() or not np.array_equal(a.demands, b.demands)
    assert ScenarioSpec().traffic_model == "sine"


def test_backbone_peak_is_the_routed_peak_on_a_real_topology():
    topo = load_topology("geant2001")
    tm = make_traffic("synthetic", topo, 600, 15.0, 5, peak_utilization=0.7, model="backbone")
    m = routing_matrix(topo, src=tm.src, dst=tm.dst).matrix
    util = (m @ tm.demands[~tm.missing].astype(np.float64).T).T / topo.direction_capacity
    assert util.max() == pytest.approx(0.7, rel=1e-5)


@pytest.mark.parametrize("command", [
    ["simulate", "--topology", "abilene", "--steps", "3"],
    ["run", "--topology", "abilene", "--steps", "3", "--train-steps", "2"],
    ["sweep", "--topology", "abilene", "--steps", "3", "--kind", "link", "--from", "0", "--to", "1"],
    ["paper", "--topology", "abilene", "--steps", "3", "--train-steps", "2"],
])
@pytest.mark.parametrize("model", ["backbone", "sine"])
def test_a_traffic_model_with_replayed_traffic_is_one_line_exit_2(command, model, capsys, tmp_path):
    code = main(command + ["--traffic", REPLAY, "--traffic-model", model, "--db", f"sqlite:///{tmp_path}/h.db"]
                if command[0] != "simulate" else command + ["--traffic", REPLAY, "--traffic-model", model])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "--traffic-model" in err and "replayed" in err
    assert not (tmp_path / "h.db").exists()  # refused before the history was opened


def test_an_unknown_traffic_model_is_refused_by_argparse(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--topology", "abilene", "--steps", "3", "--step-minutes", "5", "--traffic-model", "x"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_the_stored_spec_records_the_model_and_old_specs_load_as_sine():
    spec = ScenarioSpec(topology="abilene", traffic_model="backbone")
    stored = spec.to_dict()
    assert stored["traffic_model"] == "backbone" and spec_from_dict(stored) == spec
    old = {k: v for k, v in stored.items() if k != "traffic_model"}  # a spec stored before the field
    assert spec_from_dict(old).traffic_model == "sine"


def test_sweep_records_the_model(capsys, tmp_path):
    db = f"sqlite:///{tmp_path}/h.db"
    code = main(["sweep", "--topology", "abilene", "--steps", "300", "--traffic-model", "backbone", "--kind", "link",
                 "--from", "100", "--to", "200", "--db", db, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    from netdrift.service.sweeps import list_sweeps, open_sweep
    from netdrift.storage.database import open_database

    sessions = open_database(db)
    (listed,) = list_sweeps(sessions)
    assert open_sweep(sessions, listed["id"]).config["traffic_model"] == "backbone"


def test_run_stores_the_model_so_the_history_can_rebuild_it(capsys, tmp_path):
    db = f"sqlite:///{tmp_path}/h.db"
    code = main(["run", "--topology", "abilene", "--steps", "120", "--train-steps", "72", "--step-minutes", "60",
                 "--models", "persistence", "--traffic-model", "backbone", "--fail", "0-1@80", "--db", db, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    sid = json.loads(out.out)["scenario_id"]
    assert main(["history", "show", str(sid), "--db", db, "--json"]) == 0
    config = json.loads(capsys.readouterr().out)["config"]
    assert config["traffic_model"] == "backbone"
    assert spec_from_dict(config).traffic_model == "backbone"


@pytest.mark.parametrize("command", [["run", "--train-steps", "10"], ["sweep", "--kind", "link", "--from", "0", "--to", "5"]])
def test_a_traffic_model_with_measured_link_loads_is_refused(command, capsys, tmp_path):
    code = main([command[0], "--topology", "abilene", "--steps", "20", *command[1:], "--link-loads", "no-such.csv",
                 "--traffic-model", "backbone", "--db", f"sqlite:///{tmp_path}/h.db"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--traffic-model" in err and "--link-loads" in err
