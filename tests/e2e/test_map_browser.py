"""The map at real scale in a real headless Chromium (issue 13): labels that do not smear on
Cogentco, hyperedge junctions unlabelled, search / fit / reset, utilisation labels on zoom,
the land under the nodes, tooltips that close, a map that stays put after a click, and the
Topology page's preview and upload errors. Screenshots of GEANT 2012 and Cogentco go to the
test's tmp dir and to /work/notes/shots/ (when that folder can be made) to be looked at.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.e2e.test_browser import _EDGE_POINT, _map_ready, _start_scenario, _wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
NOTES_SHOTS = Path("/work/notes/shots")

# Label boxes drawn at the last frame (px, relative to the canvas) with, per box, how many of
# its pixels are dark (text) on the canvas itself: a box that claims a label but shows no text
# would be caught.
_LABELS = """() => {
  const m = window.__netdriftMap; const cv = m.network.canvas.frame.canvas;
  const ctx = cv.getContext("2d"); const k = cv.width / cv.clientWidth;
  return m.labels().map(b => {
    const x = Math.max(0, Math.floor(b.x * k)), y = Math.max(0, Math.floor(b.y * k));
    const w = Math.max(1, Math.floor(b.w * k)), h = Math.max(1, Math.floor(b.h * k));
    const px = ctx.getImageData(x, y, w, h).data; let dark = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] + px[i + 1] + px[i + 2] < 300) dark++;
    const n = m.nodes.get(b.id); const d = m.network.canvasToDOM({x: n.x, y: n.y});
    return {...b, dark, junction: n.junction, nx: d.x, ny: d.y, W: cv.clientWidth, H: cv.clientHeight};
  });
}"""
# The map's top below the page title (the app scrolls inside its own container, not the window).
_CANVAS_TOP = ("() => window.__netdriftMap.network.canvas.frame.canvas.getBoundingClientRect().top"
               " - document.querySelector('[data-testid=\"stMainBlockContainer\"]').getBoundingClientRect().top")
_TOOLTIPS = ("() => [...window.__netdriftMap.root.getRootNode().querySelectorAll('.vis-tooltip')]"
             ".filter(t => getComputedStyle(t).visibility === 'visible').length")


def _shoot(page, tmp_path: Path, name: str, locator=None) -> Path:
    path = tmp_path / f"{name}.png"
    (locator or page).screenshot(path=str(path))
    try:
        NOTES_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, NOTES_SHOTS / path.name)
    except OSError:
        pass  # only a copy for people to look at; the test's own copy is under tmp_path
    return path


def _settled(page) -> None:
    """Wait for two animation frames so the last draw reflects the current view."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _settled_top(page) -> float:
    """The canvas's top once the page's layout has stopped changing: the same value over 30
    consecutive animation frames (a rerun's elements can still be arriving after Streamlit reports
    idle); bounded at 600 frames."""
    return page.evaluate("""() => new Promise(resolve => {
        const top = () => (%s)();
        let last = top(), same = 0, frames = 0;
        const tick = () => {
            const now = top();
            same = Math.abs(now - last) < 0.5 ? same + 1 : 0;
            last = now;
            if (same >= 30 || ++frames >= 600) resolve(now); else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    })""" % _CANVAS_TOP)


def _overlapping(boxes: list[dict]) -> int:
    """How many boxes overlap at least one other by more than 1 px in both directions."""
    hit = set()
    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            ox = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
            oy = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
            if ox > 1 and oy > 1:
                hit.update((i, j))
    return len(hit)


def _visible_labels(page) -> list[dict]:
    _settled(page)
    boxes = page.evaluate(_LABELS)
    return [b for b in boxes if b["x"] >= 0 and b["y"] >= 0 and b["x"] + b["w"] <= b["W"] and b["y"] + b["h"] <= b["H"]]


def _search(page, text: str) -> str | None:
    box = page.locator(".nd-search").first
    box.fill(text)
    box.press("Enter")
    _settled(page)
    return page.evaluate("() => window.__netdriftMap.root.dataset.focus || null")


def test_cogentco_labels_search_fit_and_reset(offline_page, dashboard_server, tmp_path: Path) -> None:
    base, _ = dashboard_server
    page, blocked = offline_page
    page.goto(base)
    _map_ready(page, "geant2012")
    assert page.evaluate("() => window.__netdriftMap.land"), "no land drawn under GEANT 2012"
    _start_scenario(page, "cogentco")
    _map_ready(page, "cogentco")
    _wait_idle(page)

    # Default view: labels readable, next to their own node, none on a junction, < 5 % overlapping.
    labels = _visible_labels(page)
    pops = page.evaluate("() => window.__netdriftMap.nodes.get().filter(n => !n.junction).length")
    assert len(labels) >= 20, f"only {len(labels)} of {pops} PoPs labelled at the default view"
    assert _overlapping(labels) / len(labels) < 0.05, f"{_overlapping(labels)} of {len(labels)} labels overlap"
    assert not any(b["junction"] for b in labels), "a hyperedge junction carries a label"
    assert all(b["dark"] >= 10 for b in labels), [b["id"] for b in labels if b["dark"] < 10]
    far = [b["id"] for b in labels if not (b["x"] - 25 <= b["nx"] <= b["x"] + b["w"] + 25
                                           and b["y"] - 25 <= b["ny"] <= b["y"] + b["h"] + 25)]
    assert not far, f"labels drawn away from their node: {far}"
    assert page.evaluate("() => window.__netdriftMap.edgeLabels().length") == 0, \
        "Cogentco is large: per-direction labels should wait for zoom"
    _shoot(page, tmp_path, "cogentco_default", page.locator(".nd-map").first)

    # Search a PoP by name: it is centred, ringed and labelled, and utilisation labels appear.
    fit_scale = page.evaluate("() => window.__netdriftMap.network.getScale()")
    assert _search(page, "washington") == "Washington"
    found = page.evaluate("""() => { const m = window.__netdriftMap; const id = m.network.getSelectedNodes()[0];
        const n = m.nodes.get(id); const d = m.network.canvasToDOM({x: n.x, y: n.y});
        const cv = m.network.canvas.frame.canvas; return {id, name: n.name, x: d.x / cv.clientWidth, y: d.y / cv.clientHeight,
        scale: m.network.getScale()}; }""")
    assert found["name"] == "Washington"
    assert abs(found["x"] - 0.5) < 0.05 and abs(found["y"] - 0.5) < 0.05 and found["scale"] > 2 * fit_scale
    zoomed = _visible_labels(page)
    assert any(b["id"] == found["id"] for b in zoomed), "the found node is not labelled"
    assert len(zoomed) >= 10 and _overlapping(zoomed) / len(zoomed) < 0.05
    edge_labels = page.evaluate("() => window.__netdriftMap.edgeLabels()")
    assert edge_labels, "zoomed in on Cogentco, no per-direction utilisation label is shown"
    assert _overlapping(edge_labels) == 0
    _shoot(page, tmp_path, "cogentco_search_washington", page.locator(".nd-map").first)

    # A link by its PoPs' names, ends in either order; a junction link reads its PoPs.
    link = page.evaluate("""() => window.__netdriftMap.edges.get().find(e => e.from === '148' || e.to === '148').link_name""")
    assert "hyperedge" not in link and "Washington" in link
    a, b = link.split(" \u2013 ")
    assert _search(page, f"{b} - {a}") == link
    sel = page.evaluate("() => window.__netdriftMap.network.getSelectedEdges()")
    assert len(sel) == 2 and all(s.startswith(sel[0].split("#")[0]) for s in sel)
    assert _search(page, "no such place") == link  # the previous focus stays ...
    assert "no node or link matches" in page.locator(".nd-find-msg").first.inner_text()  # ... and it says why

    # Fit shows every node; Reset also clears the search.
    page.locator(".nd-fit").first.click()
    _settled(page)
    inside = page.evaluate("""() => { const m = window.__netdriftMap; const cv = m.network.canvas.frame.canvas;
        return m.nodes.get().every(n => { const d = m.network.canvasToDOM({x: n.x, y: n.y});
        return d.x >= 0 && d.y >= 0 && d.x <= cv.clientWidth && d.y <= cv.clientHeight; }); }""")
    assert inside, "Fit left nodes outside the canvas"
    assert page.evaluate("() => window.__netdriftMap.network.getScale()") == pytest.approx(fit_scale, rel=0.02)
    page.locator(".nd-reset").first.click()
    _settled(page)
    assert page.evaluate("() => window.__netdriftMap.root.dataset.focus || null") is None
    assert page.evaluate("() => window.__netdriftMap.network.getSelectedNodes().length + "
                         "window.__netdriftMap.network.getSelectedEdges().length") == 0

    # Hover pins a label that the declutter had left out; leaving the canvas closes the tooltip.
    hidden = page.evaluate("""() => { const m = window.__netdriftMap; const shown = new Set(m.labels().map(b => b.id));
        const cv = m.network.canvas.frame.canvas; const r = cv.getBoundingClientRect();
        for (const n of m.nodes.get()) { if (n.junction || shown.has(n.id)) continue;
          const d = m.network.canvasToDOM({x: n.x, y: n.y});
          if (m.network.getNodeAt(d) === n.id) return {id: n.id, x: r.left + d.x, y: r.top + d.y}; }
        return null; }""")
    assert hidden, "every PoP is labelled at the default view: nothing to hover"
    page.mouse.move(hidden["x"], hidden["y"])
    page.wait_for_function("(id) => window.__netdriftMap.labels().some(b => b.id === id && b.pinned)", arg=hidden["id"])
    page.wait_for_function(f"() => ({_TOOLTIPS})() > 0")
    page.mouse.move(5, 5)  # off the map
    page.wait_for_function(f"() => ({_TOOLTIPS})() === 0")
    assert not page.evaluate("(id) => window.__netdriftMap.labels().some(b => b.id === id && b.pinned)", hidden["id"])
    assert blocked == [], f"the app tried to reach the network: {blocked}"


def _click_some_link(page, loaded: bool) -> None:
    """Click the middle of a link that vis picks unambiguously (a loaded one when ``loaded``)."""
    flt = "e => e.util" if loaded else "e => true"
    ids = page.evaluate(f"() => window.__netdriftMap.edges.get().filter({flt}).map(e => e.id)")
    pt = next((p for eid in ids if (p := page.evaluate(_EDGE_POINT, eid)) and p["ok"]), None)
    assert pt, "no link of the map can be clicked unambiguously"
    page.mouse.click(pt["x"], pt["y"])


def test_geant_labels_land_and_a_map_that_stays_put(offline_page, dashboard_server, tmp_path: Path) -> None:
    base, _ = dashboard_server
    page, blocked = offline_page
    page.goto(base)
    _map_ready(page, "geant2012")
    _wait_idle(page)
    assert page.evaluate("() => window.__netdriftMap.land")
    # A click on the preview (no run yet) must not move the map (issue 13, item 10).
    top = page.evaluate(_CANVAS_TOP)
    _click_some_link(page, loaded=False)
    page.get_by_text("Start a run to fail links").wait_for(timeout=30_000)
    _wait_idle(page)
    _settled(page)
    assert page.evaluate(_CANVAS_TOP) == pytest.approx(top, abs=1.0), "the preview map moved after a click"

    _start_scenario(page, "geant2012")
    _map_ready(page, "geant2012")
    _wait_idle(page)
    labels = _visible_labels(page)
    assert len(labels) >= 25 and _overlapping(labels) == 0  # 40 PoPs, all but a few labelled
    shown = page.evaluate("() => window.__netdriftMap.edges.get().filter(e => e.label).length")
    assert shown == page.evaluate("() => window.__netdriftMap.edges.get().filter(e => !e.failed).length"), \
        "a small map labels every direction with its utilisation"
    drawn = page.evaluate("() => window.__netdriftMap.edgeLabels()")
    assert len(drawn) >= 30 and _overlapping(drawn + labels) == 0, \
        f"{len(drawn)} utilisation labels readable on GEANT 2012, or some overlap"
    legend = page.locator(".nd-legend").first.inner_text()
    assert "%" in legend and "capacity" in legend and "no data" in legend and "failed" in legend
    _shoot(page, tmp_path, "geant2012_live", page.locator(".nd-map").first)
    _click_some_link(page, loaded=True)
    page.wait_for_function("() => window.__netdriftMap.edges.get().some(e => e.failed && !e.pending)")
    _wait_idle(page)
    _settled(page)
    failed = page.evaluate("() => [...new Set(window.__netdriftMap.edges.get().filter(e => e.failed).map(e => e.link))]")
    marks = page.evaluate("() => window.__netdriftMap.failMarks().map(m => m.link)")
    assert marks == failed and len(failed) == 1, f"failed links {failed}, marked {marks}"
    _shoot(page, tmp_path, "geant2012_failed", page.locator(".nd-map").first)
    assert blocked == []


def test_first_click_of_a_run_does_not_move_the_map(offline_page, dashboard_server) -> None:
    base, _ = dashboard_server
    page, _ = offline_page
    page.goto(base)
    _map_ready(page, "geant2012")
    _start_scenario(page, "geant2012")
    _map_ready(page, "geant2012")
    _wait_idle(page)
    top = _settled_top(page)
    _click_some_link(page, loaded=True)
    page.wait_for_function("() => window.__netdriftMap.edges.get().some(e => e.failed && !e.pending)")
    _wait_idle(page)
    assert _settled_top(page) == pytest.approx(top, abs=1.0), "the map moved after the first click"


def test_topology_page_preview_and_upload_limits_and_errors(offline_page, dashboard_server, tmp_path: Path) -> None:
    base, _ = dashboard_server
    page, blocked = offline_page
    page.goto(base)
    _map_ready(page, "geant2012")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Topology").click()
    page.get_by_role("heading", name="Map").wait_for(timeout=30_000)
    page.wait_for_function("() => window.__netdriftMap.root.isConnected && window.__netdriftMap.fitted"
                           " && window.__netdriftMap.nodes.length > 0", timeout=30_000)
    assert page.evaluate("() => window.__netdriftMap.land")
    assert page.evaluate("() => window.__netdriftMap.network.canvas.frame.canvas.clientHeight") == 520  # height=520

    page.get_by_text("Upload a file").click()
    # The box states the label's limit (it said "200MB per file" under "up to 20 MB").
    box = page.get_by_test_id("stFileUploader").filter(has_text="up to 20 MB")
    box.wait_for(timeout=30_000)
    upload = box.get_by_test_id("stFileUploaderDropzoneInput")
    limit = box.get_by_test_id("stFileUploaderDropzoneInstructions").inner_text()
    assert "20MB per file" in limit and "200MB" not in limit, limit
    big = tmp_path / "huge.graphml"
    big.write_bytes(b"<graphml>" + b" " * (25 * 2**20) + b"</graphml>")
    upload.set_input_files(str(big))
    # Refused by the box itself: the file's chip is marked invalid (red), its alert (read out, and
    # shown on hover) says why; nothing reaches the server.
    chip = page.get_by_test_id("stFileChip").filter(has_text="huge.graphml")
    chip.wait_for(timeout=60_000)
    assert chip.get_attribute("aria-invalid") == "true"
    why = chip.get_by_role("alert").text_content() or ""
    assert "must be 20.0MB or smaller" in why, why
    error = page.get_by_test_id("stAlertContentError")

    upload.set_input_files(str(ROOT / "sample_topologies" / "Abilene.graphml"))
    page.wait_for_function("() => (window.__netdriftMap.topology || '') === 'Abilene' && window.__netdriftMap.fitted",
                           timeout=60_000)
    _wait_idle(page)
    error.first.wait_for(state="detached", timeout=10_000)  # the previous file's error is gone
    assert page.evaluate("() => window.__netdriftMap.nodes.length") == 11
    _shoot(page, tmp_path, "topology_upload_preview", page.locator(".nd-map").first)

    # A file without coordinates: a force layout, no land, every PoP labelled.
    from netdrift.engine.network.loaders import topology_to_dict
    from netdrift.engine.network.topology import Link, Node, Topology

    ring = Topology("ring6", tuple(Node(str(i), f"R{i}") for i in range(6)),
                    tuple(Link(f"{i}-{(i + 1) % 6}", str(i), str((i + 1) % 6), 1000.0) for i in range(6)))
    plain = tmp_path / "ring6.json"
    plain.write_text(json.dumps(topology_to_dict(ring)))
    upload.set_input_files(str(plain))
    page.wait_for_function("() => (window.__netdriftMap.topology || '') === 'ring6' && window.__netdriftMap.fitted",
                           timeout=60_000)
    _wait_idle(page)
    assert page.evaluate("() => window.__netdriftMap.land") is False
    assert sorted(b["id"] for b in _visible_labels(page)) == [str(i) for i in range(6)]
    assert blocked == []
