"""Rebuild land-110m.geo.json from world-atlas's land-110m.json (TopoJSON).

Run once by hand when the data is updated, not at runtime:
``npm pack world-atlas@2 && tar xzf world-atlas-2.0.2.tgz && python convert_land.py package/land-110m.json``.
It decodes the TopoJSON arcs (quantised, delta-encoded) into lon/lat rings, keeps two
decimals (about 1 km, far below what 1:110m resolves) and writes one GeoJSON MultiPolygon.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _arcs(topo: dict) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        out.append(pts)
    return out


def _ring(indices: list[int], arcs: list[list[tuple[float, float]]]) -> list[list[float]]:
    pts: list[tuple[float, float]] = []
    for i in indices:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        pts.extend(arc if not pts else arc[1:])  # consecutive arcs share their joining point
    ring: list[list[float]] = []
    for lon, lat in pts:
        p = [round(lon, 2), round(lat, 2)]
        if not ring or ring[-1] != p:
            ring.append(p)
    return ring


def convert(src: Path, dst: Path) -> None:
    topo = json.loads(src.read_text())
    arcs = _arcs(topo)
    polygons = []
    for geom in topo["objects"]["land"]["geometries"]:
        polys = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
        for poly in polys:
            rings = [r for r in (_ring(ix, arcs) for ix in poly) if len(r) >= 4]
            if rings:
                polygons.append(rings)
    doc = {"type": "Feature", "properties": {"source": "Natural Earth 1:110m land via world-atlas 2.0.2"},
           "geometry": {"type": "MultiPolygon", "coordinates": polygons}}
    dst.write_text(json.dumps(doc, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(__file__).with_name("land-110m.geo.json"))
