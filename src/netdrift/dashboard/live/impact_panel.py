"""What the last failure or restore did, at a glance: the Live view's impact panel.

After an event the operator reads, by name: the nodes cut off from the rest of the network, the
link directions over 100 % of capacity with their excess in Mbit/s, the node pairs whose traffic
is dropped, and what changed against the state just before the event (the same step's traffic
routed as it was before, so the traffic's own drift between steps is not counted as change).

:func:`impact_of_last_event` computes it from a live run (no Streamlit); :func:`show_impact`
draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from netdrift.dashboard.map.labels import load_label
from netdrift.dashboard.map.names import element_name, node_name
from netdrift.dashboard.map.overload import direction_short_names

if TYPE_CHECKING:
    from netdrift.engine.experiments.scenario import LiveScenario
    from netdrift.engine.network.events import FailureEvent
    from netdrift.engine.network.topology import Topology

__all__ = ["Impact", "impact_of_last_event", "cut_off_nodes", "show_impact", "TOP"]

#: Rows shown per table.
TOP = 8
#: A direction's load counts as changed from this fraction of its capacity on (1 Mbit/s on 10 Gbit/s).
CHANGE_FRACTION = 1e-4


@dataclass(frozen=True)
class Impact:
    """The impact of the events at ``event_step`` as seen at ``step`` (Mbit/s throughout).

    ``cut_off``: node ids that are up but no longer reach the largest part of the network;
    ``overloads``: direction, utilisation (%), excess (Mbit/s) over capacity, worst first;
    ``dropped_pairs``: pair, dropped (Mbit/s), largest first; ``changes``: direction, before,
    after and change (Mbit/s), largest absolute change first; ``dropped_before`` and
    ``dropped_after`` the total dropped demand.
    """

    events: list[FailureEvent]
    event_step: int
    step: int
    cut_off: list[str]
    cut_off_names: list[str]
    overloads: pd.DataFrame
    dropped_pairs: pd.DataFrame
    changes: pd.DataFrame
    dropped_before: float
    dropped_after: float
    event_names: list[str] = field(default_factory=list)

    @property
    def dropped_delta(self) -> float:
        return self.dropped_after - self.dropped_before


def cut_off_nodes(topology: Topology, down_links: frozenset[str], down_nodes: frozenset[str]) -> list[str]:
    """Ids of the up nodes outside the largest connected part of the network that survives.

    >>> from netdrift.engine.network.topology import Link, Node, Topology
    >>> t = Topology("t", tuple(Node(x, x.upper()) for x in "abc"),
    ...              (Link("a-b", "a", "b", 1.0), Link("b-c", "b", "c", 1.0)))
    >>> cut_off_nodes(t, frozenset({"b-c"}), frozenset())
    ['c']
    """
    up = topology.link_up_mask(down_links, down_nodes)
    idx = topology.node_index
    rows = [idx[link.u] for link, ok in zip(topology.links, up) if ok]
    cols = [idx[link.v] for link, ok in zip(topology.links, up) if ok]
    n = len(topology.nodes)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    alive = np.array([node.id not in down_nodes for node in topology.nodes])
    if not alive.any():
        return []
    sizes = np.bincount(label[alive], minlength=label.max() + 1)
    main = int(np.argmax(sizes))
    return [node.id for node, comp, ok in zip(topology.nodes, label, alive) if ok and comp != main]


def impact_of_last_event(live: LiveScenario, top: int = TOP, step: int | None = None) -> Impact | None:
    """The impact of the latest event in force at the live step, or at an earlier ``step`` of the
    run (the time slider; the state there is the fold of the event log), None before any event."""
    now = min(live.step, live.total_steps - 1)
    step = now if step is None else max(0, min(int(step), now))
    applied = [e for e in live.events if e.step <= step]
    if not applied:
        return None
    event_step = max(e.step for e in applied)
    events = [e for e in applied if e.step == event_step]
    topo = live.topology
    demand = np.nan_to_num(np.asarray(live.traffic.demands[step], dtype=float))
    # The simulator's load plans (no routing matrix to build: a click's rerun stays fast on Cogentco).
    loads = live.simulator.loads
    plans = {a: (b, plan) for a, b, plan in loads.segments}

    def plan_at(k: int):
        return next(plan for a, (b, plan) in plans.items() if a <= k < b)

    after = plan_at(step)
    after_loads = np.nan_to_num(np.asarray(live.loads_at(step), dtype=float))
    if event_step == 0:
        before_loads, before_unreach = after_loads, np.zeros(len(demand), dtype=bool)
    else:
        before = plan_at(event_step - 1)
        before_loads = np.asarray(before.apply(demand[None, :], np.float64)[0][0], dtype=float)
        before_unreach = before.unreachable
    capacity = np.asarray(live.capacity, dtype=float)
    names = direction_short_names(topo)
    down_links, down_nodes = live.simulator.state_at(step)
    cut = cut_off_nodes(topo, frozenset(down_links), frozenset(down_nodes))

    over = np.flatnonzero(after_loads > capacity)
    over = over[np.argsort(-(after_loads[over] - capacity[over]), kind="stable")][:top]
    overloads = pd.DataFrame({"direction": [names[d] for d in over],
                              "utilisation (%)": [_sig(100 * after_loads[d] / capacity[d]) for d in over],
                              "excess (Mbit/s)": [_sig(after_loads[d] - capacity[d]) for d in over]})

    dropped = np.where(after.unreachable, demand, 0.0)
    worst = np.flatnonzero(dropped > 0)
    worst = worst[np.argsort(-dropped[worst], kind="stable")][:top]
    nodes = live.traffic.node_ids
    src, dst = live.traffic.src, live.traffic.dst
    dropped_pairs = pd.DataFrame({
        "pair": [f"{node_name(topo, nodes[src[p]])} \u2192 {node_name(topo, nodes[dst[p]])}" for p in worst],
        "dropped (Mbit/s)": [_sig(dropped[p]) for p in worst]})

    change = after_loads - before_loads
    # Float noise (the simulator keeps float32 loads) is not a change an operator should read.
    moved = np.flatnonzero(np.abs(change) >= CHANGE_FRACTION * capacity)
    moved = moved[np.argsort(-np.abs(change[moved]), kind="stable")][:top]
    changes = pd.DataFrame({"direction": [names[d] for d in moved],
                            "before (Mbit/s)": [_sig(before_loads[d]) for d in moved],
                            "after (Mbit/s)": [_sig(after_loads[d]) for d in moved],
                            "change (Mbit/s)": [_sig(change[d]) for d in moved]})
    return Impact(events=events, event_step=event_step, step=step, cut_off=cut,
                  cut_off_names=[node_name(topo, n) for n in cut], overloads=overloads,
                  dropped_pairs=dropped_pairs, changes=changes,
                  dropped_before=float(np.where(before_unreach, demand, 0.0).sum()),
                  dropped_after=float(dropped.sum()),
                  event_names=_net_change(topo, live.simulator.state_at(event_step - 1) if event_step > 0
                                          else (frozenset(), frozenset()), (down_links, down_nodes)))


def _net_change(topo: Topology, before: tuple[frozenset[str], frozenset[str]],
                after: tuple[frozenset[str], frozenset[str]]) -> list[str]:
    """What the events of one step changed, by name: several clicks on one link at the same step
    (fail, restore, fail) read as their net effect; nothing when they cancel out."""
    out = []
    for kind, was, now in (("link", before[0], after[0]), ("node", before[1], after[1])):
        out += [f"{element_name(topo, x, kind)} failed" for x in sorted(now - was)]
        out += [f"{element_name(topo, x, kind)} restored" for x in sorted(was - now)]
    return out


def _sig(x: float, digits: int = 3) -> float:
    """``x`` to ``digits`` significant digits (whole numbers kept whole above that)."""
    x = float(x)
    if x == 0 or not np.isfinite(x):
        return x
    magnitude = int(np.floor(np.log10(abs(x))))
    return float(round(x, max(0, digits - 1 - magnitude)))


def show_impact(impact: Impact | None) -> None:
    """Draw the impact panel (nothing before the first event)."""
    import streamlit as st

    if impact is None:
        return
    if not impact.event_names:
        st.caption(f"The failures and restores at step {impact.event_step} cancel out: the network is as before.")
        return
    st.markdown(f"**Impact of {', '.join(impact.event_names)}** (step {impact.event_step}; "
                f"now step {impact.step}, against the same traffic routed as before the event)")
    delta = impact.dropped_delta
    c = st.columns(3)
    c[0].metric("Cut-off nodes", len(impact.cut_off))
    c[1].metric("Directions over 100 %", len(impact.overloads))
    c[2].metric("Dropped traffic", load_label(impact.dropped_after),  # "8.5 Gbit/s": short enough not to be cut
                delta=(("+" if delta > 0 else "-") + load_label(abs(delta))) if abs(delta) >= 0.5 else None,
                delta_color="inverse", help=f"{impact.dropped_after:,.0f} Mbit/s")
    if impact.cut_off_names:
        st.markdown("Cut off: " + ", ".join(impact.cut_off_names))
    if len(impact.overloads):
        st.caption("Over capacity")
        st.dataframe(impact.overloads, hide_index=True, width="stretch")
    if len(impact.dropped_pairs):
        st.caption("Top dropped pairs")
        st.dataframe(impact.dropped_pairs, hide_index=True, width="stretch")
    if len(impact.changes):
        st.caption("Largest changes against the state before the event")
        st.dataframe(impact.changes, hide_index=True, width="stretch")
