"""Issue 20: interface counters attached to a topology, in a real headless Chromium.

On the Impact page with Abilene: a broken counters CSV is refused in one line naming the file and
the problem (nothing attached, the page goes on); the loads of ``netdrift simulate --out`` are
attached (the deduction's link fit is shown, the sweep form says it runs on the deduced demands),
a sweep then runs on the deduced demands' replay, "What the counters pin" computes the ranges of
its most severe failures (screenshot: artifacts/screenshots/impact_counters_pin.png), and
"Detach the counters" brings back the synthetic traffic.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import _netdrift_command
from tests.e2e.test_browser import SHOTS, _wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.browser]

STEPS = 12
PANEL = "Interface counters: run on demands deduced from link loads"
#: The panel's line once counters are attached (AttachedCounters.text; the alert's text starts
#: with its icon's name).
ATTACHED = re.compile(r"Attached 'loads\.csv' to \S+: demands deduced \(prior\) for 12 steps of 5 min; the measured link loads "
                      r"reproduced within (\S+) % \(median step\) and (\S+) % \(worst step\)\.$")
#: The sweep form's traffic line: with counters attached (counters_caption), and without.
ON_COUNTERS = re.compile(r"^The demands deduced from the attached interface counters \(12 steps of 5 min\), "
                         r"replayed as measured")
SYNTHETIC = re.compile(r"^Synthetic traffic \(daily and weekly cycles, gravity model\), seeded\.")


def _simulated_loads(tmp_path: Path) -> Path:
    """The per-direction loads an operator would export: ``netdrift simulate --out loads.csv``."""
    out = tmp_path / "loads.csv"
    subprocess.run([*_netdrift_command(), "simulate", "--topology", "abilene", "--steps", str(STEPS),
                    "--step-minutes", "5", "--seed", "7", "--out", str(out)],
                   cwd=tmp_path, check=True, capture_output=True, timeout=120)
    return out


def _pick_abilene(page) -> None:
    """Choose Abilene in the Impact form's topology box. A page still finishing its first run can
    redraw the box while it is open and drop the typed name (a CI run under load did): try again."""
    links = page.get_by_text(re.compile(r"^Each link \(14\)$"))  # Abilene's 14 links
    for attempt in range(3):
        _wait_idle(page)
        box = page.get_by_test_id("stSelectbox").filter(has_text="Topology").first
        box.click()
        page.keyboard.type("abilene")
        page.keyboard.press("Enter")
        try:
            links.wait_for(timeout=20_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    _wait_idle(page)


def _traffic_line(page):
    """The sweep form's caption on the traffic it sweeps."""
    return page.get_by_test_id("stCaptionContainer").filter(has_text=re.compile(f"{SYNTHETIC.pattern}|"
                                                                                 f"{ON_COUNTERS.pattern}"))


def test_counters_attach_with_their_link_fit_drive_a_sweep_refuse_bad_files_and_detach(
        offline_page, dashboard_server, tmp_path: Path) -> None:
    base, _ = dashboard_server
    page, blocked = offline_page
    loads = _simulated_loads(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("time,src,dst,mbps\n2024-01-01T00:00,0,99,1.0\n")

    page.goto(base + "/impact")
    page.get_by_role("heading", name="Run a sweep").wait_for(timeout=60_000)
    _pick_abilene(page)
    traffic = _traffic_line(page)
    assert SYNTHETIC.search(traffic.inner_text())
    page.get_by_text(PANEL).click()
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Link loads (.csv)")
    upload = uploader.get_by_test_id("stFileUploaderDropzoneInput")
    success = page.get_by_test_id("stAlertContentSuccess")
    errors = page.get_by_test_id("stAlertContentError")

    # A CSV naming a node Abilene does not have: one line naming the upload, its line and the node.
    upload.set_input_files(str(bad))
    errors.first.wait_for(timeout=60_000)
    _wait_idle(page)
    assert errors.count() == 1
    assert errors.inner_text().strip() == "upload 'bad.csv': line 2: node '99' is not in topology 'Abilene'"
    assert page.get_by_test_id("stException").count() == 0
    assert success.count() == 0                            # nothing attached
    assert SYNTHETIC.search(traffic.inner_text())
    assert page.get_by_role("spinbutton", name="Steps of traffic").is_enabled()

    # The page goes on: the simulated loads attached, with the deduction's fit to the measured loads.
    upload.set_input_files(str(loads))
    line = success.filter(has_text=ATTACHED)
    line.wait_for(timeout=60_000)
    _wait_idle(page)
    median, worst = (float(v) for v in ATTACHED.search(line.inner_text().strip()).groups())
    # The loads are routed demands, so the deduced demands reproduce them (the fit is a few 1e-5 %).
    assert 0.0 <= median <= worst < 1.0, (median, worst)
    assert errors.count() == 0                             # the bad file's error is gone
    assert ON_COUNTERS.search(traffic.inner_text())        # the sweep form says it runs on them
    steps = page.get_by_role("spinbutton", name="Steps of traffic")
    assert steps.input_value() == str(STEPS) and steps.is_disabled()

    # A sweep run now replays the deduced demands (a file under the data directory's deduced/).
    page.get_by_role("button", name="Run the sweep").click()
    page.get_by_role("heading", name="Failures ranked by severity").wait_for(timeout=120_000)
    _wait_idle(page)
    caption = page.get_by_text(re.compile(r"^Sweep #\d+: 14 failures .* on Abilene, "))
    assert re.search(r", steps \[0, 12\) of 5 min, \S*/deduced/[0-9a-f]{20}\.csv traffic, seed 0",
                     caption.inner_text()), caption.inner_text()

    # What the counters pin: the ranges of the most severe failures, as a table under the ranking.
    page.get_by_role("heading", name="What the counters pin").wait_for(timeout=30_000)
    grids = page.get_by_test_id("stDataFrame")
    before = grids.count()
    page.get_by_role("button", name="Compute for the 10 most severe failures").click()
    page.wait_for_function(f"document.querySelectorAll('[data-testid=stDataFrame]').length > {before}",
                           timeout=60_000)
    _wait_idle(page)
    assert page.get_by_test_id("stException").count() == 0 and errors.count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "impact_counters_pin.png"), full_page=True)

    # Detached: the form is back on synthetic traffic, the panel no longer shows the counters.
    page.get_by_role("button", name="Detach the counters").click()
    page.get_by_role("button", name="Detach the counters").wait_for(state="detached", timeout=30_000)
    _wait_idle(page)
    assert success.filter(has_text=ATTACHED).count() == 0
    assert SYNTHETIC.search(traffic.inner_text())
    # The ranges stay with the sweep shown: they were kept with it in the history.
    assert page.get_by_role("heading", name="What the counters pin").count() == 1
    assert page.get_by_text(re.compile(r"^Kept with sweep #\d+ in the history")).count() == 1
    assert page.get_by_role("spinbutton", name="Steps of traffic").is_enabled()
    # The upload box is emptied too (left there, the file was read and attached again as soon as
    # the deduction method was changed).
    if not uploader.is_visible():  # the panel folds when nothing is attached
        page.get_by_text(PANEL).click()
    uploader.wait_for(timeout=30_000)
    assert uploader.get_by_text("loads.csv").count() == 0
    assert uploader.get_by_test_id("stFileUploaderFile").count() == 0
    assert blocked == []
