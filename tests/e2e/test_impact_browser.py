"""The Impact page in a real headless Chromium (issue 12, item 7): run a sweep on the default
topology, see the ranked failures and the worst-case map, send the most severe failure to the Live
page, start a run there, and find that failure applied on the Live map."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_browser import _map_ready, _start_scenario, _wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_a_sweep_ranks_failures_and_its_worst_failure_is_applied_on_the_live_map(offline_page, dashboard_server):
    base, _ = dashboard_server
    page, blocked = offline_page
    page.goto(base)
    _map_ready(page, "geant2012")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Impact").click()
    page.get_by_role("button", name="Run the sweep").click()
    page.get_by_role("heading", name="Failures ranked by severity").wait_for(timeout=120_000)
    _wait_idle(page)

    # The worst-case map: every direction of GEANT 2012 coloured by a worst utilisation.
    page.get_by_role("heading", name="Worst case per link direction").wait_for(timeout=30_000)
    _map_ready(page, "impact:geant2012")  # the Impact page names its map apart from Live's
    worst = page.evaluate("() => window.__netdriftMap.edges.get().map(e => e.util)")
    assert len(worst) == 2 * 61 and all(u is not None and u > 0 for u in worst), worst[:5]

    # The most severe failure (rank 1, the details' default) sent to the Live page.
    page.get_by_role("button", name="Fail it on the Live map").click()
    note = page.get_by_text(re.compile(r"^To apply .+ \(.+\), start a live run on .+ first"))
    note.wait_for(timeout=60_000)
    link = re.search(r"^To apply .+ \(([^()]+)\), start", note.inner_text()).group(1)
    _start_scenario(page, "geant2012")
    page.wait_for_function("(l) => (window.__netdriftMap.root.dataset.down || '').split(',').includes(l)",
                           arg=link, timeout=60_000)
    _wait_idle(page)
    assert page.get_by_text(re.compile(rf"\({re.escape(link)}\) failed at step")).count() > 0
    assert blocked == []
