"""Geometry of coordinates in degrees: great-circle distances and the map projection."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from netdrift.engine.network.topology import Topology

__all__ = ["EARTH_RADIUS_KM", "haversine_km", "MERCATOR_MAX_LAT", "mercator_xy", "plane_layout"]

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in degrees (haversine formula).

    Examples
    --------
    >>> round(haversine_km(0.0, 0.0, 0.0, 1.0), 3)  # one degree along the equator
    111.195
    >>> haversine_km(48.85, 2.35, 48.85, 2.35)
    0.0
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dphi = p2 - p1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


#: Web Mercator's latitude limit (degrees): the projection diverges at the poles.
MERCATOR_MAX_LAT = 85.05112878


def mercator_xy(lat: float, lon: float) -> tuple[float, float]:
    """Web Mercator in degree units, y growing southwards (screen convention).

    ``x`` is the longitude; ``y`` is minus the Mercator ordinate ``ln(tan(pi/4 + lat/2))``
    converted to degrees, so one unit is one degree of longitude at the equator everywhere
    and shapes keep their angles (what an operator sees on web maps). Latitudes beyond
    +-85.05 degrees are clamped.

    Examples
    --------
    >>> mercator_xy(0.0, 12.5) == (12.5, 0.0)
    True
    >>> round(mercator_xy(45.0, 0.0)[1], 3)  # ln(tan(67.5 deg)) = 0.88137 rad = 50.499 deg
    -50.499
    """
    phi = math.radians(max(-MERCATOR_MAX_LAT, min(MERCATOR_MAX_LAT, lat)))
    return float(lon), 0.0 - math.degrees(math.asinh(math.tan(phi)))  # = ln(tan(pi/4 + phi/2)); no -0.0


def plane_layout(
    topology: Topology, seed: int = 0, size: float = 1000.0
) -> tuple[dict[str, tuple[float, float]], dict[str, float | str] | None]:
    """Node positions on a ``size`` x ``size`` canvas (x right, y down) and the projection used.

    Nodes with lat/lon are placed by :func:`mercator_xy`; the projection returned maps any
    lon/lat to the same canvas: ``x = (mx - x0) * scale``, ``y = (my - y0) * scale``. A node
    without coordinates goes to the mean of its placed neighbours plus a small seeded offset;
    with no coordinates at all, a seeded force layout (networkx's spring layout) is used and
    the projection is None.

    >>> from netdrift.engine.network.topology import Link, Node, Topology
    >>> t = Topology("t", (Node("a", "A", 0.0, 0.0), Node("b", "B", 0.0, 20.0)), (Link("a-b", "a", "b", 1.0),))
    >>> plane_layout(t)
    ({'a': (0.0, 0.0), 'b': (1000.0, 0.0)}, {'kind': 'mercator', 'x0': 0.0, 'y0': 0.0, 'scale': 50.0})
    """
    rng = np.random.default_rng(seed)
    geo = {n.id: (n.lat, n.lon) for n in topology.nodes if n.lat is not None and n.lon is not None}
    raw: dict[str, tuple[float, float]] = {}
    if geo:
        raw = {nid: mercator_xy(lat, lon) for nid, (lat, lon) in geo.items()}
    else:
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(n.id for n in topology.nodes)
        g.add_edges_from((l.u, l.v) for l in topology.links)
        lay = nx.spring_layout(g, seed=int(rng.integers(2**31)))
        raw = {k: (float(v[0]), float(v[1])) for k, v in lay.items()}

    neighbours: dict[str, list[str]] = {n.id: [] for n in topology.nodes}
    for l in topology.links:
        neighbours[l.u].append(l.v)
        neighbours[l.v].append(l.u)

    # Span of the placed nodes sets the scale of the offsets for unplaced ones.
    if raw:
        arr = np.array(list(raw.values()))
        span = float(max(np.ptp(arr[:, 0]), np.ptp(arr[:, 1]), 1e-9))
    else:
        span = 1.0
    jitter = 0.03 * span
    missing = [n.id for n in topology.nodes if n.id not in raw]
    # Repeated passes place chains of unknown nodes outward from the known ones.
    while missing:
        progressed = False
        still = []
        for nid in missing:
            placed = [raw[m] for m in neighbours[nid] if m in raw]
            if placed:
                cx = float(np.mean([p[0] for p in placed]))
                cy = float(np.mean([p[1] for p in placed]))
                dx, dy = rng.normal(0.0, jitter, 2)
                raw[nid] = (cx + float(dx), cy + float(dy))
                progressed = True
            else:
                still.append(nid)
        missing = still
        if not progressed:
            # Components with no placed node at all: a ring below the map.
            for k, nid in enumerate(missing):
                ang = 2 * math.pi * k / max(1, len(missing))
                base = np.array(list(raw.values())) if raw else np.zeros((1, 2))
                raw[nid] = (
                    float(base[:, 0].mean()) + 0.15 * span * math.cos(ang),
                    float(base[:, 1].max()) + 0.15 * span + 0.05 * span * math.sin(ang),
                )
            missing = []

    if not raw:
        return {}, None
    arr = np.array(list(raw.values()))
    lo = arr.min(axis=0)
    extent = float(max(np.ptp(arr[:, 0]), np.ptp(arr[:, 1]), 1e-9))
    scale = size / extent
    positions = {k: (round(float((x - lo[0]) * scale), 2), round(float((y - lo[1]) * scale), 2))
                 for k, (x, y) in raw.items()}
    projection: dict[str, float | str] | None = ({"kind": "mercator", "x0": float(lo[0]), "y0": float(lo[1]), "scale": scale}
                  if geo else None)
    return positions, projection
