"""The Live page's time slider: the map, impact panel and chart at an earlier step of a run with a
failure and a restore, read-only (issue 21: "scrub to step 333 and see it as it was")."""

from __future__ import annotations

import numpy as np
import pytest

from netdrift.dashboard.common.state import LiveSession
from netdrift.dashboard.live import helpers as lh
from netdrift.dashboard.live.chart import link_chart_spec
from netdrift.dashboard.live.impact_panel import impact_of_last_event
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.experiments.spec import ScenarioSpec
from netdrift.engine.network.routing import routing_matrix


@pytest.fixture(scope="module")
def outage() -> tuple[LiveScenario, str]:
    """Abilene, 1-hour steps: a link failed at step 33 and restored at step 36, live at step 40."""
    spec = ScenarioSpec(topology="abilene", steps=60, train_steps=30, step_minutes=60,
                        models=("persistence",), seed=3)
    live = LiveScenario.from_spec(spec)
    live.train()
    live.advance(3)
    link = live.topology.links[0].id
    live.fail(link)
    live.advance(3)
    live.restore(link)
    live.advance(4)
    return live, link


def _by_hand(live: LiveScenario, step: int, down: frozenset[str]) -> np.ndarray:
    """Loads at ``step`` routed afresh with only ``down`` failed (a routing matrix built for that
    state alone, not the simulator's incremental plans)."""
    topo = live.topology
    up = np.array([link.id not in down for link in topo.links])
    r = routing_matrix(topo, up, None, live.traffic.src, live.traffic.dst)
    return r.matrix @ np.nan_to_num(np.asarray(live.traffic.demands[step], dtype=float))


def test_the_map_at_a_step_inside_the_outage_shows_the_link_failed_and_after_it_up(outage) -> None:
    live, link = outage
    assert live.step == 40 and live.down_links == frozenset()
    sess = LiveSession(live=live)
    inside = lh.map_data(sess, None, step=34)
    after = lh.map_data(sess, None, step=37)
    before = lh.map_data(sess, None, step=32)
    assert inside["step"] == 34 and inside["past"] and inside["down_links"] == [link]
    assert all(e["failed"] for e in inside["edges"] if e["link"] == link)
    assert after["down_links"] == [] and not any(e["failed"] for e in after["edges"])
    assert before["down_links"] == []
    # Read-only: the run is where it was, with the same events.
    assert live.step == 40 and len(live.events) == 2 and live.down_links == frozenset()
    now = lh.map_data(sess, None)
    assert now["step"] == 40 and not now["past"]


def test_the_loads_shown_at_a_past_step_are_that_steps_traffic_under_the_failures_then(outage) -> None:
    live, link = outage
    sess = LiveSession(live=live)
    cap = live.capacity
    for step, down in ((34, frozenset({link})), (37, frozenset())):
        expected = _by_hand(live, step, down) / cap
        shown = np.array([np.nan if e["util"] is None else e["util"] for e in lh.map_data(sess, None, step=step)["edges"]])
        ok = np.isfinite(expected)
        np.testing.assert_allclose(shown[ok], expected[ok], atol=1e-3)
    # The failure moved traffic: the same step's loads differ between the two states.
    assert np.nanmax(np.abs(_by_hand(live, 34, frozenset({link})) - _by_hand(live, 34, frozenset()))) > 1.0


def test_the_impact_panel_and_chart_at_a_past_step(outage) -> None:
    live, link = outage
    inside = impact_of_last_event(live, step=34)
    assert inside is not None and inside.event_step == 33 and inside.step == 34
    assert any("failed" in name for name in inside.event_names)
    after = impact_of_last_event(live, step=38)
    assert after is not None and after.event_step == 36 and any("restored" in n for n in after.event_names)
    assert impact_of_last_event(live, step=31) is None  # before any event
    spec = link_chart_spec(live, 0, end=35)
    assert int(np.max(spec["datasets"]["actual"]["step"])) == 34  # the chart stops at the step shown
    assert list(spec["datasets"]["events"]["marker"]) == ["failure"]  # the restore is still to come
    assert int(np.max(link_chart_spec(live, 0)["datasets"]["actual"]["step"])) == 39
