"""Smoke test of the dashboard shell and the Live view with Streamlit's AppTest (no browser)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "src" / "netdrift" / "dashboard" / "app.py")


@pytest.fixture
def app(tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("NETDRIFT_DB_URL", f"sqlite:///{tmp_path}/h.sqlite")
    monkeypatch.delenv("NETDRIFT_TOPOLOGY", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    return at


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_live_is_the_first_screen_with_a_start_form(app: AppTest) -> None:
    assert not app.exception, app.exception
    assert [h.value for h in app.header] == ["Live"]
    topo = next(s for s in app.selectbox if s.label == "Topology")
    assert topo.value == "geant2012"
    assert {"abilene", "cogentco", "geant2012"} <= set(topo.options)
    assert any(b.label == "Train and start" for b in app.button)
    assert any("Quick preset" in c.value for c in app.caption)
    from netdrift.engine.forecasting.catalogue import CATALOGUE, DEFAULT_MODELS

    models = next(m for m in app.multiselect if m.label == "Models")
    assert models.options == [info.label for info in CATALOGUE.values()] and models.value == list(DEFAULT_MODELS)


def test_a_tiny_scenario_starts_steps_and_is_in_the_history(app: AppTest, tmp_path) -> None:
    next(s for s in app.selectbox if s.label == "Topology").set_value("abilene").run()
    inputs = {n.label: n for n in app.number_input}
    inputs["Training steps"].set_value(48)
    inputs["Live steps after training"].set_value(24)
    next(m for m in app.multiselect if m.label == "Models").set_value(["persistence"])
    _button(app, "Train and start").click().run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]

    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Step"] == "48 / 72"
    assert metrics["Failed"] == "none"
    assert metrics["Dropped traffic"].endswith("Mbit/s")
    assert _button(app, "Play")
    labels = app.checkbox(key="live_util_labels")
    assert labels.label == "Show link labels" and labels.value  # Abilene is small: on
    labels.uncheck().run()
    assert not app.exception, app.exception
    assert app.checkbox(key="live_util_labels").value is False

    _button(app, "Step").click().run()
    assert not app.exception, app.exception
    assert {m.label: m.value for m in app.metric}["Step"] == "49 / 72"
    assert any(c.value.startswith("Running error over the last day: this link direction") for c in app.caption)
    errors = next(d.value for d in app.dataframe if "RMSE, network (Mbit/s)" in d.value.columns)
    assert errors["model"].tolist() == ["persistence"]

    _button(app, "Save to history").click().run()
    assert "Saved to history" in _status(app)

    from netdrift.storage.database import open_database
    from netdrift.storage.repository import ScenarioRepository

    with open_database(f"sqlite:///{tmp_path}/h.sqlite")() as s:
        runs = ScenarioRepository(s).list_scenarios()
    assert len(runs) == 1 and runs[0].topology.lower().startswith("abilene")


def test_a_broken_view_shows_an_error_not_a_dead_app(tmp_path, monkeypatch) -> None:
    # A database URL that cannot be opened must not kill the page: the Live view still
    # renders its start form (the history problem is reported when a run starts).
    monkeypatch.setenv("NETDRIFT_DB_URL", "not a url")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert any(b.label == "Train and start" for b in at.button)


def _start_tiny(at: AppTest, seed: int) -> None:
    next(s for s in at.selectbox if s.label == "Topology").set_value("abilene").run()
    inputs = {n.label: n for n in at.number_input}
    inputs["Training steps"].set_value(48)
    inputs["Live steps after training"].set_value(24)
    inputs["Seed"].set_value(seed)
    next(m for m in at.multiselect if m.label == "Models").set_value(["persistence"])
    _button(at, "Train and start").click().run()
    assert not at.exception, at.exception


def test_two_tabs_keep_their_own_scenarios_and_share_the_history(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NETDRIFT_DB_URL", f"sqlite:///{tmp_path}/h.sqlite")
    monkeypatch.delenv("NETDRIFT_TOPOLOGY", raising=False)
    tab_a, tab_b = AppTest.from_file(APP, default_timeout=120), AppTest.from_file(APP, default_timeout=120)
    tab_a.run()
    tab_b.run()
    _start_tiny(tab_a, seed=1)
    tab_b.run()
    assert any(b.label == "Train and start" for b in tab_b.button), "tab B must not see tab A's run"
    _start_tiny(tab_b, seed=2)
    for _ in range(3):
        _button(tab_a, "Step").click().run()
    assert {m.label: m.value for m in tab_a.metric}["Step"] == "51 / 72"
    assert {m.label: m.value for m in tab_b.metric}["Step"] == "48 / 72"
    _button(tab_a, "Save to history").click().run()
    _button(tab_b, "Save to history").click().run()

    from netdrift.storage.database import open_database
    from netdrift.storage.repository import ScenarioRepository

    with open_database(f"sqlite:///{tmp_path}/h.sqlite")() as s:
        repo = ScenarioRepository(s)
        runs = repo.list_scenarios()
        seeds = sorted(repo.get_scenario(r.id).seed for r in runs)
        steps = sorted(repo.load_series(r.id).shape[0] for r in runs)
    assert seeds == [1, 2]
    assert steps == [48, 51]


def test_the_live_screen_shows_warnings_colours_and_bands(app: AppTest) -> None:
    next(s for s in app.selectbox if s.label == "Topology").set_value("abilene").run()
    inputs = {n.label: n for n in app.number_input}
    inputs["Training steps"].set_value(48)
    inputs["Live steps after training"].set_value(24)
    next(m for m in app.multiselect if m.label == "Models").set_value(["persistence", "routed-persistence"])
    _button(app, "Train and start").click().run()
    _button(app, "Step").click().run()
    assert not app.exception, app.exception

    model = app.selectbox(key="live_band_model")
    assert model.value == "routed-persistence" and model.options == ["routed-persistence", "persistence"]
    colour = app.segmented_control(key="live_colour_by")
    assert colour.value == "current load"
    assert any(m.value.startswith("**Overload warnings**: routed-persistence") and "2 of the last 3" in m.value
               for m in app.markdown)
    chart = app.get("vega_lite_chart")[0].proto  # the selected direction's chart: bands behind the lines
    assert [ds.name for ds in chart.datasets] == ["actual", "events", "retrain", "capacity", "bands", "forecasts"]
    assert json.loads(chart.spec)["layer"][0]["mark"]["type"] == "area"

    # A threshold between the current load and the upper bound of one direction: it is warned.

    sess = app.session_state["netdrift_live"]
    live = sess.live
    upper = sess.next_bands["routed-persistence"].upper.astype(float)
    cap, now = live.capacity, live.loads_at(live.step - 1)
    # sustained warnings: the bound reaches the threshold now and in the forecast before
    both = np.minimum(upper.max(axis=0), live.recorder.peak_upper["routed-persistence"][live.step - 1])
    d = int(np.argmax(both / cap - now / cap))
    live.warn_utilization = float((now[d] / cap[d] + both[d] / cap[d]) / 2)
    app.run()
    warning = app.button(key=f"live_warn_{d}")
    assert "may exceed" in warning.label and "within 15 min" in warning.label
    warning.click().run()
    assert not app.exception, app.exception
    assert app.session_state["live_direction"] == d
    assert app.selectbox(key="live_direction").value == d

    colour.set_value("forecast upper bound").run()
    assert not app.exception, app.exception
    model.set_value("persistence").run()
    assert not app.exception, app.exception


def test_a_run_without_intervals_says_so(app: AppTest) -> None:
    app.session_state["interval"] = None  # what Settings stores when intervals are off
    app.run()
    assert any("no prediction intervals" in c.value for c in app.caption)
    _start_tiny(app, seed=0)
    assert not app.error, [e.value for e in app.error]
    assert any("This run has no prediction intervals" in c.value for c in app.caption)
    assert not [b for b in app.button if "may exceed" in b.label]


def _metric(at: AppTest, label: str) -> str:
    return {m.label: m.value for m in at.metric}[label]


def _status(at: AppTest) -> str:
    """The Live view's one-line status (the last message)."""
    lines = [m.value for m in at.markdown if 'class="nd-status"' in m.value]
    assert len(lines) == 1, lines
    return lines[0]


def _new_tab(tmp_path) -> AppTest:
    """A reload: a new browser session on the same server and history."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_reload_offers_the_run_with_its_step_and_events_and_the_old_tab_lets_it_go(app: AppTest, tmp_path) -> None:
    _start_tiny(app, seed=5)
    _button(app, "Step").click().run()
    # The Impact page's request: applied to the running run at its step, as a click would be.
    app.session_state["netdrift_apply_failure"] = {"topology": "abilene", "links": ["0-1"], "nodes": [],
                                                   "label": "ATLA-M5 – ATLAng"}
    app.run()
    assert not app.exception, app.exception
    assert "netdrift_apply_failure" not in app.session_state
    failed = _metric(app, "Failed")
    assert "(0-1)" in failed
    assert any(m.value.startswith("**Impact of") for m in app.markdown)
    for _ in range(2):
        _button(app, "Step").click().run()
    assert _metric(app, "Step") == "51 / 72"

    reloaded = _new_tab(tmp_path)
    offer = [m.value for m in reloaded.markdown if m.value.startswith("Scenario ")]
    assert len(offer) == 1 and "step 51 of 72" in offer[0] and "fail" in offer[0] and "(0-1)" in offer[0]
    next(b for b in reloaded.button if b.label == "Resume").click().run()
    assert not reloaded.exception, reloaded.exception
    assert _metric(reloaded, "Step") == "51 / 72" and _metric(reloaded, "Failed") == failed

    app.run()  # the first tab learns its run continues elsewhere
    assert any("taken over by another tab" in i.value for i in app.info)
    assert any(b.label == "Train and start" for b in app.button)


def test_after_a_server_restart_the_run_is_rebuilt_from_the_history(app: AppTest, tmp_path) -> None:
    from netdrift.dashboard.common.state import running_live_sessions

    _start_tiny(app, seed=6)
    for _ in range(3):
        _button(app, "Step").click().run()
    _button(app, "Play").click().run()
    _button(app, "Pause").click().run()  # pausing stores the run as far as it went
    kept = app.session_state["netdrift_live"].live
    running_live_sessions.clear()  # a new server process holds no run in memory

    restarted = _new_tab(tmp_path)
    next(b for b in restarted.button if b.label == "Resume").click().run()
    assert not restarted.exception, restarted.exception
    assert not restarted.error, [e.value for e in restarted.error]
    rebuilt = restarted.session_state["netdrift_live"].live
    assert rebuilt is not kept and rebuilt.step == kept.step and rebuilt.events == kept.events
    np.testing.assert_array_equal(rebuilt.forecasts["persistence"][:kept.step],
                                  kept.forecasts["persistence"][:kept.step])


def test_new_scenario_asks_first_and_the_run_stays_resumable(app: AppTest) -> None:
    _start_tiny(app, seed=7)
    _button(app, "Step").click().run()
    _button(app, "New scenario").click().run()
    assert any(m.value.startswith("**Start a new scenario?**") for m in app.markdown)
    _button(app, "Cancel").click().run()
    assert _metric(app, "Step") == "49 / 72"
    _button(app, "New scenario").click().run()
    _button(app, "Yes, start a new one").click().run()
    assert not app.exception, app.exception
    assert any(b.label == "Train and start" for b in app.button)
    assert any(m.value.startswith("Scenario ") and "step 49 of 72" in m.value for m in app.markdown)


def test_a_failure_asked_for_another_topology_waits_for_a_run_on_it(app: AppTest) -> None:
    app.session_state["netdrift_apply_failure"] = {"topology": "abilene", "links": ["0-1"], "nodes": [],
                                                   "label": "link 0-1"}
    app.run()
    assert any("start a live run on abilene first" in i.value for i in app.info)
    assert "netdrift_apply_failure" in app.session_state
    _start_tiny(app, seed=8)
    assert "netdrift_apply_failure" not in app.session_state
    assert "(0-1)" in _metric(app, "Failed")


def test_a_run_stepped_to_its_end_is_stored_complete_and_not_offered_for_resume(app: AppTest, tmp_path) -> None:
    _start_tiny(app, seed=9)
    live = app.session_state["netdrift_live"].live
    live.advance(live.total_steps - live.step - 1)  # the last step by the button
    _button(app, "Step").click().run()
    assert not app.exception, app.exception
    assert _metric(app, "Step") == "72 / 72"
    assert "Saved to history" in _status(app)
    from netdrift.storage.database import open_database
    from netdrift.storage.repository import ScenarioRepository

    with open_database(f"sqlite:///{tmp_path}/h.sqlite")() as s:
        assert [r.status for r in ScenarioRepository(s).list_scenarios()] == ["complete"]
    assert not any(m.value.startswith("Scenario ") for m in _new_tab(tmp_path).markdown)
