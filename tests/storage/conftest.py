"""Shared fixtures: a tiny hand-built topology and ScenarioResult, a temporary database, and a
throwaway PostgreSQL server."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.results import MetricRow, ScenarioResult
from netdrift.storage.database import open_database


@pytest.fixture
def topo() -> Topology:
    return Topology(
        "tri",
        (Node("a", "A", 48.1, 11.6), Node("b", "B"), Node("c", "C", 50.0, 8.7)),
        (Link("a-b", "a", "b", 1000.0, 2.0, 12.5), Link("b-c", "b", "c", 2500.0)),
        warnings=("link b-c: no length",),
    )


@pytest.fixture
def result(topo: Topology) -> ScenarioResult:
    """6 steps x 4 directions; values chosen so float64 -> float32 rounds (0.1, 1/3, ...)."""
    T, D = 6, 4
    actual = np.arange(T * D, dtype=np.float64).reshape(T, D) / 3.0 + 0.1
    actual[2, 1] = np.nan  # a missing interval
    cfc = actual * 1.01
    cfc[0, :] = np.nan  # no forecast before the first observation
    mlp = actual - 0.7
    link_up = np.ones((T, 2), dtype=bool)
    link_up[3:, 0] = False
    dropped = np.array([0.0, 0.0, 0.0, 12.25, 7.5, 0.0])
    events = [FailureEvent(3, "fail", "a-b", "link"), FailureEvent(5, "restore", "a-b", "link")]
    metrics = [
        MetricRow("cfc", "pre", "rmse", 1.25),
        MetricRow("cfc", "post", "rmse", 3.5, 0),
        MetricRow("cfc", "event:0", "ttc", None, 1),
        MetricRow("mlp", "post", "mape", 12.0625, None),
        MetricRow("mlp", "event:0", "ttc", 4.0, 1),
    ]
    return ScenarioResult(
        topology=topo,
        config={"steps": T, "window": 3, "path": __import__("pathlib").Path("/x/y"), "alpha": np.float64(0.5)},
        seed=7,
        events=events,
        step_minutes=5.0,
        start=datetime(2005, 1, 1, tzinfo=timezone.utc),
        train_steps=2,
        actual=actual,
        forecasts={"cfc": cfc, "mlp": mlp},
        link_up=link_up,
        dropped_mbps=dropped,
        metrics=metrics,
        model_stats={"mlp": {"retrains": 2, "retrain_steps": [2, 4], "fit_seconds": np.float32(0.25)}},
    )


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/history.sqlite"


@pytest.fixture
def Session(db_url):
    maker = open_database(db_url)
    yield maker
    maker.kw["bind"].dispose()


# --- a throwaway PostgreSQL server ------------------------------------------------------------
def _pg_bindir() -> Path | None:
    """Folder of initdb / pg_ctl: Debian's /usr/lib/postgresql/<major>/bin (newest), else PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PgServer:
    """A PostgreSQL server in a temporary folder, owned by an unprivileged user, reachable only
    through a Unix socket in that folder (no TCP port is opened)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        # Straight under /tmp: pytest's own temp folders are root-only, unreadable to the server user.
        self.root = Path(tempfile.mkdtemp(prefix="netdrift-pg-"))
        self.data, self.log, self.port = self.root / "data", self.root / "server.log", 5432
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # postgres refuses to run as root: use Debian's postgres user
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as_user, str(self.bindir / tool), *args], check=True, capture_output=True,
                       timeout=120)

    def start(self) -> None:
        opts = f"-k {self.root} -c listen_addresses='' -p {self.port} -c fsync=off -c max_connections=50"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def start_if_stopped(self) -> None:
        """Start the server unless it runs (after a test that stopped it failed midway)."""
        status = subprocess.run([*self._as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"],
                                capture_output=True, timeout=60)
        if status.returncode != 0:
            self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.root}&port={self.port}"

    def create_database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        self._n = getattr(self, "_n", 0) + 1
        name = f"test_{self._n}"
        with psycopg.connect(host=str(self.root), port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server for the whole test session (skipped only without its binaries)."""
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries (initdb) found; scripts/setup.sh --test installs them")
    server = PgServer(bindir)
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database on the test server."""
    return pg_server.create_database()
