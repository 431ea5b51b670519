"""Issue 22: two dashboard servers on one PostgreSQL history see each other's takeover of a live
run, in a real headless Chromium. Server A's tab starts a run; server B's tab resumes it from the
history (B drives it now); A's tab then says its run was taken over and stops driving it, and A
writes nothing more to the run (its owner and step in the history stay B's)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import start_dashboard, stop_dashboard
from tests.e2e.test_browser import _map_ready, _start_scenario, _wait_idle
from tests.storage.conftest import PgServer, _pg_bindir

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TAKEN_OVER = "Your live run was taken over by another tab or server; it continues there."


@pytest.fixture(scope="module")
def pg_history():
    """A throwaway PostgreSQL server and an empty database on it (its SQLAlchemy URL)."""
    pytest.importorskip("psycopg")
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries (initdb) found; scripts/setup.sh --test installs them")
    server = PgServer(bindir)
    try:
        yield server.create_database()
    finally:
        server.close()


def _stored(url: str, scenario_id: int) -> tuple[str | None, int | None]:
    """(owner, step) of the live run as the history holds them, through the service."""
    from netdrift.service.scenarios import ScenarioService
    from netdrift.storage.database import open_database

    sessions = open_database(url)
    try:
        service = ScenarioService(sessions)
        with sessions() as s:  # the step through the same repository the service reads it with
            from netdrift.storage.checkpoints import CheckpointRepository

            step = CheckpointRepository(s).live_step(scenario_id)
        return service.owner(scenario_id), step
    finally:
        sessions.kw["bind"].dispose()


def test_a_run_taken_over_by_another_server_stops_on_the_first(browser, pg_history, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    proc_a, base_a, _ = start_dashboard(tmp_path / "a", pg_history, "server_a.log")
    proc_b, base_b, _ = start_dashboard(tmp_path / "b", pg_history, "server_b.log")
    assert base_a != base_b  # two servers, two ports, one database
    ctx_a = browser.new_context(viewport={"width": 1500, "height": 1000})
    ctx_b = browser.new_context(viewport={"width": 1500, "height": 1000})
    try:
        page_a, page_b = ctx_a.new_page(), ctx_b.new_page()
        page_a.goto(base_a)
        _map_ready(page_a, "geant2012")
        _start_scenario(page_a, "geant2012")  # server A drives the run (paused: its heartbeat beats)
        _wait_idle(page_a)

        page_b.goto(base_b)
        page_b.get_by_text("Unfinished live runs").wait_for(timeout=60_000)
        offer = page_b.get_by_text(re.compile(r"^Scenario \d+, ")).first.inner_text()
        sid = int(re.match(r"Scenario (\d+),", offer).group(1))
        owner_a, _ = _stored(pg_history, sid)
        page_b.get_by_role("button", name="Resume").first.click()  # server B takes the run over
        try:
            page_b.get_by_role("button", name="Play").wait_for(timeout=180_000)
        except PlaywrightTimeout:  # say what B's page shows instead (a refusal, an error, a spinner)
            page_b.screenshot(path=str(tmp_path / "server_b_page.png"))
            pytest.fail("server B's page showed no Play button 3 min after Resume; it shows:\n"
                        + page_b.locator("body").inner_text()[-3000:])
        _wait_idle(page_b)
        owner_b, step_b = _stored(pg_history, sid)
        assert owner_a and owner_b and owner_b != owner_a

        # A's next heartbeat (every 10 s) finds the run claimed: its page says so and stops driving it.
        page_a.get_by_text(TAKEN_OVER).wait_for(timeout=90_000)
        _wait_idle(page_a)
        assert page_a.get_by_role("button", name="Play").count() == 0  # no controls of a run left on A
        assert page_a.get_by_role("button", name="Train and start").count() == 1  # the start form instead
        # B still drives it, and A wrote nothing over B's claim (owner and step as B left them).
        assert page_b.get_by_role("button", name="Play").count() == 1
        assert page_b.get_by_text(TAKEN_OVER).count() == 0
        assert _stored(pg_history, sid) == (owner_b, step_b)
    finally:
        ctx_a.close()
        ctx_b.close()
        stop_dashboard(proc_a)
        stop_dashboard(proc_b)
