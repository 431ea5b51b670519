"""The live topology map: vis-network in a bidirectional ``st.components.v2`` component.

The vis-network JavaScript comes from the installed pyvis wheel and, with the Natural Earth
land of ``dashboard/static``, is evaluated once per browser page by a tiny "loader" component whose message never changes (Streamlit's message
cache then re-sends only a reference on reruns); the map component itself carries only
~4 KB of JS plus the map data. Nothing is fetched from the network.

Clicking a link direction reports ``edge_clicked`` (the physical link id); clicking a node
reports ``node_clicked``. Both are trigger values: they are set for the one rerun that
follows the click.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import streamlit as st

__all__ = ["vis_network_js_path", "topology_map"]

_HERE = Path(__file__).with_suffix("")  # dashboard/map/components/topology_map/
_HTML = (
    '<div class="nd-map">'
    '<div class="nd-tools"><input class="nd-search" type="search" placeholder="Find a node or link" '
    'aria-label="Find a node or link" autocomplete="off"><datalist></datalist>'
    '<button type="button" class="nd-fit" title="Show the whole network">Fit</button>'
    '<button type="button" class="nd-reset" title="Clear the search and show the whole network">Reset</button>'
    '<button type="button" class="nd-full" title="The map on the whole screen (Esc to leave)">Full screen</button>'
    '<span class="nd-find-msg" role="status"></span></div>'
    '<div class="nd-canvas"></div><div class="nd-legend"></div></div>'
)
_STATIC = Path(__file__).resolve().parents[2] / "static"  # dashboard/static/


def vis_network_js_path() -> Path:
    """Path of vis-network.min.js inside the installed pyvis package (newest bundled version)."""
    import pyvis

    lib = Path(pyvis.__file__).parent / "templates" / "lib"
    candidates = sorted(lib.glob("vis-*/vis-network.min.js"),
                        key=lambda p: tuple(int(x) for x in p.parent.name[4:].split(".") if x.isdigit()))
    if not candidates:
        raise FileNotFoundError(f"vis-network.min.js not found under {lib}; is pyvis installed?")
    return candidates[-1]


@lru_cache(maxsize=1)
def _components() -> tuple[Callable[..., Any], Callable[..., Any]]:
    vis_js = vis_network_js_path().read_text(encoding="utf-8")
    # vis-network's UMD wrapper assigns globalThis.vis; the guard keeps a second evaluation
    # (e.g. after a hot reload) from replacing the instance the map already uses.
    land = (_STATIC / "land-110m.geo.json").read_text(encoding="utf-8").strip()
    loader_js = (
        "if (!globalThis.vis || !globalThis.vis.Network) {\n" + vis_js + "\n}\n"
        # Natural Earth land (public domain, see dashboard/static/NOTICE), drawn under geographic maps.
        "if (!globalThis.__ndLand) { globalThis.__ndLand = " + land + "; }\n"
        "export default function () {}\n"
    )
    loader = st.components.v2.component("netdrift.vis_loader", js=loader_js)
    topo = st.components.v2.component(
        "netdrift.topology_map",
        html=_HTML,
        css=(_HERE / "map.css").read_text(encoding="utf-8"),
        js=(_HERE / "drawing.js").read_text(encoding="utf-8") + "\n" + (_HERE / "map.js").read_text(encoding="utf-8"),
    )
    return loader, topo


def topology_map(
    data: dict,
    *,
    key: str,
    on_edge_clicked: Callable[[], None] | None = None,
    on_node_clicked: Callable[[], None] | None = None,
    height: int | None = None,
) -> Any:
    """Draw the map from :func:`netdrift.dashboard.map.model.build_map` output (plus ``topology``,
    ``step`` and ``down_links`` entries) and return the component result.

    ``on_edge_clicked`` / ``on_node_clicked`` run before the rerun that a click causes; read
    the clicked id from ``st.session_state[key]["edge_clicked"]`` (or ``node_clicked``).
    ``height`` sets the canvas height in px (560 by default).
    """
    loader, topo = _components()
    loader(key="netdrift_vis_loader")
    if height is not None:
        data = {**data, "height": int(height)}
    return topo(
        key=key,
        data=data,
        on_edge_clicked_change=on_edge_clicked or (lambda: None),
        on_node_clicked_change=on_node_clicked or (lambda: None),
    )
