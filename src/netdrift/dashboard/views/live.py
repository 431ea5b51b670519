"""Live: link loads evolving on the map; click a link to fail it, watch the forecasts cope.

Screen, top to bottom:
- before a run: the unfinished live runs of the history (a reload, another tab, a restart; each with its step
  and events, to resume where it was), then a start form (topology, length, seed, models) under the quick
  preset, beside interface counters to attach (the run then replays the demands deduced from them:
  :mod:`netdrift.dashboard.common.counters`) and a preview of the topology's map (a click on it says to start a
  run first); training shows a progress bar per epoch with the time left;
- during a run: time controls (play / pause, speed, one step, save, new run: it asks first, and the run stays
  resumable); the step, simulated clock, dropped traffic and failed elements; above the map, what colours the
  links (current load or a model's forecast upper bound) and that model, and whether each link direction shows its
  utilisation as a label (on by default for small maps); the map (colour = utilisation band, dashed black =
  failed, violet = a node cut off; click a link to fail or restore it now); under it the impact of the last event
  (cut-off nodes, directions over 100 %, dropped pairs, what changed) and the overload warnings (directions whose
  upper bound reaches the warning threshold within the horizon, soonest first; click one to select it); beside the
  map the selected link direction's actual load against every model's forecast and interval band on the simulated
  clock, its capacity, failures, restores and re-fits marked, each model's running error on that direction beside
  the network's, when the re-fitting models last re-fitted, and the panel's exports.

The run is kept in the history as it goes (a heartbeat every 10 s, the series every simulated day, after an
event and on pause), so a run whose tab is gone reads "interrupted", never "running" forever. Failures asked
for on the Impact page (``netdrift_apply_failure``) are applied to the run at its current step, as clicks.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

import streamlit as st

from netdrift.dashboard.common import counters, state
from netdrift.dashboard.common.settings_logic import SETTINGS_KEY, interval_settings, overrides_text
from netdrift.dashboard.common.warmup import settle_heap, wait_until_warm
from netdrift.dashboard.live import callbacks, history
from netdrift.dashboard.live import chart as live_chart
from netdrift.dashboard.live import helpers as lh
from netdrift.dashboard.live.impact_panel import impact_of_last_event, show_impact
from netdrift.dashboard.live.panel import (
    BAND_MODEL_KEY,
    COLOUR_KEY,
    LABEL_UNIT_KEY,
    LABELS_KEY,
    TRAVEL_KEY,
    TRAVEL_STEP_KEY,
    export_buttons,
    look_back,
    map_options,
    report_buttons,
    status_line,
)
from netdrift.dashboard.map.components.topology_map import topology_map
from netdrift.dashboard.map.labels import load_label
from netdrift.dashboard.map.names import failed_text
from netdrift.dashboard.map.overload import percent_text
from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.catalogue import CATALOGUE, MODEL_NAMES

if TYPE_CHECKING:
    from netdrift.engine.network.topology import Topology

MAP_KEY = "live_map"
DIRECTION_KEY = "live_direction"
PREVIEW_NOTE_KEY = "live_preview_note"
CONFIRM_NEW_KEY = "live_confirm_new"
RESUME_KEY = "live_resume"
#: Set by the Impact page: {"topology": name, "links": [ids], "nodes": [ids], "label": str}.
APPLY_FAILURE_KEY = "netdrift_apply_failure"
MAX_WARNINGS = 8
TICK_SECONDS = 1.0
SPEEDS = {"1 step": 1, "4 steps (1 h)": 4, "12 steps (3 h)": 12, "24 steps (6 h)": 24}


# --- actions (callbacks run before the rerun they cause) ----------------------------------
def _session_maker():
    try:
        return state.get_sessionmaker()
    except InputError as err:
        st.session_state["live_history_error"] = str(err)
        return None


def _on_edge_clicked() -> None:
    sess = state.get_live()
    value = st.session_state.get(MAP_KEY) or {}
    link = value.get("edge_clicked") if hasattr(value, "get") else None
    if sess is None or not link:
        return
    if st.session_state.get(TRAVEL_KEY):
        sess.messages.append("Looking back in time: the map is read-only; turn 'Look back' off to fail or restore links.")
        return
    if st.session_state.get("live_click_mode", "Fail / restore") == "Inspect":
        topo = sess.live.topology
        if link in topo.link_index:
            i = topo.link_index[link]
            u = sess.live.utilization_at(lh.shown_step(sess.live))
            st.session_state[DIRECTION_KEY] = 2 * i + int(u[2 * i + 1] > u[2 * i])
        return
    outcome = callbacks.toggle_element(sess.live, link, "link")
    _after_toggle(sess, outcome)


def _on_node_clicked() -> None:
    sess = state.get_live()
    value = st.session_state.get(MAP_KEY) or {}
    node = value.get("node_clicked") if hasattr(value, "get") else None
    if sess is None or not node or st.session_state.get("live_click_mode") != "Fail / restore" \
            or st.session_state.get(TRAVEL_KEY):
        return
    outcome = callbacks.toggle_element(sess.live, node, "node")
    _after_toggle(sess, outcome)


def _after_toggle(sess: state.LiveSession, outcome: callbacks.ClickOutcome) -> None:
    sess.messages.append(outcome.message)
    if outcome.event is not None:  # outcome.ok
        sess.saved = False
        sess.checkpoint_due = True  # the series are stored at the next beat, not in the click's time
        lh.forget_look_ahead(sess)  # every forecast knows the event at once
        err = callbacks.record_event(_session_maker(), sess.scenario_id, outcome.event)
        if err:
            sess.messages.append(err)


def _on_preview_clicked() -> None:
    st.session_state[PREVIEW_NOTE_KEY] = "Start a run to fail links."


def _step_once() -> None:
    sess = state.get_live()
    if sess:
        sess.tick_ms = lh.tick(sess, 1)
        _report(history.keep_alive(sess, _session_maker()))


def _toggle_play() -> None:
    sess = state.get_live()
    if sess:
        sess.playing = not sess.playing
        sess.last_tick = 0.0
        if not sess.playing:  # paused: store the run as far as it went
            _report(history.keep_alive(sess, _session_maker(), force=True))


def _report(err: str | None) -> None:
    sess = state.get_live()
    if err and sess is not None:
        sess.messages.append(err)


def _save() -> None:
    sess = state.get_live()
    if sess:
        sess.messages.append(history.save_history(_session_maker(), sess.scenario_id, sess.live))
        sess.saved = True
        sess.checkpoint_step = sess.live.step


def _ask_new_run() -> None:
    st.session_state[CONFIRM_NEW_KEY] = True
    sess = state.get_live()
    if sess:
        sess.playing = False


def _new_run() -> None:
    st.session_state.pop(CONFIRM_NEW_KEY, None)
    sess = state.get_live()
    if sess is not None:
        err = history.release_history(_session_maker(), sess)
        if err:
            st.session_state["live_history_error"] = err
    state.clear_live(forget=sess is not None and sess.live.finished)
    for key in (DIRECTION_KEY, BAND_MODEL_KEY, COLOUR_KEY, LABELS_KEY, LABEL_UNIT_KEY, TRAVEL_KEY, TRAVEL_STEP_KEY):
        st.session_state.pop(key, None)


def _cancel_new_run() -> None:
    st.session_state.pop(CONFIRM_NEW_KEY, None)


def _ask_resume(scenario_id: int) -> None:
    st.session_state[RESUME_KEY] = scenario_id


def _select_direction(direction: int) -> None:
    st.session_state[DIRECTION_KEY] = direction


# --- screen parts --------------------------------------------------------------------------
def resume_offer() -> None:
    """The history's unfinished live runs (a reload, another tab, a restart), each to resume."""
    sessions = _session_maker()
    runs = history.unfinished_runs(sessions)
    if not runs:
        return
    with st.container(border=True):
        st.markdown("**Unfinished live runs**: stored up to their last step; resume one where it was.")
        kept = state.running_live_sessions()
        for i, run in enumerate(runs):
            if run.id in kept:  # held in memory: it resumes at its live step, maybe past the last beat
                run = replace(run, step=kept[run.id].live.step, events=list(kept[run.id].live.events))
            topo = _stored_topology(run.topology)
            c1, c2 = st.columns([5, 1])
            c1.markdown(history.unfinished_run_text(run, topo))
            c2.button("Resume", key=f"live_resume_{run.id}", on_click=_ask_resume, args=(run.id,),
                      type="primary" if i == 0 else "secondary", width="stretch")


def _stored_topology(name: str) -> Topology | None:
    try:
        return state.load_topology_cached(name)
    except Exception:  # noqa: BLE001 - names then fall back to ids
        return None


def resume_run(scenario_id: int) -> None:
    """Take run ``scenario_id`` into this tab: from the server's memory at once, else rebuilt from
    the history (its stored models, the steps after training replayed)."""
    sessions = _session_maker()
    sess = state.adopt_live(scenario_id)
    if sess is not None:
        try:
            history.claim_history(sessions, scenario_id, sess.owner or state.tab_id(), sess.live.step)
        except Exception as err:  # noqa: BLE001 - the run goes on in this tab
            sess.messages.append(f"History not updated: {err}")
        sess.messages.append(f"Resumed scenario {scenario_id} at step {sess.live.step}.")
    elif sessions is not None:
        bar = st.progress(0.0, text=f"Rebuilding scenario {scenario_id}...")
        try:
            live = history.resume_history(
                sessions, scenario_id, state.tab_id(), progress=lambda msg, frac: bar.progress(
                    min(1.0, max(0.0, frac)), text=f"Rebuilding scenario {scenario_id}: {msg}"))
        except InputError as err:
            bar.empty()
            st.error(str(err))
            return
        bar.empty()
        sess = state.LiveSession(live=live, scenario_id=scenario_id, checkpoint_due=True)  # series: next beat
        sess.messages.append(f"Resumed scenario {scenario_id} at step {live.step} (rebuilt from the history).")
        state.set_live(sess)
    else:
        return
    st.session_state[DIRECTION_KEY] = lh.busiest_direction(sess.live)
    st.session_state.pop(BAND_MODEL_KEY, None)
    st.rerun()


def start_form() -> None:
    names, default = state.topology_options()
    p = lh.QUICK_PRESET
    settings = st.session_state.get(SETTINGS_KEY)
    form_col, map_col = st.columns([2, 3])
    with form_col:
        st.subheader("Start a live scenario")
        topo = st.selectbox("Topology", names, index=names.index(default), key="live_topology")
        with st.form("live_start"):
            c2, c3, c4 = st.columns(3)
            train = c2.number_input("Training steps", min_value=48, max_value=4032, value=p.train_steps, step=24)
            watch = c3.number_input("Live steps after training", min_value=24, max_value=4032,
                                    value=p.steps - p.train_steps, step=24)
            seed = c4.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1)
            chosen, left_out = lh.start_models(state.topology_size(topo), st.session_state.get("observe", "links"))
            models = st.multiselect("Models", MODEL_NAMES, default=chosen, format_func=lambda m: CATALOGUE[m].label)
            st.caption(lh.preset_text(int(train), int(watch)) + (f" {left_out}" if left_out else "")
                       + (f" Changed on the Settings page: {overrides_text(settings)}." if settings else ""))
            level, warn = interval_settings(st.session_state)
            st.caption(f"Device: {st.session_state.get('device', 'auto')}; "
                       + (f"{percent_text(level)} prediction intervals, warnings at {percent_text(warn)} of capacity"
                          if level is not None else "no prediction intervals")
                       + " (change them in Settings).")
            submitted = st.form_submit_button("Train and start", type="primary")
        if submitted:
            start_run(topo, int(train) + int(watch), int(train), int(seed), models, settings)
    with map_col:
        try:
            preview = state.topology_for(topo)
        except InputError as err:
            st.error(str(err))
            return
        counters.counters_panel(preview, key="live_counters")
        st.caption(f"{preview.name}: {len(preview.nodes)} nodes, {len(preview.links)} links "
                   "(grey until the run starts; link width = capacity)")
        topology_map(lh.preview_map_data(preview), key=MAP_KEY,
                     on_edge_clicked=_on_preview_clicked, on_node_clicked=_on_preview_clicked)
        if note := st.session_state.pop(PREVIEW_NOTE_KEY, None):
            st.info(note, icon=":material/info:")


def start_run(topology_name: str, steps: int, train_steps: int, seed: int, models: list[str],
              forecast: dict[str, object] | None = None) -> None:
    bar = st.progress(0.0, text="Preparing the scenario...")
    wait_until_warm()  # the engine's imports: after the warm-up thread's, not beside them
    from netdrift.engine.experiments.scenario import LiveScenario
    from netdrift.engine.forecasting.torch_utils import resolve_device
    try:
        topo = state.topology_for(topology_name)
        device = resolve_device(st.session_state.get("device", "auto"))
        level, warn = interval_settings(st.session_state)
        spec = counters.spec_with_counters(lh.make_spec(topo.name, steps, train_steps, seed, models, device, forecast,
                                                        st.session_state.get("observe", "links"), level, warn), topo)
        live = LiveScenario.from_spec(spec, topology=topo)
        bar.progress(0.02, text=f"Training on {train_steps} steps...")

        def training(msg: str, frac: float) -> None:
            bar.progress(min(1.0, max(0.0, frac)), text=f"Training: {msg}")

        live.train(progress=training)
    except InputError as err:
        bar.empty()
        st.error(str(err))
        return
    bar.empty()
    settle_heap()  # the trained models and series live as long as the run
    sess = state.LiveSession(live=live, checkpoint_step=live.step)
    sess.scenario_id, not_stored = history.start_history(_session_maker(), live, label=f"live {topo.name}",
                                                         owner=state.tab_id())
    if not_stored:
        sess.messages.append(not_stored)
    sess.last_tick = 0.0
    sess.beat_at = time.monotonic()
    state.set_live(sess)
    st.session_state[DIRECTION_KEY] = lh.busiest_direction(live)
    st.session_state.pop(BAND_MODEL_KEY, None)  # this run's models may differ
    st.rerun()


def controls(sess: state.LiveSession) -> None:
    c = st.columns([1.1, 1.0, 1.6, 1.3, 1.3, 2.2])
    c[0].button("Pause" if sess.playing else "Play", on_click=_toggle_play, type="primary",
                disabled=sess.live.finished, width="stretch", key="live_play")
    c[1].button("Step", on_click=_step_once, disabled=sess.live.finished or sess.playing,
                width="stretch", key="live_step", help="Advance one step")
    label = c[2].selectbox("Speed (per second)", list(SPEEDS), key="live_speed", label_visibility="collapsed")
    sess.steps_per_tick = SPEEDS[label]
    c[3].button("Save to history", on_click=_save, width="stretch", key="live_save")
    c[4].button("New scenario", on_click=_ask_new_run, width="stretch", key="live_new")
    c[5].segmented_control("Click on a link to", ["Fail / restore", "Inspect"], default="Fail / restore",
                           key="live_click_mode", label_visibility="collapsed")
    if st.session_state.get(CONFIRM_NEW_KEY):
        with st.container(border=True):
            where = (f"scenario {sess.scenario_id} keeps it up to step {sess.live.step} and this page offers "
                     "it for resume" if sess.scenario_id is not None else "it has no history row and will be lost")
            st.markdown(f"**Start a new scenario?** This run stops here; {where}.")
            y, n, _ = st.columns([1.2, 1, 3])
            y.button("Yes, start a new one", on_click=_new_run, type="primary", key="live_new_yes")
            n.button("Cancel", on_click=_cancel_new_run, key="live_new_no")


def apply_requested_failure(sess: state.LiveSession | None) -> None:
    """Failures asked for on the Impact page: applied to this tab's run at its current step (as
    clicks), or a line saying to start a run on that topology first (the request is kept)."""
    request = st.session_state.get(APPLY_FAILURE_KEY)
    if not request:
        return
    topology = request.get("topology")
    label = request.get("label") or "the failure chosen on the Impact page"
    if sess is None or sess.live.finished or str(topology).casefold() != sess.live.topology.name.casefold():
        st.info(f"To apply {label}, start a live run on {topology} first (it is applied when the run starts).",
                icon=":material/info:")
        return
    st.session_state.pop(APPLY_FAILURE_KEY)
    when = lh.worst_step_text(sess.live, request.get("worst_step"))  # said with the click's own message
    for kind, targets in (("link", request.get("links") or []), ("node", request.get("nodes") or [])):
        for target in targets:
            outcome = callbacks.fail_element(sess.live, target, kind)
            if outcome.ok and when:
                outcome = replace(outcome, message=f"{outcome.message} {when}")
            _after_toggle(sess, outcome)


def beat(sess: state.LiveSession) -> None:
    """While paused, the run's heartbeat (the history calls a run without one interrupted)."""
    _report(history.keep_alive(sess, _session_maker()))
    if sess.owner != state.tab_id():  # another tab or dashboard server took the run over
        st.rerun(scope="app")


def live_panel(sess: state.LiveSession) -> None:
    live = sess.live
    if sess.owner != state.tab_id():
        st.rerun(scope="app")  # another tab took the run over
    since = time.monotonic() - sess.last_tick
    if sess.playing and not live.finished and since >= 0.8 * TICK_SECONDS:
        sess.last_tick = time.monotonic()
        steps, sess.play_carry = lh.steps_due(sess.steps_per_tick, since, TICK_SECONDS, sess.play_carry)
        sess.tick_ms = lh.tick(sess, steps)
        sess.saved = False
    if live.finished and (sess.playing or not sess.saved):  # played or stepped to the end: stored complete
        was_playing, sess.playing = sess.playing, False
        if not sess.saved:
            sess.messages.append(history.save_history(_session_maker(), sess.scenario_id, live))
            sess.saved = True
            sess.checkpoint_step = live.step
        if was_playing:
            st.rerun(scope="app")

    past = look_back(live)
    step = lh.shown_step(live) if past is None else past
    down_links, down_nodes = (live.down_links, live.down_nodes) if past is None else live.simulator.state_at(past)
    m = st.columns([1, 1, 1.2, 2.4, 0.8])  # failed links by name need the room
    m[0].metric("Step", f"{live.step} / {live.total_steps}" if past is None else f"{past} (run at {live.step})")
    m[1].metric("Simulated time", live.time_of(step).strftime("%a %H:%M"))
    m[2].metric("Dropped traffic", load_label(live.dropped_mbps_at(step)),  # "8.5 Gbit/s": never cut off
                help=f"{live.dropped_mbps_at(step):,.0f} Mbit/s of demand with no path at step {step}")
    m[3].metric("Failed", failed_text(live.topology, down_links, down_nodes))
    m[4].metric("Engine tick", "-" if sess.tick_ms is None else f"{sess.tick_ms:.0f} ms")
    status_line(sess.messages[-1] if sess.messages else "No event yet: click a link on the map to fail it.")

    left, right = st.columns([3, 2])
    with left:
        model, colour_by_upper, labels, unit = map_options(live)
        impact = impact_of_last_event(live, step=past)
        data = lh.map_data(sess, _selected_link(sess), model, colour_by_upper, labels,
                           highlight=frozenset(impact.cut_off) if impact else frozenset(), label_unit=unit, step=past)
        data["click_mode"] = ("preview" if past is not None
                              else "inspect" if st.session_state.get("live_click_mode") == "Inspect" else "toggle")
        topology_map(data, key=MAP_KEY, on_edge_clicked=_on_edge_clicked, on_node_clicked=_on_node_clicked)
        show_impact(impact)
        if past is None:
            warnings_list(sess, model)
        else:
            st.caption("Overloads now and warnings are listed at the run's live step (turn 'Look back' off).")
        report_buttons(sess, past, model, st.session_state.get(DIRECTION_KEY))
    with right:
        options = lh.direction_options(live.topology)
        names = dict(options)
        st.selectbox("Link direction", [d for d, _ in options], format_func=names.__getitem__, key=DIRECTION_KEY)
        d = st.session_state[DIRECTION_KEY]
        st.vega_lite_chart(spec=live_chart.link_chart_spec(live, d, end=None if past is None else past + 1),
                           width="stretch")
        errors = lh.errors_table(live, d)
        if live.step > live.train_steps and len(errors):
            st.caption("Running error over the last day: this link direction, and the whole network")
            st.dataframe(errors, hide_index=True, width="stretch")
        refits = lh.refit_caption(live)
        if refits:
            st.caption(refits)
        export_buttons(live, d)
    _report(history.keep_alive(sess, _session_maker()))  # after the frame is drawn: a checkpoint does not delay it


def warnings_list(sess: state.LiveSession, model: str | None) -> None:
    live = sess.live
    selected = st.session_state.get(DIRECTION_KEY)
    overloads = lh.overload_rows(sess)
    if overloads:  # what already hurts comes before any forecast
        st.markdown("**Overloads now**")
        for d, text in overloads[:MAX_WARNINGS]:
            st.button(text, key=f"live_over_{d}", on_click=_select_direction, args=(d,), icon=":material/error:",
                      type="secondary" if d == selected else "tertiary")
        if len(overloads) > MAX_WARNINGS:
            st.caption(f"And {len(overloads) - MAX_WARNINGS} more over capacity.")
    rows = lh.warning_rows(sess, model)
    if rows is None or live.warn_utilization is None:
        return
    st.markdown(f"**Overload warnings**: {model}'s upper bound reaches {percent_text(live.warn_utilization)} "
                f"of capacity within {lh.horizon_text(live)}, sustained: in this step's forecast and in one "
                "of the two before (2 of the last 3), so a lone spike of the bound does not warn")
    if not rows:
        st.caption("None: no link direction below the threshold is forecast to reach it.")
        return
    for d, text in rows[:MAX_WARNINGS]:
        st.button(text, key=f"live_warn_{d}", on_click=_select_direction, args=(d,), icon=":material/warning:",
                  type="secondary" if d == selected else "tertiary")
    more = len(rows) - MAX_WARNINGS
    st.caption((f"And {more} more. " if more > 0 else "") + "Click a warning to select its link direction.")


def _selected_link(sess: state.LiveSession) -> str | None:
    d = st.session_state.get(DIRECTION_KEY)
    if d is None:
        return None
    return sess.live.topology.direction_names()[d][0]


# --- the screen ----------------------------------------------------------------------------
st.header("Live")
if "live_history_error" in st.session_state:
    st.warning(st.session_state["live_history_error"])
session = state.get_live()
if session is not None and session.owner != state.tab_id():
    state.clear_live()
    session = None
    st.info("Your live run was taken over by another tab or server; it continues there.", icon=":material/info:")
if session is None and (pending := st.session_state.pop(RESUME_KEY, None)) is not None:
    resume_run(pending)
    session = state.get_live()
apply_requested_failure(session)
if session is None:
    offer = st.container()  # above the form, filled after it: the preview map is not kept waiting
    start_form()
    with offer:
        resume_offer()
else:
    controls(session)
    st.fragment(run_every=TICK_SECONDS if session.playing else None)(live_panel)(session)
    if not session.playing:
        st.fragment(run_every=history.BEAT_SECONDS)(beat)(session)
