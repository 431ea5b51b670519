"""What a click on the map does, without Streamlit: easy to unit-test.

A click on a link toggles it at the live scenario's current step (fail if up, restore if
down); the engine re-routes from that step on. The event is appended to the history when a
sessionmaker and scenario id are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from netdrift.dashboard.map.names import element_name
from netdrift.engine.errors import InputError
from netdrift.engine.network.events import FailureEvent

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from netdrift.engine.experiments.scenario import LiveScenario

__all__ = ["ClickOutcome", "toggle_element", "fail_element", "record_event"]


@dataclass(frozen=True)
class ClickOutcome:
    """Result of a click: the event applied (None when nothing happened) and a message."""

    event: FailureEvent | None
    message: str

    @property
    def ok(self) -> bool:
        return self.event is not None


def toggle_element(live: LiveScenario, target: str | None, kind: str = "link") -> ClickOutcome:
    """Fail ``target`` (a link or node id) if it is up, restore it if it is down.

    Returns a ClickOutcome whose message says what happened, or why nothing did (unknown
    id, scenario finished, the click named a node where a link was expected...), naming the
    element as an operator reads it (``"Link AT – DE (4-29) failed at step 400."``). Never
    raises for a bad id: the map can only report what it draws, but a stale page can
    report an id of another topology.

    >>> from types import SimpleNamespace
    >>> toggle_element(SimpleNamespace(topology=SimpleNamespace(link_index={}, node_index={})), "x").message
    "No link 'x' in this topology."
    """
    if not target:
        return ClickOutcome(None, "Nothing was clicked.")
    topo = live.topology
    index = topo.link_index if kind == "link" else topo.node_index
    if target not in index:
        return ClickOutcome(None, f"No {kind} '{target}' in this topology.")
    if live.step >= live.total_steps:
        return ClickOutcome(None, "The scenario has ended; start a new one to fail links.")
    try:
        event = live.toggle(target)
    except InputError as err:
        return ClickOutcome(None, str(err))
    verb = "failed" if event.action == "fail" else "restored"
    return ClickOutcome(event, f"{kind.capitalize()} {element_name(topo, target, kind)} {verb} at step {event.step}.")


def fail_element(live: LiveScenario, target: str, kind: str = "link") -> ClickOutcome:
    """Fail ``target`` now, as a click would (the Impact page's "apply to the live run"); one that
    is down already is left down, and the message says so."""
    topo = live.topology
    index = topo.link_index if kind == "link" else topo.node_index
    down = live.down_links if kind == "link" else live.down_nodes
    if target in index and target in down:
        return ClickOutcome(None, f"{kind.capitalize()} {element_name(topo, target, kind)} is already down.")
    return toggle_element(live, target, kind)


def record_event(sessions: sessionmaker[Session] | None, scenario_id: int | None,
                 event: FailureEvent) -> str | None:
    """Append ``event`` to scenario ``scenario_id`` in the history; an error message or None."""
    if sessions is None or scenario_id is None:
        return None
    from netdrift.service.scenarios import ScenarioService

    try:
        ScenarioService(sessions).add_event(scenario_id, event)
    except Exception as err:  # noqa: BLE001 - the live view keeps running; the history write is reported
        return f"Could not record the event in the history: {err}"
    return None
