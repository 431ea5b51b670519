"""AppTest smoke tests of the Compare, Topology and Settings views (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from netdrift.dashboard.common.topology_io import apply_link_edits, links_frame, topology_from_upload
from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Link, Node, Topology
from tests.dashboard.test_compare_data import make_db

VIEWS = Path(__file__).resolve().parents[2] / "src" / "netdrift" / "dashboard" / "views"


def view(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str | None = None) -> AppTest:
    monkeypatch.setenv("NETDRIFT_DB_URL", url or f"sqlite:///{tmp_path / 'empty.sqlite'}")
    at = AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=60)
    return at.run()


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("info", "error", "warning", "success", "caption", "markdown") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


# --- Compare --------------------------------------------------------------------------------------
def test_compare_empty_database_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = view("compare", tmp_path, monkeypatch)
    assert not at.exception
    assert "No runs stored yet" in texts(at)


def test_compare_two_runs_shows_history_charts_and_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = make_db(tmp_path, n_complete=2, interrupted=True)
    at = view("compare", tmp_path, monkeypatch, url)
    assert not at.exception
    history = at.dataframe[0].value
    assert len(history) == 3 and "interrupted" in set(history["status"])
    ids = [int(i) for i in history.loc[history["status"] == "complete", "id"]]
    at.multiselect(key="compare_runs").set_value(ids).run()
    assert not at.exception, at.exception
    assert len(at.dataframe) == 2  # history + metrics table
    metrics = at.dataframe[1].value
    assert {"rmse_mbps", "mape_pct", "ttc_steps"} <= set(metrics.columns)
    assert "censored" in set(metrics["ttc_steps"].dropna())
    # 3 charts (error, metrics bars, drift scatter) x (PNG, SVG, PDF, CSV)
    buttons = at.get("download_button")
    assert len(buttons) == 12
    # Exporting must not rerun the page (a rerun redraws every chart and drops the pending file).
    assert all(b.proto.ignore_rerun for b in buttons)
    assert "Pick two or more" not in texts(at)
    # An interrupted run says why it has nothing to show (issue 21, item 7).
    stopped = int(history.loc[history["status"] == "interrupted", "id"].iloc[0])
    at.multiselect(key="compare_runs").set_value([*ids, stopped]).run()
    assert not at.exception, at.exception
    warned = " ".join(w.value for w in at.warning)
    assert f"#{stopped} " in warned and "the run is interrupted" in warned, warned


def test_compare_shows_interval_coverage_and_scores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = make_db(tmp_path, n_complete=2, with_intervals=1)
    at = view("compare", tmp_path, monkeypatch, url)
    history = at.dataframe[0].value
    newer, older = sorted(int(i) for i in history["id"])  # the first stored run has intervals
    at.multiselect(key="compare_runs").set_value([newer, older]).run()
    assert not at.exception, at.exception
    assert "Prediction intervals and overload warnings" in [h.value for h in at.subheader]
    # Runs are labelled by topology, first failure and seed (issue 21, item 7), then their free label.
    assert "#2 tiny, fail a-b@20, seed 0, run1: no intervals stored." in texts(at)
    scores = next(d.value for d in at.dataframe if "coverage_post_pct" in d.value.columns)
    assert scores["run"].unique().tolist() == ["#1 tiny, fail a-b@20, seed 0, run0"]
    assert scores["model"].tolist() == ["persistence", "frozen"]
    assert scores.set_index("model").loc["frozen", "coverage_post_pct"] == 0.0
    metrics = next(d.value for d in at.dataframe if "ttc_steps" in d.value.columns)
    assert "day1" in set(metrics["period"])
    # 4 charts (error, coverage, metrics bars, drift) x (PNG, SVG, PDF, CSV)
    buttons = at.get("download_button")
    assert len(buttons) == 16 and all(b.proto.ignore_rerun for b in buttons)
    assert sum("exp_cov" in b.proto.id for b in buttons) == 4


def test_compare_bad_database_url_shows_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = view("compare", tmp_path, monkeypatch, "nonsense://")
    assert not at.exception
    assert at.error and "nonsense" in at.error[0].value


# --- Topology -------------------------------------------------------------------------------------
def test_topology_bundled_shows_counts_and_stores_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = view("topology", tmp_path, monkeypatch)
    assert not at.exception
    at.selectbox(key="topology_bundled").set_value("abilene").run()
    assert not at.exception
    values = {m.label: m.value for m in at.metric}
    assert values["Nodes"] == "11" and values["Links"] == "14" and values["Link directions"] == "28"
    at.button(key="topology_use").click().run()
    choice = at.session_state["topology_choice"]
    assert choice["name"] == "abilene" and len(choice["topology"]["links"]) == 14


def test_upload_handler_rejects_bad_bytes() -> None:
    with pytest.raises(InputError, match="empty"):
        topology_from_upload("net.graphml", b"")
    with pytest.raises(InputError):
        topology_from_upload("net.graphml", b"<graphml><not closed")
    with pytest.raises(InputError, match="limit"):
        topology_from_upload("net.gml", b"x" * 101, max_bytes=100)
    with pytest.raises(InputError, match="file type"):
        topology_from_upload("evil.pkl", b"\x80\x04K\x01.")
    with pytest.raises(InputError) as err:
        topology_from_upload("../../etc/passwd.json", b"{\"nodes\": 3}")
    assert "/" not in str(err.value).split("'")[1]  # the sanitised name is what is reported


def test_an_upload_too_large_for_its_traffic_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    # 20k nodes fit the 20 MiB upload limit; one day of their node pairs (400 M values, 1.6 GB in
    # float32 before the generator's working copies) does not fit a 1 GiB budget.
    monkeypatch.setenv("NETDRIFT_MAX_MEMORY", str(2**30))
    nodes = b"".join(b'<node id="n%d"/>' % i for i in range(20_000))
    data = b'<graphml><graph edgedefault="undirected">' + nodes + b'<edge source="n0" target="n1"/></graph></graphml>'
    parsed: list[bytes] = []
    monkeypatch.setattr("netdrift.dashboard.common.topology_io.load_topology_bytes", lambda *a, **k: parsed.append(a[0]))
    with pytest.raises(InputError, match=r"upload 'big.graphml' \(20000 nodes counted before parsing"):
        topology_from_upload("big.graphml", data)
    assert parsed == []  # refused before the parser saw it


def test_upload_handler_parses_good_json() -> None:
    data = b'{"name": "up", "nodes": [{"id": "a"}, {"id": "b"}], "links": [{"u": "a", "v": "b", "capacity_mbps": 100}]}'
    t = topology_from_upload("mine.json", data)
    assert len(t.nodes) == 2 and t.links[0].capacity_mbps == 100.0


def test_link_edits_validated() -> None:
    t = Topology("t", (Node("a", "A"), Node("b", "B")), (Link("a-b", "a", "b", 1000.0),))
    df = links_frame(t)
    df.loc[0, "weight"] = 0
    with pytest.raises(InputError, match="a-b"):
        apply_link_edits(t, df)
    df.loc[0, ["weight", "capacity_mbps"]] = [5, 40000]
    edited = apply_link_edits(t, df).links[0]
    assert (edited.weight, edited.capacity_mbps) == (5.0, 40000.0)


# --- Settings -------------------------------------------------------------------------------------
def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_settings_defaults_and_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = view("settings", tmp_path, monkeypatch)
    assert not at.exception
    assert at.session_state["device"] == "auto"
    # What the next Live run uses: the quick preset (epochs 6, B 24, N 192), not the engine's defaults.
    assert [at.number_input(key=f"cfg_{n}").value for n in ("window", "epochs", "il_batch", "il_window")] \
        == [24, 6, 24, 192]
    at.number_input(key="cfg_il_batch").set_value(300)
    at.number_input(key="cfg_il_window").set_value(200)
    button(at, "Save model settings").click().run()
    assert not at.exception
    # The engine's rule and its message, under the form field's label.
    assert [e.value for e in at.error] == [
        "IL window N (re-fit on last N steps): il_window (N=200): must be greater than il_batch (B=300)"]
    assert "forecast_settings" not in at.session_state
    at.number_input(key="cfg_il_window").set_value(600)
    at.selectbox(key="cfg_liquid_cell").set_value("ltc")
    button(at, "Save model settings").click().run()
    # Only what was changed is stored: every other value stays the preset's.
    assert at.session_state["forecast_settings"] == {"il_batch": 300, "il_window": 600, "liquid_cell": "ltc"}
    at.number_input(key="cfg_epochs").set_value(9)
    button(at, "Save model settings").click().run()
    assert at.session_state["forecast_settings"] == {"il_batch": 300, "il_window": 600, "liquid_cell": "ltc",
                                                     "epochs": 9}
    at.radio(key="settings_device").set_value("cpu").run()
    assert at.session_state["device"] == "cpu"


def test_settings_store_the_interval_level_and_the_warning_threshold(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    at = view("settings", tmp_path, monkeypatch)
    assert not at.exception
    assert at.session_state["interval"] == 0.9 and at.session_state["warn_utilization"] == 0.9
    at.slider(key="settings_interval").set_value(0.8).run()
    at.slider(key="settings_warn").set_value(0.75).run()
    assert at.session_state["interval"] == pytest.approx(0.8) and at.session_state["warn_utilization"] == 0.75
    at.toggle(key="settings_interval_on").set_value(False).run()
    assert not at.exception
    assert at.session_state["interval"] is None and at.slider(key="settings_interval").disabled
    assert "Intervals off" in texts(at)


def test_settings_rejects_bad_db_url_and_keeps_previous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = view("settings", tmp_path, monkeypatch)
    good = f"sqlite:///{tmp_path / 'good.sqlite'}"
    at.text_input(key="settings_db_url").set_value(good)
    button(at, "Use this database").click().run()
    button(at, "Start a new history there").click().run()  # a new file: asked first
    assert not at.exception and at.session_state["db_url"] == good
    at.text_input(key="settings_db_url").set_value("nonsense://")
    button(at, "Use this database").click().run()
    assert not at.exception
    assert at.error and "nonsense" in at.error[0].value
    assert at.session_state["db_url"] == good


def test_settings_asks_before_creating_a_missing_database_folder(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    at = view("settings", tmp_path, monkeypatch)
    missing = tmp_path / "no" / "such"
    url = f"sqlite:///{missing / 'h.sqlite'}"
    at.text_input(key="settings_db_url").set_value(url)
    button(at, "Use this database").click().run()
    assert not at.exception
    assert at.warning and f"The folder '{missing}' does not exist" in at.warning[0].value
    assert not (tmp_path / "no").exists(), "nothing is created before the operator says yes"
    assert "db_url" not in at.session_state

    button(at, "Cancel").click().run()  # no: nothing created, the question gone
    assert not at.warning and not (tmp_path / "no").exists() and "db_url" not in at.session_state

    button(at, "Use this database").click().run()
    button(at, "Create the folder and use it").click().run()  # yes: created, in use
    assert not at.exception and not at.error
    assert missing.is_dir() and at.session_state["db_url"] == url
    assert (missing / "h.sqlite").exists()


def test_settings_asks_before_starting_an_empty_history_at_a_mistyped_file(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21, item 7: a typo in an SQLite file name silently created an empty history."""
    at = view("settings", tmp_path, monkeypatch)
    real = tmp_path / "history.sqlite"
    real_url = f"sqlite:///{real}"
    at.text_input(key="settings_db_url").set_value(real_url)
    button(at, "Use this database").click().run()
    button(at, "Start a new history there").click().run()
    assert at.session_state["db_url"] == real_url and real.exists()
    typo = tmp_path / "histroy.sqlite"
    at.text_input(key="settings_db_url").set_value(f"sqlite:///{typo}")
    button(at, "Use this database").click().run()
    assert not at.exception
    assert at.warning and f"There is no history at '{typo}'" in at.warning[0].value
    assert not typo.exists() and at.session_state["db_url"] == real_url  # nothing made, nothing switched
    button(at, "Cancel").click().run()
    assert not at.warning and not typo.exists() and at.session_state["db_url"] == real_url
    at.text_input(key="settings_db_url").set_value(real_url)  # an existing file: used at once, no question
    button(at, "Use this database").click().run()
    assert not at.warning and at.session_state["db_url"] == real_url


@pytest.mark.parametrize("cuda", [False, True])
def test_settings_device_radio_says_what_auto_resolves_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         cuda: bool) -> None:
    monkeypatch.setattr("netdrift.dashboard.common.settings_logic.detect_cuda", lambda: (cuda, "H200" if cuda else None))
    at = view("settings", tmp_path, monkeypatch)
    assert not at.exception
    radio = at.radio(key="settings_device")
    if cuda:
        assert radio.options == ["auto (cuda)", "cpu", "cuda"]
        assert "In use: **auto (cuda)**: runs on the CUDA." in texts(at)
    else:  # cuda is not offered, so the radio can never show it while the CPU is in use
        assert radio.options == ["auto (cpu)", "cpu"]
        assert "In use: **auto (cpu)**: runs on the CPU." in texts(at)
    assert radio.value == "auto" and at.session_state["device"] == "auto"


def test_compare_seed_group_shows_intervals_and_verdicts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from netdrift.engine.experiments.spec import ScenarioSpec
    from netdrift.engine.forecasting.settings import ForecastSettings
    from netdrift.service.scenarios import ScenarioService
    from netdrift.storage.database import open_database

    url = f"sqlite:///{tmp_path / 'seeds.sqlite'}"
    spec = ScenarioSpec(topology="abilene", steps=96, train_steps=60, step_minutes=60,
                        models=("persistence", "frozen"), failures=("0-1@70",),
                        forecast=ForecastSettings.from_flat(dict(window=6, epochs=1)))
    ScenarioService(open_database(url)).run_seeds(spec, 2)
    at = view("compare", tmp_path, monkeypatch, url)
    ids = sorted(int(i) for i in at.dataframe[0].value["id"])
    assert len(ids) == 2
    at.multiselect(key="compare_runs").set_value(ids[:1]).run()
    assert not at.exception, at.exception
    assert "netdrift run --seeds 3" in texts(at)
    at.multiselect(key="compare_runs").set_value(ids).run()
    assert not at.exception, at.exception
    assert "netdrift run --seeds 3" not in texts(at)
    assert "Abilene, fail 0-1@70: runs #1, #2" in texts(at)
    tables = [d.value for d in at.dataframe if "verdict" in d.value.columns]
    assert len(tables) == 1
    diffs = tables[0]
    assert diffs["model"].tolist() == ["frozen", "frozen"] and diffs["runs"].tolist() == [2, 2]
    assert diffs["verdict"].isin(["within noise", "better", "worse"]).all()
    # the chart's PNG / SVG / PDF / CSV and the differences' CSV, none rerunning the page
    seed_buttons = [b for b in at.get("download_button") if "exp_seeds" in str(b.proto.id)]
    assert len(seed_buttons) == 5 and all(b.proto.ignore_rerun for b in seed_buttons)
