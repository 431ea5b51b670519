"""`netdrift deduce` and `--link-loads` on simulate / sweep / run: loads in, demands deduced, the
loads reproduced, failures ranked as on the true demands; bad input refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from netdrift.cli.main import main
from tests.helpers import one_line_error

TOPO = ["--topology", "geant2001"]
STEPS = 48


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NETDRIFT_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="module")
def loads_csv(tmp_path_factory):
    """What `netdrift simulate --out` writes for the true (synthetic) demands."""
    path = tmp_path_factory.mktemp("loads") / "loads.csv"
    assert main(["simulate", *TOPO, "--steps", str(STEPS), "--step-minutes", "5", "--seed", "2",
                 "--out", str(path)]) == 0
    return path


def loads_table(path) -> np.ndarray:
    frame = pd.read_csv(path)
    return frame["load_mbps"].to_numpy().reshape(frame["step"].nunique(), -1)


def test_round_trip_reproduces_every_link_within_one_percent(tmp_path, capsys, loads_csv):
    demands = tmp_path / "demands.csv"
    assert main(["deduce", *TOPO, "--link-loads", str(loads_csv), "--out", str(demands), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["steps"]) == STEPS and report["deduction"]["method"] == "prior"
    assert report["deduction"]["link_fit"]["max"] < 1e-3
    assert list(pd.read_csv(demands, nrows=1).columns) == ["time", "src", "dst", "mbps"]
    # The demands, replayed by --traffic and routed by simulate, give the measured loads back.
    again = tmp_path / "again.csv"
    assert main(["simulate", *TOPO, "--traffic", str(demands), "--steps", str(STEPS), "--out", str(again)]) == 0
    measured, routed = loads_table(loads_csv), loads_table(again)
    ok = measured > 0
    assert np.abs(routed[ok] / measured[ok] - 1).max() < 0.01
    assert (routed[~ok] < 1e-6 * measured.max()).all()


def test_counters_and_rates_give_the_same_demands(tmp_path, capsys, loads_csv):
    """The loads written as cumulative 64-bit octet counters (ifHCOutOctets), every one of them
    wrapping on the way, deduce the demands the rates do."""
    frame = pd.read_csv(loads_csv)
    octets = np.rint(frame["load_mbps"].to_numpy() * 1e6 / 8 * 300).astype(np.int64).reshape(STEPS, -1)
    times = pd.to_datetime(frame["time"].iloc[:: octets.shape[1]]).tolist() + [None]
    times[-1] = times[-2] + pd.Timedelta(minutes=5)
    lines = ["time,src,dst,octets"]
    names = list(zip(frame["src"][: octets.shape[1]], frame["dst"][: octets.shape[1]]))
    for d, (s, t) in enumerate(names):
        value = 2**64 - int(octets[: STEPS // 2, d].sum()) - 7     # wraps half way through
        for k in range(STEPS + 1):
            lines.append(f"{times[k]:%Y-%m-%dT%H:%M:%S},{s},{t},{value % 2**64}")
            value += int(octets[k, d]) if k < STEPS else 0
    counters = tmp_path / "counters.csv"
    counters.write_text("\n".join(lines) + "\n")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["deduce", *TOPO, "--link-loads", str(loads_csv), "--out", str(a)]) == 0
    assert main(["deduce", *TOPO, "--link-loads", str(counters), "--out", str(b)]) == 0
    capsys.readouterr()
    x, y = pd.read_csv(a)["mbps"].to_numpy(), pd.read_csv(b)["mbps"].to_numpy()
    assert len(x) == len(y) and np.linalg.norm(x - y) / np.linalg.norm(x) < 1e-4


def test_sweep_on_link_loads_ranks_failures_like_the_true_demands(tmp_path, capsys, loads_csv):
    common = ["sweep", *TOPO, "--steps", str(STEPS), "--kind", "link", "--from", "0", "--to", str(STEPS),
              "--top", "0", "--json", "--db", f"sqlite:///{tmp_path / 'h.sqlite'}"]
    assert main(common + ["--step-minutes", "5", "--seed", "2"]) == 0
    true = json.loads(capsys.readouterr().out)
    assert main(common + ["--link-loads", str(loads_csv)]) == 0
    deduced = json.loads(capsys.readouterr().out)
    assert deduced["deduction"]["link_fit"]["max"] < 1e-3
    rank = [f["target"] for f in true["failures"]]
    assert [f["target"] for f in deduced["failures"]][:5] == rank[:5]
    worst = {f["target"]: f["worst_utilization"] for f in true["failures"]}
    rel = np.array([abs(f["worst_utilization"] / worst[f["target"]] - 1) for f in deduced["failures"]])
    assert np.median(rel) <= 0.02 and rel.max() <= 0.05


@pytest.mark.slow
def test_run_on_link_loads_carries_the_deduction(tmp_path, capsys, loads_csv):
    assert main(["run", *TOPO, "--link-loads", str(loads_csv), "--steps", str(STEPS), "--train-steps", "36",
                 "--models", "routed-persistence,persistence", "--window", "4", "--horizon", "2", "--pre-steps", "4",
                 "--json", "--db", f"sqlite:///{tmp_path / 'h.sqlite'}"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["models"]) == {"routed-persistence", "persistence"}
    assert out["deduction"]["steps"] == STEPS and out["deduction"]["link_fit"]["max"] < 1e-3


def test_traffic_and_link_loads_together_are_refused(tmp_path, capsys, loads_csv):
    for cmd in (["simulate", "--steps", "4", "--step-minutes", "5"],
                ["sweep", "--steps", "4", "--kind", "link", "--from", "0", "--to", "4"],
                ["run", "--steps", "4", "--train-steps", "2"]):
        one_line_error(capsys, [cmd[0], *TOPO, *cmd[1:], "--traffic", "t.csv", "--link-loads", str(loads_csv)],
                       "--link-loads", "not allowed with argument --traffic")
    one_line_error(capsys, ["simulate", *TOPO, "--steps", "4", "--step-minutes", "5", "--deduce", "tomogravity"],
                   "--deduce: only applies with --link-loads")


@pytest.mark.parametrize("flag, value", [("--prom-query", "rate(ifHCOutOctets[5m])"), ("--prom-mapping", "m.csv"),
                                         ("--prom-start", "2024-01-01T00:00Z"), ("--prom-end", "2024-01-02T00:00Z"),
                                         ("--prom-steps", "12"), ("--prom-step", "5"), ("--prom-timeout", "3")])
def test_prometheus_options_without_a_prometheus_source_are_refused(tmp_path, capsys, loads_csv, flag, value):
    """Every --prom-* option on every command that takes --link-loads: without --link-loads, or with a
    CSV file as the source, one line naming the option, exit 2, nothing written (no output file, no
    history database)."""
    out, db = tmp_path / "out.csv", tmp_path / "h.sqlite"
    store = ["--db", f"sqlite:///{db}"]
    commands = [["simulate", "--steps", "4", "--step-minutes", "5", "--out", str(out)],
                ["sweep", "--steps", "4", "--step-minutes", "5", "--kind", "link", "--from", "0", "--to", "4", *store],
                ["run", "--steps", "8", "--train-steps", "4", "--step-minutes", "5", "--models", "persistence", *store],
                ["plan", "--steps", "24", "--step-minutes", "60", "--horizon-days", "30", "--growth", "0.3", "--survive",
                 "none", "--target-utilization", "0.8", "--modules", "1000,10000", "--out-demands", str(out)]]
    with_csv = [["deduce", "--link-loads", str(loads_csv), "--out", str(out)],
                ["simulate", "--steps", "4", "--link-loads", str(loads_csv), "--out", str(out)],
                ["sweep", "--steps", "4", "--kind", "link", "--from", "0", "--to", "4", "--link-loads", str(loads_csv),
                 *store]]
    for cmd in commands + with_csv:
        one_line_error(capsys, [cmd[0], *TOPO, *cmd[1:], flag, value],
                       f"netdrift: error: {flag}: only applies with --link-loads http://HOST:PORT (a Prometheus server)")
        assert not out.exists() and not db.exists(), cmd


@pytest.mark.parametrize("rows, needle", [
    ("time,src,dst,mbps\n2024-01-01T00:00,0,99,1\n2024-01-01T00:05,0,25,1\n", "node '99' is not in topology"),
    ("time,src,dst,mbps\n2024-01-01T00:00,0,1,1\n2024-01-01T00:05,0,25,1\n", "no link between '0' and '1'"),
    ("time,link,src,dst,mbps\n2024-01-01T00:00,0-25,0,1,1\n2024-01-01T00:05,0-25,0,25,1\n",
     "link '0-25' joins 0 and 25: it has no direction 0 -> 1"),
    ("time,src,dst,mbps\n2024-01-01T00:05,0,25,1\n2024-01-01T00:00,0,25,1\n", "is before the same direction's"),
    ("time,src,dst,mbps\n2024-01-01T00:00,0,25,NaN\n2024-01-01T00:05,0,25,1\n", "mbps 'NaN' is not a finite number"),
    ("time,src,dst,octets\n2024-01-01T00:00,0,25,-5\n2024-01-01T00:05,0,25,1\n", "octets '-5' is not a whole number"),
    ("time,src,dst,mbps\n", "no data rows"),
    ("", "is empty"),
])
def test_bad_link_loads_one_line_exit_2_nothing_written(tmp_path, capsys, rows, needle):
    src = tmp_path / "bad.csv"
    src.write_text(rows)
    out = tmp_path / "demands.csv"
    line = one_line_error(capsys, ["deduce", *TOPO, "--link-loads", str(src), "--out", str(out)], str(src), needle)
    assert line.startswith(f"netdrift: error: link loads '{src}': ")
    assert not out.exists() and list(tmp_path.iterdir()) == [src]


def test_deduce_writes_parquet_too_and_says_the_fit_per_step(tmp_path, capsys, loads_csv):
    out = tmp_path / "demands.parquet"
    assert main(["deduce", *TOPO, "--link-loads", str(loads_csv), "--steps", "6", "--deduce", "tomogravity",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].startswith("Geant2001: 6 steps of 5 min, 702 demand pairs deduced by 'tomogravity'")
    assert sum("link fit" in line for line in text) == 7            # six steps and the summary
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["time", "src", "dst", "mbps"] and len(frame) == 6 * 702


def test_sweep_bounds_hold_the_true_figure_and_say_what_the_counters_pin(tmp_path, capsys, loads_csv):
    """--bounds: each listed failure's range holds the figure of the deduced demands and the TRUE
    load of that direction at that step (the simulator with the true demands and the failure);
    the range's floor never exceeds the true worst utilisation. Without --link-loads, or with
    --forecast: one line, exit 2."""
    db = ["--db", f"sqlite:///{tmp_path / 'h.sqlite'}"]
    common = ["sweep", *TOPO, "--steps", str(STEPS), "--kind", "link", "--from", "0", "--to", str(STEPS), "--top", "8",
              "--json", *db]
    assert main(common + ["--step-minutes", "5", "--seed", "2"]) == 0
    true = {f["target"]: f for f in json.loads(capsys.readouterr().out)["failures"]}
    assert main(common + ["--link-loads", str(loads_csv), "--bounds"]) == 0
    printed = json.loads(capsys.readouterr().out)
    deduced = printed["failures"]
    # Kept with the sweep: the history gives the 8 listed failures the bounds printed, the rest none.
    from netdrift.service.sweeps import open_sweep, stored_deduction_bounds
    from netdrift.storage.database import open_database

    reopened = open_sweep(open_database(db[1]), printed["sweep_id"])
    assert stored_deduction_bounds(reopened) == [f["deduction_bounds"] for f in deduced]
    assert len(deduced) == 8 and all("deduction_bounds" not in f for f in reopened.failures[8:])
    from netdrift.engine.network.events import FailureEvent
    from netdrift.engine.network.loaders import load_topology
    from netdrift.engine.network.simulation import Simulator
    from netdrift.engine.traffic.sources import make_traffic

    topo = load_topology("geant2001")
    demands = make_traffic("synthetic", topo, STEPS, 5.0, seed=2)
    widths = []
    for f in deduced:
        b, wd = f["deduction_bounds"], f["worst_direction"]
        assert b["step"] == f["worst_step"]
        d = topo.direction_index(wd["link_id"], wd["src"])
        sim = Simulator(topo, demands, [FailureEvent(0, "fail", f["target"], "link")]).loads
        there = sim.loads[b["step"], d] / topo.direction_capacity[d]
        assert b["low"] * (1 - 1e-6) <= there <= b["high"] * (1 + 1e-6), (f["target"], b, there)
        assert b["low"] * (1 - 1e-6) <= f["worst_utilization"] <= b["high"] * (1 + 1e-6)
        assert b["low"] <= true[f["target"]]["worst_utilization"] * (1 + 1e-6)
        assert b["pinned"] == (b["high"] - b["low"] <= 0.01 * b["high"])
        widths.append(b["high"] - b["low"])
    assert max(widths) > 0.01                    # some figure rests on the deduction's prior
    one_line_error(capsys, common[:-2] + ["--bounds", *db], "--bounds: only applies with --link-loads")
    one_line_error(capsys, ["sweep", *TOPO, "--steps", str(STEPS), "--kind", "link", "--from", "4", "--forecast",
                            "routed-persistence", "--horizon", "2", "--link-loads", str(loads_csv), "--bounds", *db],
                   "--bounds: does not apply with --forecast")


def test_sweep_text_says_what_the_counters_pin():
    """Without --json, each failure's line ends with its range, 'pinned', or an open top."""
    from netdrift.cli.sweep_cmd import summary_lines

    def failure(rank, bounds):
        return {"rank": rank, "target": f"l{rank}", "links": [f"l{rank}"], "nodes": [], "worst_utilization": 0.5,
                "worst_direction": {"src": "x", "dst": "y", "link_id": f"l{rank}"}, "worst_step": 2, "overloaded": [],
                "dropped_mbps_max": 0.0, "cut_pairs": 0, "deduction_bounds": bounds}

    s = {"topology": "t", "n_failures": 3, "kind": "link", "from": 0, "to": 4, "sweep_id": 1, "seconds": 0.1,
         "failures": [failure(1, {"low": 0.499, "high": 0.501, "pinned": True}),
                      failure(2, {"low": 0.4, "high": 0.6, "pinned": False}),
                      failure(3, {"low": 0.4, "high": None, "pinned": False})]}
    lines = summary_lines(s)[1:4]
    assert lines[0].endswith("at step 2; pinned by the counters")
    assert lines[1].endswith("at step 2; the counters allow 40.0-60.0% there")
    assert lines[2].endswith("at step 2; the counters allow 40.0% or more there (nothing measured bounds it above)")


def test_a_long_deduction_says_how_far_it_is(tmp_path, capsys, loads_csv, monkeypatch):
    """Quiet while it is short; once it has run PROGRESS_AFTER_S, stderr counts the steps."""
    import netdrift.cli.link_loads_options as options

    out = ["deduce", *TOPO, "--link-loads", str(loads_csv), "--out", str(tmp_path / "d.csv")]
    assert main(out) == 0
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(options, "PROGRESS_AFTER_S", 0.0)
    assert main(out) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines and lines[-1].startswith(f"[100.0%] deducing demands: {STEPS} of {STEPS} steps ("), lines


def test_bounds_past_the_time_limit_are_said_not_guessed(tmp_path, capsys, loads_csv, monkeypatch):
    """An LP that reaches LP_TIME_LIMIT_S (Kdl's take minutes) gives no range, says so, and is kept so."""
    import netdrift.engine.sweep.deduction_bounds as bounds

    monkeypatch.setattr(bounds, "LP_TIME_LIMIT_S", 0.0)
    db = ["--db", f"sqlite:///{tmp_path / 'h.sqlite'}"]
    common = ["sweep", *TOPO, "--steps", str(STEPS), "--kind", "link", "--from", "0", "--to", str(STEPS), "--top", "2",
              "--link-loads", str(loads_csv), "--bounds", *db]
    assert main(common + ["--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [f["deduction_bounds"] for f in printed["failures"]] == [
        {"step": f["worst_step"], "low": None, "high": None, "pinned": False, "timed_out": True}
        for f in printed["failures"]]
    from netdrift.service.sweeps import open_sweep, stored_deduction_bounds
    from netdrift.storage.database import open_database

    assert stored_deduction_bounds(open_sweep(open_database(db[1]), printed["sweep_id"])) == [
        f["deduction_bounds"] for f in printed["failures"]]
    assert main(common) == 0
    ranked = [line for line in capsys.readouterr().out.splitlines() if line.lstrip().startswith(("1.", "2."))]
    assert len(ranked) == 2 and all(line.endswith("; the counters' range was not found within 0 s") for line in ranked)
