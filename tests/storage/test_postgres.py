"""A shared PostgreSQL history: concurrent writer processes and a server restart mid-save lose nothing.

The server is the throwaway one of ``conftest.pg_server`` (a real PostgreSQL in a temporary
folder); the writers are separate processes using the real storage code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from netdrift.storage.database import open_database
from netdrift.storage.repository import ScenarioRepository

ROOT = Path(__file__).resolve().parents[2]

# argv: url, writer number, scenarios. Creates its rows first ("created"), then saves each finished
# result with retries ("saved K"); says "retry ..." before each backoff.
_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    import numpy as np
    from netdrift.engine.results import MetricRow, ScenarioResult
    from netdrift.engine.network.topology import Link, Node, Topology
    from netdrift.storage.database import open_database
    from netdrift.storage.repository import ScenarioRepository
    from netdrift.storage.retries import save_result_with_retries

    url, w, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t = Topology("ring", tuple(Node(x, x.upper()) for x in "abcd"),
                 tuple(Link(f"{u}-{v}", u, v, 1000.0) for u, v in ("ab", "bc", "cd", "da")))
    Session = open_database(url)
    with Session.begin() as s:
        ids = [ScenarioRepository(s).create_scenario(t, {"writer": w, "k": k}, k, ["cfc"], label=f"w{w}-{k}")
               for k in range(n)]
    print("created", flush=True)

    def said(attempt, err, delay):
        print("retry", attempt, type(err).__name__, flush=True)

    for k, sid in enumerate(ids):
        actual = np.arange(48 * 8, dtype=float).reshape(48, 8) + 1000 * w + k
        result = ScenarioResult(topology=t, config={"writer": w, "k": k}, seed=k, events=[], step_minutes=5.0,
                                start=datetime(2026, 1, 1, tzinfo=timezone.utc), train_steps=8, actual=actual,
                                forecasts={"cfc": actual + 0.5}, link_up=np.ones((48, 4), dtype=bool),
                                dropped_mbps=np.zeros(48), metrics=[MetricRow("cfc", "post", "rmse", 0.5)])
        save_result_with_retries(Session, sid, result, on_retry=said)
        print("saved", k, flush=True)
    """
)


def _writer(tmp_path: Path, url: str, w: int, n: int) -> subprocess.Popen:
    # One file per writer: rewriting a shared one while an earlier writer's Python was still
    # reading it ran an empty script (exit 0, nothing written: a flaky failure of the test).
    script = tmp_path / f"writer{w}.py"
    script.write_text(_WRITER)
    return subprocess.Popen([sys.executable, str(script), url, str(w), str(n)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def _check_all_complete(url: str, writers: int, n: int) -> None:
    Session = open_database(url)
    with Session() as s:
        repo = ScenarioRepository(s)
        listed = repo.list_scenarios()
        assert sorted(x.label for x in listed) == sorted(f"w{w}-{k}" for w in range(writers) for k in range(n))
        assert {x.status for x in listed} == {"complete"}
        for x in listed:
            w, k = map(int, x.label[1:].split("-"))
            want = (np.arange(48 * 8, dtype=float).reshape(48, 8) + 1000 * w + k).astype(np.float32)
            np.testing.assert_array_equal(repo.load_series(x.id), want)
            np.testing.assert_array_equal(repo.load_series(x.id, "cfc"), want + np.float32(0.5))
        assert s.execute(text("SELECT count(*) FROM series")).scalar() == writers * n * (8 + 8 + 2)
        assert s.execute(text("SELECT count(*) FROM topologies")).scalar() == 1
    Session.kw["bind"].dispose()


@pytest.mark.slow
def test_four_concurrent_writers_lose_nothing(pg_url, tmp_path):
    # all four open the new database at once: one migrates it, the others wait for the lock
    procs = [_writer(tmp_path, pg_url, w, 6) for w in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    for out, _ in outs:
        assert out.split("\n")[-7:-1] == [f"saved {k}" for k in range(6)]
    _check_all_complete(pg_url, 4, 6)


@pytest.mark.slow
def test_server_restart_in_the_middle_of_the_save_loop_loses_no_result(pg_server, pg_url, tmp_path):
    proc = _writer(tmp_path, pg_url, 0, 10)
    try:
        assert proc.stdout.readline() == "created\n", proc.stderr.read()
        for k in range(3):
            assert proc.stdout.readline() == f"saved {k}\n"
        pg_server.stop("fast")  # terminates the writer's connection, maybe mid-transaction
        line = proc.stdout.readline()
        while line.startswith("saved"):  # a save already past its commit may still report
            line = proc.stdout.readline()
        assert line.startswith("retry 1 "), line + proc.stderr.read()
        pg_server.start()
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        pg_server.start_if_stopped()
    assert proc.returncode == 0, err
    assert rest.strip().splitlines()[-1] == "saved 9"
    _check_all_complete(pg_url, 1, 10)
