"""Interface counters attached on the Topology, Live and Impact pages (AppTest, no browser), and
the module behind them (netdrift.dashboard.common.counters).

Oracles: the counters are the loads the Simulator gives for known demands, written here with
pandas; the deduced demands, read back from the replay file the pages use, must reproduce those
loads when routed by the Simulator (every direction within 0.1 %, the deduction's promise); the
Impact page's stored sweep must equal the engine's sweep of that replay; a Live run started with
the counters attached must show the measured loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from netdrift.dashboard.common.counters import COUNTERS_KEY, AttachedCounters, attach_counters, attached_loads
from netdrift.dashboard.live.helpers import QUICK_PRESET
from netdrift.engine.errors import InputError
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.network.simulation import Simulator
from netdrift.engine.sweep import sweep
from netdrift.engine.traffic.sources import make_traffic

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ROOT / "src" / "netdrift" / "dashboard" / "views"
STEPS, MINUTES = 96, 15.0


@pytest.fixture(scope="module")
def abilene():
    return load_topology("abilene")


@pytest.fixture(scope="module")
def measured(abilene) -> np.ndarray:
    """(steps, directions) loads of a day of synthetic demands, as routers would count them."""
    tm = make_traffic("synthetic", abilene, STEPS, MINUTES, seed=3)
    return np.asarray(Simulator(abilene, tm).loads.loads, dtype=np.float64)


def counters_csv(topology, loads: np.ndarray) -> bytes:
    """``time,src,dst,mbps``: one row per step and direction."""
    times = pd.date_range("2024-05-01", periods=len(loads), freq=f"{int(MINUTES)}min")
    rows = [(t.strftime("%Y-%m-%dT%H:%M:%S"), u, v, f"{loads[k, d]:.6f}")
            for k, t in enumerate(times) for d, (_, u, v) in enumerate(topology.direction_names())]
    return pd.DataFrame(rows, columns=["time", "src", "dst", "mbps"]).to_csv(index=False).encode()


def routed_loads(topology, replay: str) -> np.ndarray:
    tm = make_traffic(replay, topology, STEPS, None, seed=0)
    return np.asarray(Simulator(topology, tm).loads.loads, dtype=np.float64)


def assert_reproduced(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    floor = 1e-3 * want.max(axis=1, keepdims=True)
    assert (np.abs(got - want) <= 1e-3 * np.maximum(want, floor) + 1e-4).all()


def page(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("NETDRIFT_DB_URL", f"sqlite:///{tmp_path / 'h.sqlite'}")
    monkeypatch.setenv("NETDRIFT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("NETDRIFT_TOPOLOGY", raising=False)
    monkeypatch.delenv("NETDRIFT_MAX_MEMORY", raising=False)
    return AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=180).run()


def upload(at: AppTest, key: str, name: str, data: bytes) -> AppTest:
    return at.file_uploader(key=f"{key}_upload").set_value((name, data, "text/csv")).run()


# --- the module ------------------------------------------------------------------------------
def test_attached_counters_give_demands_that_reproduce_the_loads(tmp_path, abilene, measured) -> None:
    steps_done: list[tuple[int, int]] = []
    a = attach_counters("day.csv", counters_csv(abilene, measured), abilene, folder=tmp_path,
                        progress=lambda done, total: steps_done.append((done, total)))
    assert steps_done == [(k, STEPS) for k in range(STEPS + 1)]     # what the panel's progress bar shows
    assert (a.steps, a.step_minutes, a.upload, a.method, a.missing_steps) == (STEPS, MINUTES, "day.csv", "prior", 0)
    assert Path(a.traffic).parent == tmp_path and a.link_fit_max is not None and a.link_fit_max < 1e-3
    assert_reproduced(routed_loads(abilene, a.traffic), measured)
    assert a.text().startswith(f"Attached 'day.csv' to {abilene.name}: demands deduced (prior) for 96 steps of 15 min")
    again = attach_counters("renamed.csv", counters_csv(abilene, measured), abilene, folder=tmp_path)
    # same content: the same files (the replay and the measured loads kept beside it)
    assert again.traffic == a.traffic and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [Path(a.traffic).name, Path(a.loads).name])


@pytest.mark.parametrize(("data", "problem"), [
    (b"", "the file is empty"),
    (b"time,src,dst,mbps\n2024-05-01T00:00,{u},NOWHERE,1\n", "line 2: node 'NOWHERE' is not in topology"),
    (b"time,src,dst,mbps\n2024-05-01T00:00,{u},{v},NaN\n2024-05-01T00:15,{u},{v},1\n", "line 2:"),
    (b"time,src,dst,mbps\n2024-05-01T00:00,{u},{v},1\n2024-05-01T00:15,{u},{v},-1\n", "line 3:"),
    (b"when,src,dst,mbps\n1,a,b,1\n", "line 1: unknown column(s) 'when'"),
])
def test_bad_counters_are_refused_naming_the_upload(tmp_path, abilene, data, problem) -> None:
    link = abilene.links[0]
    with pytest.raises(InputError) as err:
        attach_counters("bad.csv", data.replace(b"{u}", link.u.encode()).replace(b"{v}", link.v.encode()), abilene,
                        folder=tmp_path)
    assert str(err.value).startswith("upload 'bad.csv': ") and problem in str(err.value)
    assert "\n" not in str(err.value) and not list(tmp_path.iterdir())


# --- the pages -------------------------------------------------------------------------------
def test_topology_page_attaches_counters_and_shows_a_bad_file_in_one_line(tmp_path, monkeypatch, abilene,
                                                                        measured) -> None:
    at = page("topology", tmp_path, monkeypatch)
    at.selectbox(key="topology_bundled").set_value("abilene").run()
    bad = f"time,src,dst,mbps\n2024-05-01T00:00,{abilene.links[0].u},NOWHERE,1\n".encode()
    at = upload(at, "topology_counters", "bad.csv", bad)
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "upload 'bad.csv': line 2: node 'NOWHERE' is not in topology 'Abilene'"]
    assert COUNTERS_KEY not in at.session_state
    at = upload(at, "topology_counters", "day.csv", counters_csv(abilene, measured))
    assert not at.exception and not at.error, [e.value for e in at.error]
    attached = AttachedCounters(**at.session_state[COUNTERS_KEY])
    assert attached.matches(abilene) and attached.steps == STEPS
    assert any(f"Attached 'day.csv' to {abilene.name}: demands deduced (prior)" in s.value for s in at.success)
    assert not at.get("progress")                 # the deduction's progress bar is gone once it is done
    assert_reproduced(routed_loads(abilene, attached.traffic), measured)
    next(b for b in at.button if b.label == "Detach the counters").click().run()
    assert not at.exception and COUNTERS_KEY not in at.session_state and not at.success


def impact_sweep_on_counters(tmp_path, monkeypatch, abilene, measured) -> tuple[AppTest, AttachedCounters]:
    """The Impact page with the counters attached and a sweep of the whole day run."""
    at = page("impact", tmp_path, monkeypatch)
    at.selectbox(key="impact_topology").set_value("abilene").run()
    at = upload(at, "impact_counters", "day.csv", counters_csv(abilene, measured))
    assert not at.exception and not at.error, [e.value for e in at.error]
    attached = AttachedCounters(**at.session_state[COUNTERS_KEY])
    inputs = {n.label: n for n in at.number_input}
    assert inputs["Steps of traffic"].value == STEPS and inputs["Steps of traffic"].disabled
    assert inputs["Step length (min)"].value == MINUTES
    assert any("deduced from the attached interface counters" in c.value for c in at.caption)
    inputs["From step"].set_value(0)
    inputs["To step (excluded)"].set_value(STEPS)
    next(b for b in at.button if b.label == "Run the sweep").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at, attached


def test_impact_page_sweeps_the_deduced_demands(tmp_path, monkeypatch, abilene, measured) -> None:
    at, attached = impact_sweep_on_counters(tmp_path, monkeypatch, abilene, measured)
    stored = at.session_state["impact_sweep"]
    assert stored.config["traffic"] == attached.traffic
    want = sweep(abilene, make_traffic(attached.traffic, abilene, STEPS, None, seed=0), "link", 0, STEPS,
                 workers=1, processes=False).to_dict(top=0)["failures"]
    got = stored.result["failures"]
    assert [f["target"] for f in got] == [f["target"] for f in want]
    assert np.allclose([f["worst_utilization"] for f in got], [f["worst_utilization"] for f in want], rtol=1e-6)


def test_impact_page_says_what_the_counters_pin(tmp_path, monkeypatch, abilene, measured) -> None:
    """After a sweep on the deduced demands, "Compute for the 10 most severe failures": each
    failure's range holds its deduced figure and the TRUE load of its worst direction at its worst
    step under the failure (the simulator with the demands the counters were made from)."""
    at, attached = impact_sweep_on_counters(tmp_path, monkeypatch, abilene, measured)
    kept = attached_loads(attached, abilene)
    assert kept is not None and np.allclose(kept.loads, measured, rtol=1e-6, atol=1e-6)
    next(b for b in at.button if b.label.startswith("Compute for the 10 most severe")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    stored = at.session_state["impact_sweep"]
    # Kept with the sweep: the table shown is the one the history gives back.
    from netdrift.dashboard.impact.data import bounds_table
    from netdrift.service.sweeps import open_sweep
    from netdrift.storage.database import open_database

    reopened = open_sweep(open_database(f"sqlite:///{tmp_path / 'h.sqlite'}"), stored.id)
    table = bounds_table(reopened)
    shown = next(d.value for d in at.dataframe if list(d.value.columns) == list(table.columns))
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), table)
    assert list(table["Rank"]) == list(range(1, 11))
    assert not any(b.label.startswith("Compute for the 10") for b in at.button)   # done: nothing to ask again
    true = make_traffic("synthetic", abilene, STEPS, MINUTES, seed=3)
    for row, f in zip(table.to_dict(orient="records"), stored.failures):
        low, high = row["Counters allow from (%)"], row["Counters allow to (%)"]
        assert low - 0.01 <= row["Worst utilisation (%)"] <= high + 0.01, row
        wd = f["worst_direction"]
        d = abilene.direction_index(wd["link_id"], wd["src"])
        loads = Simulator(abilene, true, [FailureEvent(0, "fail", f["target"], "link")]).loads.loads
        there = 100.0 * loads[f["worst_step"], d] / abilene.direction_capacity[d]
        assert low - 0.01 <= there <= high + 0.01, (row, there)
        if row["Pinned by the counters"] == "yes":                # within 1 % (the table rounds to 0.01)
            assert high - low <= 0.01 * high + 0.02, row
    # Opened again in a session without the counters: the same ranges, under the ranking.
    fresh = page("impact", tmp_path, monkeypatch)
    next(b for b in fresh.button if b.label == "Open").click().run()
    assert not fresh.exception and fresh.session_state["impact_sweep"].id == stored.id
    assert COUNTERS_KEY not in fresh.session_state
    again = next(d.value for d in fresh.dataframe if list(d.value.columns) == list(table.columns))
    pd.testing.assert_frame_equal(again.reset_index(drop=True), table)


def test_live_run_started_with_counters_replays_the_deduced_demands(tmp_path, monkeypatch, abilene,
                                                                   measured) -> None:
    at = page("live", tmp_path, monkeypatch)
    next(s for s in at.selectbox if s.label == "Topology").set_value("abilene").run()
    at = upload(at, "live_counters", "day.csv", counters_csv(abilene, measured))
    assert not at.exception and not at.error, [e.value for e in at.error]
    next(m for m in at.multiselect if m.label == "Models").set_value(["persistence"])
    next(b for b in at.button if b.label == "Train and start").click().run()   # the preset's length: too long
    assert not at.exception and "netdrift_live" not in at.session_state
    assert [e.value for e in at.error] == [
        f"counters 'day.csv': have {STEPS} steps of 15 min, fewer than the {QUICK_PRESET.steps} training "
        "and live steps asked (lower them, or detach the counters)"]
    inputs = {n.label: n for n in at.number_input}
    inputs["Training steps"].set_value(48)
    inputs["Live steps after training"].set_value(24)
    next(m for m in at.multiselect if m.label == "Models").set_value(["persistence"])
    next(b for b in at.button if b.label == "Train and start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    live = at.session_state["netdrift_live"].live
    attached = AttachedCounters(**at.session_state[COUNTERS_KEY])
    assert live.spec.traffic == attached.traffic and live.traffic.step_minutes == MINUTES
    assert_reproduced(np.stack([live.loads_at(k) for k in range(72)]), measured[:72])
