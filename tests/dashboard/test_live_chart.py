"""The Live chart draws the actual, each forecast and a rule where the link failed."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import vl_convert as vlc

from netdrift.dashboard.live.callbacks import toggle_element
from netdrift.dashboard.live.chart import link_chart_spec
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.experiments.spec import ScenarioSpec


def _svg(spec: dict) -> str:
    """Render the spec as the browser would (datasets as records), offline."""
    datasets = {name: pd.DataFrame(cols).to_dict(orient="records") for name, cols in spec["datasets"].items()}
    return vlc.vegalite_to_svg({**spec, "datasets": datasets, "width": 400})


def _failure_rules(svg: str) -> list[float]:
    """x positions of the failure rules."""
    rule = r'<line[^>]*aria-label="marker: failure; event: fail[^"]*"[^>]*translate\(([\d.]+),'
    return [float(x) for x in re.findall(rule, svg)]


def test_failure_rule_appears_inside_the_plot_once_the_link_fails() -> None:
    live = LiveScenario.from_spec(ScenarioSpec(topology="abilene", steps=60, train_steps=30, step_minutes=60,
                                               models=("persistence",), seed=3))
    live.train()
    live.advance(5)
    loads = live.loads_at(live.step)
    link = live.topology.links[int(np.nanargmax(loads[0::2] + loads[1::2]))].id
    direction = 2 * live.topology.link_index[link]

    before = _svg(link_chart_spec(live, direction))
    assert _failure_rules(before) == []
    assert "actual" in before and "persistence" in before

    assert toggle_element(live, link).ok
    live.advance(3)
    after = _svg(link_chart_spec(live, direction))
    xs = _failure_rules(after)
    assert len(xs) == 1
    assert 0 < xs[0] < 400  # placed on the lines' step axis, inside the plot


def _run(steps: int = 120) -> LiveScenario:
    live = LiveScenario.from_spec(ScenarioSpec(topology="abilene", steps=steps, train_steps=30, step_minutes=15,
                                               models=("persistence", "incremental"), seed=3))
    live.train()
    return live


def test_the_axis_is_the_simulated_clock_and_the_last_failure_stays_in_view() -> None:
    live = _run()
    live.advance(5)
    assert toggle_element(live, "0-1").ok
    live.advance(60)  # the failure is 60 steps back, further than the 20 steps asked for
    spec = link_chart_spec(live, 0, last=20)
    series = spec["datasets"]["actual"]
    assert series["step"].min() <= 35 <= series["step"].max()
    start = pd.Timestamp(live.traffic.start, tz="UTC")
    expected = [(start + pd.Timedelta(minutes=15 * int(k))).value // 10**6 for k in series["step"]]
    assert series["time"].tolist() == expected
    x = spec["layer"][0]["encoding"]["x"]
    assert x["type"] == "temporal" and x["scale"] == {"type": "utc"}


def test_every_rule_has_a_legend_entry_no_model_shares_the_failure_colour_and_the_actual_is_on_top() -> None:
    from netdrift.dashboard.map.colours import colour_range

    live = _run()
    live.advance(5)
    assert toggle_element(live, "0-1").ok
    live.advance(3)
    spec = link_chart_spec(live, 0)
    svg = _svg(spec)
    assert "Symbol legend for strokeDash with 4 values: failure, restore, re-fit, capacity" in svg
    failure = next(layer for layer in spec["layer"] if "marker === 'failure'" in str(layer.get("transform")))
    assert failure["mark"]["color"].lower() not in {c.lower() for c in colour_range(["actual", *live.forecasts])}
    top = spec["layer"][-1]
    assert top["data"] == {"name": "actual"} and top["mark"]["type"] == "line"
    assert spec["datasets"]["actual"]["series"].tolist() == ["actual"] * live.step


def test_the_capacity_line_is_drawn_when_the_load_comes_near_it() -> None:
    live = _run()
    live.advance(10)
    d = int(np.nanargmax(live.utilization_at(live.step - 1)))
    cap = float(live.capacity[d])
    svg = _svg(link_chart_spec(live, d))
    assert f"capacity {cap:,.0f} Mbit/s" in svg  # in the title whatever the load
    ys = [float(y) for y in re.findall(r'aria-label="marker: capacity[^"]*"[^>]*translate\([\d.]+,(-?[\d.]+)\)', svg)]
    peak = float(np.nanmax(live.utilization_at(live.step - 1)))
    if peak >= 0.4:  # the abilene preset peaks near 60 %: the rule is inside the 260 px plot
        assert len(ys) == 1 and 0 <= ys[0] <= 260


def test_no_layer_draws_an_empty_dataset_right_after_training() -> None:
    """Vega warns "Infinite extent" on every tick for an empty dataset in a scale's domain."""
    live = _run()
    spec = link_chart_spec(live, 0)
    assert "forecasts" not in spec["datasets"] and "bands" not in spec["datasets"]
    fed = [layer["data"]["name"] for layer in spec["layer"] if "field" in layer["encoding"].get("x", {})
           or "field" in layer["encoding"].get("y", {})]
    assert all(len(spec["datasets"][name]["Mbit/s"] if "Mbit/s" in spec["datasets"][name]
                   else spec["datasets"][name]["step"]) for name in fed)
