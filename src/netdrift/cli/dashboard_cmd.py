"""`netdrift dashboard`: start the Streamlit dashboard on 127.0.0.1.

The database URL is checked (opened, schema created) before the server starts, so a bad
``--db`` gets the usual one-line error and exit code 2. The app reads the URL and the
preselected topology from ``NETDRIFT_DB_URL`` / ``NETDRIFT_TOPOLOGY``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from netdrift.engine.errors import InputError

__all__ = ["register", "streamlit_command", "run"]

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
DEFAULT_PORT = 8501


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dashboard",
        help="start the dashboard in the browser (Streamlit, bound to 127.0.0.1)",
        description="Start the netdrift dashboard: live map, failures by click, forecast comparison.",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    p.add_argument("--db", metavar="URL", default=None,
                   help="history database URL (default: sqlite file in the netdrift data folder)")
    p.add_argument("--headless", action="store_true", help="do not open a browser")
    p.add_argument("--topology", metavar="NAME", default=None,
                   help="topology preselected in the Live view (a bundled name or a file)")
    p.set_defaults(func=run)


def streamlit_command(port: int, headless: bool) -> list[str]:
    """The server's command line: Streamlit's `run` behind :mod:`netdrift.dashboard.serve`, which
    loads the first page's modules while the server starts (local only, no telemetry).

    >>> cmd = streamlit_command(8600, True)
    >>> "--server.address=127.0.0.1" in cmd and "--browser.gatherUsageStats=false" in cmd
    True
    """
    return [
        sys.executable, "-m", "netdrift.dashboard.serve", "run", str(APP),
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        f"--server.headless={'true' if headless else 'false'}",
        "--browser.gatherUsageStats=false",
        "--browser.serverAddress=127.0.0.1",
        f"--browser.serverPort={port}",
        "--server.fileWatcherType=none",
        "--global.developmentMode=false",
        "--client.toolbarMode=minimal",
        "--theme.base=light",
        # Streamlit forces a full garbage collection after every (fragment) rerun; with torch
        # loaded that walk took ~0.5 s and held the GIL while the map's update waited to be
        # sent. Python's own generational collector (tuned in netdrift.dashboard.common.warmup) is enough.
        "--runner.postScriptGC=false",
    ]


def check_port_free(port: int) -> None:
    """Refuse (InputError naming --port) a port something already listens on at 127.0.0.1: bound
    here as the server would bind it (SO_REUSEADDR, as Tornado does) and released at once."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as err:
            raise InputError(f"--port {port}", f"cannot listen there ({os.strerror(err.errno) if err.errno else err}); "
                                               "choose another port") from None


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise InputError(f"--port {args.port}", "must be between 1 and 65535")
    check_port_free(args.port)  # before anything is created: Streamlit's own message would come after
    if args.topology:
        from netdrift.engine.network.loaders import load_topology

        load_topology(args.topology)  # a bad name fails here, not in the browser
    from netdrift.cli.common import check_db_folder
    from netdrift.storage.database import open_database

    check_db_folder(args.db)
    open_database(args.db)  # raises InputError (exit 2) before any server starts
    env = dict(os.environ)
    if args.db:
        env["NETDRIFT_DB_URL"] = args.db
    if args.topology:
        env["NETDRIFT_TOPOLOGY"] = args.topology
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    root = str(APP.parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    print(f"netdrift dashboard on http://127.0.0.1:{args.port}  (Ctrl+C to stop)", file=sys.stderr)
    cmd = streamlit_command(args.port, args.headless)
    if os.name == "posix":
        # Become the server: signals (Ctrl+C, a test's terminate()) reach it directly.
        os.chdir(root)
        os.execve(cmd[0], cmd, env)
    proc = subprocess.Popen(cmd, env=env, cwd=root)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 130
