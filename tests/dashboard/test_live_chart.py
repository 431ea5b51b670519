"""The Live chart draws the actual, each forecast and a rule where the link failed."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import vl_convert as vlc

from dashboard.callbacks import toggle_element
from dashboard.live_helpers import link_chart_spec
from engine.experiments.scenario import LiveScenario
from engine.experiments.spec import ScenarioSpec


def _svg(spec: dict) -> str:
    """Render the spec as the browser would (datasets as records), offline."""
    datasets = {name: pd.DataFrame(cols).to_dict(orient="records") for name, cols in spec["datasets"].items()}
    return vlc.vegalite_to_svg({**spec, "datasets": datasets, "width": 400})


def _failure_rules(svg: str) -> list[float]:
    """x positions of the red failure rules."""
    return [float(x) for x in re.findall(r'<line[^>]*aria-label="event: fail[^"]*"[^>]*translate\(([\d.]+),', svg)]


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
