"""A click on the map toggles a link (or node) of the live scenario at its current step."""

from __future__ import annotations

import numpy as np
import pytest

from netdrift.dashboard.live.callbacks import ClickOutcome, fail_element, record_event, toggle_element
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.experiments.spec import ScenarioSpec


@pytest.fixture
def live() -> LiveScenario:
    spec = ScenarioSpec(topology="abilene", steps=40, train_steps=30, step_minutes=60,
                        models=("persistence",), seed=1)
    s = LiveScenario.from_spec(spec)
    s.train()
    s.advance(2)
    return s


def _busiest_link(live: LiveScenario) -> str:
    loads = live.loads_at(live.step)
    i = int(np.nanargmax(loads[0::2] + loads[1::2]))
    return live.topology.links[i].id


def test_click_fails_then_restores_the_link_at_the_current_step(live: LiveScenario) -> None:
    link = _busiest_link(live)
    i = live.topology.link_index[link]
    step = live.step
    before = live.loads_at(step).copy()
    assert before[2 * i] + before[2 * i + 1] > 0

    first = toggle_element(live, link)
    assert first.ok and first.event.action == "fail" and first.event.step == step
    # Names where an operator reads them, the id kept in parentheses (issue 13, item 5).
    u, v = (live.topology.nodes[live.topology.node_index[x]].label for x in (live.topology.links[i].u,
                                                                             live.topology.links[i].v))
    assert first.message == f"Link {u} \u2013 {v} ({link}) failed at step {step}."
    assert link in live.down_links
    failed = live.loads_at(step)
    assert failed[2 * i] == 0 and failed[2 * i + 1] == 0  # nothing crosses a failed link
    others = np.delete(np.arange(len(before)), [2 * i, 2 * i + 1])
    assert not np.allclose(failed[others], before[others])  # the traffic went elsewhere (or dropped)

    second = toggle_element(live, link)
    assert second.ok and second.event.action == "restore"
    assert link not in live.down_links
    np.testing.assert_allclose(live.loads_at(step), before)
    assert [e.action for e in live.events] == ["fail", "restore"]


def test_unknown_id_gives_a_message_and_changes_nothing(live: LiveScenario) -> None:
    out = toggle_element(live, "no-such-link")
    assert out == ClickOutcome(None, "No link 'no-such-link' in this topology.")
    assert not out.ok and live.events == []
    assert toggle_element(live, None).message == "Nothing was clicked."
    node = live.topology.nodes[0].id
    assert toggle_element(live, node, "link").message == f"No link '{node}' in this topology."


def test_node_click_fails_the_node(live: LiveScenario) -> None:
    node = live.topology.nodes[0].id
    out = toggle_element(live, node, "node")
    assert out.ok and out.event.kind == "node" and node in live.down_nodes
    label = live.topology.nodes[0].label
    assert out.message == f"Node {label} ({node}) failed at step {live.step}."


def test_no_toggle_after_the_end(live: LiveScenario) -> None:
    live.advance(live.total_steps)
    out = toggle_element(live, live.topology.links[0].id)
    assert not out.ok and "ended" in out.message


def test_event_is_recorded_in_the_history(live: LiveScenario, tmp_path) -> None:
    from netdrift.storage.database import open_database
    from netdrift.storage.repository import ScenarioRepository

    Session = open_database(f"sqlite:///{tmp_path}/h.sqlite")
    with Session.begin() as s:
        sid = ScenarioRepository(s).create_scenario(live.topology, {}, 1, ["persistence"])
    ev = toggle_element(live, live.topology.links[0].id).event
    assert record_event(Session, sid, ev) is None
    with Session() as s:
        assert ScenarioRepository(s).get_scenario(sid).events == [ev]
    assert record_event(None, sid, ev) is None  # no history configured: nothing to do


def test_failing_from_the_impact_page_fails_once_and_never_restores(live: LiveScenario) -> None:
    link = _busiest_link(live)
    first = fail_element(live, link)
    assert first.ok and first.event.action == "fail" and first.event.step == live.step
    again = fail_element(live, link)
    assert not again.ok and again.message.endswith("is already down.") and f"({link})" in again.message
    assert live.down_links == {link}
    node = live.topology.nodes[0].id
    assert fail_element(live, node, "node").event.kind == "node"
    assert not fail_element(live, "nope").ok
