"""Per-browser-session state of the dashboard, and the resources shared by all sessions.

Each browser tab has its own Streamlit session, so its live scenario lives in
``st.session_state`` (never in module globals). What may be shared across tabs (the
database session factory, loaded topologies) is cached with ``st.cache_resource``.

Configuration comes from the environment that ``netdrift dashboard`` sets:
``NETDRIFT_DB_URL`` (history database URL, see :mod:`netdrift.dashboard.common.db`; Settings may override it
per session) and
``NETDRIFT_TOPOLOGY`` (topology preselected in the Live start form).
"""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:  # the engine's scenario types, without importing them with this module
    import numpy as np
    from sqlalchemy.orm import Session, sessionmaker

    from netdrift.engine.experiments.scenario import LiveScenario
    from netdrift.engine.forecasting.protocol import Forecast
    from netdrift.engine.network.topology import Topology

__all__ = [
    "TOPOLOGY_ENV",
    "DEFAULT_TOPOLOGY",
    "LiveSession",
    "get_sessionmaker",
    "load_topology_cached",
    "bundled_topology_names",
    "default_topology_name",
    "get_live",
    "set_live",
    "clear_live",
    "chosen_topology",
    "tab_id",
    "running_live_sessions",
    "adopt_live",
]

TOPOLOGY_ENV = "NETDRIFT_TOPOLOGY"
#: GEANT 2012 (40 nodes, 61 links, real coordinates): looks like a real backbone and stays fast.
DEFAULT_TOPOLOGY = "geant2012"
_LIVE_KEY = "netdrift_live"


@dataclass
class LiveSession:
    """One browser session's live scenario and its controls.

    ``scenario_id`` is the history row (None when the history could not be written);
    ``saved`` tells whether the current state has been stored as a result. What the screen
    computes once and reuses is kept here too, not on the engine's objects: the map's node
    ``positions``, and the models' look-ahead for the live step: ``next_bands`` (each model's
    forecast of the next H steps with its interval, Mbit/s) and ``next_forecasts`` (their first
    step, what the map's hover shows), both computed at step ``next_forecasts_step``.
    """

    live: LiveScenario
    scenario_id: int | None = None
    playing: bool = False
    steps_per_tick: int = 1
    selected_link: str | None = None
    saved: bool = False
    messages: list[str] = field(default_factory=list)
    tick_ms: float | None = None  # engine time of the last live tick
    last_tick: float = 0.0  # time.monotonic() of the last timed tick
    play_carry: float = 0.0  # fraction of a step owed to the next timed tick (see live_helpers.steps_due)
    positions: dict[str, tuple[float, float]] | None = None
    next_bands: dict[str, Forecast] = field(default_factory=dict)
    next_forecasts: dict[str, np.ndarray] = field(default_factory=dict)
    next_forecasts_step: int | None = None
    owner: str | None = None  # the tab (``tab_id``) that drives the run; another tab may take it over
    beat_at: float = 0.0  # time.monotonic() of the last heartbeat written to the history
    checkpoint_step: int = 0  # the step the stored series reach
    checkpoint_due: bool = False  # an event happened since: write the series at the next beat
    checkpoint_ms: float | None = None  # time the last checkpoint took


def get_sessionmaker() -> sessionmaker[Session]:
    """The sessionmaker of the history database in use (Settings' choice, else
    ``NETDRIFT_DB_URL``, else the default), shared by every browser session.

    Raises :class:`netdrift.engine.errors.InputError` when the database cannot be opened.
    """
    from netdrift.dashboard.common.db import current_db_url
    from netdrift.dashboard.common.db import get_sessionmaker as shared

    return shared(current_db_url())


@st.cache_resource(show_spinner=False)
def load_topology_cached(name: str) -> Topology:
    """A bundled or on-disk topology, loaded once per server process."""
    from netdrift.engine.network.loaders import load_topology

    return load_topology(name)


@st.cache_resource(show_spinner=False)
def bundled_topology_names() -> list[str]:
    """Names of the topologies shipped with netdrift, sorted."""
    from netdrift.engine.network.loaders import bundled_topologies

    return sorted(bundled_topologies())


def default_topology_name() -> str:
    """The topology preselected in the start form (``NETDRIFT_TOPOLOGY`` or geant2012)."""
    return os.environ.get(TOPOLOGY_ENV) or DEFAULT_TOPOLOGY


def get_live() -> LiveSession | None:
    """This browser session's live scenario, if one was started."""
    return st.session_state.get(_LIVE_KEY)


def set_live(session: LiveSession) -> None:
    """Make ``session`` this browser session's live scenario, driven by this tab; it is also kept
    for the whole server process (:func:`running_live_sessions`) so a reload finds it again."""
    session.owner = tab_id()
    st.session_state[_LIVE_KEY] = session
    if session.scenario_id is not None:
        with _REGISTRY_LOCK:
            runs = running_live_sessions()
            runs.pop(session.scenario_id, None)
            runs[session.scenario_id] = session
            while len(runs) > MAX_KEPT_RUNS:  # the oldest is still stored and resumable from the history
                runs.pop(next(iter(runs)))


def tab_id() -> str:
    """A random token for this browser tab (a reload is a new tab), which the history stores as
    the owner of the live run it drives."""
    return st.session_state.setdefault("netdrift_tab", uuid.uuid4().hex)


#: Live runs kept in memory for a reload to take back at once (older ones resume from the history;
#: a Cogentco run of the quick preset holds 110 MB of demands alone, so only a couple).
MAX_KEPT_RUNS = 2
_REGISTRY_LOCK = threading.Lock()


@st.cache_resource(show_spinner=False)
def running_live_sessions() -> dict[int, LiveSession]:
    """{history id: live session} of the runs this server process holds, oldest first (shared by
    every tab: a tab that reloads takes its run back from here without replaying it)."""
    return {}


def adopt_live(scenario_id: int) -> LiveSession | None:
    """Take live run ``scenario_id`` from the server's memory into this tab (paused), or None when
    this process no longer holds it. The tab that drove it sees it has been taken over."""
    with _REGISTRY_LOCK:
        session = running_live_sessions().get(scenario_id)
    if session is None:
        return None
    session.playing = False
    set_live(session)
    return session


def clear_live(forget: bool = False) -> None:
    """Forget this browser session's live scenario (the history keeps what was stored); with
    ``forget``, the server's memory drops it too (it was finished or discarded)."""
    session = st.session_state.pop(_LIVE_KEY, None)
    if forget and session is not None and session.scenario_id is not None:
        with _REGISTRY_LOCK:
            running_live_sessions().pop(session.scenario_id, None)


def chosen_topology() -> Topology | None:
    """The topology picked, uploaded or edited in the Topology view, or None."""
    from netdrift.engine.network.loaders import topology_from_dict

    choice = st.session_state.get("topology_choice")
    if not choice or "topology" not in choice:
        return None
    return topology_from_dict(choice["topology"], source="topology from the Topology page")


#: How the Live and Impact pages name the topology chosen on the Topology page.
CHOSEN_PREFIX = "from Topology page: "


def topology_options() -> tuple[list[str], str]:
    """The topology choices of the Live and Impact pages (the Topology page's choice first, then a
    file given with ``netdrift dashboard --topology``, then the bundled ones) and the default."""
    names = bundled_topology_names()
    default = default_topology_name()
    if default not in names:
        names = [default, *names]
    chosen = chosen_topology()
    if chosen is not None:
        names = [CHOSEN_PREFIX + chosen.name, *names]
        default = names[0]
    return names, default


def topology_for(choice: str) -> Topology:
    """The topology of a choice made among :func:`topology_options`."""
    if choice.startswith(CHOSEN_PREFIX):
        chosen = chosen_topology()
        if chosen is not None:
            return chosen
    return load_topology_cached(choice)


def topology_size(choice: str) -> int:
    """Nodes of a choice's topology; 0 when it cannot be read (the page reports that error where
    it draws the topology)."""
    from netdrift.engine.errors import InputError

    try:
        return len(topology_for(choice).nodes)
    except InputError:
        return 0
