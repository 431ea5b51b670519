"""Saving with retries: a write lock held past the busy timeout is waited out, bad data is not retried."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from sqlalchemy.exc import OperationalError

import netdrift.storage.database
from netdrift.engine.errors import InputError
from netdrift.storage.database import open_database
from netdrift.storage.repository import ScenarioRepository
from netdrift.storage.retries import save_result_with_retries, transient


@pytest.fixture
def impatient(monkeypatch, db_url):
    """A history whose connections give up on a write lock after 20 ms (instead of 30 s)."""
    monkeypatch.setattr(netdrift.storage.database, "BUSY_TIMEOUT_MS", 20)
    maker = open_database(db_url)
    yield maker
    maker.kw["bind"].dispose()


def _lock(db_url: str) -> sqlite3.Connection:
    con = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    con.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    return con


def test_lock_released_between_attempts_is_waited_out(impatient, result, db_url):
    with impatient.begin() as s:
        sid = ScenarioRepository(s).create_scenario(result.topology, {}, 7, ["cfc", "mlp"])
    holder = _lock(db_url)
    retries: list[tuple[int, str]] = []

    def on_retry(attempt: int, err: BaseException, delay: float) -> None:
        retries.append((attempt, type(err).__name__))
        holder.execute("COMMIT")  # the other writer finishes while we back off

    save_result_with_retries(impatient, sid, result, delays=(0.01, 0.02), on_retry=on_retry)
    holder.close()
    assert retries == [(1, "OperationalError")]
    with impatient() as s:
        stored = ScenarioRepository(s).load_result(sid)
    np.testing.assert_array_equal(stored.actual, result.actual.astype(np.float32))


def test_gives_up_after_the_last_attempt_with_the_database_error(impatient, result, db_url):
    with impatient.begin() as s:
        sid = ScenarioRepository(s).create_scenario(result.topology, {}, 7, ["cfc", "mlp"])
    holder = _lock(db_url)
    attempts: list[int] = []
    with pytest.raises(OperationalError, match="database is locked"):
        save_result_with_retries(impatient, sid, result, delays=(0.01, 0.01, 0.01),
                                 on_retry=lambda a, e, d: attempts.append(a))
    holder.execute("ROLLBACK")
    holder.close()
    assert attempts == [1, 2, 3]
    with impatient() as s:
        assert ScenarioRepository(s).get_scenario(sid).status == "running"  # nothing half-saved


def test_bad_data_is_not_retried(Session, result):
    with Session.begin() as s:
        sid = ScenarioRepository(s).create_scenario(result.topology, {}, 7, ["cfc"])
    result.dropped_mbps = np.zeros(3)
    calls: list[int] = []
    with pytest.raises(InputError, match="dropped_mbps has shape"):
        save_result_with_retries(Session, sid, result, delays=(0.01,), on_retry=lambda a, e, d: calls.append(a))
    assert calls == []


def test_what_counts_as_transient():
    locked = OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))
    assert transient(locked)
    assert not transient(InputError("x", "y"))
    assert not transient(ValueError("bad"))
