"""The Impact page (AppTest, no browser) and its data (netdrift.dashboard.impact.data), against independent
oracles: the engine's sweep and the Simulator run per failure, names built from the topology file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.navigation.page import calc_hash
from streamlit.testing.v1 import AppTest

from netdrift.dashboard.impact import data as idt
from netdrift.dashboard.map.model import node_positions
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.network.simulation import Simulator
from netdrift.engine.sweep import sweep
from netdrift.engine.traffic.sources import make_traffic
from netdrift.service.sweeps import SweepSettings, list_sweeps, run_sweep
from netdrift.storage.database import open_database
from tests.helpers import weathermap_colour

ROOT = Path(__file__).resolve().parents[2]
VIEW = str(ROOT / "src" / "netdrift" / "dashboard" / "views" / "impact.py")
APP = str(ROOT / "src" / "netdrift" / "dashboard" / "app.py")
STEPS, PEAK = 48, 0.8  # Abilene at an 80 % peak: some single failures overload a direction


@pytest.fixture(scope="module")
def abilene():
    return load_topology("abilene")


def names_from_file(topology) -> dict[str, str]:
    """Link id -> "<end> – <end> (<id>)" built from the node labels (the oracle for names)."""
    label = {n.id: n.label for n in topology.nodes}
    return {l.id: f"{label[l.u]} \u2013 {label[l.v]} ({l.id})" for l in topology.links}


def open_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str = VIEW) -> AppTest:
    monkeypatch.setenv("NETDRIFT_DB_URL", f"sqlite:///{tmp_path / 'h.sqlite'}")
    monkeypatch.delenv("NETDRIFT_TOPOLOGY", raising=False)
    monkeypatch.delenv("NETDRIFT_MAX_MEMORY", raising=False)
    return AppTest.from_file(path, default_timeout=120).run()


def run_sweep_in_page(at: AppTest, kind: str = "link", start: int = 0, stop: int = STEPS,
                      srlg: tuple[str, bytes] | None = None, forecast: str | None = None,
                      horizon: int | None = None) -> AppTest:
    at.selectbox(key="impact_topology").set_value("abilene").run()
    at.radio(key="impact_kind").set_value(kind).run()
    if srlg is not None:
        at.file_uploader(key="impact_srlg").set_value((srlg[0], srlg[1], "text/csv")).run()
    inputs = {n.label: n for n in at.number_input}
    inputs["Steps of traffic"].set_value(STEPS)
    inputs["From step"].set_value(start)
    inputs["To step (excluded)"].set_value(stop)
    inputs["Peak utilisation, all links up (%)"].set_value(100 * PEAK)
    if forecast is not None:
        at.selectbox(key="impact_forecast").set_value(forecast)
        inputs["Forecast horizon (steps)"].set_value(horizon)
    next(b for b in at.button if b.label == "Run the sweep").click().run()
    return at


def ranked(at: AppTest):
    return next(d.value for d in at.dataframe if "Rank" in d.value.columns)


def select_row(at: AppTest, row: int) -> AppTest:
    """A click on the table's row ``row`` (0-based), as the browser reports it."""
    sid = at.session_state["impact_sweep"].id
    at.session_state[f"impact_table_{sid}"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


# --- the page ----------------------------------------------------------------------------------
def test_a_small_sweep_is_ranked_as_the_engine_ranks_and_stored(tmp_path, monkeypatch, abilene) -> None:
    at = run_sweep_in_page(open_page(tmp_path, monkeypatch))
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = ranked(at)

    traffic = make_traffic("synthetic", abilene, STEPS, 5.0, 0, peak_utilization=PEAK)
    engine = sweep(abilene, traffic, "link", 0, STEPS, workers=1)
    names = names_from_file(abilene)
    assert table["Failure"].tolist() == [names[f["target"]] for f in engine.failures]
    np.testing.assert_allclose(table["Worst utilisation (%)"], [100 * f["worst_utilization"] for f in engine.failures],
                               atol=0.006)
    assert table["Rank"].tolist() == list(range(1, 15))
    assert any("Severity = the worst utilisation" in c.value for c in at.caption)

    with open_database(f"sqlite:///{tmp_path / 'h.sqlite'}")() as s:
        from netdrift.storage.sweep_repository import SweepRepository

        stored = SweepRepository(s).list_sweeps()
    assert [(x["topology"], x["kind"], x["n_failures"]) for x in stored] == [("Abilene", "link", 14)]
    # two charts (ranking, worst-case map) x PNG/SVG/PDF/CSV and the failure's report (HTML, PDF),
    # none of them reruns the page
    buttons = at.get("download_button")
    assert len(buttons) == 10 and all(b.proto.ignore_rerun for b in buttons)


def test_a_forecast_sweep_routes_the_last_demands_under_each_failure(tmp_path, monkeypatch, abilene) -> None:
    """Routed persistence from step 30 for 6 steps: each failure's worst utilisation is that of the
    demands of step 29 routed under it (oracle: the Simulator on those demands, held constant)."""
    from netdrift.engine.traffic.series import TrafficMatrixSeries

    at = run_sweep_in_page(open_page(tmp_path, monkeypatch), start=30, stop=STEPS,  # To: ignored, 30 + 6
                           forecast="routed-persistence", horizon=6)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = ranked(at)
    assert any("on the demands routed-persistence forecasts at step 30" in m.value for m in at.markdown)

    traffic = make_traffic("synthetic", abilene, STEPS, 5.0, 0, peak_utilization=PEAK)
    last = TrafficMatrixSeries(traffic.node_ids, traffic.src, traffic.dst,
                               np.repeat(traffic.demands[29:30], 2, axis=0), traffic.step_minutes, traffic.start)
    names = names_from_file(abilene)
    want = {names[l.id]: float(np.nanmax(Simulator(abilene, last, [FailureEvent(0, "fail", l.id, "link")])
                                         .loads.utilization()))
            for l in abilene.links}
    got = dict(zip(table["Failure"], table["Worst utilisation (%)"]))
    assert got == pytest.approx({k: 100 * v for k, v in want.items()}, abs=0.006)
    assert list(got.values()) == sorted(got.values(), reverse=True)
    stored = at.session_state["impact_sweep"]
    assert (stored.config["forecast"], stored.config["horizon"], stored.config["to"]) == ("routed-persistence", 6, 36)


def test_a_row_click_asks_live_to_apply_that_failure(tmp_path, monkeypatch, abilene) -> None:
    at = run_sweep_in_page(open_page(tmp_path, monkeypatch))
    third = ranked(at).iloc[2]
    at = select_row(at, 2)
    assert not at.exception, at.exception
    request = at.session_state[idt.APPLY_FAILURE_KEY]
    link = third["Failure"].rsplit("(", 1)[1].rstrip(")")
    assert request == {"topology": "Abilene", "links": [link], "nodes": [], "label": third["Failure"],
                       "worst_step": int(third["Worst step"])}
    assert link in abilene.link_index


def test_in_details_mode_a_row_click_shows_that_failure(tmp_path, monkeypatch) -> None:
    at = run_sweep_in_page(open_page(tmp_path, monkeypatch))
    at.segmented_control(key="impact_click_mode").set_value("shows its details").run()
    second = ranked(at).iloc[1]
    at = select_row(at, 1)
    assert not at.exception, at.exception
    assert idt.APPLY_FAILURE_KEY not in at.session_state
    assert f"**{second['Failure']}**" in [m.value for m in at.markdown]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Worst utilisation"] == f"{second['Worst utilisation (%)']:.1f} %"
    next(b for b in at.button if b.label == "Fail it on the Live map").click().run()
    assert not at.exception, at.exception
    assert at.session_state[idt.APPLY_FAILURE_KEY]["label"] == second["Failure"]


def test_in_the_app_a_row_click_switches_to_live(tmp_path, monkeypatch) -> None:
    at = open_page(tmp_path, monkeypatch, APP)
    # AppTest.switch_page() only knows file pages; app.py's pages are callables found by url_path.
    at._page_hash = calc_hash("impact")
    at.run()
    at._page_hash = ""
    assert [h.value for h in at.header] == ["Impact"]
    at = select_row(run_sweep_in_page(at), 0)
    assert not at.exception, at.exception
    assert [h.value for h in at.header] == ["Live"]
    assert at.session_state[idt.APPLY_FAILURE_KEY]["topology"] == "Abilene"
    assert any("Abilene" in i.value for i in at.info)  # Live answers: start a run on it first


def test_a_stored_sweep_opens(tmp_path, monkeypatch, abilene) -> None:
    sessions = open_database(f"sqlite:///{tmp_path / 'h.sqlite'}")
    stored = run_sweep(sessions, abilene, SweepSettings("node", 0, 24, steps=24, seed=2), topology_source="abilene",
                       workers=1)
    at = open_page(tmp_path, monkeypatch)
    assert at.selectbox(key="impact_stored").value == stored.id
    next(b for b in at.button if b.label == "Open").click().run()
    assert not at.exception, at.exception
    table = ranked(at)
    label = {n.id: n.label for n in abilene.nodes}
    assert table["Failure"].tolist() == [f"{label[f['target']]} ({f['target']})" for f in stored.failures]
    assert len(table) == len(abilene.nodes)


@pytest.mark.parametrize("kind, start, stop, srlg, env, message", [
    ("link", STEPS, STEPS, None, None, f"from: must be smaller than to (got {STEPS} >= {STEPS})"),
    ("srlg", 0, STEPS, ("empty.csv", b""), None, "srlg 'empty.csv': the file is empty"),
    ("srlg", 0, STEPS, ("g.csv", b"srlg,link_id\nduct,0-1\nduct,9-99\n"), None,
     "srlg 'g.csv': group 'duct': unknown link id '9-99'"),
    ("srlg", 0, STEPS, None, None, "srlg: the SRLG failure kind needs a shared-risk link group file"),
    ("link-pairs", 0, STEPS, None, "64K", "sweep of 91 failures x 48 steps on 'Abilene': would need about"),
])
def test_bad_input_is_one_error_line_and_the_page_keeps_running(tmp_path, monkeypatch, kind, start, stop, srlg,
                                                                 env, message) -> None:
    at = open_page(tmp_path, monkeypatch)
    if env:
        monkeypatch.setenv("NETDRIFT_MAX_MEMORY", env)
    at = run_sweep_in_page(at, kind, start, stop, srlg)
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(message), errors
    assert "\n" not in errors[0]
    assert "impact_sweep" not in at.session_state
    assert list_sweeps(open_database(f"sqlite:///{tmp_path / 'h.sqlite'}")) == []
    assert any(b.label == "Run the sweep" for b in at.button)  # the form is still there


def test_an_srlg_upload_sweeps_its_groups(tmp_path, monkeypatch, abilene) -> None:
    csv = b"srlg,link_id\nnorth,0-1\nnorth,1-10\nsouth,8-9\n"
    at = run_sweep_in_page(open_page(tmp_path, monkeypatch), "srlg", srlg=("ducts.csv", csv))
    assert not at.exception and not at.error, [e.value for e in at.error]
    names = names_from_file(abilene)
    assert sorted(ranked(at)["Failure"]) == [f"north: {names['0-1']} + {names['1-10']}", f"south: {names['8-9']}"]


# --- the data behind it --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stored_link_sweep(tmp_path_factory, abilene):
    sessions = open_database(f"sqlite:///{tmp_path_factory.mktemp('impact') / 'h.sqlite'}")
    return run_sweep(sessions, abilene, SweepSettings("link", 0, STEPS, STEPS, peak_utilization=PEAK),
                     topology_source="abilene", workers=1)


def test_worst_case_map_colours_each_direction_by_its_worst_failure(stored_link_sweep, abilene) -> None:
    """Oracle: the Simulator run once per link failure; each direction's max over failures and steps."""
    traffic = make_traffic("synthetic", abilene, STEPS, 5.0, 0, peak_utilization=PEAK)
    per_failure = {l.id: np.nan_to_num(Simulator(abilene, traffic, [FailureEvent(0, "fail", l.id, "link")])
                                       .loads.utilization(), nan=-np.inf).max(axis=0)
                   for l in abilene.links}
    worst = np.max(np.stack(list(per_failure.values())), axis=0)
    data = idt.worst_case_map(stored_link_sweep, node_positions(abilene))
    names = names_from_file(abilene)
    for e in data["edges"]:
        d = e["dir"]
        assert e["util"] == pytest.approx(worst[d], abs=1e-4)
        assert e["color"] == weathermap_colour(worst[d])
        culprit = next(lid for lid, name in names.items() if f"when {name} fails" in e["title"])
        assert per_failure[culprit][d] == pytest.approx(worst[d], rel=1e-5)  # the named failure causes it
    assert data["click_mode"] == "inspect"  # a click selects, it fails nothing
    # A click on a link selects the failure behind the worse of its two directions' worst cases.
    for i, link in enumerate(abilene.links):
        rank = idt.worst_failure_rank(stored_link_sweep, link.id)
        culprit = stored_link_sweep.failures[rank - 1]["target"]
        want = max(worst[2 * i], worst[2 * i + 1])
        assert max(per_failure[culprit][2 * i], per_failure[culprit][2 * i + 1]) == pytest.approx(want, rel=1e-5)
    assert idt.worst_failure_rank(stored_link_sweep, "no-such-link") is None


def test_failure_details_list_the_overloaded_directions(stored_link_sweep, abilene) -> None:
    top = stored_link_sweep.failures[0]
    traffic = make_traffic("synthetic", abilene, STEPS, 5.0, 0, peak_utilization=PEAK)
    loads = Simulator(abilene, traffic, [FailureEvent(0, "fail", top["target"], "link")]).loads
    util = loads.utilization()
    over = np.flatnonzero(util.max(axis=0) > 1.0)
    assert len(over) > 0  # the scenario is chosen so that the worst failure overloads something
    details = idt.failure_details(stored_link_sweep, 1)
    frame = details["overloaded"]
    assert len(frame) == len(over)
    cap = abilene.direction_capacity
    want_excess = sorted(round(float(util[:, d].max() * cap[d] - cap[d]), 1) for d in over)
    np.testing.assert_allclose(sorted(frame["Excess (Mbit/s)"]), want_excess, atol=0.2)


def test_details_of_a_link_pair_that_cuts_a_node_off(tmp_path, monkeypatch, abilene) -> None:
    """0-1 + 0-2 are New York's two links: the 10 other nodes lose it both ways (20 ordered pairs)."""
    at = run_sweep_in_page(open_page(tmp_path, monkeypatch), "link-pairs")
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = ranked(at)
    assert len(table) == 14 * 13 // 2
    names = names_from_file(abilene)
    row = table.index[table["Failure"] == f"{names['0-1']} + {names['0-2']}"][0]
    at.segmented_control(key="impact_click_mode").set_value("shows its details").run()
    at = select_row(at, int(row))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Cut node pairs"] == "20"
    traffic = make_traffic("synthetic", abilene, STEPS, 5.0, 0, peak_utilization=PEAK)
    events = [FailureEvent(0, "fail", x, "link") for x in ("0-1", "0-2")]
    dropped = Simulator(abilene, traffic, events).loads.dropped_mbps
    assert metrics["Peak dropped"] == f"{dropped.max():,.1f} Mbit/s"
    assert metrics["Dropped volume"] == f"{dropped.sum() * 300 / 1000:,.1f} Gbit"  # 5-minute steps
    assert any(c.value.startswith("Cut off: ") and "New York" in c.value for c in at.caption)


def test_with_a_live_run_the_page_sweeps_its_traffic_from_its_current_step(tmp_path, monkeypatch, abilene) -> None:
    """Impact and Live talk about the same traffic: the Live run's steps, step length, seed and
    peak, swept from its current step to its end (oracle: the run's own spec)."""
    from netdrift.dashboard.common.state import LiveSession
    from netdrift.engine.experiments.scenario import LiveScenario
    from netdrift.engine.experiments.spec import ScenarioSpec

    spec = ScenarioSpec(topology="abilene", steps=72, train_steps=40, step_minutes=15, models=("persistence",),
                        seed=9, peak_utilization=0.85)
    run = LiveScenario.from_spec(spec)
    run.train()
    run.advance(7)
    monkeypatch.setenv("NETDRIFT_DB_URL", f"sqlite:///{tmp_path / 'h.sqlite'}")
    monkeypatch.delenv("NETDRIFT_TOPOLOGY", raising=False)
    at = AppTest.from_file(VIEW, default_timeout=120)
    at.session_state["netdrift_live"] = LiveSession(live=run)
    at.run()
    at.selectbox(key="impact_topology").set_value("abilene").run()
    assert at.toggle(key="impact_use_live").value is True
    next(b for b in at.button if b.label == "Run the sweep").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    stored = at.session_state["impact_sweep"]
    c = stored.config
    assert (c["steps"], c["step_minutes"], c["seed"], c["from"], c["to"]) == (72, 15.0, 9, 47, 72)
    assert c["peak_utilization"] == pytest.approx(0.85)

    at.toggle(key="impact_use_live").set_value(False).run()  # a separate window: the page's own settings
    inputs = {n.label: n.value for n in at.number_input}
    assert (inputs["Steps of traffic"], inputs["Step length (min)"], inputs["From step"]) == (288, 5.0, 0)


def test_a_forecast_sweep_runs_with_the_page_defaults(tmp_path, monkeypatch, abilene) -> None:
    at = open_page(tmp_path, monkeypatch)
    at.selectbox(key="impact_topology").set_value("abilene").run()
    at.selectbox(key="impact_forecast").set_value("routed-persistence")
    next(b for b in at.button if b.label == "Run the sweep").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    c = at.session_state["impact_sweep"].config
    assert (c["from"], c["to"], c["forecast"]) == (144, 156, "routed-persistence")  # half the day, 12 steps


def test_a_row_sent_to_live_says_where_the_sweep_found_its_worst_case(abilene) -> None:
    from netdrift.dashboard.live.helpers import worst_step_text
    from netdrift.engine.experiments.scenario import LiveScenario
    from netdrift.engine.experiments.spec import ScenarioSpec

    run = LiveScenario.from_spec(ScenarioSpec(topology="abilene", steps=72, train_steps=40, step_minutes=30,
                                              models=("persistence",)))
    run.train()
    text = worst_step_text(run, 46)
    assert text.startswith("The sweep found its worst case at step 46 (") and text.endswith("6 steps ahead.")
    assert worst_step_text(run, 40) == "This is the step where the sweep found its worst case."
    assert "already past" in worst_step_text(run, 3)
    assert worst_step_text(run, None) == "" and worst_step_text(run, 72) == ""


def test_the_bounds_table_says_which_ranges_were_not_found(stored_link_sweep) -> None:
    """Stored bounds as the page shows them: a range, pinned or not; one past the time limit says so."""
    from dataclasses import replace

    from netdrift.engine.sweep.deduction_bounds import LP_TIME_LIMIT_S

    failures = [dict(f) for f in stored_link_sweep.failures]
    failures[0]["deduction_bounds"] = {"step": 3, "low": 0.5, "high": 0.5025, "pinned": True, "timed_out": False}
    failures[1]["deduction_bounds"] = {"step": 4, "low": 0.4, "high": None, "pinned": False, "timed_out": False}
    failures[2]["deduction_bounds"] = {"step": 5, "low": None, "high": None, "pinned": False, "timed_out": True}
    table = idt.bounds_table(replace(stored_link_sweep, result={**stored_link_sweep.result, "failures": failures}))
    assert list(table["Rank"]) == [1, 2, 3]
    assert table["Counters allow from (%)"].tolist()[:2] == [50.0, 40.0]
    assert table["Counters allow to (%)"].tolist()[0] == 50.25
    assert table["Pinned by the counters"].tolist() == ["yes", "no", f"not found within {LP_TIME_LIMIT_S:g} s"]
