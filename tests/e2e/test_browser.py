"""The dashboard in a real headless Chromium, with no network beyond 127.0.0.1.

Starts `netdrift dashboard --headless`, lowers the overload-warning threshold in Settings, starts
a live scenario on GEANT 2012, fails a link by clicking it on the map and restores it, colours
the map by a forecast upper bound and selects a link direction from the warnings list, saves the
run, exports a Compare chart as PNG (the interval coverage chart is there too), and screenshots
every view under artifacts/screenshots/. It also measures (not asserts) the
click-to-updated-map latency on GEANT 2012 and Cogentco, the time to the first page with a
map, and the engine time of one live tick; they go to artifacts/browser_bench.json.
"""

from __future__ import annotations

import io
import json
import re
import statistics
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
SHOTS = ARTIFACTS / "screenshots"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Canvas point (page coordinates) of the middle of a vis edge, and whether vis would pick
# exactly that edge there (no node or other edge in the way).
_EDGE_POINT = """(eid) => {
  const m = window.__netdriftMap; const e = m.network.body.edges[eid];
  if (!e) return null;
  m.network.canvas.frame.canvas.scrollIntoView({block: "center"});
  const p = e.edgeType.getPoint(0.5); const c = m.network.canvasToDOM(p);
  const r = m.network.canvas.frame.canvas.getBoundingClientRect();
  // The browser clicks at whole pixels: check vis picks this edge there and one pixel around.
  const x = Math.round(r.left + c.x), y = Math.round(r.top + c.y);
  const d = {x: x - r.left, y: y - r.top};
  const inside = d.x > 5 && d.y > 5 && d.x < r.width - 5 && d.y < r.height - 5;
  const picked = [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]].every(([dx, dy]) => {
    const q = {x: d.x + dx, y: d.y + dy};
    return m.network.getEdgeAt(q) === eid && m.network.getNodeAt(q) === undefined; });
  return {x, y, ok: inside && picked};
}"""
_EDGE_STATE = "() => window.__netdriftMap.edges.get().map(e => [e.id, e.link, e.failed, e.util])"
_EDGE_COLOURS = ("() => window.__netdriftMap.edges.get().filter(e => !e.failed && !e.pending)"
                 ".map(e => [e.util, e.upper_util, e.color.color])")


def _map_ready(page, topology: str, timeout: float = 60_000) -> None:
    page.wait_for_function(
        "(t) => window.__netdriftMap && window.__netdriftMap.renders >= 1 && window.__netdriftMap.fitted"
        " && window.__netdriftMap.edges.length > 0 && window.__netdriftMap.root.isConnected"
        " && (window.__netdriftMap.topology || t).toLowerCase() === t",
        arg=topology, timeout=timeout,
    )


def _edges(page) -> dict[str, tuple[str, bool, float | None]]:
    return {eid: (link, failed, util) for eid, link, failed, util in page.evaluate(_EDGE_STATE)}


def _clickable_link(page, prefer_busy: bool = True) -> tuple[str, str]:
    """(link id, edge id) of a loaded link whose middle vis picks unambiguously."""
    edges = _edges(page)
    ranked = sorted(edges.items(), key=lambda kv: -(kv[1][2] or 0.0) if prefer_busy else 0)
    for eid, (link, failed, util) in ranked:
        if failed or not util:
            continue
        pt = page.evaluate(_EDGE_POINT, eid)
        if pt and pt["ok"]:
            return link, eid
    raise AssertionError("no link of the map can be clicked unambiguously")


FEEDBACK_MS: list[float] = []  # click -> the component's instant "pending" styling


def _click_edge(page, eid: str, timeout: float = 15_000) -> float:
    """Click an edge and wait until the map shows its link toggled; latency in ms."""
    page.wait_for_function("() => window.__netdriftMap.fitted && window.__netdriftMap.root.isConnected")
    before = _edges(page)[eid][1]
    pt = page.evaluate(_EDGE_POINT, eid)
    t0 = time.perf_counter()
    page.mouse.click(pt["x"], pt["y"])
    page.wait_for_function(
        "([eid, was]) => { const e = window.__netdriftMap.edges.get(eid); return e && (e.pending || e.failed !== was); }",
        arg=[eid, before], timeout=timeout, polling="raf",
    )
    FEEDBACK_MS.append((time.perf_counter() - t0) * 1000.0)
    # `pending` is the component's instant feedback; wait for the server's re-routed state.
    page.wait_for_function(
        "([eid, was]) => { const e = window.__netdriftMap.edges.get(eid); return e && !e.pending && e.failed !== was; }",
        arg=[eid, before], timeout=timeout, polling="raf",
    )
    return (time.perf_counter() - t0) * 1000.0


def _start_scenario(page, topology: str, timeout: float = 180_000) -> float:
    """Pick the topology, press "Train and start", wait (up to ``timeout`` ms) for the live map; seconds taken."""
    box = page.get_by_test_id("stSelectbox").filter(has_text="Topology").first
    current = box.inner_text()
    if topology not in current:
        box.click()
        page.keyboard.type(topology)
        page.keyboard.press("Enter")
        page.wait_for_function("(t) => window.__netdriftMap && (window.__netdriftMap.topology || '').toLowerCase() === t",
                               arg=topology, timeout=30_000)
    t0 = time.perf_counter()
    page.get_by_role("button", name="Train and start").click()
    page.get_by_role("button", name="Play").wait_for(timeout=timeout)
    page.wait_for_function("() => window.__netdriftMap && window.__netdriftMap.step !== null"
                           " && window.__netdriftMap.step !== undefined", timeout=60_000)
    return time.perf_counter() - t0


def _engine_tick_ms(page, n: int = 5) -> list[float]:
    out = []
    for _ in range(n):
        step = page.evaluate("() => window.__netdriftMap.step")
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_function("(s) => window.__netdriftMap.step > s", arg=step, timeout=30_000)
        metric = page.get_by_test_id("stMetric").filter(has_text="Engine tick")
        text = metric.inner_text()
        m = re.search(r"([\d.]+)\s*ms", text)
        if m:
            out.append(float(m.group(1)))
    return out


def _wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until no script run is in progress (the page shows the final state of the last run)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)


def _download(page, button, timeout: float = 60_000) -> bytes:
    """Click a download button and return the downloaded bytes; the button's error if none came."""
    try:
        with page.expect_download(timeout=timeout) as dl:
            button.click()
    except Exception as err:  # a playwright TimeoutError: say what the page showed instead
        shown = page.get_by_test_id("stDownloadButtonError").all_inner_texts()
        raise AssertionError(f"no download after {timeout / 1000:.0f} s; download errors shown: {shown}") from err
    return Path(dl.value.path()).read_bytes()


def _dump(bench: dict) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "browser_bench.json").write_text(json.dumps(bench, indent=2) + "\n")


def _lower_warning_threshold(page, presses: int) -> None:
    """Settings: move the warning threshold slider left by ``presses`` steps of 0.01."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Settings").click()
    slider = page.get_by_test_id("stSlider").filter(has_text="Warn when").get_by_role("slider")
    slider.wait_for(timeout=30_000)
    slider.focus()
    for _ in range(presses):
        page.keyboard.press("ArrowLeft")
    _wait_idle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Live").click()
    page.get_by_role("button", name="Train and start").wait_for(timeout=30_000)


def _check_upper_bound_colours_and_warnings(page) -> None:
    """Colour the map by the forecast upper bound, then select a direction from the warnings."""
    from netdrift.dashboard.map.model import band_colour

    page.get_by_text("Overload warnings").wait_for(timeout=30_000)
    page.get_by_test_id("stButtonGroup").get_by_role("radio", name="forecast upper bound").click()
    page.wait_for_function(
        "() => window.__netdriftMap.edges.get().some(e => e.upper_util !== null && e.upper_util !== undefined)",
        timeout=30_000)
    _wait_idle(page)
    # upper_util is in every edge's data whatever colours it (the hover shows it): wait for the colours.
    deadline = time.perf_counter() + 30
    while True:
        edges = page.evaluate(_EDGE_COLOURS)
        wrong = [(u, up, c) for u, up, c in edges if up is not None and c != band_colour(up)]
        if not wrong or time.perf_counter() > deadline:
            break
        page.wait_for_timeout(100)
    assert edges and not wrong, f"the links are not coloured by the forecast upper bound: {wrong[:5]}"
    page.get_by_test_id("stButtonGroup").get_by_role("radio", name="current load").click()
    _wait_idle(page)
    warning = page.get_by_role("button", name=re.compile("may exceed"))
    assert warning.count() > 0, "no overload warning at a 30 % threshold on GEANT 2012"
    text = warning.first.inner_text()
    direction = re.search(r"(\S+ \u2192 \S+) may exceed", text).group(1)  # "IT → AT may exceed ..."
    warning.first.click()
    try:
        page.wait_for_function(
            "(d) => { const el = document.querySelector('input[aria-label=\"Link direction\"]');"
            " return el && el.value.endsWith(': ' + d); }", arg=direction, timeout=30_000)
    except Exception as err:  # a playwright TimeoutError: say what was shown instead
        chosen = page.get_by_role("combobox", name="Link direction").input_value()
        raise AssertionError(f"warning {text!r} did not select its direction (shown: {chosen!r})") from err


def _click_preview(page) -> None:
    """Click a link of the preview map (no run yet): no link stays "pending", and the page says
    to start a run first (issue 13, item 10)."""
    ids = page.evaluate("() => window.__netdriftMap.edges.getIds()")
    pt = next((p for eid in ids if (p := page.evaluate(_EDGE_POINT, eid)) and p["ok"]), None)
    assert pt, "no link of the preview map can be clicked unambiguously"
    page.mouse.click(pt["x"], pt["y"])
    page.get_by_text("Start a run to fail links").wait_for(timeout=30_000)
    _wait_idle(page)
    assert not page.evaluate("() => window.__netdriftMap.edges.get().some(e => e.pending || e.failed)"), \
        "a click on the preview map left a link pending or failed"


def _labels_shown(page) -> int:
    """How many link directions carry a utilisation label on the map."""
    return page.evaluate("() => window.__netdriftMap.edges.get().filter(e => e.label).length")


def _latencies(page, eid: str, clicks: int = 6) -> list[float]:
    """Fail / restore the same link ``clicks`` times (even: it ends up restored)."""
    return [_click_edge(page, eid) for _ in range(clicks)]


def _play_rate(page, steps: int = 96) -> float:
    """Play at 12 steps a tick until the map has moved ``steps`` steps; steps per second."""
    box = page.locator(".st-key-live_speed").get_by_test_id("stSelectbox")
    box.click()
    page.get_by_role("option", name="12 steps (3 h)").click()
    _wait_idle(page)
    start = page.evaluate("() => window.__netdriftMap.step")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("(s) => window.__netdriftMap.step > s", arg=start, timeout=30_000)
    first, t0 = page.evaluate("() => window.__netdriftMap.step"), time.perf_counter()
    page.wait_for_function("(s) => window.__netdriftMap.step >= s", arg=first + steps, timeout=120_000, polling=100)
    rate = (page.evaluate("() => window.__netdriftMap.step") - first) / (time.perf_counter() - t0)
    page.get_by_role("button", name="Pause").click()
    _wait_idle(page)
    return round(rate, 2)


def _leaf_links(topology: str) -> dict[str, str]:
    """{link id: name of the node it alone connects}, longest first (a long link's middle is
    clear of its end nodes on the map): the links whose failure cuts a node off (counted from the
    topology file: nodes with exactly one link)."""
    from collections import Counter

    from netdrift.engine.network.loaders import load_topology

    topo = load_topology(topology)
    degree = Counter([link.u for link in topo.links] + [link.v for link in topo.links])
    nodes = {n.id: n for n in topo.nodes}

    def length(link) -> float:
        a, b = nodes[link.u], nodes[link.v]
        if None in (a.lat, a.lon, b.lat, b.lon):
            return -1.0
        return (a.lat - b.lat) ** 2 + (a.lon - b.lon) ** 2

    leaves = sorted((link for link in topo.links if 1 in (degree[link.u], degree[link.v])), key=length, reverse=True)
    return {link.id: nodes[link.u if degree[link.u] == 1 else link.v].label or link.u for link in leaves}


def _metric_text(page, label: str) -> str:
    return page.get_by_test_id("stMetric").filter(has_text=label).inner_text().replace(label, "").strip()


def test_live_failure_by_click_and_compare_export(offline_page, dashboard_server) -> None:
    # offline_page first: the browser is already open when the server turns healthy, as for
    # an operator, so "first map after health" does not include launching Chromium.
    base, healthy_at = dashboard_server
    page, blocked = offline_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    bench: dict[str, object] = {"device": "cpu", "browser": "chromium headless"}

    # First page with the (preview) map.
    navigated_at = time.perf_counter()
    page.goto(base)
    _map_ready(page, "geant2012")
    bench["first_map_after_health_s"] = round(time.perf_counter() - healthy_at, 3)
    bench["first_map_after_navigation_s"] = round(time.perf_counter() - navigated_at, 3)
    page.screenshot(path=str(SHOTS / "live_start.png"), full_page=True)
    _click_preview(page)

    # Warnings from 30 % of capacity (most of GEANT 2012's links run under 40 % in the quick
    # preset's Thursday morning, when loads rise), then start.
    _lower_warning_threshold(page, 60)
    bench["geant2012_train_and_start_s"] = round(_start_scenario(page, "geant2012"), 2)
    _map_ready(page, "geant2012")

    link, eid = _clickable_link(page)
    before = _edges(page)
    _click_edge(page, eid)
    after = _edges(page)
    assert after[eid][1] is True, "the clicked link is not shown as failed"
    assert all(after[e][1] for e, v in after.items() if v[0] == link), "both directions must be failed"
    assert page.evaluate("() => window.__netdriftMap.root.dataset.down").split(",") == [link]
    failed_metric = page.get_by_test_id("stMetric").filter(has_text="Failed").inner_text()
    assert f"({link})" in failed_metric and "\u2013" in failed_metric, \
        f"the status line should name the failed link by its ends: {failed_metric!r}"
    assert page.get_by_text(re.compile(rf"Link .+ \u2013 .+ \({re.escape(link)}\) failed at step")).count() > 0
    assert _labels_shown(page) > 0, "GEANT 2012 is small: utilisation labels should be on by default"
    changed = [e for e, v in after.items()
               if v[0] != link and before[e][2] is not None and v[2] is not None and abs(v[2] - before[e][2]) > 1e-6]
    assert changed, "no other link's utilisation changed after the failure (no re-routing?)"
    page.screenshot(path=str(SHOTS / "live_failed.png"), full_page=True)

    _click_edge(page, eid)
    restored = _edges(page)
    assert not restored[eid][1]
    assert all(abs((restored[e][2] or 0) - (before[e][2] or 0)) < 1e-6 for e in before), \
        "restoring the link at the same step must bring back the original loads"

    ticks = _engine_tick_ms(page)
    bench["geant2012_engine_tick_ms_median"] = round(statistics.median(ticks), 1) if ticks else None
    lat = _latencies(page, eid)
    bench["geant2012_click_to_map_ms_median"] = round(statistics.median(lat), 1)
    bench["geant2012_click_to_pending_feedback_ms_median"] = round(statistics.median(FEEDBACK_MS[-len(lat):]), 1)
    bench["geant2012_click_to_map_ms"] = [round(x, 1) for x in lat]
    _dump(bench)
    page.screenshot(path=str(SHOTS / "live.png"), full_page=True)
    _check_upper_bound_colours_and_warnings(page)
    page.screenshot(path=str(SHOTS / "live_warnings.png"), full_page=True)

    # Save, then Compare and export a PNG.
    _click_edge(page, eid)  # leave a failure in the stored run
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_role("button", name="Save to history").click()
    page.get_by_text("Saved to history").wait_for(timeout=60_000)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Compare").click()
    runs = page.get_by_test_id("stMultiSelect").first
    runs.wait_for(timeout=30_000)
    runs.click()
    page.get_by_role("option").first.click()
    page.keyboard.press("Escape")
    png_button = page.get_by_test_id("stDownloadButton").filter(has_text="PNG").first
    png_button.wait_for(timeout=60_000)
    _wait_idle(page)
    page.get_by_role("heading", name="Prediction intervals and overload warnings").wait_for(timeout=30_000)
    assert page.get_by_test_id("stDownloadButton").filter(has_text="PNG").count() == 4, \
        "the stored live run should chart its interval coverage beside the other three charts"
    page.screenshot(path=str(SHOTS / "compare.png"), full_page=True)
    data = _download(page, png_button)
    assert data.startswith(PNG_SIGNATURE)
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert img.width > 100 and img.height > 50

    for view in ("Topology", "Settings"):
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=view).click()
        page.get_by_role("heading", name=view, exact=True).wait_for(timeout=30_000)
        _wait_idle(page)
        assert page.get_by_test_id("stException").count() == 0, f"{view} view raised"
        page.screenshot(path=str(SHOTS / f"{view.lower()}.png"), full_page=True)

    # Cogentco: a bigger map (197 nodes, 243 links).
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Live").click()
    page.get_by_role("button", name="New scenario").click()
    page.get_by_role("button", name="Yes, start a new one").click()  # "New scenario" asks first
    page.get_by_role("button", name="Train and start").wait_for(timeout=30_000)
    bench["cogentco_train_and_start_s"] = round(_start_scenario(page, "cogentco"), 2)
    _map_ready(page, "cogentco")
    assert _labels_shown(page) == 0, "Cogentco is large: utilisation labels should be off by default"
    _, ceid = _clickable_link(page)
    lat = _latencies(page, ceid)
    bench["cogentco_click_to_map_ms_median"] = round(statistics.median(lat), 1)
    bench["cogentco_click_to_map_ms"] = [round(x, 1) for x in lat]
    ticks = _engine_tick_ms(page, 3)
    bench["cogentco_engine_tick_ms_median"] = round(statistics.median(ticks), 1) if ticks else None
    bench["cogentco_play_steps_per_s"] = _play_rate(page)
    page.screenshot(path=str(SHOTS / "live_cogentco.png"), full_page=True)

    bench["blocked_requests"] = blocked
    _dump(bench)
    print(json.dumps(bench, indent=2))
    assert blocked == [], f"the app tried to reach the network: {blocked}"
    from tests.e2e.conftest import _DIAGNOSTICS

    # An empty dataset in a chart's scale domain (e.g. interval bands before the first bound)
    # makes Vega warn on every tick.
    extents = [m for m in _DIAGNOSTICS["console"] if "Infinite extent" in m]  # type: ignore[union-attr]
    assert not extents, extents[:3]


def test_a_reload_keeps_the_run_and_the_impact_panel_names_the_cut_off_node(offline_page, dashboard_server) -> None:
    base, _ = dashboard_server
    page, blocked = offline_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(base)
    _map_ready(page, "geant2012")
    _start_scenario(page, "geant2012")
    _map_ready(page, "geant2012")
    page.get_by_role("button", name="Step", exact=True).click()
    _wait_idle(page)

    # A partition: fail a link that alone connects a node; the impact panel lists that node.
    leaves = _leaf_links("geant2012")
    edges = {link: e for e, (link, _, _) in _edges(page).items()}
    eid = next(edges[link] for link in leaves if link in edges
               and (pt := page.evaluate(_EDGE_POINT, edges[link])) and pt["ok"])
    link = _edges(page)[eid][0]
    _click_edge(page, eid)
    page.get_by_text(f"Cut off: {leaves[link]}").wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"^Impact of .+ failed")).wait_for(timeout=30_000)
    page.screenshot(path=str(SHOTS / "live_impact.png"), full_page=True)
    for _ in range(2):
        step = page.evaluate("() => window.__netdriftMap.step")
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_function("(s) => window.__netdriftMap.step > s", arg=step, timeout=30_000)
    _wait_idle(page)
    step_text, failed_text = _metric_text(page, "Step"), _metric_text(page, "Failed")
    assert f"({link})" in failed_text

    # Reload in the middle of the run: the page offers it for resume with its step and event.
    page.reload()
    page.get_by_text("Unfinished live runs").wait_for(timeout=60_000)
    offer = page.get_by_text(re.compile(r"^Scenario \d+, ")).first.inner_text()
    assert f"step {step_text.split(' / ')[0]} of" in offer and f"({link})" in offer, offer
    page.screenshot(path=str(SHOTS / "live_resume_offer.png"), full_page=True)
    page.get_by_role("button", name="Resume").first.click()
    page.get_by_role("button", name="Play").wait_for(timeout=120_000)
    _map_ready(page, "geant2012")
    _wait_idle(page)
    assert _metric_text(page, "Step") == step_text and _metric_text(page, "Failed") == failed_text
    assert page.evaluate("() => window.__netdriftMap.root.dataset.down").split(",") == [link]
    page.get_by_text(f"Cut off: {leaves[link]}").wait_for(timeout=30_000)
    step = page.evaluate("() => window.__netdriftMap.step")
    page.get_by_role("button", name="Step", exact=True).click()  # and it goes on
    page.wait_for_function("(s) => window.__netdriftMap.step === s + 1", arg=step, timeout=30_000)
    assert blocked == [], f"the app tried to reach the network: {blocked}"
