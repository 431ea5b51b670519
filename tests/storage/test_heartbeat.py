"""Heartbeat: a running row whose writer stopped stamping it reads (and is stored) as interrupted."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from netdrift.engine.errors import InputError
from netdrift.storage.repository import HEARTBEAT_STALE_S, ScenarioRepository


def _create(Session, topo) -> int:
    with Session.begin() as s:
        return ScenarioRepository(s).create_scenario(topo, {"steps": 6}, 7, ["cfc"])


def _set_heartbeat(db_url: str, sid: int, seconds_ago: float) -> None:
    """Write heartbeat_at directly (naive UTC, as SQLite stores it), without the repository."""
    stamp = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=seconds_ago)
    con = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    con.execute("UPDATE scenarios SET heartbeat_at = ? WHERE id = ?", (stamp.isoformat(sep=" "), sid))
    con.commit()
    con.close()


def _status(Session, sid: int) -> tuple[str, str]:
    """(status listed, status stored in the row)."""
    with Session() as s:
        listed = {x.id: x.status for x in ScenarioRepository(s).list_scenarios()}[sid]
        detail = ScenarioRepository(s).get_scenario(sid).status
        assert listed == detail
    con = sqlite3.connect(Session.kw["bind"].url.database)
    stored = con.execute("SELECT status FROM scenarios WHERE id = ?", (sid,)).fetchone()[0]
    con.close()
    return listed, stored


def test_heartbeat_stamps_utc_now(Session, topo, db_url):
    sid = _create(Session, topo)
    before = datetime.now(timezone.utc).replace(tzinfo=None)
    with Session.begin() as s:
        ScenarioRepository(s).heartbeat(sid)
    after = datetime.now(timezone.utc).replace(tzinfo=None)
    con = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    raw = con.execute("SELECT heartbeat_at FROM scenarios WHERE id = ?", (sid,)).fetchone()[0]
    con.close()
    assert before <= datetime.fromisoformat(raw) <= after
    assert _status(Session, sid) == ("running", "running")


def test_stale_heartbeat_reads_and_is_stored_interrupted(Session, topo, db_url):
    assert HEARTBEAT_STALE_S == 60
    fresh, stale = _create(Session, topo), _create(Session, topo)
    _set_heartbeat(db_url, fresh, HEARTBEAT_STALE_S - 20)
    _set_heartbeat(db_url, stale, HEARTBEAT_STALE_S + 5)
    # our own process wrote both rows and still lives: only the heartbeat tells them apart
    assert _status(Session, fresh) == ("running", "running")
    assert _status(Session, stale) == ("interrupted", "running")
    with Session.begin() as s:
        assert ScenarioRepository(s).reap_interrupted() == [stale]
    assert _status(Session, stale) == ("interrupted", "interrupted")
    assert _status(Session, fresh) == ("running", "running")


def test_a_new_heartbeat_revives_a_stale_reading(Session, topo, db_url):
    sid = _create(Session, topo)
    _set_heartbeat(db_url, sid, 3600)
    assert _status(Session, sid)[0] == "interrupted"
    with Session.begin() as s:
        ScenarioRepository(s).heartbeat(sid)
    assert _status(Session, sid) == ("running", "running")


def test_complete_rows_ignore_the_heartbeat(Session, result, db_url):
    sid = _create(Session, result.topology)
    with Session.begin() as s:
        ScenarioRepository(s).save_result(sid, result)
    _set_heartbeat(db_url, sid, 3600)
    assert _status(Session, sid) == ("complete", "complete")


def test_heartbeat_of_unknown_scenario(Session):
    with Session.begin() as s, pytest.raises(InputError, match="scenario 99: not found"):
        ScenarioRepository(s).heartbeat(99)
