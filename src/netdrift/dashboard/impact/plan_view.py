"""The Impact page's Plan view (Streamlit): the form, then the plan shown.

Screen, top to bottom: the topology and the synthetic history, the horizon, growth, failure set,
target and modules (a progress bar while it runs); then what the plan holds for and costs, the
timeline of when each upgrade is needed (PNG / SVG / PDF / CSV exports and the HTML report),
the upgrades table, the worst-case maps before and after the upgrades side by side (charts:
the interactive map component draws one map a page, the sweep's), and the
failures that cut demand off (reported, never fixed by capacity). The logic is in
:mod:`netdrift.dashboard.impact.plan`; `netdrift plan` runs the same plan from a shell.
"""

from __future__ import annotations

import streamlit as st

from netdrift.dashboard.common import state
from netdrift.dashboard.common.download_buttons import export_buttons
from netdrift.dashboard.impact import plan as pl
from netdrift.dashboard.map.model import node_positions
from netdrift.engine.errors import InputError

__all__ = ["plan_section", "PLAN_KEY", "SURVIVE_LABELS"]

PLAN_KEY = "impact_plan"
#: Failure sets offered here (shared-risk groups need a file: `netdrift plan --survive srlg`).
SURVIVE_LABELS = {"link": "each link", "node": "each node", "link-pairs": "each pair of links",
                  "none": "no failure (normal operation only)"}


def plan_section() -> None:
    st.subheader("Plan upgrades")
    st.caption("What to upgrade, and by when, so that no failure of a set takes any link direction over a "
               "target utilisation over the horizon: the demands forecast (growth x each pair's weekly profile), "
               "the worst case over every failure and every step of the horizon's last week, the cheapest "
               "capacity modules. See docs/planning.md.")
    names, default = state.topology_options()
    choice = st.selectbox("Topology to plan", names, index=names.index(default), key="plan_topology")
    try:
        topology = state.topology_for(choice)
    except InputError as err:
        st.error(str(err))
        return
    with st.form("plan_run"):
        c = st.columns(4)
        steps = c[0].number_input("Steps of history", key="plan_steps", min_value=1, max_value=20_160, value=2016, step=96)
        minutes = c[1].number_input("History step length (min)", key="plan_minutes", min_value=1.0, max_value=60.0, value=15.0, step=5.0)
        seed = c[2].number_input("History seed", key="plan_seed", min_value=0, max_value=2**31 - 1, value=0, step=1)
        peak = c[3].number_input("History peak utilisation, all links up (%)", key="plan_peak", min_value=1.0, max_value=400.0, value=60.0,
                                 step=5.0, help="The synthetic history is scaled so the busiest direction peaks here.")
        c = st.columns(4)
        horizon = c[0].number_input("Horizon (days)", key="plan_horizon", min_value=7.0, max_value=1825.0, value=90.0, step=7.0)
        growth = c[1].text_input("Growth per year, or auto", key="plan_growth", value="0.3",
                                 help="0.3 = +30 % a year, compounded, for every origin; auto: a trend fitted per "
                                      "origin (needs 14 days of history and a horizon no longer than it).")
        survive = c[2].selectbox("Survive", list(SURVIVE_LABELS.keys()), format_func=lambda k: SURVIVE_LABELS[k],
                                 key="plan_survive")
        target = c[3].number_input("Target utilisation (%)", key="plan_target", min_value=1.0, max_value=100.0, value=80.0, step=5.0)
        c = st.columns(4)
        modules = c[0].text_input("Modules (Mbit/s)", key="plan_modules", value="10000,40000,100000")
        costs = c[1].text_input("Cost per module", key="plan_costs", value="1", help="One number, or one per module size.")
        per_km = c[2].number_input("Cost per module and km", key="plan_per_km", min_value=0.0, value=0.0, step=0.01)
        level = c[3].number_input("Upper bound level (0: the forecast itself)", key="plan_level", min_value=0.0, max_value=0.99,
                                  value=0.0, step=0.05)
        submitted = st.form_submit_button("Plan", type="primary")
    if submitted:
        form = pl.PlanForm(int(steps), float(minutes), int(seed), float(peak) / 100.0, float(horizon), growth,
                           str(survive), float(target) / 100.0, modules, costs, float(per_km), float(level) or None)
        bar = st.progress(0.0, text="Forecasting the demands...")

        def progress(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"Sweeping the plan week: {done:,} of {total:,} failures")

        try:
            st.session_state[PLAN_KEY] = pl.run_plan(topology, form, progress)
        except InputError as err:
            st.error(str(err))
        bar.empty()
    result = st.session_state.get(PLAN_KEY)
    if result is not None:
        show(result)


def show(result: pl.PlanResult) -> None:
    st.markdown(pl.plan_caption(result))
    table = pl.upgrades_table(result)
    stem = f"plan_{result.topology.name}"
    what = f"Topology {result.topology.name}; plan week {result.report['plan_week']['from']} to " \
           f"{result.report['plan_week']['to']}"
    if len(table):
        chart = pl.timeline_chart(result)
        st.altair_chart(chart, width="content")
        export_buttons(chart, table, stem, "plan_exp", "When each upgrade is needed", what)
        st.dataframe(table, hide_index=True, width="stretch")
    else:
        st.success("No upgrade needed: every direction stays under the target.")
    positions = node_positions(result.topology)
    c1, c2 = st.columns(2)
    c1.download_button("Report (HTML)", data=pl.report_html(result), file_name=f"{stem}.html", mime="text/html",
                       key="plan_report", icon=":material/download:", on_click="ignore")
    c2.download_button("Report (PDF)", data=lambda: pl.report_pdf(result, positions), file_name=f"{stem}.pdf",
                       mime="application/pdf", key="plan_report_pdf", icon=":material/download:", on_click="ignore")
    left, right = st.columns(2)
    for col, after in ((left, False), (right, True)):
        with col:
            chart = pl.plan_map_chart(result, positions, after)
            st.altair_chart(chart, width="content")
            export_buttons(chart, pl.worst_case_rows(result, after), f"{stem}_{'after' if after else 'before'}",
                           f"plan_exp_map_{int(after)}", "Worst case per direction", what)
    cut = result.report["cut_off"]
    if cut:
        with st.expander(f"{len(cut)} failures cut demand off (reported, never fixed by capacity)"):
            st.dataframe([{"Failure": c["failure"], "Cut node pairs": c["cut_pairs"],
                           "Dropped max (Mbit/s)": round(c["dropped_mbps_max"], 1)} for c in cut],
                         hide_index=True, width="stretch")
