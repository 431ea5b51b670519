"""Fixtures of the real-browser tests: a `netdrift dashboard` server and a headless Chromium
that may only talk to 127.0.0.1 (every other request is aborted and recorded)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _netdrift_command() -> list[str]:
    exe = Path(sys.executable).parent / "netdrift"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "netdrift"]


def start_dashboard(tmp: Path, db_url: str, log_name: str = "server.log") -> tuple[subprocess.Popen, str, float]:
    """Start `netdrift dashboard --headless` on a free port over ``db_url`` (data under ``tmp``);
    ``(process, base_url, healthy_at)``, ``healthy_at`` the ``time.perf_counter()`` at which
    /_stcore/health first answered "ok". Fails the test (with the log's tail) if it never does."""
    port = _free_port()
    env = dict(os.environ, NETDRIFT_DATA_DIR=str(tmp / "data"))
    log = open(tmp / log_name, "w")
    _DIAGNOSTICS["server_log"] = tmp / log_name
    proc = subprocess.Popen(
        [*_netdrift_command(), "dashboard", "--headless", "--port", str(port), "--db", db_url],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()  # the child holds its own copy
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, base, time.perf_counter()
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    pytest.fail("dashboard did not become healthy:\n" + (tmp / log_name).read_text()[-3000:])


def stop_dashboard(proc: subprocess.Popen, timeout: float = 15) -> int | None:
    """SIGTERM the server (as a service manager stops it) and wait; kill it if it hangs. Its exit code."""
    proc.terminate()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


@pytest.fixture(scope="module")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory):
    """Start `netdrift dashboard --headless` on a free port with a fresh history database.

    Yields ``(base_url, healthy_at)``; ``healthy_at`` is the ``time.perf_counter()`` at which
    /_stcore/health first answered "ok".
    """
    tmp = tmp_path_factory.mktemp("dashboard")
    proc, base, healthy_at = start_dashboard(tmp, f"sqlite:///{tmp}/h.sqlite")
    yield base, healthy_at
    stop_dashboard(proc)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed (/usr/bin/chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


# What a failed browser test's report carries (a CI log is all there is to go on).
_DIAGNOSTICS: dict[str, object] = {"server_log": None, "console": []}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed and report.when == "call":
        log = _DIAGNOSTICS["server_log"]
        if isinstance(log, Path) and log.exists():
            report.sections.append(("dashboard server log (tail)", log.read_text(errors="replace")[-6000:]))
        console = _DIAGNOSTICS["console"]
        if console:
            report.sections.append(("browser console (tail)", "\n".join(console[-60:])))  # type: ignore[index]
    return report


LOCAL_HOSTS = {"127.0.0.1", "localhost"}
NON_LOCAL = re.compile(r"^(?!(?:https?|wss?)://(?:127\.0\.0\.1|localhost)(?:[:/]|$)|blob:|data:)")


@pytest.fixture
def offline_page(browser):
    """A page whose requests to anything but 127.0.0.1/localhost are aborted; yields
    ``(page, blocked)`` where ``blocked`` lists the URLs that were attempted."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    blocked: list[str] = []

    def guard(route) -> None:
        blocked.append(route.request.url)
        route.abort()

    # Only non-local URLs reach the handler (local ones load without a round trip through
    # this process, so page timings are not inflated by the test's own interception).
    page.route(NON_LOCAL, guard)
    # Belt and braces: any request that is not local, seen by the browser, is recorded too.
    def seen(request) -> None:
        url = request.url
        if (urlparse(url).hostname or "") not in LOCAL_HOSTS and not url.startswith(("blob:", "data:")) \
                and url not in blocked:
            blocked.append(url)

    page.on("request", seen)
    console: list[str] = []
    _DIAGNOSTICS["console"] = console
    page.on("console", lambda msg: console.append(f"{time.strftime('%H:%M:%S')} {msg.type}: {msg.text[:500]}"))
    page.on("pageerror", lambda err: console.append(f"{time.strftime('%H:%M:%S')} pageerror: {err}"))
    yield page, blocked
    context.close()
