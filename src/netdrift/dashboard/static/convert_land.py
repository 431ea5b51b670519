"""Rebuild land-110m.geo.json from world-atlas's land-110m.json (TopoJSON).

Run once by hand when the data is updated, not at runtime:
``npm pack world-atlas@2 && tar xzf world-atlas-2.0.2.tgz && python convert_land.py package/land-110m.json``.
It decodes the TopoJSON arcs (quantised, delta-encoded) into lon/lat rings, makes them
fillable on a flat map (see ``_planar``), keeps two decimals (about 1 km, far below what
1:110m resolves) and writes one GeoJSON MultiPolygon.
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


def _planar(ring: list[list[float]]) -> list[list[list[float]]]:
    """A spherical ring as rings a flat map can fill.

    world-atlas keeps polygons whole across the antimeridian (for d3's spherical clipping);
    drawn flat, their 180 -> -180 jump would streak across the map. The longitudes are
    unwrapped into one continuous ring, copied 360 degrees over where it leaves [-180, 180],
    and a ring that goes once round a pole (Antarctica) is closed along that pole.
    """
    out = [list(ring[0])]
    for lon, lat in ring[1:]:
        prev = out[-1][0]
        lon += 360.0 * round((prev - lon) / 360.0)
        out.append([round(lon, 2), lat])
    travel = out[-1][0] - out[0][0]
    if abs(travel) > 180.0:  # round a pole
        pole = -90.0 if sum(p[1] for p in out) < 0 else 90.0
        out += [[out[-1][0], pole], [out[0][0], pole]]
    rings = [out]
    lo, hi = min(p[0] for p in out), max(p[0] for p in out)
    if hi > 180.0:
        rings.append([[round(x - 360.0, 2), y] for x, y in out])
    if lo < -180.0:
        rings.append([[round(x + 360.0, 2), y] for x, y in out])
    return rings


def convert(src: Path, dst: Path) -> None:
    topo = json.loads(src.read_text())
    arcs = _arcs(topo)
    polygons: list = []
    for geom in topo["objects"]["land"]["geometries"]:
        polys = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
        for poly in polys:
            for ring in (_ring(ix, arcs) for ix in poly):
                if len(ring) >= 4:  # each ring its own polygon: 1:110m land has no holes that matter
                    polygons.extend([r] for r in _planar(ring))
    doc = {"type": "Feature", "properties": {"source": "Natural Earth 1:110m land via world-atlas 2.0.2"},
           "geometry": {"type": "MultiPolygon", "coordinates": polygons}}
    dst.write_text(json.dumps(doc, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(__file__).with_name("land-110m.geo.json"))
