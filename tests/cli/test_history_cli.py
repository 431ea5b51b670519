"""`netdrift history import` stores a recovery file; `history list` also lists sweeps."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from netdrift.cli.main import main
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.results import MetricRow, ScenarioResult
from netdrift.service.scenarios import write_unsaved
from netdrift.storage.database import open_database
from netdrift.storage.repository import ScenarioRepository
from netdrift.storage.sweep_repository import SweepRepository
from tests.helpers import one_line_error

T, D = 8, 4


def _result() -> ScenarioResult:
    topo = Topology("duo", (Node("a", "A"), Node("b", "B"), Node("c", "C")),
                    (Link("a-b", "a", "b", 1000.0), Link("b-c", "b", "c", 2500.0)))
    actual = np.arange(T * D, dtype=float).reshape(T, D) / 7 + 0.3
    actual[2, 1] = np.nan
    link_up = np.ones((T, 2), dtype=bool)
    link_up[4:, 0] = False
    return ScenarioResult(
        topology=topo, config={"steps": T, "observe": "links"}, seed=11,
        events=[FailureEvent(4, "fail", "a-b", "link")], step_minutes=15.0,
        start=datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc), train_steps=3,
        actual=actual, forecasts={"persistence": actual * 0.5, "liquid": actual + 1},
        link_up=link_up, dropped_mbps=np.array([0, 0, 0, 0, 5.5, 5.5, 0, 0.25]),
        metrics=[MetricRow("liquid", "post", "rmse", 1.5), MetricRow("liquid", "event:0", "ttc", None, 2)],
        lower={"liquid": actual}, upper={"liquid": actual + 2},
        model_stats={"liquid": {"retrains": 0, "fit_seconds": 0.5}},
    )


def test_import_stores_the_kept_run_once(tmp_path, capsys):
    kept = write_unsaved(_result(), tmp_path, scenario_id=4, problem="database is locked")
    db = f"sqlite:///{tmp_path}/h.sqlite"
    assert main(["history", "import", str(kept), "--db", db]) == 0
    out = capsys.readouterr()
    assert out.out.strip().splitlines() == [f"stored {kept} as scenario 1"] and out.err == ""

    with open_database(db)() as s:
        repo = ScenarioRepository(s)
        d = repo.get_scenario(1)
        assert (d.status, d.label, d.seed, d.models, d.step_minutes, d.train_steps) == (
            "complete", f"recovered from {kept.name}", 11, ["persistence", "liquid"], 15.0, 3)
        assert d.start == datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
        assert [(e.step, e.action, e.target) for e in d.events] == [(4, "fail", "a-b")]
        want = np.arange(T * D, dtype=float).reshape(T, D) / 7 + 0.3
        want[2, 1] = np.nan
        np.testing.assert_array_equal(repo.load_series(1), want.astype(np.float32))
        np.testing.assert_array_equal(repo.load_series(1, "persistence"), (want * 0.5).astype(np.float32))
        np.testing.assert_array_equal(repo.load_series(1, "liquid", kind="upper"), (want + 2).astype(np.float32))
        assert repo.load_link_up(1)[:, 0].tolist() == [True] * 4 + [False] * 4
        np.testing.assert_array_equal(repo.load_dropped(1), np.float32([0, 0, 0, 0, 5.5, 5.5, 0, 0.25]))
        assert [(m.metric, m.value, m.direction) for m in repo.load_metrics(1)] == [("rmse", 1.5, None),
                                                                                 ("ttc", None, 2)]

    # the .json names the same run; a second import is refused and stores nothing
    one_line_error(capsys, ["history", "import", str(kept.with_suffix(".json")), "--db", db],
                   "already imported as scenario 1", stdout_empty=True)
    with sqlite3.connect(f"{tmp_path}/h.sqlite") as con:
        assert con.execute("SELECT count(*) FROM scenarios").fetchone()[0] == 1


def _broken(folder: Path, how: str) -> Path:
    kept = write_unsaved(_result(), folder, scenario_id=2)
    js = kept.with_suffix(".json")
    if how == "no such file":
        return folder / "netdrift-unsaved-nothing.npz"
    if how == "not json":
        js.write_text("{ half")
    elif how == "missing keys":
        js.write_text(json.dumps({"seed": 1}))
    elif how == "no arrays":
        kept.unlink()
    elif how == "arrays not npz":
        kept.write_text("not a zip")
    elif how == "wrong shape":
        with np.load(kept) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["forecast/liquid"] = arrays["forecast/liquid"][:, :3]
        np.savez(kept, **arrays)
    elif how == "bad event":
        meta = json.loads(js.read_text())
        meta["events"][0]["action"] = "explode"
        js.write_text(json.dumps(meta))
    elif how == "wrong suffix":
        return kept.rename(kept.with_suffix(".txt"))
    return kept


@pytest.mark.parametrize("how, needle", [
    ("no such file", "does not exist"),
    ("not json", "is not JSON"),
    ("missing keys", "not a netdrift recovery file (missing topology"),
    ("no arrays", "arrays file"),
    ("arrays not npz", "cannot be read"),
    ("wrong shape", "'forecast/liquid' has shape (8, 3), expected (8, 4)"),
    ("bad event", "events[0]"),
    ("wrong suffix", "expected a netdrift-unsaved-*.npz"),
])
def test_bad_recovery_file_is_one_line_and_writes_nothing(tmp_path, capsys, how, needle):
    path = _broken(tmp_path, how)
    db = tmp_path / "history" / "h.sqlite"
    one_line_error(capsys, ["history", "import", str(path), "--db", f"sqlite:///{db}"],
                   f"recovery file '{path}'", needle, stdout_empty=True)
    assert not db.parent.exists()


def test_list_shows_sweeps_after_scenarios(tmp_path, capsys):
    db = f"sqlite:///{tmp_path}/h.sqlite"
    result = _result()
    Session = open_database(db)
    with Session.begin() as s:
        sid = ScenarioRepository(s).create_scenario(result.topology, {}, 1, ["liquid"])
        ScenarioRepository(s).save_result(sid, result)
        SweepRepository(s).save_sweep(result.topology, "node", {"from": 0, "to": 4},
                                      {"failures": [{"a": 1}, {"b": 2}, {"c": 3}], "seconds": 0.1})
    Session.kw["bind"].dispose()

    assert main(["history", "list", "--db", db]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].split()[0] == "1" and "complete" in lines[0]
    assert lines[1] == "sweeps:"
    assert lines[2].split()[0] == "1" and lines[2].endswith("node        duo  3 failures")

    assert main(["history", "list", "--db", db, "--json"]) == 0  # unchanged: the scenarios
    assert [x["id"] for x in json.loads(capsys.readouterr().out)] == [1]
    assert main(["history", "list", "--db", db, "--sweeps", "--json"]) == 0
    (sweep,) = json.loads(capsys.readouterr().out)
    assert (sweep["id"], sweep["kind"], sweep["topology"], sweep["n_failures"]) == (1, "node", "duo", 3)


def test_list_sweeps_of_an_empty_history(tmp_path, capsys):
    db = f"sqlite:///{tmp_path}/h.sqlite"
    open_database(db).kw["bind"].dispose()
    assert main(["history", "list", "--sweeps", "--db", db]) == 0
    assert capsys.readouterr().out == "no sweeps stored yet\n"
