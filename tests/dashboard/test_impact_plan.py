"""The Impact page's Plan view (issue 23): its data (netdrift.dashboard.impact.plan) against the
sweep of the plan's own demands, and the page (AppTest) running a plan like `netdrift plan`."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from netdrift.dashboard.impact import plan as pl
from netdrift.dashboard.map.model import node_positions
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.planning import plan
from netdrift.engine.sweep import sweep
from netdrift.engine.traffic.sources import make_traffic

ROOT = Path(__file__).resolve().parents[2]
VIEW = str(ROOT / "src" / "netdrift" / "dashboard" / "views" / "impact.py")
FORM = pl.PlanForm(steps=672, step_minutes=15.0, seed=0, peak_utilization=0.75, horizon_days=30, growth="0.3",
                   survive="link", target_utilization=0.8, modules="10000,40000")


@pytest.fixture(scope="module")
def result():
    return pl.run_plan(load_topology("abilene"), FORM)


def test_the_table_lists_each_upgrade_by_name(result):
    t = result.topology
    label = {n.id: n.label for n in t.nodes}
    table = pl.upgrades_table(result)
    assert len(table) == result.report["n_upgrades"] >= 1
    for row, u in zip(table.to_dict("records"), result.report["upgrades"]):
        link = t.links[t.link_index[u["link_id"]]]
        assert row["Link"] == f"{label[link.u]} \u2013 {label[link.v]} ({link.id})"
        assert row["Capacity after (Mbit/s)"] - row["Capacity before (Mbit/s)"] == pytest.approx(u["added_mbps"])
    assert list(table["Needed from"]) == sorted(table["Needed from"])


def test_maps_show_each_directions_worst_case_as_a_sweep_of_the_plan_demands_finds_it(result):
    # Independent path: the engine's sweep of the plan week's demands on the original and on the
    # upgraded topology; each direction's worst case (failures or none) is what the map shows.
    positions = node_positions(result.topology)
    for after, topo in ((False, result.topology), (True, result.upgraded)):
        s = sweep(topo, result.demands, "link", 0, result.demands.steps, workers=1)
        rows = pl.worst_case_rows(result, after)
        for (lid, a, b), row in zip(topo.direction_names(), rows.to_dict("records")):
            d = s.per_direction[f"{lid}:{a}->{b}"]
            expected = 100 * max(d["worst_utilization"], d["no_failure_utilization"])
            assert row["worst_pct"] == pytest.approx(expected, abs=0.006), row
            assert row["capacity_mbps"] == topo.links[topo.link_index[lid]].capacity_mbps
            if after:
                assert row["worst_pct"] <= 80.0
        spec = pl.plan_map_chart(result, positions, after).to_dict()
        lines = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rule")
        values = lines["data"].get("values") or spec["datasets"][lines["data"]["name"]]
        assert len(values) == topo.n_directions
        assert {v["direction"] for v in values if v["upgrade"]} == {
            r["direction"] for r in rows.to_dict("records") if r["upgrade"]} != set()


def test_report_is_self_contained_and_names_every_upgrade(result):
    page = pl.report_html(result).decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page
    for name in pl.upgrades_table(result)["Link"]:
        assert name.replace("&", "&amp;") in page
    spec = pl.timeline_chart(result).to_dict()
    points = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "circle")
    values = points["data"].get("values") or spec["datasets"][points["data"]["name"]]
    assert len(values) == result.report["n_upgrades"]


def test_the_pdf_report_holds_the_summary_and_every_upgrade_as_text(result):
    import re
    import zlib

    pdf = pl.report_pdf(result)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    text = b"".join(zlib.decompress(s) if s[:1] == b"x" else s for s in streams)
    assert b"Capacity plan: " + result.topology.name.encode() in text
    assert result.report["upgrades"]
    for u in result.report["upgrades"]:  # each upgraded link, named with its id as the table names it
        assert b"\\(" + u["link_id"].encode() + b"\\)" in text  # PDF strings escape parentheses
    assert pdf.count(b"/Subtype /Image") == 2  # the timeline and the map


def test_the_plan_view_runs_a_plan_like_the_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("NETDRIFT_DB_URL", f"sqlite:///{tmp_path / 'h.sqlite'}")
    monkeypatch.delenv("NETDRIFT_TOPOLOGY", raising=False)
    at = AppTest.from_file(VIEW, default_timeout=120).run()
    at.selectbox(key="plan_topology").set_value("abilene").run()
    at.number_input(key="plan_steps").set_value(FORM.steps)
    at.number_input(key="plan_peak").set_value(100 * FORM.peak_utilization)
    at.number_input(key="plan_horizon").set_value(FORM.horizon_days)
    at.text_input(key="plan_modules").set_value(FORM.modules)
    next(b for b in at.button if b.label == "Plan").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "Needed from" in d.value.columns)
    topo = load_topology("abilene")
    history = make_traffic("synthetic", topo, FORM.steps, FORM.step_minutes, 0, peak_utilization=FORM.peak_utilization)
    expected = plan(topo, history, horizon_days=30, growth=0.3, survive="link", target_utilization=0.8,
                    modules=[10000.0, 40000.0], cost_per_module=[1.0, 1.0], workers=1)
    assert [r.split("(")[-1].rstrip(")") for r in table["Link"]] == [u["link_id"] for u in expected.report["upgrades"]]
    # bad input: one line in the page, no plan
    at.text_input(key="plan_growth").set_value("fast")
    next(b for b in at.button if b.label == "Plan").click().run()
    assert at.error and "growth 'fast'" in at.error[0].value
