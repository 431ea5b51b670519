"""Issue 22: a long sweep run from the Impact page shows its progress while it runs (done / total,
rate and time left, as `netdrift sweep` prints on stderr), in a real headless Chromium."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_browser import _map_ready, _wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.browser]

#: The progress line once the rate is known: 'Sweeping: 412 of 1,830 failures (171.2/s, about 8 s left)'.
PROGRESS = re.compile(r"Sweeping: ([\d,]+) of 1,830 failures \(([\d,.]+)/s, about (\d+ s|\d+ min) left\)")


def test_a_link_pairs_sweep_shows_done_total_rate_and_time_left_while_it_runs(offline_page, dashboard_server):
    base, _ = dashboard_server
    page, blocked = offline_page
    page.goto(base)
    _map_ready(page, "geant2012")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Impact").click()
    page.get_by_text(re.compile(r"^Each pair of links \(1,830\)$")).click()  # 61 links: 61 x 60 / 2 pairs
    page.get_by_role("button", name="Run the sweep").click()
    # While the sweep runs: the progress bar's line, with the rate measured and the time left
    line = page.get_by_text(PROGRESS)
    line.wait_for(timeout=120_000)
    seen = PROGRESS.search(line.inner_text())
    assert seen is not None
    done = int(seen.group(1).replace(",", ""))
    assert 0 < done <= 1830 and float(seen.group(2).replace(",", "")) > 0
    page.get_by_role("heading", name="Failures ranked by severity").wait_for(timeout=300_000)
    _wait_idle(page)
    assert page.get_by_text(PROGRESS).count() == 0  # the bar is gone once the sweep is shown
    assert blocked == []
