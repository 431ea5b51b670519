"""Transactions retried with exponential backoff when the database is briefly unavailable.

A finished run must not be lost because a SQLite write lock outlived the busy timeout or a
PostgreSQL server restarted (or failed over) while the result was being saved: such
*operational* errors are retried on a fresh connection, after 0.5, 1, 2, 4 and 8 s (15.5 s in
all, enough for a server restart); anything else (bad data, a refused schema) is raised at once.
Only a transaction that is safe to run twice belongs here (``save_result`` replaces what an
earlier attempt may have committed).

Example::

    from netdrift.storage.retries import save_result_with_retries
    save_result_with_retries(Session, scenario_id, result)   # raises only after the last try
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from netdrift.engine.results import ScenarioResult
from netdrift.storage.repository import ScenarioRepository

__all__ = ["SAVE_RETRY_DELAYS_S", "transient", "with_retries", "save_result_with_retries"]

#: Waits before each new attempt, seconds (read at call time, so a test may shorten them).
SAVE_RETRY_DELAYS_S: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)

T = TypeVar("T")


def transient(err: BaseException) -> bool:
    """Whether ``err`` may pass when tried again: a locked or busy database, a lost or refused
    connection, a server shutting down or starting up (SQLAlchemy's OperationalError family,
    or any driver error that invalidated its connection)."""
    if isinstance(err, (OperationalError, InterfaceError)):
        return True
    return isinstance(err, DBAPIError) and bool(err.connection_invalidated)


def with_retries(
    sessions: sessionmaker[Session],
    work: Callable[[Session], T],
    delays: tuple[float, ...] | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Run ``work(session)`` in one transaction, again after each transient failure.

    ``delays`` (default :data:`SAVE_RETRY_DELAYS_S`) are the waits between attempts, so there are
    ``len(delays) + 1`` attempts; the last error is raised. ``on_retry(attempt, error, delay)``
    is called before each wait (e.g. to say so on stderr).
    """
    waits = SAVE_RETRY_DELAYS_S if delays is None else delays
    for attempt in range(len(waits) + 1):
        try:
            with sessions.begin() as s:
                return work(s)
        except Exception as err:
            if attempt == len(waits) or not transient(err):
                raise
            if on_retry is not None:
                on_retry(attempt + 1, err, waits[attempt])
            time.sleep(waits[attempt])  # backoff: give the server or the other writer time
    raise AssertionError("unreachable")


def save_result_with_retries(
    sessions: sessionmaker[Session],
    scenario_id: int,
    result: ScenarioResult,
    delays: tuple[float, ...] | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> None:
    """:meth:`ScenarioRepository.save_result` in one transaction, retried (see :func:`with_retries`)."""
    with_retries(sessions, lambda s: ScenarioRepository(s).save_result(scenario_id, result), delays, on_retry)
