"""Alembic migrations: a fresh database matches the models, and a database written by the
current release (netdrift 0.1, git 27c8ada, no alembic_version table) is upgraded with its data
intact, on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from netdrift.engine.errors import InputError
from netdrift.storage.database import open_database
from netdrift.storage.migrate import downgrade, head_revision
from netdrift.storage.models import SCHEMA_VERSION, Base
from netdrift.storage.repository import ScenarioRepository

ROOT = Path(__file__).resolve().parents[2]
RELEASE = "27c8ada"  # the current release, before Alembic and scenarios.heartbeat_at

# Run with the release's own engine and storage packages: one complete scenario and one left running.
_RELEASE_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    import numpy as np
    from engine.events import FailureEvent
    from engine.results import MetricRow, ScenarioResult
    from engine.topology import Link, Node, Topology
    from storage.database import open_database
    from storage.repository import ScenarioRepository, SweepRepository

    t = Topology("tri", (Node("a", "A"), Node("b", "B"), Node("c", "C")),
                 (Link("a-b", "a", "b", 1000.0), Link("b-c", "b", "c", 2500.0)))
    actual = np.arange(24, dtype=float).reshape(6, 4) / 3 + 0.1
    link_up = np.ones((6, 2), dtype=bool)
    link_up[3:, 0] = False
    result = ScenarioResult(
        topology=t, config={"steps": 6}, seed=7, events=[FailureEvent(3, "fail", "a-b", "link")],
        step_minutes=5.0, start=datetime(2005, 1, 1, tzinfo=timezone.utc), train_steps=2,
        actual=actual, forecasts={"cfc": actual * 2}, link_up=link_up,
        dropped_mbps=np.array([0, 0, 0, 12.25, 7.5, 0.0]),
        metrics=[MetricRow("cfc", "post", "rmse", 3.5), MetricRow("cfc", "event:0", "ttc", None, 1)])
    Session = open_database(sys.argv[1])
    with Session.begin() as s:
        repo = ScenarioRepository(s)
        done = repo.create_scenario(t, {"steps": 6}, 7, ["cfc"], label="stored by 0.1")
        repo.save_result(done, result)
        left = repo.create_scenario(t, {"steps": 6}, 8, ["cfc"], label="left running by 0.1")
        SweepRepository(s).save_sweep(t, "link", {"from": 0, "to": 4}, {"failures": [{"x": 1}], "seconds": 0.5})
    print(done, left)
    """
)


#: What _RELEASE_WRITER wrote with the release's code into a SQLite file (ids 1 complete, 2
#: running), kept for clones without the release commit (a shallow clone).
RELEASE_SQLITE = ROOT / "tests" / "fixtures" / "history" / "release_0_1.sqlite"


@pytest.fixture(scope="module")
def release_tree(tmp_path_factory) -> Path | None:
    """The release's engine/ and storage/ packages, extracted from git; None without the commit."""
    out = tmp_path_factory.mktemp("release")
    try:
        tar = subprocess.run(["git", "-C", str(ROOT), "archive", RELEASE, "engine", "storage"],
                             check=True, capture_output=True, timeout=60).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(out, filter="data")
    return out


def _write_with_release(release_tree: Path | None, url: str, tmp_path: Path) -> tuple[int, int]:
    if release_tree is None:  # no release commit here: its SQLite file, as written by its code
        if not url.startswith("sqlite:///"):
            pytest.skip(f"needs the git history with the release commit {RELEASE} (a shallow clone lacks it)")
        path = Path(url.removeprefix("sqlite:///"))
        shutil.copyfile(RELEASE_SQLITE, path)
        with sqlite3.connect(path) as con:  # written on this machine by a process that has exited
            con.execute("UPDATE scenarios SET hostname = ?", (socket.gethostname(),))
        con.close()
        return 1, 2
    script = tmp_path / "release_writer.py"
    script.write_text(_RELEASE_WRITER)
    env = {**os.environ, "PYTHONPATH": str(release_tree)}
    done = subprocess.run([sys.executable, str(script), url], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    complete, running = map(int, done.stdout.split())
    return complete, running


def _release_url(url: str) -> str:
    """The release has no driver default: name psycopg 3 explicitly for it."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/history.sqlite"
    return request.getfixturevalue("pg_url")


def _revision(url: str) -> str | None:
    engine = create_engine(_release_url(url))
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def test_fresh_database_matches_the_models(any_url):
    Session = open_database(any_url)
    engine = Session.kw["bind"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        version = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
    engine.dispose()
    assert diff == []
    assert _revision(any_url) == head_revision() == "0005"
    assert int(version) == SCHEMA_VERSION == 5


def test_release_database_is_upgraded_with_its_data(any_url, release_tree, tmp_path):
    complete, running = _write_with_release(release_tree, _release_url(any_url), tmp_path)
    assert _revision(any_url) is None  # the release knows no Alembic

    Session = open_database(any_url)
    assert _revision(any_url) == "0005"
    with Session() as s:
        repo = ScenarioRepository(s)
        listed = {x.id: (x.label, x.status, x.events) for x in repo.list_scenarios()}
        assert listed == {complete: ("stored by 0.1", "complete", ["fail a-b@3"]),
                          running: ("left running by 0.1", "interrupted", [])}  # its writer has exited
        d = repo.get_scenario(complete)
        assert (d.topology.name, d.seed, d.models, d.step_minutes, d.train_steps) == ("tri", 7, ["cfc"], 5.0, 2)
        expected = (np.arange(24, dtype=float).reshape(6, 4) / 3 + 0.1).astype(np.float32)
        np.testing.assert_array_equal(repo.load_series(complete), expected)
        np.testing.assert_array_equal(repo.load_series(complete, "cfc"), (expected.astype(float) * 2).astype(np.float32))
        np.testing.assert_array_equal(repo.load_dropped(complete), np.float32([0, 0, 0, 12.25, 7.5, 0]))
        assert repo.load_link_up(complete)[:, 0].tolist() == [True] * 3 + [False] * 3
        assert [(m.metric, m.value, m.direction) for m in repo.load_metrics(complete)] == [
            ("rmse", 3.5, None), ("ttc", None, 1)]
        assert s.execute(text("SELECT count(*) FROM sweeps")).scalar() == 1
    # the new column works on the upgraded database, for old rows and new ones
    with Session.begin() as s:
        repo = ScenarioRepository(s)
        repo.heartbeat(complete)
        new = repo.create_scenario(d.topology, {}, 9, ["cfc"])
        repo.heartbeat(new)
    with Session() as s:
        stamps = dict(s.execute(text("SELECT id, heartbeat_at FROM scenarios")).all())
        assert stamps[running] is None and stamps[complete] is not None and stamps[new] is not None
        assert {x.id: x.status for x in ScenarioRepository(s).list_scenarios()}[new] == "running"
    Session.kw["bind"].dispose()

    # opened again: nothing left to do, nothing changes
    Session = open_database(any_url)
    with Session() as s:
        assert len(ScenarioRepository(s).list_scenarios()) == 3
    Session.kw["bind"].dispose()


def test_release_database_without_sweeps_table_gets_it(release_tree, tmp_path):
    path = tmp_path / "old.sqlite"
    _write_with_release(release_tree, f"sqlite:///{path}", tmp_path)
    con = sqlite3.connect(path)
    con.execute("DROP TABLE sweeps")  # as a 0.1 database from before netdrift sweep existed
    con.commit()
    con.close()
    open_database(f"sqlite:///{path}").kw["bind"].dispose()
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM sweeps").fetchone()[0] == 0
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0005"
    con.close()


def test_downgrade_to_baseline_and_upgrade_again_keeps_rows(tmp_path, result):
    url = f"sqlite:///{tmp_path}/h.sqlite"
    Session = open_database(url)
    with Session.begin() as s:
        sid = ScenarioRepository(s).create_scenario(result.topology, {}, 7, ["cfc"])
        ScenarioRepository(s).save_result(sid, result)
    engine = Session.kw["bind"]
    downgrade(engine, "0001")  # SQLite drops the column by copying the table
    con = sqlite3.connect(f"{tmp_path}/h.sqlite")
    assert "heartbeat_at" not in [r[1] for r in con.execute("PRAGMA table_info(scenarios)")]
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "1"
    con.close()
    engine.dispose()
    Session = open_database(url)
    with Session.begin() as s:
        ScenarioRepository(s).heartbeat(sid)
    with Session() as s:
        assert ScenarioRepository(s).load_result(sid).seed == result.seed
    Session.kw["bind"].dispose()


def test_revision_from_a_newer_netdrift_is_refused_untouched(tmp_path):
    path = tmp_path / "h.sqlite"
    open_database(f"sqlite:///{path}").kw["bind"].dispose()
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '0099'")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(InputError) as err:
        open_database(f"sqlite:///{path}")
    assert str(err.value) == (f"database 'sqlite:///{path}': schema revision 0099 is unknown to this netdrift "
                              f"(written by a newer one, this one knows up to 0005); upgrade netdrift")
    assert path.read_bytes() == before


_OPENER = "import sys; from netdrift.storage.database import open_database; open_database(sys.argv[1]); print('ok')"


def test_processes_opening_a_new_database_at_once_migrate_it_once(any_url):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [subprocess.Popen([sys.executable, "-c", _OPENER, any_url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [e for _, e in outs]
    assert _revision(any_url) == "0005"


def test_release_database_that_already_has_the_heartbeat_column(release_tree, tmp_path):
    # as left by a development build that added the column before the migrations existed
    path = tmp_path / "dev.sqlite"
    complete, _ = _write_with_release(release_tree, f"sqlite:///{path}", tmp_path)
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE scenarios ADD COLUMN heartbeat_at TIMESTAMP")
    con.commit()
    con.close()
    Session = open_database(f"sqlite:///{path}")
    with Session.begin() as s:
        ScenarioRepository(s).heartbeat(complete)
    with Session() as s:
        assert ScenarioRepository(s).get_scenario(complete).status == "complete"
    Session.kw["bind"].dispose()
    assert _revision(f"sqlite:///{path}") == "0005"


def test_a_live_run_kept_in_the_config_moves_to_live_runs_and_back(any_url, result):
    from netdrift.storage.checkpoints import CheckpointRepository
    from netdrift.storage.models import LiveRunRow

    Session = open_database(any_url)
    with Session.begin() as s:
        sid = ScenarioRepository(s).create_scenario(result.topology, {"steps": 6}, 7, ["cfc"])
        CheckpointRepository(s).claim(sid, "tab-9", step=4)
        CheckpointRepository(s).store_models(sid, b"fitted models")
    engine = Session.kw["bind"]
    downgrade(engine, "0003")  # as a 0003 database holds it: config keys and a "models" series row
    with engine.connect() as conn:
        config = conn.execute(text("SELECT config FROM scenarios WHERE id = :i"), {"i": sid}).scalar()
        config = json.loads(config) if isinstance(config, str) else config
        kinds = [r[0] for r in conn.execute(text("SELECT kind FROM series WHERE scenario_id = :i"), {"i": sid})]
        assert not inspect(conn).has_table("live_runs")
    assert config["live_owner"] == "tab-9" and config["steps_observed"] == 4 and kinds == ["models"]
    engine.dispose()

    Session = open_database(any_url)  # upgraded again on open
    with Session() as s:
        live = s.get(LiveRunRow, sid)
        assert (live.owner, live.step, live.models) == ("tab-9", 4, b"fitted models")
        runs = CheckpointRepository(s).unfinished_live_runs()
        assert [(r.id, r.step, r.owner, r.has_models) for r in runs] == [(sid, 4, "tab-9", True)]
        assert "live_owner" not in ScenarioRepository(s).get_scenario(sid).config
    Session.kw["bind"].dispose()


def test_series_pieces_join_into_one_row_on_downgrade_and_read_the_same_after_upgrade(any_url, result):
    Session = open_database(any_url)
    with Session.begin() as s:
        repo = ScenarioRepository(s)
        sid = repo.create_scenario(result.topology, {"steps": 6}, 7, ["cfc", "mlp"])
        repo.save_result(sid, result, complete=False)
    engine = Session.kw["bind"]
    with engine.begin() as conn:  # cut every series into [0, 2), [2, 4), [4, 6), as checkpoints leave them
        rows = conn.execute(text("SELECT id, scenario_id, kind, model, direction, n_steps, n_cols, dtype, data "
                                 "FROM series")).all()
        conn.execute(text("DELETE FROM series"))
        for _, sid_, kind, model, direction, n, n_cols, dtype, data in rows:
            width = len(data) // n
            for a in (0, 2, 4):
                conn.execute(text("INSERT INTO series (scenario_id, kind, model, direction, start, n_steps, n_cols, "
                                  "dtype, data) VALUES (:s, :k, :m, :d, :a, 2, :c, :t, :b)"),
                             dict(s=sid_, k=kind, m=model, d=direction, a=a, c=n_cols, t=dtype,
                                  b=bytes(data[a * width:(a + 2) * width])))
    with Session() as s:
        pieced = ScenarioRepository(s).load_series(sid, "cfc")
    np.testing.assert_array_equal(pieced, result.forecasts["cfc"].astype(np.float32))

    downgrade(engine, "0004")  # one row per series from step 0, as 0004 stores it
    with engine.connect() as conn:
        assert "start" not in {c["name"] for c in inspect(conn).get_columns("series")}
        n_steps = {r[0] for r in conn.execute(text("SELECT n_steps FROM series"))}
        count = conn.execute(text("SELECT count(*) FROM series WHERE kind = 'actual'")).scalar()
    assert n_steps == {6} and count == result.topology.n_directions
    engine.dispose()

    Session = open_database(any_url)  # upgraded again on open
    with Session() as s:
        repo = ScenarioRepository(s)
        np.testing.assert_array_equal(repo.load_series(sid), result.actual.astype(np.float32))
        np.testing.assert_array_equal(repo.load_series(sid, "mlp", direction=3), result.forecasts["mlp"][:, 3]
                                      .astype(np.float32))
        np.testing.assert_array_equal(repo.load_link_up(sid), result.link_up)
        np.testing.assert_array_equal(repo.load_dropped(sid), result.dropped_mbps.astype(np.float32))
    Session.kw["bind"].dispose()
    assert _revision(any_url) == "0005"
