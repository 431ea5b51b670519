"""The Live map in a real headless Chromium (issue 21, item 6 and the time slider): an overloaded
direction is magenta, wide and labelled even with labels off, the map goes full screen and back,
a direction's hover draws its last day of load, and the time slider shows the run as it was inside
an outage and after its restore, without changing the run."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser import (
    _EDGE_POINT,
    _click_edge,
    _download,
    _edges,
    _map_ready,
    _start_scenario,
    _wait_idle,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

_OVERLOADED = ("() => window.__netdriftMap.edges.get().filter(e => e.overload && !e.failed)"
               ".map(e => [e.id, e.width, e.color.color])")
_CANVAS_H = "() => window.__netdriftMap.root.querySelector('.nd-canvas').getBoundingClientRect().height"


#: Models of the run: the quick ones (training the neural models takes minutes on a busy 2-core machine,
#: and nothing here depends on them).
MODELS = ("persistence", "seasonal")


def _choose_models(page, labels: list[str]) -> None:
    """Replace the start form's models by ``labels`` (Backspace removes the last chip)."""
    box = page.get_by_test_id("stMultiSelect").filter(has_text="Models")
    box.click()
    for _ in range(8):
        page.keyboard.press("Backspace")
    for label in labels:
        page.keyboard.type(label)
        page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    chips = box.inner_text()
    assert all(label in chips for label in labels) and "Liquid" not in chips, chips


def _step(page) -> int:
    step = page.evaluate("() => window.__netdriftMap.step")
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function("(s) => window.__netdriftMap.step > s", arg=step, timeout=30_000)
    _wait_idle(page)
    return page.evaluate("() => window.__netdriftMap.step")


def _overloading_links() -> dict[int, list[str]]:
    """{step: links of GEANT 2012 whose failure alone puts a direction over capacity then} for the
    quick preset's traffic (seed 0): routed here by a routing matrix per state, not by the app."""
    import numpy as np

    from netdrift.dashboard.live import helpers as lh
    from netdrift.engine.experiments.scenario import LiveScenario
    from netdrift.engine.network.routing import routing_matrix

    p = lh.QUICK_PRESET
    live = LiveScenario.from_spec(lh.make_spec("geant2012", p.steps, p.train_steps, 0, list(MODELS)))
    topo, demand = live.topology, np.nan_to_num(np.asarray(live.traffic.demands, dtype=float))
    out: dict[int, list[str]] = {}
    for i, link in enumerate(topo.links):
        up = np.ones(len(topo.links), dtype=bool)
        up[i] = False
        loads = (routing_matrix(topo, up, None, live.traffic.src, live.traffic.dst).matrix @ demand.T).T
        for step in np.flatnonzero((loads > live.capacity).any(axis=1)).tolist():
            out.setdefault(step, []).append(link.id)
    return out


def _play_to(page, step: int) -> int:
    """Play at 4 steps a tick until the map reaches ``step``, pause; the step reached."""
    box = page.locator(".st-key-live_speed").get_by_test_id("stSelectbox")
    box.click()
    page.get_by_role("option", name="4 steps (1 h)").click()
    _wait_idle(page)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("(s) => window.__netdriftMap.step >= s", arg=step, timeout=120_000, polling=100)
    page.get_by_role("button", name="Pause").click()
    _wait_idle(page)
    return page.evaluate("() => window.__netdriftMap.step")


def _fail_until_overloaded(page) -> tuple[str, str, int]:
    """Go to a step where a single link failure overloads a direction (by the routing above), and
    fail such a link whose middle can be clicked: (link, edge id, step)."""
    table = _overloading_links()
    for _ in range(8):
        step = page.evaluate("() => window.__netdriftMap.step")
        for eid, (link, failed, _util) in _edges(page).items():
            if link not in table.get(step, []) or eid.endswith("#1") or failed:
                continue
            pt = page.evaluate(_EDGE_POINT, eid)
            if pt and pt["ok"]:
                _click_edge(page, eid)
                _wait_idle(page)
                return link, eid, step
        ahead = [k for k in sorted(table) if k > step]
        assert ahead, f"no single failure overloads a direction after step {step}"
        if ahead[0] - step <= 30:
            while page.evaluate("() => window.__netdriftMap.step") < ahead[0]:
                _step(page)
        else:
            _play_to(page, ahead[0])
    raise AssertionError("no step found where a clickable link's failure overloads a direction")


def _slide_to(page, target: int) -> None:
    """Move the 'Step shown' slider with the keyboard until the map shows ``target``."""
    thumb = page.get_by_test_id("stSlider").filter(has_text="Step shown").get_by_role("slider")
    thumb.wait_for(timeout=30_000)
    _wait_idle(page)
    now = page.evaluate("() => window.__netdriftMap.step")  # the slider is where the map is
    thumb.focus()
    for _ in range(abs(now - target)):
        page.keyboard.press("ArrowLeft" if target < now else "ArrowRight")
    page.wait_for_function("(s) => window.__netdriftMap.step === s", arg=target, timeout=30_000)
    _wait_idle(page)


def test_overloads_full_screen_sparkline_and_the_time_slider(offline_page, dashboard_server) -> None:
    base, _ = dashboard_server
    page, blocked = offline_page
    page.goto(base)
    _map_ready(page, "geant2012")
    _choose_models(page, ["Persistence", "Seasonal naive"])
    try:
        _start_scenario(page, "geant2012")
    except Exception as err:  # say what the page showed (an exception, a progress bar) instead
        shown = page.get_by_test_id("stException").all_inner_texts() + page.get_by_test_id("stProgress").all_inner_texts()
        raise AssertionError(f"the run did not start: {shown}") from err
    _map_ready(page, "geant2012")

    # Labels off: only overloaded directions keep a label.
    page.get_by_text("Show link labels").click()
    page.wait_for_function("() => window.__netdriftMap.edges.get().every(e => !e.label)", timeout=30_000)
    _wait_idle(page)
    link, eid, fail_step = _fail_until_overloaded(page)
    over = page.evaluate(_OVERLOADED)
    assert over, "the failure should put a direction over capacity"
    for oid, width, colour in over:
        assert colour == "#e01fd0" and width >= 4.0, (oid, width, colour)
    page.evaluate("() => window.__netdriftMap.network.redraw()")
    drawn = {b["id"] for b in page.evaluate("() => window.__netdriftMap.edgeLabels()") if b.get("over")}
    assert {oid for oid, _, _ in over} <= drawn, f"overloads without a label: {over} vs {drawn}"

    # Full screen and back.
    assert page.evaluate(_CANVAS_H) == pytest.approx(560, abs=2)
    page.get_by_role("button", name="Full screen").click()
    page.wait_for_function("() => window.__netdriftMap.root.dataset.fullscreen === '1'", timeout=10_000)
    page.wait_for_function(f"() => ({_CANVAS_H})() > 800", timeout=10_000)
    page.get_by_role("button", name="Exit full screen").click()
    page.wait_for_function("() => window.__netdriftMap.root.dataset.fullscreen === ''", timeout=10_000)
    page.wait_for_function(f"() => Math.abs(({_CANVAS_H})() - 560) < 3", timeout=10_000)

    # The hover of a direction draws its last day of load.
    some = next(e for e, (lk, failed, util) in _edges(page).items() if not failed and util
                and (pt := page.evaluate(_EDGE_POINT, e)) and pt["ok"])
    pt = page.evaluate(_EDGE_POINT, some)
    page.mouse.move(pt["x"], pt["y"])
    spark = page.locator("div.vis-tooltip svg").first
    spark.wait_for(state="visible", timeout=10_000)
    assert int(spark.get_attribute("data-points")) >= 24  # a day of 15-minute steps, thinned to 48
    page.mouse.move(5, 5)

    # An outage of 3 steps: fail_step .. fail_step + 2, restored at fail_step + 3, live two steps later.
    for _ in range(3):
        _step(page)
    _click_edge(page, eid)  # restore
    _wait_idle(page)
    restore_step = page.evaluate("() => window.__netdriftMap.step")
    _step(page)
    live_step = _step(page)
    assert restore_step == fail_step + 3

    page.get_by_text("Look back", exact=True).click()
    _slide_to(page, fail_step + 1)
    root = "window.__netdriftMap.root.dataset"
    assert page.evaluate(f"() => {root}.down") == link
    assert all(failed for e, (lk, failed, _) in _edges(page).items() if lk == link)
    _slide_to(page, restore_step + 1)
    assert page.evaluate(f"() => {root}.down") == ""
    assert not any(failed for _, failed, _ in _edges(page).values())
    _slide_to(page, fail_step + 2)
    assert page.evaluate(f"() => {root}.down") == link
    # The failure-impact report of the step shown (inside the outage), as HTML and as PDF.
    buttons = page.get_by_test_id("stDownloadButton")
    html_doc = _download(page, buttons.filter(has_text="Impact report (HTML)")).decode("utf-8")
    pdf = _download(page, buttons.filter(has_text="Impact report (PDF)"))
    from html.parser import HTMLParser

    class Event(HTMLParser):
        text, inside = "", False

        def handle_starttag(self, tag, attrs):
            self.inside = dict(attrs).get("id") == "event"

        def handle_data(self, data):
            if self.inside:
                self.text += data

    event = Event()
    event.feed(html_doc)
    assert "failed" in event.text and f"at step {fail_step} " in event.text, event.text
    assert f"({link})" in event.text and f"shown at step {fail_step + 2} " in event.text, event.text
    assert pdf.startswith(b"%PDF-") and f"at step {fail_step} ".encode() in pdf
    assert f"\\({link}\\) failed".encode() in pdf  # the event line, its parentheses escaped
    # Nothing in the run changed: back to live, it is where it was, with the link up.
    page.get_by_text("Look back", exact=True).click()
    page.wait_for_function("(s) => window.__netdriftMap.step === s", arg=live_step, timeout=30_000)
    _wait_idle(page)
    assert page.evaluate(f"() => {root}.down") == ""
    step_metric = page.get_by_test_id("stMetric").filter(has_text="Step").first.inner_text()
    assert f"{live_step} /" in step_metric
    assert blocked == [], f"the app tried to reach the network: {blocked}"
