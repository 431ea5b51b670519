"""Smoke test of the dashboard shell and the Live view with Streamlit's AppTest (no browser)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


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
    from engine.forecasting.catalogue import CATALOGUE, DEFAULT_MODELS

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
    assert labels.label == "Show utilisation labels" and labels.value  # Abilene is small: on
    labels.uncheck().run()
    assert not app.exception, app.exception
    assert app.checkbox(key="live_util_labels").value is False

    _button(app, "Step").click().run()
    assert not app.exception, app.exception
    assert {m.label: m.value for m in app.metric}["Step"] == "49 / 72"
    assert any("Running error on this link direction" in c.value for c in app.caption)
    errors = next(d.value for d in app.dataframe if "RMSE (Mbit/s)" in d.value.columns)
    assert errors["model"].tolist() == ["persistence"]

    _button(app, "Save to history").click().run()
    assert any("Saved to history" in c.value for c in app.caption)

    from storage.database import open_database
    from storage.repository import ScenarioRepository

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

    from storage.database import open_database
    from storage.repository import ScenarioRepository

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
    assert any(m.value.startswith("**Overload warnings**: routed-persistence") for m in app.markdown)
    chart = app.get("vega_lite_chart")[0].proto  # the selected direction's chart: bands behind the lines
    assert [ds.name for ds in chart.datasets] == ["series", "events", "retrain", "bands"]
    assert json.loads(chart.spec)["layer"][0]["mark"]["type"] == "area"

    # A threshold between the current load and the upper bound of one direction: it is warned.

    sess = app.session_state["netdrift_live"]
    live = sess.live
    upper = sess.next_bands["routed-persistence"].upper.astype(float)
    cap, now = live.capacity, live.loads_at(live.step - 1)
    d = int(np.argmax(upper.max(axis=0) / cap - now / cap))
    live.warn_utilization = float((now[d] / cap[d] + upper[:, d].max() / cap[d]) / 2)
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
