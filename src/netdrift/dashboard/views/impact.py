"""Impact: which failure hurts most, and each link direction's worst case over all of them.

Screen, top to bottom:
- run a sweep (left): the topology (the same choice as Live's), what to fail (each link, each
  node, each pair of links, or the shared-risk link groups of an uploaded file), the window and
  the synthetic traffic, or interface counters attached (the demands deduced from them swept:
  :mod:`netdrift.dashboard.common.counters`); a progress bar while it runs; it is stored in the history;
- or open a stored sweep (right), including those of ``netdrift sweep``;
- the sweep shown: what it is (one line), the severity definition, the ranked failures by name
  (a click on a row fails it on the Live map, or shows its details: the operator chooses), a bar
  chart of the most severe ones with its exports (PNG / SVG / PDF, CSV of the whole table);
- the map coloured by each direction's worst utilisation over all failures (the hover names the
  failure causing it) beside the details of one failure: overloaded directions with their
  excess, dropped traffic, cut node pairs; the worst-case map exports as the charts do;
- the Plan view (:mod:`netdrift.dashboard.impact.plan_view`): the cheapest upgrades so that no
  failure of a set overloads the network over a horizon, when each is needed, before / after maps.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import streamlit as st

from netdrift.dashboard.common import state
from netdrift.dashboard.common.counters import (
    attached_for,
    attached_loads,
    counters_caption,
    counters_defaults,
    counters_panel,
)
from netdrift.dashboard.common.download_buttons import export_buttons
from netdrift.dashboard.impact import data as idt
from netdrift.dashboard.impact.defaults import OWN_DEFAULTS, SweepDefaults, forecast_start, live_defaults
from netdrift.dashboard.impact.plan_view import plan_section
from netdrift.dashboard.impact.progress import SweepProgress
from netdrift.dashboard.map.components.topology_map import topology_map
from netdrift.dashboard.map.model import labels_by_default, node_positions
from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology
from netdrift.engine.sweep import KINDS
from netdrift.service.sweeps import (
    SRLG_TYPES,
    SrlgUpload,
    StoredSweep,
    SweepSettings,
    list_sweeps,
    open_sweep,
    run_sweep,
    store_deduction_bounds,
)

SWEEP_KEY = "impact_sweep"
CLICK_KEY = "impact_click_mode"
DETAIL_KEY = "impact_detail_rank"
MAP_KEY = "impact_map"
HANDLED_KEY = "impact_row_handled"
USE_LIVE_KEY = "impact_use_live"
CLICK_MODES = ("fails it on the Live map", "shows its details")
#: Live's url_path in app.py; Streamlit identifies a page by its url_path alone.
LIVE_URL_PATH = "live"
MAX_TABLE_ROWS = 2000
#: What a sweep routes: the traffic of the window, or a routed model's forecast of it (the naive
#: routed models only: they need no training; the CLI runs the learnt ones).
DEMAND_CHOICES: dict[str | None, str] = {
    None: "the traffic in the window",
    "routed-persistence": "forecast: the last demands, routed (routed persistence)",
    "routed-seasonal": "forecast: a day earlier's demands, routed (routed seasonal)",
}
LARGE_SWEEP = 5000


# --- what the page reads -------------------------------------------------------------------
def positions_of(stored: StoredSweep) -> dict[str, tuple[float, float]]:
    """Node positions of the sweep's topology, computed once per browser session and sweep."""
    cache = st.session_state.setdefault("impact_positions", {})
    if stored.id not in cache:
        cache.clear()
        cache[stored.id] = node_positions(stored.topology)
    return cache[stored.id]


def sessions_or_error():
    try:
        return state.get_sessionmaker()
    except InputError as err:
        st.error(str(err))
        return None


# --- screen parts --------------------------------------------------------------------------
def run_form() -> None:
    st.subheader("Run a sweep")
    names, default = state.topology_options()
    choice = st.selectbox("Topology", names, index=names.index(default), key="impact_topology")
    try:
        topology = state.topology_for(choice)
    except InputError as err:
        st.error(str(err))
        return
    n_links = len(topology.links)
    counts = {"link": n_links, "node": len(topology.nodes), "link-pairs": n_links * (n_links - 1) // 2}
    kind = st.radio("Fail", KINDS, format_func=lambda k: idt.KIND_LABELS[k]
                    + (f" ({counts[k]:,})" if k in counts else ""), horizontal=True, key="impact_kind")
    if counts.get(kind, 0) > LARGE_SWEEP:
        st.caption(f"{counts[kind]:,} failures: this runs for a while here (with a progress bar); "
                   "`netdrift sweep` runs it from a shell, and the result opens here.")
    upload = None
    if kind == "srlg":
        upload = st.file_uploader("Shared-risk link groups: CSV with header 'srlg,link_id', or JSON "
                                  "{\"srlgs\": [{\"id\": ..., \"links\": [...]}]}", type=list(SRLG_TYPES),
                                  key="impact_srlg")
    attached = counters_panel(topology, key="impact_counters")
    d = form_defaults(topology) if attached is None else counters_defaults(attached, form_defaults(topology))
    top = max(20_160, d.steps)
    with st.form("impact_run"):
        c = st.columns(3)
        from_live = d.source in ("live", "counters")  # the Live run's or deduced traffic: shown, not editable
        steps = c[0].number_input("Steps of traffic", min_value=1, max_value=top, value=d.steps, step=24,
                                  disabled=from_live)
        minutes = c[1].number_input("Step length (min)", min_value=0.01, max_value=max(60.0, d.step_minutes),
                                    value=d.step_minutes, step=1.0, disabled=from_live)
        seed = c[2].number_input("Seed", min_value=0, max_value=2**31 - 1, value=d.seed, step=1, disabled=from_live)
        c = st.columns(3)
        start = c[0].number_input("From step", min_value=0, max_value=top, value=d.start, step=12)
        stop = c[1].number_input("To step (excluded)", min_value=0, max_value=top, value=d.stop, step=12)
        peak = c[2].number_input("Peak utilisation, all links up (%)", min_value=1.0, max_value=400.0,
                                 value=d.peak_pct, step=5.0, disabled=from_live,
                                 help="The synthetic traffic is scaled so the busiest link direction peaks here.")
        st.caption(traffic_caption(d))
        c = st.columns(3)
        demands = c[0].selectbox(
            "Demands swept", list(DEMAND_CHOICES), format_func=DEMAND_CHOICES.__getitem__, key="impact_forecast",
            help="A routed model's forecast made at 'From step' answers: what will hurt most if it fails now? "
                 "(`netdrift sweep --forecast` also runs the learnt routed models.)")
        horizon = c[1].number_input("Forecast horizon (steps)", min_value=1, max_value=2016, value=12, step=1,
                                    help="With a forecast, the window is From step .. From step + horizon.")
        submitted = st.form_submit_button("Run the sweep", type="primary")
    if submitted:
        if demands:
            start = forecast_start(int(start), int(steps), float(minutes))
        stop = int(start) + int(horizon) if demands else int(stop)
        settings = SweepSettings(kind, int(start), stop, int(steps), d.traffic, float(minutes), int(seed),
                                 float(peak) / 100.0, forecast=demands, traffic_model=d.traffic_model)
        run(topology, choice, settings, upload)


def form_defaults(topology: Topology) -> SweepDefaults:
    """The Live run's traffic and window when this tab has a Live run on ``topology`` (a toggle
    switches to the page's own), else the page's own defaults."""
    sess = state.get_live()
    live = sess.live if sess is not None else None
    if live is None or live.finished or live.topology.name.casefold() != topology.name.casefold():
        return OWN_DEFAULTS
    use_live = st.toggle("Sweep the Live run's traffic, from its current step", value=True, key=USE_LIVE_KEY,
                         help="Off: a separate window of synthetic traffic with this page's own settings.")
    return live_defaults(live) if use_live else OWN_DEFAULTS


def traffic_caption(d: SweepDefaults) -> str:
    if d.source == "counters":
        return counters_caption(d)
    if d.source == "live":
        what = "replayed from " + d.traffic if d.traffic != "synthetic" else f"synthetic ({d.traffic_model or 'sine'})"
        return (f"The Live run's traffic ({what}, {d.steps} steps of {d.step_minutes:g} min, seed {d.seed}); "
                f"the window starts at its current step, {d.start}.")
    return ("Synthetic traffic (daily and weekly cycles, gravity model), seeded. A forecast sweep from step 0 "
            "starts after the first day instead (a forecast needs observed steps).")


def run(topology: Topology, choice: str, settings: SweepSettings, upload: Any) -> None:
    sessions = sessions_or_error()
    if sessions is None:
        return
    bar = st.progress(0.0, text="Preparing the traffic...")
    progress = SweepProgress(bar)  # done / total, rate and time left, once a percent or a second
    srlg = SrlgUpload(upload.name, upload.getvalue()) if upload is not None else None
    try:
        # Threads, not forked processes: a Streamlit server must not fork itself.
        stored = run_sweep(sessions, topology, settings, topology_source=choice, srlg=srlg, processes=False,
                           progress=progress)
    except InputError as err:
        bar.empty()
        st.error(str(err))
        return
    bar.empty()
    show(stored)


def show(stored: StoredSweep) -> None:
    """Make ``stored`` the sweep the page shows (details of the most severe failure)."""
    st.session_state[SWEEP_KEY] = stored
    st.session_state[DETAIL_KEY] = 1
    st.session_state.pop(HANDLED_KEY, None)


def open_form() -> None:
    st.subheader("Open a stored sweep")
    sessions = sessions_or_error()
    if sessions is None:
        return
    try:
        stored = list_sweeps(sessions)
    except InputError as err:
        st.error(str(err))
        return
    if not stored:
        st.caption("No sweep stored yet: run one here or with `netdrift sweep`.")
        return
    labels = {s["id"]: f"#{s['id']} {s['topology']}: {s['n_failures']:,} {s['kind']} failures "
                       f"({s['created_at'][:16].replace('T', ' ')})" for s in stored}
    newest = max(labels)
    if st.session_state.get("impact_stored_newest") != newest:  # a new sweep (here or by the CLI): show it
        st.session_state["impact_stored_newest"] = newest
        st.session_state["impact_stored"] = newest
    sweep_id = st.selectbox("Stored sweep", list(labels), format_func=labels.__getitem__, key="impact_stored")
    if st.button("Open", key="impact_open") and sweep_id is not None:
        try:
            show(open_sweep(sessions, int(sweep_id)))
        except InputError as err:
            st.error(str(err))


def ranking(stored: StoredSweep) -> None:
    table = idt.ranking_table(stored)
    st.subheader("Failures ranked by severity")
    st.caption(idt.SEVERITY_TEXT)
    mode = st.segmented_control("A click on a row", CLICK_MODES, default=CLICK_MODES[0], key=CLICK_KEY)
    shown = table.head(MAX_TABLE_ROWS)
    event = st.dataframe(shown, hide_index=True, width="stretch", height=min(400, 38 + 35 * len(shown)),
                         on_select="rerun", selection_mode="single-row", key=f"impact_table_{stored.id}",
                         column_config={"Worst utilisation (%)": st.column_config.NumberColumn(format="%.1f")})
    if len(table) > MAX_TABLE_ROWS:
        st.caption(f"The {MAX_TABLE_ROWS:,} most severe of {len(table):,} failures; the CSV has them all.")
    rows = list(event.selection.rows) if event is not None else []
    on_row(stored, rows[0] + 1 if rows else None, mode or CLICK_MODES[0])
    chart = idt.severity_chart(table)
    st.altair_chart(chart, width="content")
    export_buttons(chart, table, f"impact_{stored.topology.name}_{stored.kind}_ranking", "impact_exp_rank",
                   "Failures ranked by severity (worst utilisation)", sweep_text(stored))
    counters_pin(stored)


#: Failures whose range "what the counters pin" computes (two linear programs each).
PIN_TOP = 10


def counters_pin(stored: StoredSweep) -> None:
    """For a sweep of the demands deduced from interface counters: the range each of the most
    severe failures' figure can take over every demand matrix that reproduces the loads. Computed
    on request while the counters are attached, then kept with the sweep in the history (as
    ``netdrift sweep --bounds`` keeps its own), so a reopened sweep shows them again."""
    attached = attached_for(stored.topology)
    if attached is not None and stored.config.get("traffic") != attached.traffic:
        attached = None  # counters of another day: not those this sweep ran on
    loads = None if attached is None else attached_loads(attached, stored.topology)
    kept = idt.bounds_table(stored)
    if loads is None and kept.empty:
        return
    st.subheader("What the counters pin")
    st.caption("Many demand matrices reproduce the measured loads, and they re-route differently when a link "
               "fails. For each failure: the lowest and highest utilisation its worst direction can have at "
               "its worst step over all of them. A narrow range (within 1 %) is fixed by the counters; a wide "
               "one rests on the deduction, and so does the order of failures inside each other's ranges. "
               "The lower end is a floor of the failure's true worst utilisation. Two linear programs a "
               "failure: a moment on a small network, seconds each on a large one, at most a minute each "
               "(past that the range is not given).")
    top = min(PIN_TOP, len(stored.failures))
    if attached is not None and loads is not None and len(kept) < top and st.button(f"Compute for the {top} most severe failures",
                                                          key=f"impact_pin_{stored.id}_go"):
        from netdrift.engine.sweep.deduction_bounds import deduction_bounds
        from netdrift.engine.traffic.sources import make_traffic

        sessions = sessions_or_error()
        if sessions is None:
            return
        with st.spinner("Solving..."):
            deduced = make_traffic(attached.traffic, stored.topology, attached.steps, None, seed=0)
            bounds = deduction_bounds(stored.topology, loads, deduced, stored.failures[:top])
        try:
            stored = store_deduction_bounds(sessions, stored, bounds)
        except InputError as err:
            st.error(str(err))
            return
        st.session_state[SWEEP_KEY] = stored
        st.rerun()  # drawn again from the stored sweep, without the button
    if not kept.empty:
        st.dataframe(kept, hide_index=True, width="stretch", key=f"impact_pin_{stored.id}_table")
        st.caption(f"Kept with sweep #{stored.id} in the history (`netdrift sweep --link-loads ... --bounds` "
                   "keeps those of the failures it lists).")


def sweep_text(stored: StoredSweep) -> str:
    """One line naming the sweep an export comes from."""
    r = stored.result
    return (f"Topology {stored.topology.name}; every {stored.kind} failure ({len(stored.failures):,}) over steps "
            f"{r.get('from')}-{r.get('to')} of {stored.config.get('steps', '?')} "
            f"({r.get('step_minutes', '?')} min a step); traffic {stored.config.get('traffic', 'synthetic')}, "
            f"seed {stored.config.get('seed', '?')}")


def on_row(stored: StoredSweep, rank: int | None, mode: str) -> None:
    """A row clicked: fail it on the Live map (and go there) or show its details."""
    if rank is None:
        st.session_state.pop(HANDLED_KEY, None)
        return
    if st.session_state.get(HANDLED_KEY) == (stored.id, rank):
        return  # the same selection, still there after a rerun (or after the mode changed)
    st.session_state[HANDLED_KEY] = (stored.id, rank)
    if mode == CLICK_MODES[1]:
        st.session_state[DETAIL_KEY] = rank
    else:
        apply_in_live(stored, rank)


def apply_in_live(stored: StoredSweep, rank: int) -> None:
    """Ask the Live page to fail the failure at ``rank`` and go there."""
    st.session_state[idt.APPLY_FAILURE_KEY] = idt.apply_request(stored, rank)
    st.switch_page(st.Page(_live_page, title="Live", url_path=LIVE_URL_PATH))


def _live_page() -> None:
    """Stands for app.py's Live page in ``st.switch_page``, which finds a page by its url_path
    alone (the view cannot import the page object from the app script); never run."""


def _on_map_click() -> None:
    """A link clicked on the worst-case map: show the failure causing its worst case."""
    stored = st.session_state.get(SWEEP_KEY)
    value = st.session_state.get(MAP_KEY) or {}
    link = value.get("edge_clicked") if hasattr(value, "get") else None
    rank = idt.worst_failure_rank(stored, link) if stored is not None and link else None
    if rank is not None:
        st.session_state[DETAIL_KEY] = rank


def worst_case(stored: StoredSweep) -> None:
    left, right = st.columns([3, 2])
    rank = int(st.session_state.get(DETAIL_KEY, 1))
    rank = min(max(rank, 1), len(stored.failures))
    with left:
        st.subheader("Worst case per link direction")
        st.caption("Each direction coloured by its worst utilisation over all failures; hover a link for the "
                   "failure that causes it, when, and its utilisation without failure; click it for that "
                   "failure's details.")
        labels = st.checkbox("Show utilisation labels", value=labels_by_default(stored.topology),
                             key="impact_labels")
        links = stored.failures[rank - 1]["links"] if stored.failures else []
        data = idt.worst_case_map(stored, positions_of(stored), links[0] if len(links) == 1 else None, labels)
        topology_map(data, key=MAP_KEY, on_edge_clicked=_on_map_click)
        export_buttons(idt.worst_case_chart(stored, positions_of(stored)), idt.worst_case_table(stored),
                       f"impact_{stored.topology.name}_{stored.kind}_worst_case", "impact_exp_map",
                       "Each direction's worst utilisation over all failures", sweep_text(stored))
    with right:
        details(stored)


def details(stored: StoredSweep) -> None:
    st.subheader("Details of one failure")
    if not stored.failures:
        st.caption("This sweep has no failures.")
        return
    rank = st.number_input("Rank", min_value=1, max_value=len(stored.failures), step=1, key=DETAIL_KEY)
    d = idt.failure_details(stored, int(rank))
    st.markdown(f"**{d['name']}**")
    m = st.columns(2)
    m[0].metric("Worst utilisation", "n/a" if d["worst_utilization_pct"] is None else f"{d['worst_utilization_pct']:.1f} %")
    m[1].metric("Worst step", "-" if d["worst_step"] is None else str(d["worst_step"]))
    if d["worst_direction"]:
        st.caption(f"On {d['worst_direction']}.")
    drop = st.columns(3)
    drop[0].metric("Peak dropped", f"{d['dropped_mbps_max']:,.1f} Mbit/s", help="The most traffic dropped at one step.")
    drop[1].metric("Dropped volume", f"{(d['dropped_mbit'] or 0.0) / 1000:,.1f} Gbit",
                help=f"All traffic dropped over the window: {d['dropped_mbps_total']:,.1f} Mbit/s x steps "
                     "(the table's total) times the step length.")
    drop[2].metric("Cut node pairs", f"{d['cut_pairs']:,}", help="Node pairs left without any path.")
    if d["cut_pairs_sample"]:
        more = d["cut_pairs"] - len(d["cut_pairs_sample"])
        st.caption("Cut off: " + ", ".join(d["cut_pairs_sample"]) + (f" and {more:,} more." if more > 0 else "."))
    if d["lost_endpoint_pairs"]:
        st.caption(f"{d['lost_endpoint_pairs']:,} node pairs lose an end with the failed node(s).")
    if len(d["overloaded"]):
        st.markdown(f"{len(d['overloaded'])} link direction(s) over 100 %:")
        st.dataframe(d["overloaded"], hide_index=True, width="stretch")
    else:
        st.caption("No link direction goes over 100 %.")
    if st.button("Fail it on the Live map", key="impact_apply"):
        apply_in_live(stored, int(rank))
    cols = st.columns(2)
    for col, fmt, mime in zip(cols, ("html", "pdf"), ("text/html", "application/pdf")):
        col.download_button(f"Impact report ({fmt.upper()})", data=partial(_report_bytes, stored, int(rank), fmt),
                            file_name=f"netdrift_impact_sweep{stored.id}_rank{int(rank)}.{fmt}", mime=mime,
                            key=f"impact_report_{fmt}", icon=":material/summarize:", on_click="ignore")


def _report_bytes(stored: StoredSweep, rank: int, fmt: str) -> bytes:
    from netdrift.dashboard.impact.report import sweep_report
    from netdrift.dashboard.live.report import report_html, report_pdf

    found = sweep_report(stored, rank, positions_of(stored))
    return report_html(found) if fmt == "html" else report_pdf(found)


# --- the screen ----------------------------------------------------------------------------
st.header("Impact")
st.caption("Fail every link, node, pair of links or shared-risk group in turn over a window of traffic, rank "
           "the failures by how much they hurt, and see each link direction's worst case over all of them.")
run_col, open_col = st.columns([3, 2])
with run_col:
    run_form()
with open_col:
    open_form()

current: StoredSweep | None = st.session_state.get(SWEEP_KEY)
if current is not None:
    st.divider()
    st.markdown(idt.sweep_caption(current))
    ranking(current)
    worst_case(current)

st.divider()
plan_section()
