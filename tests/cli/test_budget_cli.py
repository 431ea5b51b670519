"""Issue 14: --max-memory and the memory budget at the command line; values above float32 refused.

Each refusal is exit 2 and one line naming the estimate and the budget, no traceback. Timings are
not asserted (the refusals come before any allocation of steps x pairs)."""

from __future__ import annotations

import json

import pytest

from netdrift.cli.main import main
from tests.helpers import one_line_error

SIM = ["simulate", "--topology", "abilene", "--steps", "12", "--step-minutes", "60", "--seed", "3"]


def test_huge_steps_refused(capsys):
    # --steps is bounded by argparse since issue 22; the most it accepts is still refused by the budget
    one_line_error(capsys, ["simulate", "--topology", "abilene", "--steps", "99999999999", "--step-minutes", "5"],
                   "--steps", "at most 5000000")
    one_line_error(capsys, ["simulate", "--topology", "abilene", "--steps", "5000000", "--step-minutes", "5",
                            "--max-memory", "1G"],
                   "synthetic traffic on", "5000000 steps", "would need about", "over the memory budget of")


@pytest.mark.parametrize("fmt", ["json", "graphml"])
def test_topology_with_very_many_nodes_refused(capsys, tmp_path, fmt):
    n = 50_000
    if fmt == "json":
        p = tmp_path / "many.json"
        p.write_text(json.dumps({"name": "many", "nodes": [{"id": f"n{i}"} for i in range(n)],
                                 "links": [{"u": f"n{i}", "v": f"n{i + 1}", "capacity_mbps": 1000}
                                           for i in range(n - 1)]}))
    else:
        p = tmp_path / "many.graphml"
        p.write_text('<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
                     '<graph edgedefault="undirected">' + "".join(f'<node id="{i}"/>' for i in range(n))
                     + "".join(f'<edge source="{i}" target="{i + 1}"/>' for i in range(n - 1)) + "</graph></graphml>")
    one_line_error(capsys, ["simulate", "--topology", str(p), "--steps", "10", "--step-minutes", "5"],
                   "50000 nodes", "2499950000 node pairs", "TiB, over the memory budget")


def test_max_memory_lets_a_small_run_pass_and_refuses_it_when_tiny(capsys):
    assert main(SIM + ["--max-memory", "2G", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 12
    one_line_error(capsys, SIM + ["--max-memory", "1K"], "over the memory budget of 1 KiB (--max-memory)")
    # the simulator's own arrays (and --out's table) are checked too, once the traffic fits
    from netdrift.engine.budget import simulation_memory_bytes
    from netdrift.engine.network.loaders import load_topology
    from netdrift.engine.traffic.synthetic import synthetic_memory_bytes

    t = load_topology("abilene")
    n, d = len(t.nodes), t.n_directions
    gen, sim = synthetic_memory_bytes(n, d, 12), simulation_memory_bytes(12, n * (n - 1), n, d)
    assert gen < sim
    one_line_error(capsys, SIM + ["--max-memory", str(int((gen + sim) / 2))],
                   f"simulation of 12 steps x {d} link directions on 'Abilene'", "(--max-memory)")
    with pytest.raises(SystemExit) as exit_info:  # argparse's own one line
        main(SIM + ["--max-memory", "2X"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--max-memory: '2X'" in err, err


def test_env_budget_still_applies_and_flag_overrides_it(capsys, monkeypatch):
    monkeypatch.setenv("NETDRIFT_MAX_MEMORY", "1K")
    one_line_error(capsys, SIM, "(NETDRIFT_MAX_MEMORY)")
    assert main(SIM + ["--max-memory", "1G"]) == 0
    capsys.readouterr()


def test_run_and_sweep_take_max_memory(capsys, tmp_path):
    db = f"sqlite:///{tmp_path}/h.sqlite"
    run = ["run", "--topology", "abilene", "--steps", "120", "--train-steps", "72", "--step-minutes", "60",
           "--window", "8", "--models", "persistence", "--seed", "1", "--db", db]
    one_line_error(capsys, run + ["--max-memory", "1K"], "over the memory budget of 1 KiB (--max-memory)")
    assert main(run + ["--max-memory", "4G", "--json"]) == 0
    capsys.readouterr()
    sweep = ["sweep", "--topology", "abilene", "--steps", "24", "--step-minutes", "30", "--kind", "link",
             "--from", "0", "--to", "24", "--db", db]
    one_line_error(capsys, sweep + ["--max-memory", "1K"], "over the memory budget of 1 KiB (--max-memory)")
    assert main(sweep + ["--max-memory", "4G", "--json"]) == 0
    capsys.readouterr()
    # the sweep's own estimate reads the same budget once the traffic fits
    from netdrift.engine.network.loaders import load_topology
    from netdrift.engine.sweep import estimate_bytes
    from netdrift.engine.traffic.synthetic import synthetic_memory_bytes

    t = load_topology("abilene")
    n, d = len(t.nodes), t.n_directions
    gen = synthetic_memory_bytes(n, d, 24)
    est = estimate_bytes(n * (n - 1), d, 24, len(t.links), 16, n, True)
    assert gen < est
    one_line_error(capsys, sweep + ["--workers", "16", "--max-memory", str(int((gen + est) / 2))],
                   "sweep of", "(--max-memory)")


def test_float32_overflow_refused_naming_the_input(capsys, tmp_path):
    topo = tmp_path / "t.json"
    topo.write_text(json.dumps({"name": "t", "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
                                "links": [{"u": "a", "v": "b", "capacity_mbps": 1e39},
                                          {"u": "b", "v": "c", "capacity_mbps": 100}]}))
    one_line_error(capsys, ["simulate", "--topology", str(topo), "--steps", "2", "--step-minutes", "5"],
                   f"topology file '{topo}'", "link a-b: capacity 1e+39 Mbit/s is above the largest accepted")
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"name": "ok", "nodes": [{"id": "a"}, {"id": "b"}],
                              "links": [{"u": "a", "v": "b", "capacity_mbps": 100}]}))
    csv = tmp_path / "d.csv"
    csv.write_text("time,src,dst,mbps\n2024-01-01T00:00,a,b,5\n2024-01-01T00:05,b,a,1e39\n")
    one_line_error(capsys, ["simulate", "--topology", str(ok), "--traffic", str(csv), "--steps", "2"],
                   f"--traffic '{csv}': line 3: mbps 1e39 is above the largest demand accepted")
    one_line_error(capsys, ["simulate", "--topology", str(ok), "--steps", "2", "--step-minutes", "5",
                            "--peak-utilization", "1e38"], "--peak-utilization: 1e+38 would make demands above")
