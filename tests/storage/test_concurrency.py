"""WAL reading during writes, atomic completion, and runs killed midway."""

from __future__ import annotations

import os
import pickle
import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import text

from netdrift.storage.database import open_database
from netdrift.storage.repository import ScenarioRepository
from netdrift.storage.writer import process_token as _process_token
from netdrift.storage.writer import writer_alive as _writer_alive

ROOT = Path(__file__).resolve().parents[2]


def test_reader_works_while_a_write_transaction_is_open(Session, result):
    with Session.begin() as w:
        repo = ScenarioRepository(w)
        sid = repo.create_scenario(result.topology, {}, 7, ["cfc", "mlp"])
        repo.save_result(sid, result)  # written, not committed: the write lock is held
        with Session() as r:  # a second pooled connection
            assert ScenarioRepository(r).list_scenarios() == []
            assert r.execute(text("SELECT count(*) FROM series")).scalar() == 0
    with Session() as r:
        assert [x.status for x in ScenarioRepository(r).list_scenarios()] == ["complete"]


def test_writer_commits_while_a_reader_holds_a_snapshot(Session, result, db_url):
    # Needs WAL: with a rollback journal the commit would wait for the reader's lock.
    reader = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM scenarios").fetchone()[0] == 0
    with Session.begin() as w:
        ScenarioRepository(w).create_scenario(result.topology, {}, 7, ["cfc"])
    assert reader.execute("SELECT count(*) FROM scenarios").fetchone()[0] == 0  # its snapshot
    reader.execute("COMMIT")
    assert reader.execute("SELECT count(*) FROM scenarios").fetchone()[0] == 1
    reader.close()


_CHILD = textwrap.dedent(
    """
    import pickle, sys
    from netdrift.storage.database import open_database
    from netdrift.storage.repository import ScenarioRepository

    url, pkl = sys.argv[1], sys.argv[2]
    with open(pkl, "rb") as f:
        result = pickle.load(f)
    Session = open_database(url)
    with Session.begin() as s:
        sid = ScenarioRepository(s).create_scenario(result.topology, {}, result.seed, list(result.forecasts))
    with Session.begin() as s:
        repo = ScenarioRepository(s)
        repo.add_event(sid, result.events[0])
        repo.save_result(sid, result)   # everything written, the commit not yet done
        print(sid, flush=True)
        sys.stdin.readline()            # the parent kills us here
    """
)


def test_run_killed_midway_shows_interrupted(Session, result, db_url, tmp_path):
    script, pkl = tmp_path / "child.py", tmp_path / "result.pkl"
    script.write_text(_CHILD)
    pkl.write_bytes(pickle.dumps(result))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen(
        [sys.executable, str(script), db_url, str(pkl)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    try:
        line = child.stdout.readline()
        assert line.strip().isdigit(), child.stderr.read()
        sid = int(line)
        with Session() as s:  # the writer is alive and mid-transaction
            (live,) = ScenarioRepository(s).list_scenarios()
            assert (live.id, live.status) == (sid, "running")
    finally:
        child.kill()  # SIGKILL: no cleanup, no rollback by the child
        child.wait(timeout=60)
        child.stdin.close(), child.stdout.close(), child.stderr.close()
    assert child.returncode == -9

    with Session() as s:
        repo = ScenarioRepository(s)
        (dead,) = repo.list_scenarios()
        assert (dead.id, dead.status, dead.events) == (sid, "interrupted", [])
        assert repo.get_scenario(sid).status == "interrupted"
        assert repo.load_metrics(sid) == []
        for table in ("series", "metrics", "failure_events"):
            assert s.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
        assert s.execute(text("SELECT status FROM scenarios")).scalar() == "running"  # as stored
    with Session.begin() as s:
        assert ScenarioRepository(s).reap_interrupted() == [sid]
    with Session() as s:
        assert s.execute(text("SELECT status FROM scenarios")).scalar() == "interrupted"

    # A fresh open (as the dashboard would after the crash) finds a sound database.
    again = open_database(db_url)
    with again() as s:
        assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    again.kw["bind"].dispose()


def test_writer_liveness():
    host = socket.gethostname()
    assert _writer_alive(os.getpid(), host, None) is True
    assert _writer_alive(os.getpid(), host + "-elsewhere", None) is None  # cannot tell: trust the row
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert _writer_alive(child.pid, host, None) is True
        token = _process_token(child.pid)
        if token is not None:  # Linux: a reused pid (different start time) reads as gone
            assert _writer_alive(child.pid, host, token) is True
            assert _writer_alive(child.pid, host, token.split(":")[0] + ":1") is False
    finally:
        child.kill()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead but not reaped: a zombie
    assert _writer_alive(child.pid, host, None) is False
    child.wait(timeout=60)
    child.stdin.close()
    assert _writer_alive(child.pid, host, None) is False


def test_running_scenario_of_another_host_is_left_running(Session, result):
    with Session.begin() as s:
        sid = ScenarioRepository(s).create_scenario(result.topology, {}, 0, [])
        s.execute(text("UPDATE scenarios SET hostname='elsewhere', pid=999999999 WHERE id=:i"), {"i": sid})
    with Session.begin() as s:
        repo = ScenarioRepository(s)
        assert [x.status for x in repo.list_scenarios()] == ["running"]
        assert repo.reap_interrupted() == []
