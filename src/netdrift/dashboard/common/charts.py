"""Altair charts of the Compare view: pure functions from tidy DataFrames to charts.

The frames come from :mod:`netdrift.dashboard.compare.data`. Data are inlined as plain JSON records
(so Altair's 5,000-row guard and its global data-transformer settings never come into play,
and the spec exports as it is through :mod:`netdrift.dashboard.common.export`). Every axis title names its unit.
"""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import pandas as pd

from netdrift.dashboard.map.colours import FAILURE_RULE, colour_range

__all__ = [
    "ERROR_VALUES",
    "error_over_time_chart",
    "coverage_over_time_chart",
    "metrics_bar_chart",
    "drift_scatter_chart",
    "seed_means_chart",
]

#: Column of :func:`netdrift.dashboard.compare.data.aligned_errors` -> axis title (with unit).
#: What the chart functions return: one of Altair's top-level charts (what ``st.altair_chart`` draws).
AnyChart = alt.Chart | alt.LayerChart | alt.FacetChart | alt.ConcatChart | alt.HConcatChart | alt.VConcatChart

ERROR_VALUES: dict[str, str] = {
    "rolling_mae_mbps": "Rolling mean absolute error (Mbit/s)",
    "rolling_mape_pct": "Rolling MAPE (%)",
}

_METRIC_TITLES = {
    "rmse_mbps": "RMSE (Mbit/s)",
    "mae_mbps": "MAE (Mbit/s)",
    "mape_pct": "MAPE (%)",
}


def _inline(df: pd.DataFrame) -> alt.InlineData:
    """The frame as JSON records (NaN -> null, timestamps -> ISO strings)."""
    return alt.InlineData(values=json.loads(df.to_json(orient="records", date_format="iso")))


def _require(df: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")


def _model_colour(df: pd.DataFrame, legend: bool = True) -> alt.Color:
    """Colour by model with netdrift's fixed model colours (the same as the Live chart's)."""
    models = sorted(str(m) for m in df["model"].dropna().unique())
    scale = alt.Scale(domain=models, range=colour_range(models))
    return alt.Color("model:N", title="Model", scale=scale, legend=alt.Undefined if legend else None)


def _step_title(step_minutes: float | None) -> str:
    if step_minutes:
        return f"Steps relative to the first failure (steps of {step_minutes:g} min)"
    return "Steps relative to the first failure (steps)"


def error_over_time_chart(
    df: pd.DataFrame,
    value: str = "rolling_mae_mbps",
    *,
    facet_by_run: bool = True,
    step_minutes: float | None = None,
    width: int = 560,
    height: int = 220,
) -> AnyChart:
    """Error over time aligned on the first failure: one line per model (colour) and run.

    ``df`` has the columns of :func:`netdrift.dashboard.compare.data.aligned_errors`. With
    ``facet_by_run`` each run gets its own panel (one under the other, shared y scale);
    otherwise all runs share one panel and are told apart by the line dash. A vertical rule
    marks step 0, the failure.

    Examples
    --------
    >>> df = pd.DataFrame({"run": ["#1", "#1"], "model": ["liquid", "liquid"], "step": [9, 10],
    ...                    "step_rel": [-1.0, 0.0], "rolling_mae_mbps": [1.0, 2.0],
    ...                    "rolling_mape_pct": [5.0, 9.0]})
    >>> spec = error_over_time_chart(df).to_dict()
    >>> spec["spec"]["layer"][0]["encoding"]["y"]["title"]
    'Rolling mean absolute error (Mbit/s)'
    """
    if value not in ERROR_VALUES:
        raise ValueError(f"value must be one of {', '.join(ERROR_VALUES)}, got {value!r}")
    _require(df, ["run", "model", "step_rel", value], "error_over_time_chart")
    data = df[["run", "model", "step", "step_rel", value]] if "step" in df.columns else df[["run", "model", "step_rel", value]]
    x = alt.X("step_rel:Q", title=_step_title(step_minutes), axis=alt.Axis(tickMinStep=1))
    y = alt.Y(f"{value}:Q", title=ERROR_VALUES[value])
    color = _model_colour(data)
    tooltip = [
        alt.Tooltip("run:N", title="Run"),
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("step_rel:Q", title="Step vs failure (steps)"),
        alt.Tooltip(f"{value}:Q", title=ERROR_VALUES[value], format=".3g"),
    ]
    line = alt.Chart().mark_line(strokeWidth=1.5)
    if facet_by_run:
        line = line.encode(x=x, y=y, color=color, tooltip=tooltip)
    else:
        line = line.encode(x=x, y=y, color=color, strokeDash=alt.StrokeDash("run:N", title="Run"), tooltip=tooltip)
    rule = alt.Chart().mark_rule(color=FAILURE_RULE[0], strokeDash=FAILURE_RULE[1]).encode(x=alt.datum(0))
    layered = alt.layer(line, rule, data=_inline(data)).properties(width=width, height=height)
    if facet_by_run:
        return layered.facet(row=alt.Row("run:N", title="Run")).resolve_scale(y="shared")
    return layered


def coverage_over_time_chart(
    df: pd.DataFrame,
    *,
    facet_by_run: bool = True,
    step_minutes: float | None = None,
    width: int = 560,
    height: int = 200,
) -> AnyChart:
    """Rolling interval coverage aligned on the first failure: one line per model and run, a
    red rule at the failure and a grey dashed rule at each run's nominal coverage.

    ``df`` has the columns of :func:`netdrift.dashboard.compare.intervals.aligned_coverage`; faceting
    and line dashes as in :func:`error_over_time_chart`.

    >>> df = pd.DataFrame({"run": ["#1", "#1"], "model": ["liquid", "liquid"], "step": [9, 10],
    ...                    "step_rel": [-1.0, 0.0], "rolling_coverage_pct": [90.0, 70.0], "nominal_pct": [90.0, 90.0]})
    >>> layers = coverage_over_time_chart(df).to_dict()["spec"]["layer"]
    >>> layers[0]["encoding"]["y"]["title"], layers[2]["encoding"]["y"]["aggregate"]
    ('Rolling interval coverage (%)', 'max')
    """
    _require(df, ["run", "model", "step_rel", "rolling_coverage_pct", "nominal_pct"], "coverage_over_time_chart")
    cols = [c for c in ["run", "model", "step", "step_rel", "rolling_coverage_pct", "nominal_pct"] if c in df.columns]
    data = df[cols]
    x = alt.X("step_rel:Q", title=_step_title(step_minutes), axis=alt.Axis(tickMinStep=1))
    y = alt.Y("rolling_coverage_pct:Q", title="Rolling interval coverage (%)", scale=alt.Scale(domain=[0, 100]))
    tooltip = [
        alt.Tooltip("run:N", title="Run"),
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("step_rel:Q", title="Step vs failure (steps)"),
        alt.Tooltip("rolling_coverage_pct:Q", title="Coverage (%)", format=".1f"),
    ]
    line = alt.Chart().mark_line(strokeWidth=1.5)
    if facet_by_run:
        line = line.encode(x=x, y=y, color=_model_colour(data), tooltip=tooltip)
    else:
        line = line.encode(x=x, y=y, color=_model_colour(data), strokeDash=alt.StrokeDash("run:N", title="Run"),
                           tooltip=tooltip)
    failure = alt.Chart().mark_rule(color=FAILURE_RULE[0], strokeDash=FAILURE_RULE[1]).encode(x=alt.datum(0))
    nominal = alt.Chart().mark_rule(color="#6b7280", strokeDash=[2, 2]).encode(
        y=alt.Y("max(nominal_pct):Q", title="Rolling interval coverage (%)"), detail="run:N",
        tooltip=[alt.Tooltip("run:N", title="Run"), alt.Tooltip("max(nominal_pct):Q", title="Nominal coverage (%)")],
    )
    layered = alt.layer(line, failure, nominal, data=_inline(data)).properties(width=width, height=height)
    if facet_by_run:
        return layered.facet(row=alt.Row("run:N", title="Run")).resolve_scale(y="shared")
    return layered


def metrics_bar_chart(
    df: pd.DataFrame, metric: str = "rmse_mbps", *, period: str = "post", width: int = 160, height: int = 220
) -> AnyChart:
    """One metric of one period per model, side by side per run (bars).

    ``df`` has the columns of :func:`netdrift.dashboard.compare.data.metrics_table`.

    >>> df = pd.DataFrame({"run": ["#1"], "model": ["liquid"], "period": ["post"],
    ...                    "rmse_mbps": [2.5], "mae_mbps": [2.0], "mape_pct": [4.0], "ttc_steps": [None]})
    >>> metrics_bar_chart(df).to_dict()["spec"]["encoding"]["y"]["title"]
    'RMSE (Mbit/s)'
    """
    if metric not in _METRIC_TITLES:
        raise ValueError(f"metric must be one of {', '.join(_METRIC_TITLES)}, got {metric!r}")
    _require(df, ["run", "model", "period", metric], "metrics_bar_chart")
    data = df.loc[df["period"] == period, ["run", "model", "period", metric]]
    data = data[data[metric].notna()]
    bars = (
        alt.Chart(_inline(data))
        .mark_bar()
        .encode(
            x=alt.X("model:N", title="Model", axis=alt.Axis(labelAngle=-30)),
            y=alt.Y(f"{metric}:Q", title=_METRIC_TITLES[metric]),
            color=_model_colour(data, legend=False),
            tooltip=[
                alt.Tooltip("run:N", title="Run"),
                alt.Tooltip("model:N", title="Model"),
                alt.Tooltip(f"{metric}:Q", title=_METRIC_TITLES[metric], format=".4g"),
            ],
        )
        .properties(width=width, height=height)
    )
    return bars.facet(column=alt.Column("run:N", title=f"Run (period: {period})"))


def drift_scatter_chart(
    df: pd.DataFrame, *, log_y: bool = False, width: int = 560, height: int = 320
) -> AnyChart:
    """Drift magnitude against post-failure error per link direction, coloured by model.

    ``df`` has the columns of :func:`netdrift.dashboard.compare.data.drift_vs_error` (``error_mbps`` or
    ``error_pct``). Each point is one direction of one run for one model; the run is the
    point's shape. Where one colour sits lowest for a given drift, that method wins there.

    >>> df = pd.DataFrame({"run": ["#1"], "model": ["liquid"], "direction": [0],
    ...                    "direction_name": ["a-b: a->b"], "abs_drift_pct": [40.0], "error_mbps": [3.0]})
    >>> enc = drift_scatter_chart(df).to_dict()["encoding"]
    >>> enc["x"]["title"], enc["y"]["title"]
    ('|Drift| at the first failure (% change of mean load)', 'Post-failure MAE per direction (Mbit/s)')
    """
    value = "error_mbps" if "error_mbps" in df.columns else "error_pct"
    _require(df, ["run", "model", "direction", "abs_drift_pct", value], "drift_scatter_chart")
    y_title = "Post-failure MAE per direction (Mbit/s)" if value == "error_mbps" else "Post-failure error per direction (%)"
    cols = [c for c in ["run", "model", "direction", "direction_name", "abs_drift_pct", value] if c in df.columns]
    data = df[cols]
    y_scale: Any = alt.Scale(type="symlog") if log_y else alt.Undefined
    return (
        alt.Chart(_inline(data))
        .mark_point(filled=True, opacity=0.7, size=40)
        .encode(
            x=alt.X("abs_drift_pct:Q", title="|Drift| at the first failure (% change of mean load)"),
            y=alt.Y(f"{value}:Q", title=y_title, scale=y_scale),
            color=_model_colour(data),
            shape=alt.Shape("run:N", title="Run"),
            tooltip=[
                alt.Tooltip("run:N", title="Run"),
                alt.Tooltip("model:N", title="Model"),
                alt.Tooltip("direction_name:N" if "direction_name" in cols else "direction:Q", title="Direction"),
                alt.Tooltip("abs_drift_pct:Q", title="|Drift| (%)", format=".3g"),
                alt.Tooltip(f"{value}:Q", title=y_title, format=".4g"),
            ],
        )
        .properties(width=width, height=height)
        .interactive()
    )


def seed_means_chart(df: pd.DataFrame, *, width: int = 220, height: int = 220) -> AnyChart:
    """Each model's mean RMSE over repeats of one scenario, with 95 % interval whiskers, one
    panel per period (after the failure, first day).

    ``df`` has the columns of :func:`netdrift.dashboard.compare.seeds.model_means`; a mean without an
    interval (one run) is drawn without whiskers.

    >>> df = pd.DataFrame({"group": ["g"], "model": ["frozen"], "period": ["post"], "rmse_mean_mbps": [3.0],
    ...                    "ci_low_mbps": [2.0], "ci_high_mbps": [4.0], "runs": [2]})
    >>> seed_means_chart(df).to_dict()["spec"]["layer"][1]["encoding"]["y"]["title"]
    'Mean RMSE over seeds (Mbit/s), 95 % interval'
    """
    _require(df, ["model", "period", "rmse_mean_mbps", "ci_low_mbps", "ci_high_mbps", "runs"], "seed_means_chart")
    data = df[df["rmse_mean_mbps"].notna()].copy()
    names = {"post": "after the failure", "day1": "first day"}
    data["period_name"] = data["period"].map(lambda p: names.get(p, p))
    title = "Mean RMSE over seeds (Mbit/s), 95 % interval"
    tooltip = [
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("rmse_mean_mbps:Q", title="Mean RMSE (Mbit/s)", format=".4g"),
        alt.Tooltip("ci_low_mbps:Q", title="95 % low (Mbit/s)", format=".4g"),
        alt.Tooltip("ci_high_mbps:Q", title="95 % high (Mbit/s)", format=".4g"),
        alt.Tooltip("runs:Q", title="Runs"),
    ]
    x = alt.X("model:N", title="Model", axis=alt.Axis(labelAngle=-30))
    base = alt.Chart().encode(x=x, color=_model_colour(data, legend=False), tooltip=tooltip)
    whiskers = base.mark_errorbar(ticks={"size": 14}, thickness=2).encode(
        y=alt.Y("ci_low_mbps:Q", title=title), y2="ci_high_mbps:Q"
    )
    points = base.mark_point(filled=True, size=80).encode(y=alt.Y("rmse_mean_mbps:Q", title=title))
    return (
        alt.layer(whiskers, points, data=_inline(data))
        .properties(width=width, height=height)
        .facet(column=alt.Column("period_name:N", title="Period", sort=[names[p] for p in names]))
    )
