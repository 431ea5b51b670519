"""ScenarioRepository: exact round trips, history listing, deletion, unknown ids."""

from __future__ import annotations

import sqlite3
import tomllib
from dataclasses import replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from netdrift.engine.errors import InputError
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.loaders import topology_from_dict, topology_to_dict
from netdrift.engine.network.topology import Link, Topology
from netdrift.engine.results import MetricRow
from netdrift.storage.repository import ScenarioRepository


def _store(Session, result, label=None) -> int:
    with Session.begin() as s:
        sid = ScenarioRepository(s).create_scenario(result.topology, {"steps": 6}, 7, ["cfc", "mlp"], label)
    with Session.begin() as s:
        ScenarioRepository(s).add_event(sid, result.events[0])
    with Session.begin() as s:
        ScenarioRepository(s).save_result(sid, result)
    return sid


def _installed_versions() -> dict[str, str | None]:
    """What a stored scenario should record, found here without the code under test."""
    with open(Path(__file__).resolve().parents[2] / "pyproject.toml", "rb") as f:
        netdrift = tomllib.load(f)["project"]["version"]

    def dist(name: str) -> str | None:
        # the installed distribution (ncps' own __version__ is stale, and importing torch is slow)
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {"netdrift": netdrift, "torch": dist("torch"), "ncps": dist("ncps"), "numpy": np.__version__}


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype="<f4").tobytes()


def test_topology_dict_round_trip(topo):
    back = topology_from_dict(topology_to_dict(topo))
    assert back == topo and back.warnings == topo.warnings
    assert back.nodes[1].lat is None and back.links[0].length_km == 12.5


def test_result_round_trip_is_exact(Session, result):
    sid = _store(Session, result, label="first try")
    with Session() as s:
        repo = ScenarioRepository(s)
        actual = repo.load_series(sid)
        assert actual.dtype == np.float32 and actual.shape == (6, 4)
        # Bit-exact float32 (NaN included), against numpy's own float64 -> float32 cast.
        assert _bits(actual) == result.actual.astype(np.float32).tobytes()
        for name in ("cfc", "mlp"):
            assert _bits(repo.load_series(sid, name)) == result.forecasts[name].astype(np.float32).tobytes()
        for d in range(4):
            one = repo.load_series(sid, "cfc", direction=d)
            assert one.shape == (6,)
            assert _bits(one) == result.forecasts["cfc"][:, d].astype(np.float32).tobytes()
        assert np.isnan(repo.load_series(sid, direction=1)[2])
        assert repo.load_link_up(sid).tolist() == [[True, True]] * 3 + [[False, True]] * 3
        assert repo.load_dropped(sid).tolist() == [0.0, 0.0, 0.0, 12.25, 7.5, 0.0]

        assert repo.load_metrics(sid) == result.metrics
        assert repo.load_metrics(sid, model="mlp", metric="ttc") == [MetricRow("mlp", "event:0", "ttc", 4.0, 1)]

        d = repo.get_scenario(sid)
        assert d.status == "complete" and d.label == "first try" and d.seed == 7
        assert d.topology == result.topology and d.topology.warnings == result.topology.warnings
        assert d.events == result.events  # the event added during the run is not duplicated
        assert d.models == ["cfc", "mlp"]
        assert d.config == {"steps": 6, "window": 3, "path": "/x/y", "alpha": 0.5}
        assert d.versions == _installed_versions()
        assert d.step_minutes == 5.0 and d.train_steps == 2
        assert d.start == datetime(2005, 1, 1, tzinfo=timezone.utc)
        assert d.created.tzinfo is not None and d.finished is not None and d.finished >= d.created
        assert d.summary["model_stats"] == {"mlp": {"retrains": 2, "retrain_steps": [2, 4], "fit_seconds": 0.25}}
        assert d.summary["aggregate"]["cfc"]["pre"]["rmse"] == 1.25
        assert d.summary["events"] == ["fail a-b@3", "restore a-b@5"]

        back = repo.load_result(sid)
        assert back.metrics == result.metrics and back.events == result.events
        assert _bits(back.forecasts["mlp"]) == result.forecasts["mlp"].astype(np.float32).tobytes()


def test_metrics_are_plain_sql_rows(Session, result, db_url):
    sid = _store(Session, result)
    con = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    rows = con.execute(
        "SELECT model, value FROM metrics WHERE scenario_id=? AND metric='ttc' ORDER BY model", (sid,)
    ).fetchall()
    con.close()
    assert rows == [("cfc", None), ("mlp", 4.0)]


def test_list_scenarios(Session, result):
    sid1 = _store(Session, result, label="one")
    with Session.begin() as s:
        sid2 = ScenarioRepository(s).create_scenario(result.topology, {}, 1, ["cfc"])
    with Session() as s:
        listed = ScenarioRepository(s).list_scenarios()
    assert [x.id for x in listed] == [sid2, sid1]  # newest first
    running, done = listed
    assert (running.status, running.events, running.models, running.label) == ("running", [], ["cfc"], None)
    assert (done.status, done.events, done.label, done.topology) == (
        "complete", ["fail a-b@3", "restore a-b@5"], "one", "tri")


def test_topology_deduplicated(Session, topo):
    same = Topology(topo.name, topo.nodes, topo.links, topo.warnings)
    other = topo.with_links([Link("a-b", "a", "b", 40000.0)])
    with Session.begin() as s:
        repo = ScenarioRepository(s)
        a, b, c = repo.save_topology(topo), repo.save_topology(same), repo.save_topology(other)
        repo.create_scenario(topo, {}, 0, [])
        repo.create_scenario(same, {}, 0, [])
    assert a == b != c
    with Session() as s:
        assert s.execute(text("SELECT count(*) FROM topologies")).scalar() == 2


def test_delete_cascades(Session, result):
    keep = _store(Session, result)
    gone = _store(Session, result)
    with Session.begin() as s:
        ScenarioRepository(s).delete_scenario(gone)
    with Session() as s:
        for table in ("series", "metrics", "failure_events"):
            n_gone = s.execute(text(f"SELECT count(*) FROM {table} WHERE scenario_id=:i"), {"i": gone}).scalar()
            n_keep = s.execute(text(f"SELECT count(*) FROM {table} WHERE scenario_id=:i"), {"i": keep}).scalar()
            assert (table, n_gone) == (table, 0) and n_keep > 0
        assert [x.id for x in ScenarioRepository(s).list_scenarios()] == [keep]


def test_unknown_id(Session, db_url):
    with Session() as s:
        repo = ScenarioRepository(s)
        for call in (repo.get_scenario, repo.load_series, repo.load_metrics, repo.delete_scenario):
            with pytest.raises(InputError) as err:
                call(42)
            assert str(err.value) == f"scenario 42: not found in database '{db_url}'"


def test_series_of_running_scenario_or_unknown_model(Session, result):
    sid = _store(Session, result)
    with Session.begin() as s:
        running = ScenarioRepository(s).create_scenario(result.topology, {}, 0, ["cfc"])
    with Session() as s:
        repo = ScenarioRepository(s)
        with pytest.raises(InputError, match=r"no actual loads stored \(status running\)"):
            repo.load_series(running)
        with pytest.raises(InputError, match="no forecast of model 'lstm' stored"):
            repo.load_series(sid, "lstm")
        with pytest.raises(InputError, match="is running"):
            repo.load_result(running)


def test_wrong_shapes_rejected_and_nothing_stored(Session, result):
    with Session.begin() as s:
        sid = ScenarioRepository(s).create_scenario(result.topology, {}, 0, ["cfc"])
    result.forecasts["cfc"] = result.forecasts["cfc"][:, :3]
    with pytest.raises(InputError, match="forecast 'cfc' has shape"):
        with Session.begin() as s:
            ScenarioRepository(s).save_result(sid, result)
    with Session() as s:
        assert ScenarioRepository(s).get_scenario(sid).status == "running"
        assert s.execute(text("SELECT count(*) FROM series")).scalar() == 0


def test_mark_interrupted(Session, result):
    with Session.begin() as s:
        sid = ScenarioRepository(s).create_scenario(result.topology, {}, 0, [])
    with Session.begin() as s:
        ScenarioRepository(s).mark_interrupted(sid)
    with Session() as s:
        d = ScenarioRepository(s).get_scenario(sid)
    assert d.status == "interrupted" and d.finished is not None


def test_node_events_read_clearly(Session, result):
    with Session.begin() as s:
        repo = ScenarioRepository(s)
        sid = repo.create_scenario(result.topology, {}, 0, [])
        for action in ("fail", "restore", "fail"):  # three clicks on one node at one step
            repo.add_event(sid, FailureEvent(4, action, "b", "node"))
    with Session() as s:
        assert ScenarioRepository(s).list_scenarios()[0].events == ["fail node b@4", "restore node b@4", "fail node b@4"]


def test_the_event_log_keeps_every_click_in_order_and_a_save_adds_only_what_is_new(Session, result):
    clicks = [FailureEvent(7, a, "b-c", "link") for a in ("fail", "restore") * 3 + ("fail",)]  # 7 clicks
    later = FailureEvent(9, "restore", "b-c", "link")
    log = [*result.events, *clicks, later]  # the run's own events first, as a live run holds them
    with Session.begin() as s:
        repo = ScenarioRepository(s)
        sid = repo.create_scenario(result.topology, {}, 0, [])
        for e in log[:-1]:  # recorded as they happened
            repo.add_event(sid, e)
    with Session.begin() as s:  # the save at the end carries the whole log, already stored events included
        ScenarioRepository(s).save_result(sid, replace(result, events=log))
    with Session() as s:
        assert ScenarioRepository(s).get_scenario(sid).events == log
