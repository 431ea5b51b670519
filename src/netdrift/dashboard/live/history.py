"""A live run in the history: its row created with its fitted models, heartbeats and checkpoints
as it goes, saves, and the unfinished runs a reload or a restart resumes (through
:class:`netdrift.service.scenarios.ScenarioService`; what is stored where: :mod:`netdrift.storage.checkpoints`).

Every function returns an error message (or None) instead of raising where the live run should go
on without the history; the service is imported when first needed.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from netdrift.engine.traffic.time_grid import steps_per_day

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from netdrift.dashboard.common.state import LiveSession
    from netdrift.engine.experiments.scenario import LiveScenario
    from netdrift.engine.network.topology import Topology

__all__ = ["BEAT_SECONDS", "CHECKPOINT_SECONDS", "start_history", "save_history", "keep_alive", "flush_live_runs",
           "resume_history", "claim_history", "release_history", "unfinished_runs", "unfinished_run_text"]


def start_history(sessions: sessionmaker[Session] | None, live: LiveScenario,
                  label: str | None = None, owner: str = "") -> tuple[int | None, str | None]:
    """Create the history row of a trained live run driven by tab ``owner``, its fitted models
    stored with it (so a reload or a restart can resume it); (id, None) or (None, error message)."""
    if sessions is None:
        return None, "No history database is configured."
    from netdrift.service.scenarios import ScenarioService

    try:
        return ScenarioService(sessions).open_live(live, owner, label), None
    except Exception as err:  # noqa: BLE001 - the live run goes on without a history row
        return None, f"History not written: {err}"


#: Seconds between two heartbeats of a live run (the history calls it interrupted after 60 s).
BEAT_SECONDS = 10.0
#: A checkpoint of the series every simulated day, but not more often than this many seconds (a
#: checkpoint of Cogentco writes ~10 MB).
CHECKPOINT_SECONDS = 20.0


def keep_alive(sess: LiveSession, sessions: sessionmaker[Session] | None, force: bool = False) -> str | None:
    """Keep the live run's history row alive and complete; an error message or None.

    Every :data:`BEAT_SECONDS` a heartbeat with the step reached (a few ms); the observed series
    (a checkpoint) every simulated day of steps (at most every :data:`CHECKPOINT_SECONDS`),
    after an event, or when ``force``d (pause, "New scenario"). Nothing to do without a history row.
    When another tab or dashboard server has claimed the run since, nothing is written and the
    session's ``owner`` becomes that tab's (the page then says the run was taken over and stops).
    """
    if sessions is None or sess.scenario_id is None or sess.owner is None:
        return None
    from netdrift.service.scenarios import RunTakenOver, ScenarioService

    with _DRIVEN_LOCK:
        _DRIVEN[sess.scenario_id] = (weakref.ref(sess), sessions)
    now = time.monotonic()
    live, service = sess.live, ScenarioService(sessions)
    new_steps = live.step > sess.checkpoint_step
    series = new_steps and (force or sess.checkpoint_due or (
        live.step - sess.checkpoint_step >= steps_per_day(live.traffic.step_minutes)
        and now - sess.beat_at >= CHECKPOINT_SECONDS))
    if not series and not force and now - sess.beat_at < BEAT_SECONDS:
        return None
    try:
        if series:
            sess.checkpoint_ms = service.checkpoint(sess.scenario_id, live, sess.owner) * 1000.0
            sess.checkpoint_step, sess.checkpoint_due = live.step, False
        else:
            service.mark_progress(sess.scenario_id, live.step, sess.owner)
    except RunTakenOver as err:  # another tab or dashboard server drives it now: stop, write nothing more
        sess.owner, sess.playing = err.owner, False
        return None
    except Exception as err:  # noqa: BLE001 - the run goes on; the next beat tries again
        return f"History not updated: {err}"
    finally:
        sess.beat_at = now
    return None


#: The live runs this server drives: scenario id -> (its session, weakly; the history it writes to).
_DRIVEN: dict[int, tuple[weakref.ref[LiveSession], sessionmaker[Session]]] = {}
_DRIVEN_LOCK = threading.Lock()


def flush_live_runs() -> list[str]:
    """Store the step every live run of this server has reached (the server is stopping: a
    SIGTERM, Ctrl-C). Beats come every :data:`BEAT_SECONDS`; without this, the steps played since
    the last one would be lost (a resume replays up to the stored step; the events are stored as
    they happen). Returns the error messages (empty when every run was stored)."""
    from netdrift.service.scenarios import ScenarioService

    with _DRIVEN_LOCK:
        driven = list(_DRIVEN.items())
    errors = []
    for scenario_id, (ref, sessions) in driven:
        sess = ref()
        if sess is None or sess.scenario_id != scenario_id or sess.owner is None:
            continue  # the tab went on to another run, or released this one
        try:
            ScenarioService(sessions).mark_progress(scenario_id, sess.live.step, sess.owner)
        except Exception as err:  # noqa: BLE001 - one run's failure must not stop the others' flush
            errors.append(f"run {scenario_id}: {err}")
    return errors


def resume_history(sessions: sessionmaker[Session], scenario_id: int, owner: str,
                   progress: Any = None) -> LiveScenario:
    """Rebuild stored live run ``scenario_id`` where it was, driven by ``owner`` (see
    :meth:`netdrift.service.scenarios.ScenarioService.resume_live`); raises InputError naming the problem."""
    from netdrift.dashboard.common.warmup import wait_until_warm

    # Before the service's import: it loads scipy.stats, which looks into a torch that the warm-up
    # thread may be half-way through importing (a Resume clicked in the seconds after a page).
    wait_until_warm()
    from netdrift.service.scenarios import ScenarioService

    return ScenarioService(sessions).resume_live(scenario_id, owner, progress)


def claim_history(sessions: sessionmaker[Session] | None, scenario_id: int | None, owner: str, step: int) -> None:
    """The tab ``owner`` drives the run now (it was taken back from the server's memory)."""
    if sessions is None or scenario_id is None:
        return
    from netdrift.service.scenarios import ScenarioService

    ScenarioService(sessions).claim(scenario_id, owner, step)


def release_history(sessions: sessionmaker[Session] | None, sess: LiveSession) -> str | None:
    """Store the run as far as it went and let it go ("New scenario"): it stays resumable."""
    err = keep_alive(sess, sessions, force=True)
    if err or sessions is None or sess.scenario_id is None or sess.owner is None:
        return err
    from netdrift.service.scenarios import ScenarioService

    try:
        ScenarioService(sessions).release(sess.scenario_id, sess.owner)
    except Exception as e:  # noqa: BLE001 - the page keeps running; the failed write is shown
        return f"History not updated: {e}"
    return None


def unfinished_runs(sessions: sessionmaker[Session] | None) -> list[Any]:
    """The history's unfinished live runs (:class:`netdrift.service.history.LiveRun`), newest first.

    Read through :mod:`netdrift.service.history`: the start page shows them without importing the
    engine's scenario driver (the warm-up thread does that after the first page)."""
    if sessions is None:
        return []
    from netdrift.service.history import reading

    try:
        with reading(sessions) as history:
            return history.unfinished_live_runs()
    except Exception:  # noqa: BLE001 - an unreadable history offers nothing to resume
        return []


def unfinished_run_text(run: Any, topology: Topology | None = None) -> str:
    """``"Scenario 12, geant2012: step 380 of 708, 1 event (fail AT – DE (4-29) at step 350); interrupted"``."""
    from netdrift.dashboard.map.names import element_name

    evs = [f"{e.action} {element_name(topology, e.target, e.kind) if topology else e.target} at step {e.step}"
           for e in run.events]
    total = f" of {run.total_steps}" if run.total_steps else ""
    count = f"{len(evs)} event{'s' if len(evs) != 1 else ''}" + (f" ({'; '.join(evs[-3:])})" if evs else "")
    return f"Scenario {run.id}, {run.topology}: step {run.step}{total}, {count}; {run.status}"


def save_history(sessions: sessionmaker[Session] | None, scenario_id: int | None, live: LiveScenario) -> str:
    """Store what the live run observed so far as the scenario's result; a message."""
    if sessions is None or scenario_id is None:
        return "Not saved: no history row for this run."
    from netdrift.service.scenarios import ScenarioService

    try:
        ScenarioService(sessions).save(scenario_id, live)
    except Exception as err:  # noqa: BLE001 - the page keeps running; the failed save is shown
        return f"Not saved: {err}"
    return f"Saved to history as scenario {scenario_id} (steps 0..{live.step - 1})."
