"""The network: nodes and physical links, immutable, with per-direction indexing.

A physical link ``i`` between ``u`` and ``v`` has two *link directions*: index ``2*i`` is
``u -> v`` and ``2*i + 1`` is ``v -> u``. Loads, capacities and forecasts are all arrays over
link directions in that order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Iterable

import numpy as np

from netdrift.engine.errors import InputError

__all__ = ["Node", "Link", "Topology", "DEFAULT_CAPACITY_MBPS"]

#: Capacity given to links whose speed the file does not state (10 Gbit/s, with a warning).
DEFAULT_CAPACITY_MBPS = 10_000.0


@dataclass(frozen=True)
class Node:
    """A router (or a hyperedge pseudo-node). ``lat``/``lon`` are None when unknown."""

    id: str
    label: str
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Link:
    """A physical, bidirectional link; ``capacity_mbps`` holds in each direction."""

    id: str
    u: str
    v: str
    capacity_mbps: float
    weight: float = 1.0
    length_km: float | None = None


@dataclass(frozen=True)
class Topology:
    """An immutable network. ``warnings`` records what the loader had to fix or assume.

    Examples
    --------
    >>> t = Topology("tiny", (Node("a", "A"), Node("b", "B")), (Link("a-b", "a", "b", 1000.0),))
    >>> t.direction_names()
    [('a-b', 'a', 'b'), ('a-b', 'b', 'a')]
    >>> t.without(links={"a-b"}).links
    ()
    """

    name: str
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        ids = [n.id for n in self.nodes]
        if len(set(ids)) != len(ids):
            raise InputError(f"topology '{self.name}'", "duplicate node ids")
        lids = [l.id for l in self.links]
        if len(set(lids)) != len(lids):
            raise InputError(f"topology '{self.name}'", "duplicate link ids")
        known = set(ids)
        for l in self.links:
            if l.u not in known or l.v not in known:
                raise InputError(f"topology '{self.name}'", f"link '{l.id}' names an unknown node")

    # --- indexing -------------------------------------------------------------------------
    @cached_property
    def node_index(self) -> dict[str, int]:
        """Node id -> position in ``nodes``."""
        return {n.id: i for i, n in enumerate(self.nodes)}

    @cached_property
    def link_index(self) -> dict[str, int]:
        """Link id -> position in ``links``."""
        return {l.id: i for i, l in enumerate(self.links)}

    @property
    def n_directions(self) -> int:
        return 2 * len(self.links)

    @cached_property
    def direction_src(self) -> np.ndarray:
        """Node index of each link direction's source, shape (2L,)."""
        out = np.empty(self.n_directions, dtype=np.int64)
        out[0::2] = [self.node_index[l.u] for l in self.links]
        out[1::2] = [self.node_index[l.v] for l in self.links]
        return out

    @cached_property
    def direction_dst(self) -> np.ndarray:
        """Node index of each link direction's destination, shape (2L,)."""
        out = np.empty(self.n_directions, dtype=np.int64)
        out[0::2] = [self.node_index[l.v] for l in self.links]
        out[1::2] = [self.node_index[l.u] for l in self.links]
        return out

    @cached_property
    def direction_capacity(self) -> np.ndarray:
        """Capacity in Mbit/s of each link direction, shape (2L,)."""
        return np.repeat(np.array([l.capacity_mbps for l in self.links], dtype=np.float64), 2)

    @cached_property
    def direction_weight(self) -> np.ndarray:
        """IGP weight of each link direction, shape (2L,)."""
        return np.repeat(np.array([l.weight for l in self.links], dtype=np.float64), 2)

    def direction_names(self) -> list[tuple[str, str, str]]:
        """(link_id, src, dst) for every link direction, in index order."""
        out: list[tuple[str, str, str]] = []
        for l in self.links:
            out.append((l.id, l.u, l.v))
            out.append((l.id, l.v, l.u))
        return out

    def direction_index(self, link_id: str, src: str) -> int:
        """Index of the direction of ``link_id`` leaving ``src``."""
        i = self.link_index[link_id]
        return 2 * i if self.links[i].u == src else 2 * i + 1

    # --- failures -------------------------------------------------------------------------
    def check_element(self, element_id: str) -> str:
        """Return 'link' or 'node' for a known id, else raise InputError naming it."""
        if element_id in self.link_index:
            return "link"
        if element_id in self.node_index:
            return "node"
        raise InputError(
            f"failure target '{element_id}'",
            f"no link or node with that id in topology '{self.name}'",
        )

    def link_up_mask(self, down_links: Iterable[str] = (), down_nodes: Iterable[str] = ()) -> np.ndarray:
        """Boolean (L,) mask: True where the physical link is up given failed links/nodes."""
        up = np.ones(len(self.links), dtype=bool)
        for lid in down_links:
            up[self.link_index[lid]] = False
        dn = set(down_nodes)
        if dn:
            for i, l in enumerate(self.links):
                if l.u in dn or l.v in dn:
                    up[i] = False
        return up

    def without(self, links: Iterable[str] = (), nodes: Iterable[str] = ()) -> "Topology":
        """The degraded view: these links (and every link of these nodes) removed; nodes stay."""
        up = self.link_up_mask(links, nodes)
        return replace(self, links=tuple(l for l, ok in zip(self.links, up) if ok))

    def with_links(self, links: Iterable[Link]) -> "Topology":
        """A copy with edited links (e.g. capacities or weights adjusted by the operator)."""
        return replace(self, links=tuple(links))
