"""`netdrift sweep`: the CLI contract (JSON shape, --top, --out, the stored record, exit codes)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from netdrift.cli.main import main
from netdrift.engine.network.loaders import load_topology, topology_to_dict
from tests.helpers import one_line_error

BASE = ["sweep", "--topology", "abilene", "--steps", "24", "--step-minutes", "30", "--seed", "2",
        "--peak-utilization", "0.9"]
FAILURE_KEYS = {"target", "severity", "worst_utilization", "worst_direction", "worst_step", "overloaded",
                "dropped_mbps_max", "dropped_mbps_total", "cut_pairs"}


@pytest.fixture()
def db(tmp_path):
    return f"sqlite:///{tmp_path}/h.sqlite"


def test_json_shape_top_and_stored_record(capsys, db):
    topo = load_topology("abilene")
    assert main(BASE + ["--kind", "link", "--from", "4", "--to", "20", "--top", "3", "--json", "--db", db]) == 0
    s = json.loads(capsys.readouterr().out)
    assert {"kind", "failures", "per_direction", "seconds", "sweep_id"} <= set(s)
    assert s["kind"] == "link" and s["n_failures"] == len(topo.links)
    assert len(s["failures"]) == 3
    for f in s["failures"]:
        assert FAILURE_KEYS <= set(f)
        assert 4 <= f["worst_step"] < 20
    assert len(s["per_direction"]) == 2 * len(topo.links)
    d = next(iter(s["per_direction"].values()))
    assert {"link_id", "src", "dst", "worst_utilization", "step", "failure"} <= set(d)

    from netdrift.storage.database import open_database
    from netdrift.storage.sweep_repository import SweepRepository

    with open_database(db)() as session:
        stored = SweepRepository(session).get_sweep(s["sweep_id"])
    assert stored["kind"] == "link" and stored["n_failures"] == len(topo.links)
    assert stored["result"]["failures"][:3] == s["failures"]

    assert main(BASE + ["--kind", "node", "--from", "0", "--to", "24", "--top", "0", "--json", "--db", db]) == 0
    s = json.loads(capsys.readouterr().out)
    assert len(s["failures"]) == len(topo.nodes)


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_out_writes_the_per_failure_table(tmp_path, capsys, db, ext):
    out = tmp_path / f"sweep{ext}"
    assert main(BASE + ["--kind", "link", "--from", "0", "--to", "24", "--out", str(out), "--db", db]) == 0
    text = capsys.readouterr().out
    assert "sweep" in text and str(out) in text
    frame = pd.read_csv(out) if ext == ".csv" else pd.read_parquet(out)
    assert len(frame) == len(load_topology("abilene").links)
    assert {"rank", "target", "worst_utilization", "dropped_mbps_total", "cut_pairs"} <= set(frame.columns)
    assert list(frame["rank"]) == list(range(1, len(frame) + 1))


def test_srlg_from_topology_json_and_csv(tmp_path, capsys, db):
    topo = load_topology("abilene")
    data = topology_to_dict(topo)
    l0, l1, l2 = (l.id for l in topo.links[:3])
    data["srlgs"] = [{"id": "g1", "links": [l0, l1]}, {"id": "g2", "links": [l2]}]
    tf = tmp_path / "abilene.json"
    tf.write_text(json.dumps(data))
    args = ["sweep", "--topology", str(tf), "--steps", "12", "--kind", "srlg", "--from", "0", "--to", "12",
            "--json", "--db", db]
    assert main(args) == 0
    s = json.loads(capsys.readouterr().out)
    assert sorted(f["target"] for f in s["failures"]) == ["g1", "g2"]
    csv = tmp_path / "g.csv"
    csv.write_text(f"srlg,link_id\nduct,{l0}\nduct,{l2}\n")
    assert main(args + ["--srlg", str(csv)]) == 0
    s = json.loads(capsys.readouterr().out)
    assert [f["target"] for f in s["failures"]] == ["duct"]
    assert s["failures"][0]["links"] == [l0, l2]


def test_bad_input_exits_2_with_one_line(tmp_path, capsys, db, monkeypatch):
    w = ["--from", "0", "--to", "12", "--db", db]
    one_line_error(capsys, BASE + ["--kind", "bogus"] + w, "invalid choice")
    one_line_error(capsys, BASE + ["--kind", "srlg"] + w, "--srlg")
    one_line_error(capsys, BASE + ["--kind", "srlg", "--srlg", str(tmp_path / "none.csv")] + w, "no such file")
    empty = tmp_path / "empty.csv"
    empty.write_text("srlg,link_id\ng,\n")
    one_line_error(capsys, BASE + ["--kind", "srlg", "--srlg", str(empty)] + w, "empty")
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"srlgs": [{"id": "g", "links": ["no-such-link"]}]}))
    one_line_error(capsys, BASE + ["--kind", "srlg", "--srlg", str(unknown)] + w, "unknown link id")
    one_line_error(capsys, BASE + ["--kind", "link", "--from", "8", "--to", "8", "--db", db], "--from")
    one_line_error(capsys, BASE + ["--kind", "link", "--from", "0", "--to", "99", "--db", db], "--to")
    one_line_error(capsys, BASE + ["--kind", "link", "--out", str(tmp_path / "x.txt")] + w, "--out")
    monkeypatch.setenv("NETDRIFT_MAX_MEMORY", "1K")
    one_line_error(capsys, BASE + ["--kind", "link-pairs"] + w, "memory budget")


def test_forecast_sweep_json_names_the_forecast(capsys, db):
    argv = BASE + ["--kind", "link", "--from", "12", "--forecast", "routed-persistence", "--horizon", "4",
                   "--top", "0", "--json", "--db", db]
    assert main(argv) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["forecast"]["model"] == "routed-persistence" and s["forecast"]["horizon"] == 4
    assert s["from"] == 12 and s["to"] == 16
    assert all(12 <= f["worst_step"] < 16 for f in s["failures"])
    assert main(argv + ["--interval", "0.9"]) == 0
    upper = json.loads(capsys.readouterr().out)
    assert upper["forecast"]["interval"]["level"] == 0.9
    by_target = {f["target"]: f["worst_utilization"] for f in s["failures"]}
    assert all(f["worst_utilization"] >= by_target[f["target"]] for f in upper["failures"])


def test_backend_and_forecast_bad_input_exits_2_with_one_line(capsys, db):
    w = ["--kind", "link", "--from", "0", "--to", "12", "--db", db]
    one_line_error(capsys, BASE + w + ["--ray-address", "127.0.0.1:1"], "--ray-address")
    one_line_error(capsys, BASE + w + ["--executor", "ray", "--ray-address", "127.0.0.1:1"],
                     "no Ray head answers")
    one_line_error(capsys, BASE + w + ["--executor", "dask"], "invalid choice")
    fc = ["--kind", "link", "--from", "12", "--db", db]
    one_line_error(capsys, BASE + fc + ["--forecast", "bogus", "--horizon", "4"], "--forecast 'bogus'")
    one_line_error(capsys, BASE + fc + ["--forecast", "persistence", "--horizon", "4"],
                     "cannot forecast each failure state")
    one_line_error(capsys, BASE + fc + ["--forecast", "routed-persistence"], "--horizon")
    one_line_error(capsys, BASE + fc + ["--forecast", "routed-persistence", "--horizon", "4", "--to", "16"],
                     "--to")
    one_line_error(capsys, BASE + fc + ["--horizon", "4", "--to", "16"], "--horizon")
    one_line_error(capsys, BASE + w + ["--interval", "0.9"], "--interval")
    one_line_error(capsys, BASE + fc + ["--forecast", "routed-persistence", "--horizon", "4", "--interval", "1.5"],
                     "--interval")
    one_line_error(capsys, BASE + ["--kind", "link", "--from", "0", "--db", db], "--to")


def test_cuda_without_gpu_exits_2_with_one_line(capsys, db):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    one_line_error(capsys, BASE + ["--kind", "link", "--from", "0", "--to", "12", "--device", "cuda", "--db", db],
                     "--device 'cuda': no CUDA GPU")


def test_executor_ray_without_ray_installed_is_one_line(tmp_path):
    # A fresh interpreter where `import ray` fails, as it does without the [ray] extra.
    import subprocess
    import sys

    code = ("import sys; sys.modules['ray'] = None\n"
            "from netdrift.cli.main import main\n"
            f"sys.exit(main({BASE + ['--kind', 'link', '--from', '0', '--to', '12', '--executor', 'ray', '--db', f'sqlite:///{tmp_path}/h.sqlite']!r}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Ray is not installed" in lines[0] and "netdrift[ray]" in lines[0]
    assert not (tmp_path / "h.sqlite").exists()                  # nothing written


@pytest.mark.slow
def test_executor_ray_on_a_local_ray_prints_the_local_ranking(capsys, db):
    pytest.importorskip("ray")
    argv = BASE + ["--kind", "link", "--from", "4", "--to", "20", "--top", "0", "--json", "--db", db,
                   "--workers", "2"]
    assert main(argv) == 0
    local = json.loads(capsys.readouterr().out)
    assert main(argv + ["--executor", "ray"]) == 0
    on_ray = json.loads(capsys.readouterr().out)
    assert on_ray["executor"] == "ray" and on_ray["ray_address"] == "local"
    assert on_ray["failures"] == local["failures"] and on_ray["per_direction"] == local["per_direction"]


# --- the same step and seed rules as simulate and run (issue 14) ------------------------------
def _replay_topology(tmp_path):
    ids = ["ATLAng", "CHINng", "NYCMng", "WASHng"]  # the nodes of tests/fixtures/traffic/long4.csv
    links = [{"u": a, "v": b, "capacity_mbps": 1e4} for a, b in zip(ids, ids[1:] + ids[:1])]
    path = tmp_path / "abilene4.json"
    path.write_text(json.dumps({"nodes": [{"id": i} for i in ids], "links": links}))
    return path


REPLAY = str(Path(__file__).resolve().parents[1] / "fixtures" / "traffic" / "long4.csv")  # 15-minute steps


def test_a_replay_keeps_its_own_step_and_refuses_another(tmp_path, capsys, db):
    topo = str(_replay_topology(tmp_path))
    args = ["sweep", "--topology", topo, "--traffic", REPLAY, "--steps", "4", "--kind", "link", "--from", "0",
            "--to", "4", "--db", db]
    assert main(args + ["--json"]) == 0
    assert json.loads(capsys.readouterr().out)["step_minutes"] == 15.0
    assert main(args + ["--step-minutes", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--step-minutes" in err and "15 minutes" in err


def test_a_negative_seed_is_one_line(capsys, db):
    assert main(BASE[:-4] + ["--seed", "-1", "--kind", "link", "--from", "0", "--to", "4", "--db", db]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--seed" in err


def test_worst_utilisation_equals_simulate_with_the_failure_for_three_random_links(tmp_path, capsys, db):
    """Issue 12's oracle: for three links picked at random, the sweep's worst utilisation is the
    maximum, over the same steps, of load / capacity in `netdrift simulate --fail ID@FROM`'s table."""
    import numpy as np

    topo = load_topology("geant2001")
    start, stop = 10, 30
    common = ["--topology", "geant2001", "--steps", "36", "--step-minutes", "15", "--seed", "4"]
    assert main(["sweep", *common, "--kind", "link", "--from", str(start), "--to", str(stop), "--top", "0",
                 "--json", "--db", db]) == 0
    by_target = {f["target"]: f for f in json.loads(capsys.readouterr().out)["failures"]}
    picked = np.random.default_rng(3).choice(len(topo.links), size=3, replace=False)
    for i in picked:
        link = topo.links[int(i)].id
        out = tmp_path / f"sim-{i}.csv"
        assert main(["simulate", *common, "--fail", f"{link}@{start}", "--out", str(out)]) == 0
        capsys.readouterr()
        table = pd.read_csv(out)
        window = table[(table["step"] >= start) & (table["step"] < stop)]
        expected = float((window["load_mbps"] / window["capacity_mbps"]).max())
        assert by_target[link]["worst_utilization"] == pytest.approx(expected, rel=1e-5), link


def test_the_readable_output_names_nodes_beside_the_ids(capsys, db):
    topo = load_topology("abilene")
    label = {n.id: n.label for n in topo.nodes}
    assert main(BASE + ["--kind", "link", "--from", "0", "--to", "12", "--top", "1", "--db", db]) == 0
    out = capsys.readouterr().out
    assert main(BASE + ["--kind", "link", "--from", "0", "--to", "12", "--top", "1", "--json", "--db", db]) == 0
    top = json.loads(capsys.readouterr().out)["failures"][0]
    link = topo.links[topo.link_index[top["target"]]]
    wd = top["worst_direction"]
    line = next(x for x in out.splitlines() if x.strip().startswith("1. "))
    assert f"{top['target']} ({label[link.u]} - {label[link.v]})" in line
    assert f"on {label[wd['src']]} -> {label[wd['dst']]} (link {wd['link_id']})" in line
