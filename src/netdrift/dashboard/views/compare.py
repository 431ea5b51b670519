"""Compare: stored runs side by side.

History of every run -> pick runs -> error over time aligned on the first failure, the metrics
table, for repeats of one scenario over seeds each model's mean RMSE with 95 % interval whiskers
and its paired difference to persistence ("within noise" where the interval spans zero), the
prediction intervals' coverage over time around the failure and the interval and
overload-warning scores, and drift magnitude against error per link direction; every chart
exports as PNG, SVG, PDF and CSV.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from netdrift.dashboard.common import charts, export
from netdrift.dashboard.common.db import current_db_url, get_sessionmaker
from netdrift.dashboard.common.download_buttons import export_buttons
from netdrift.dashboard.compare import data as compare_data
from netdrift.dashboard.compare import intervals as compare_intervals
from netdrift.dashboard.compare import seeds as compare_seeds
from netdrift.engine.errors import InputError
from netdrift.service.history import display_url, reading


@st.cache_data(show_spinner="Loading run…", max_entries=32)
def load_run(url: str, run_id: int, status: str, label: str) -> compare_data.RunData:
    """One run's series and metrics, cached per URL, run and status (a finished run never changes)."""
    with reading(get_sessionmaker(url)) as history:
        return compare_data.load_run_data(history, run_id, label)


@st.cache_data(show_spinner=False, max_entries=256)
def load_scenario_key(url: str, run_id: int, status: str) -> tuple[tuple | None, int]:
    """(what repeats over seeds share, the run's seed), cached per URL, run and status."""
    with reading(get_sessionmaker(url)) as history:
        detail = history.get_scenario(run_id)
    return compare_seeds.scenario_key(detail), int(detail.seed)


st.title("Compare runs")

url = current_db_url()
try:
    with reading(get_sessionmaker(url)) as history:
        summaries = history.list_scenarios()
except InputError as err:
    st.error(str(err))
    st.stop()

history = compare_data.history_table(summaries)
if history.empty:
    st.info(
        f"No runs stored yet in `{display_url(url)}`. Run a scenario in the Live view (or with "
        "`netdrift run`), then come back here to compare runs."
    )
    st.stop()

st.subheader("History")
st.dataframe(
    history,
    hide_index=True,
    column_config={
        "id": st.column_config.NumberColumn("Run", format="%d"),
        "topology": "Topology",
        "created": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD HH:mm"),
        "failures": st.column_config.NumberColumn("Failures", format="%d"),
        "events": "Events",
        "models": "Models",
        "status": "Status",
        "label": "Label",
        "seed": st.column_config.NumberColumn("Seed", format="%d"),
    },
)

labels = {
    int(r.id): compare_data.run_label(r.id, r.topology, r.created, r.label, r.events, r.seed)
    for r in history.itertuples()
}
statuses = {int(r.id): r.status for r in history.itertuples()}
chosen = st.multiselect(
    "Runs to compare (two or more)", options=list(labels), format_func=lambda i: f"{labels[i]} ({statuses[i]})",
    key="compare_runs", placeholder="Pick runs from the history",
)
if not chosen:
    st.info("Pick two or more runs to put their errors side by side.")
    st.stop()
if len(chosen) == 1:
    st.caption("One run picked: add another to compare.")

runs: list[compare_data.RunData] = []
actual: dict[int, np.ndarray] = {}  # each charted run's stored actual loads
for run_id in chosen:
    run = load_run(url, int(run_id), statuses[run_id], labels[run_id])
    if run.problem or run.actual is None:
        why = ("" if statuses[run_id] == "complete" else
               f" (the run is {statuses[run_id]}: it stopped before storing its series and metrics, which are "
               "written as it plays and when it completes)")
        st.warning(f"{run.label}: {run.problem or 'no stored series'}{why}; left out of the charts.")
        continue
    runs.append(run)
    actual[run.id] = run.actual
if not runs:
    st.stop()

# --- error over time, aligned on the first failure --------------------------------------------
st.subheader("Error around the failure")
c1, c2, c3, c4 = st.columns(4)
value = c1.radio(
    "Error", list(charts.ERROR_VALUES), format_func=lambda v: "MAE (Mbit/s)" if v.endswith("mbps") else "MAPE (%)",
    key="compare_error", horizontal=True,
)
window = int(c2.number_input("Smoothing (steps)", 1, 2016, 12, key="compare_window"))
span = int(c3.number_input("Steps before / after", 12, 20160, 576, step=12, key="compare_span"))
facet = c4.toggle("One panel per run", value=True, key="compare_facet")

#: Exports name the runs they come from (topology, failures, models, horizon of each).
scenarios = " | ".join(f"Run {r.id}: {r.scenario}" for r in runs)

aligned, align_at = [], {}
for run in runs:
    align = run.first_failure
    if align is None:
        st.caption(f"{run.label} had no failure: aligned on the end of training (step {run.train_steps}).")
        align = run.train_steps
    align_at[run.id] = align
    aligned.append(
        compare_data.aligned_errors(
            actual[run.id], run.forecasts, align, run.label, capacity=run.capacity,
            low_load_fraction=run.low_load_fraction, window=window, before=span, after=span,
        )
    )
errors = pd.concat(aligned, ignore_index=True)
minutes = {r.step_minutes for r in runs}
step_minutes = minutes.pop() if len(minutes) == 1 else None
if errors.empty:
    st.info("No forecasts in the picked runs.")
else:
    error_chart = charts.error_over_time_chart(errors, value, facet_by_run=facet, step_minutes=step_minutes)
    st.altair_chart(error_chart)
    export_buttons(error_chart, errors, "netdrift_error_over_time_" + "_".join(str(r.id) for r in runs), "exp_err",
                   f"{charts.ERROR_VALUES[value]} over time, aligned on the first failure", scenarios)

# --- metrics table ------------------------------------------------------------------------------
st.subheader("Metrics")
for run in runs:
    if not run.metrics and statuses.get(run.id) != "complete":
        st.caption(f"{run.label} is {statuses.get(run.id, 'unfinished')}: metrics are computed when a run completes "
                   "(its error over time above comes from the series it stored); resume it on the Live page "
                   "or run it to the end to get them.")
table = pd.concat([compare_data.metrics_table(r.metrics, r.label) for r in runs], ignore_index=True)
if table.empty:
    st.info("The picked runs stored no metrics.")
else:
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "run": "Run",
            "model": "Model",
            "period": "Period",
            "rmse_mbps": st.column_config.NumberColumn("RMSE (Mbit/s)", format="%.3f"),
            "mae_mbps": st.column_config.NumberColumn("MAE (Mbit/s)", format="%.3f"),
            "mape_pct": st.column_config.NumberColumn("MAPE (%)", format="%.2f"),
            "ttc_steps": st.column_config.TextColumn("TTC (steps)"),
        },
    )
    st.caption("TTC: steps after a failure until the rolling MAPE settles; 'censored' = not within the run.")
    m1, m2 = st.columns(2)
    metric = m1.selectbox(
        "Bar chart of", ["rmse_mbps", "mae_mbps", "mape_pct"], key="compare_metric",
        format_func={"rmse_mbps": "RMSE (Mbit/s)", "mae_mbps": "MAE (Mbit/s)", "mape_pct": "MAPE (%)"}.__getitem__,
    )
    periods = sorted(table["period"].unique(), key=compare_data.period_sort_key)
    period = m2.selectbox("Period", periods, index=periods.index("post") if "post" in periods else 0, key="compare_period")
    bar_chart = charts.metrics_bar_chart(table, metric, period=period)
    st.altair_chart(bar_chart)
    export_buttons(bar_chart, table, "netdrift_metrics_" + "_".join(str(r.id) for r in runs), "exp_metrics", "Metrics per model and period", scenarios)

# --- repeats of one scenario over seeds ------------------------------------------------------------
st.subheader("Repeats over seeds")
seed_runs = []
for run in runs:
    key, seed = load_scenario_key(url, run.id, run.status)
    seed_runs.append(compare_seeds.SeedRun(run.id, run.label, key, seed, run.metrics))
groups = compare_seeds.seed_groups(seed_runs)
if not groups:
    st.caption("No two picked runs repeat one scenario over seeds: store repeats with "
               "`netdrift run --seeds 3 ...` and pick them to see means with 95 % intervals.")
for g, group in enumerate(groups):
    title = compare_seeds.group_title(group)
    st.markdown(f"**{title}** ({len(group)} seeds: {', '.join(str(r.seed) for r in group)})")
    means = compare_seeds.model_means(group, title)
    if means.empty:
        st.caption("These runs stored no RMSE after the failure.")
        continue
    seed_chart = charts.seed_means_chart(means)
    st.altair_chart(seed_chart)
    stem = "netdrift_seeds_" + "_".join(str(r.id) for r in group)
    export_buttons(seed_chart, means, stem, f"exp_seeds_{g}", "Means over seeds with 95 % intervals", scenarios)
    diffs = compare_seeds.vs_baseline(group, name=title)
    if diffs.empty:
        st.caption("No persistence in these runs: no paired differences to show.")
        continue
    diffs = diffs.assign(period=diffs["period"].map(lambda p: compare_seeds.PERIODS.get(p, p)))
    st.dataframe(diffs.drop(columns="group"), hide_index=True, column_config={
        "model": "Model", "period": "Period",
        "diff_mean_mbps": st.column_config.NumberColumn("RMSE - persistence (Mbit/s)", format="%.3f"),
        "ci_low_mbps": st.column_config.NumberColumn("95 % low", format="%.3f"),
        "ci_high_mbps": st.column_config.NumberColumn("95 % high", format="%.3f"),
        "runs": st.column_config.NumberColumn("Runs", format="%d"),
        "verdict": "Against persistence",
    })
    st.download_button("CSV", data=export.dataframe_to_csv(diffs, "Differences to persistence over seeds", scenarios),
                       file_name=export.sanitize_filename(stem + "_vs_persistence", extension="csv"),
                       mime=export.MIME_TYPES["csv"], key=f"exp_seeds_diff_{g}_csv",
                       icon=":material/download:", on_click="ignore")
    st.caption("Whiskers and intervals: 95 % Student-t intervals of the mean over the runs. A difference "
               "is each run's RMSE minus persistence's in the same run, averaged; 'within noise' where "
               "its interval spans zero.")

# --- prediction intervals and overload warnings ------------------------------------------------------
st.subheader("Prediction intervals and overload warnings")
for run in runs:
    if not run.lower:
        st.caption(f"{run.label}: no intervals stored.")
with_bounds = [r for r in runs if r.lower]
if with_bounds:
    coverage = pd.concat([
        compare_intervals.aligned_coverage(actual[run.id], run.lower, run.upper, align_at[run.id], run.label,
                                           nominal=run.interval, window=window, before=span, after=span)
        for run in with_bounds], ignore_index=True)
    if coverage.empty:
        st.info("No stored interval falls within the steps shown.")
    else:
        coverage_chart = charts.coverage_over_time_chart(coverage, facet_by_run=facet, step_minutes=step_minutes)
        st.altair_chart(coverage_chart)
        st.caption(f"Share of actual loads inside each model's interval (the H-step-ahead one), all link "
                   f"directions pooled over the last {window} steps; dashed grey: the nominal coverage.")
        export_buttons(coverage_chart, coverage, "netdrift_coverage_over_time_" + "_".join(str(r.id) for r in runs),
                       "exp_cov", "Rolling interval coverage", scenarios)
    scores = pd.concat([compare_intervals.interval_table(run.metrics, run.label, run.interval, list(run.forecasts))
                        for run in with_bounds], ignore_index=True)
    if scores.empty:
        st.caption("The picked runs stored no interval or warning scores.")
    else:
        headers = compare_intervals.INTERVAL_HEADERS
        st.dataframe(scores, hide_index=True, column_config={
            "run": "Run", "model": "Model",
            **{c: st.column_config.NumberColumn(label, format=fmt) for c, (label, fmt) in headers.items()},
        })
        thresholds = sorted({r.warn_utilization for r in with_bounds if r.warn_utilization is not None})
        threshold = "threshold" + (f" ({', '.join(f'{t:.0%}' for t in thresholds)} of capacity)" if thresholds else "")
        st.caption("Coverage: share of actual loads inside the interval; Winkler: width plus a penalty for "
                   f"each miss (lower is better). A warning: a model's upper bound reaches the {threshold} "
                   "within its horizon while the load is below it; precision: warnings followed by a crossing, "
                   "recall: crossings warned of in advance.")

# --- drift magnitude against error per link direction ----------------------------------------------
st.subheader("Drift against error per link direction")
frames = []
for run in runs:
    df = compare_data.drift_vs_error(run.metrics, run.label, direction_names=run.direction_names)
    if df.empty and run.first_failure is not None:
        df = compare_data.drift_vs_error_from_series(
            actual[run.id], run.forecasts, run.first_failure, run.steps_per_day, run.label,
            capacity=run.capacity, direction_names=run.direction_names,
        )
    frames.append(df)
drift = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
if drift.empty:
    st.info("None of the picked runs had a failure, so there is no drift to plot.")
else:
    log_y = st.toggle("Symmetric log scale for the error", value=False, key="compare_logy")
    scatter = charts.drift_scatter_chart(drift, log_y=log_y)
    st.altair_chart(scatter)
    st.caption("Each point is one link direction: where a model's points sit lowest, it wins at that drift.")
    export_buttons(scatter, drift, "netdrift_drift_vs_error_" + "_".join(str(r.id) for r in runs), "exp_drift", "Drift against error per link direction",
                   scenarios)
