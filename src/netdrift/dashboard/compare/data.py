"""Storage records -> tidy DataFrames for the Compare view (pure functions, no Streamlit).

Every frame is long ("tidy") so that one Altair chart can colour or facet it by model and run,
and every value column names its unit (``_mbps``, ``_pct``, ``_steps``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from netdrift.dashboard.common.export import scenario_text
from netdrift.dashboard.compare.intervals import load_bounds
from netdrift.dashboard.map.names import element_name
from netdrift.engine.evaluation.drift import drift_magnitude
from netdrift.engine.evaluation.metrics import MetricsConfig, error_metrics, per_step_error_metrics
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.results import MetricRow
from netdrift.engine.traffic.time_grid import steps_per_day as day_steps

if TYPE_CHECKING:
    from netdrift.engine.network.topology import Topology
    from netdrift.service.history import HistoryReader, ScenarioDetail, ScenarioSummary

__all__ = [
    "CENSORED",
    "aligned_span",
    "history_table",
    "run_label",
    "first_failure_step",
    "aligned_errors",
    "metrics_table",
    "drift_vs_error",
    "drift_vs_error_from_series",
    "direction_labels",
    "period_sort_key",
    "RunData",
    "load_run_data",
]

#: How a time to convergence that never happened within the run is shown.
CENSORED = "censored"

_HISTORY_COLUMNS = ["id", "topology", "created", "failures", "events", "models", "status", "label", "seed"]


def history_table(summaries: Iterable[ScenarioSummary]) -> pd.DataFrame:
    """One row per stored scenario: id, topology, created, failures, events, models, status, label.

    ``summaries`` are :class:`netdrift.service.history.ScenarioSummary` rows; ``failures`` counts
    their ``fail`` events (``"fail 3-7@100"``, ``"fail node 3@100"``). Newest first.

    >>> from netdrift.service.history import ScenarioSummary
    >>> df = history_table([ScenarioSummary(1, "abilene", datetime(2024, 1, 1), "interrupted",
    ...                                     ["fail 1-2@9"], ["liquid", "incremental"], None, 0)])
    >>> df.loc[0, ["topology", "models", "status"]].tolist(), int(df.loc[0, "failures"])
    (['abilene', 'liquid, incremental', 'interrupted'], 1)
    """
    rows = [
        {
            "id": s.id,
            "topology": s.topology,
            "created": s.created,
            "failures": sum(1 for e in s.events if e.startswith("fail ")),
            "events": ", ".join(s.events),
            "models": ", ".join(s.models),
            "status": s.status,
            "label": s.label or "",
            "seed": s.seed,
        }
        for s in summaries
    ]
    df = pd.DataFrame(rows, columns=_HISTORY_COLUMNS)
    if not df.empty:
        df["created"] = pd.to_datetime(df["created"])
        df = df.sort_values(["created", "id"], ascending=False, kind="stable").reset_index(drop=True)
    return df


def run_label(run_id: int, topology: str = "", created: datetime | None = None, label: str | None = None,
              events: str | None = None, seed: int | None = None) -> str:
    """Short unique name of a run for legends and facets: its topology, its first failure (and how
    many more events), its seed, e.g. ``'#4 Geant2012, fail 4-29@333, seed 1'``; without events the
    creation time stands in for the failure, a free label goes last.

    >>> run_label(4, "Geant2012", events="fail 4-29@333, restore 4-29@339", seed=1)
    '#4 Geant2012, fail 4-29@333 (+1 more), seed 1'
    >>> run_label(3, "abilene", datetime(2024, 1, 5, 14, 2), events="")
    '#3 abilene, no failure, 01-05 14:02'
    >>> run_label(5, "abilene", label="cut 3-7", events="fail 3-7@10", seed=0)
    '#5 abilene, fail 3-7@10, seed 0, cut 3-7'
    """
    parts = [f"#{run_id} {topology}".rstrip()]
    listed = [e.strip() for e in (events or "").split(",") if e.strip()]
    fails = [e for e in listed if e.startswith("fail ")]
    if events is not None:
        if fails:
            more = len(listed) - 1
            parts.append(fails[0] + (f" (+{more} more)" if more else ""))
        else:
            parts.append("no failure")
    if seed is not None:
        parts.append(f"seed {seed}")
    elif created is not None:
        parts.append(pd.Timestamp(created).strftime("%m-%d %H:%M"))
    if label:
        parts.append(str(label))
    return ", ".join(parts)


def first_failure_step(events: Iterable[FailureEvent]) -> int | None:
    """Step of the earliest ``fail`` event, or None when the run had no failure.

    >>> first_failure_step([FailureEvent(9, "restore", "a"), FailureEvent(5, "fail", "a")])
    5
    >>> first_failure_step([]) is None
    True
    """
    steps = [e.step for e in events if e.action == "fail"]
    return min(steps) if steps else None


def aligned_span(actual: np.ndarray, align_step: int, before: int | None, after: int | None,
                 max_points: int) -> tuple[int, int, int]:
    """(first step, end step, stride) of an aligned chart: ``before``/``after`` steps around
    ``align_step`` (all when None), thinned to at most ``max_points`` (0: no thinning).

    >>> aligned_span(np.zeros((100, 2)), 50, 10, 10, 7)
    (40, 61, 3)
    """
    if np.ndim(actual) != 2:
        raise ValueError(f"actual must be (steps, directions), got shape {np.shape(actual)}")
    steps = np.shape(actual)[0]
    lo = 0 if before is None else max(0, align_step - before)
    hi = steps if after is None else min(steps, align_step + after + 1)
    stride = max(1, int(np.ceil((hi - lo) / max_points))) if max_points else 1
    return lo, hi, stride


def aligned_errors(
    actual: np.ndarray,
    forecasts: Mapping[str, np.ndarray],
    align_step: int,
    run: str,
    *,
    capacity: np.ndarray,
    low_load_fraction: float = MetricsConfig.low_load_fraction,
    window: int = 12,
    before: int | None = None,
    after: int | None = None,
    max_points: int = 1500,
) -> pd.DataFrame:
    """Rolling error of each model over time, with step 0 at ``align_step`` (the first failure).

    Per step, MAE (Mbit/s) and MAPE (%) pool the link directions as
    :func:`netdrift.engine.evaluation.metrics.per_step_error_metrics` defines them (MAPE leaves out
    directions whose actual load is below ``low_load_fraction`` of ``capacity``); both are then
    smoothed with a trailing mean over ``window`` steps (steps with no forecast are skipped, not
    counted as zero). ``before``/``after`` bound the steps kept around the failure; long runs
    are thinned to about ``max_points`` steps per line.

    Returns columns ``run, model, step, step_rel, rolling_mae_mbps, rolling_mape_pct``.

    Examples
    --------
    >>> a = np.array([[10.0], [10.0], [10.0], [10.0]])
    >>> f = {"persistence": np.array([[np.nan], [10.0], [12.0], [16.0]])}
    >>> df = aligned_errors(a, f, align_step=2, run="r", capacity=np.array([100.0]), window=1)
    >>> df[["step_rel", "rolling_mae_mbps", "rolling_mape_pct"]].values.tolist()
    [[-1.0, 0.0, 0.0], [0.0, 2.0, 20.0], [1.0, 6.0, 60.0]]
    """
    actual = np.asarray(actual, dtype=np.float64)
    lo, hi, stride = aligned_span(actual, align_step, before, after, max_points)
    w = max(1, int(window))
    frames = []
    for model, fc in forecasts.items():
        per_step = per_step_error_metrics(actual, fc, capacity, low_load_fraction)
        roll_mae = pd.Series(per_step["mae"]).rolling(w, min_periods=1).mean().to_numpy()
        roll_mape = pd.Series(per_step["mape"]).rolling(w, min_periods=1).mean().to_numpy()
        steps = np.arange(lo, hi, stride)
        keep = steps[np.isfinite(roll_mae[steps])]
        frames.append(
            pd.DataFrame(
                {
                    "run": run,
                    "model": model,
                    "step": keep,
                    "step_rel": (keep - align_step).astype(np.float64),
                    "rolling_mae_mbps": roll_mae[keep],
                    "rolling_mape_pct": roll_mape[keep],
                }
            )
        )
    cols = ["run", "model", "step", "step_rel", "rolling_mae_mbps", "rolling_mape_pct"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def period_sort_key(period: str) -> tuple[int, int]:
    """Sort key putting periods in reading order: pre, post, day1, transient, event:0, event:1, ...

    ``day1`` is the first day after the first failure, ``transient`` the targets whose forecast
    was made before it (see :func:`netdrift.engine.evaluation.scoring.scenario_metrics`).

    >>> sorted(["event:10", "transient", "post", "event:2", "day1", "pre"], key=period_sort_key)
    ['pre', 'post', 'day1', 'transient', 'event:2', 'event:10']
    """
    fixed = {"pre": 0, "post": 1, "day1": 2, "transient": 3}
    if period in fixed:
        return (0, fixed[period])
    if period.startswith("event:"):
        try:
            return (1, int(period.split(":", 1)[1]))
        except ValueError:
            pass
    return (2, 0)


def metrics_table(metrics: Iterable[MetricRow], run: str) -> pd.DataFrame:
    """Aggregate metrics of one run as a table: one row per model and period.

    Columns ``run, model, period, rmse_mbps, mae_mbps, mape_pct, ttc_steps``. ``ttc_steps``
    is text: the number of steps, ``"censored"`` when the model never converged within the
    run, or empty where no time to convergence applies (e.g. before the failure).

    >>> rows = [MetricRow("liquid", "post", "rmse", 3.0), MetricRow("liquid", "post", "ttc", None),
    ...         MetricRow("liquid", "pre", "rmse", 1.0), MetricRow("liquid", "post", "rmse", 9.0, 4)]
    >>> metrics_table(rows, "r")[["period", "rmse_mbps", "ttc_steps"]].values.tolist()
    [['pre', 1.0, None], ['post', 3.0, 'censored']]
    """
    table: dict[tuple[str, str], dict[str, object]] = {}
    names = {"rmse": "rmse_mbps", "mae": "mae_mbps", "mape": "mape_pct"}
    for r in metrics:
        if r.direction is not None:
            continue
        if r.metric not in names and r.metric != "ttc":
            continue
        row = table.setdefault((r.model, r.period), {"run": run, "model": r.model, "period": r.period})
        if r.metric == "ttc":
            row["ttc_steps"] = CENSORED if r.value is None else f"{int(round(r.value))}"
        else:
            row[names[r.metric]] = np.nan if r.value is None else float(r.value)
    cols = ["run", "model", "period", "rmse_mbps", "mae_mbps", "mape_pct", "ttc_steps"]
    df = pd.DataFrame(list(table.values()), columns=cols)
    if df.empty:
        return df
    df["ttc_steps"] = df["ttc_steps"].astype(object).where(df["ttc_steps"].notna(), None)
    for c in ("rmse_mbps", "mae_mbps", "mape_pct"):
        df[c] = df[c].astype(np.float64)
    order = sorted(range(len(df)), key=lambda i: (period_sort_key(df.at[i, "period"]), df.at[i, "model"]))
    return df.iloc[order].reset_index(drop=True)


def direction_labels(topology: Topology) -> list[str]:
    """``'link: SRC -> DST'`` (node names, see :func:`netdrift.dashboard.map.names.direction_labels`) for every
    link direction of a Topology: what the CSV's ``direction_name`` and the tooltips show."""
    from netdrift.dashboard.map.names import direction_labels as by_name

    return by_name(topology)


def _pick_period(available: set[str], preferred: Sequence[str]) -> str | None:
    for p in preferred:
        if p in available:
            return p
    return None


def drift_vs_error(
    metrics: Iterable[MetricRow],
    run: str,
    *,
    error_metric: str = "mae",
    direction_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per-direction drift magnitude at the first failure against each model's error after it.

    Drift comes from the ``drift`` rows (relative change of mean load, a fraction; model
    ``"actual"`` in :func:`netdrift.engine.evaluation.scoring.scenario_metrics`; period ``event:0`` preferred, then
    ``post``; infinite drifts are left out), the error from ``error_metric`` rows with a
    direction in period ``post`` (else ``event:0``). Columns ``run, model, direction,
    direction_name, abs_drift_pct, error_mbps`` (``error_pct`` instead for mape/nrmse/smape).
    Empty when the run stored no per-direction rows; use :func:`drift_vs_error_from_series`.

    >>> rows = [MetricRow("actual", "event:0", "drift", -0.5, 0),
    ...         MetricRow("liquid", "post", "mae", 4.0, 0), MetricRow("liquid", "post", "mae", 1.0)]
    >>> drift_vs_error(rows, "r")[["model", "abs_drift_pct", "error_mbps"]].values.tolist()
    [['liquid', 50.0, 4.0]]
    """
    rows = list(metrics)
    value_col = "error_pct" if error_metric in ("mape", "nrmse", "smape") else "error_mbps"
    cols = ["run", "model", "direction", "direction_name", "abs_drift_pct", value_col]
    drift_rows = [r for r in rows if r.metric == "drift" and r.direction is not None]
    d_period = _pick_period({r.period for r in drift_rows}, ["event:0", "post"])
    drift: dict[int, float] = {}
    for r in drift_rows:
        if (r.direction is None or r.period != d_period or r.direction in drift or r.value is None
                or not np.isfinite(r.value)):
            continue  # an infinite drift (load from nothing) has no place on a linear axis
        drift[int(r.direction)] = abs(float(r.value)) * 100.0
    err_rows = [r for r in rows if r.metric == error_metric and r.direction is not None]
    e_period = _pick_period({r.period for r in err_rows}, ["post", "event:0"])
    out = []
    for r in err_rows:
        if r.direction is None or r.period != e_period or r.value is None or int(r.direction) not in drift:
            continue
        d = int(r.direction)
        out.append(
            {
                "run": run,
                "model": r.model,
                "direction": d,
                "direction_name": direction_names[d] if direction_names and d < len(direction_names) else str(d),
                "abs_drift_pct": drift[d],
                value_col: float(r.value),
            }
        )
    return pd.DataFrame(out, columns=cols)


def drift_vs_error_from_series(
    actual: np.ndarray,
    forecasts: Mapping[str, np.ndarray],
    fail_step: int,
    steps_per_day: int,
    run: str,
    *,
    capacity: np.ndarray,
    direction_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Like :func:`drift_vs_error`, computed from the stored series (MAE from ``fail_step`` on).

    Drift is :func:`netdrift.engine.evaluation.drift.drift_magnitude`, the MAE per direction
    :func:`netdrift.engine.evaluation.metrics.error_metrics`'s; infinite or undefined drifts are left out.

    >>> a = np.array([[2.0], [2.0], [4.0], [4.0]])
    >>> f = {"persistence": np.array([[np.nan], [2.0], [2.0], [4.0]])}
    >>> drift_vs_error_from_series(a, f, 2, 2, "r", capacity=np.array([10.0]))[["abs_drift_pct", "error_mbps"]].values.tolist()
    [[100.0, 1.0]]
    """
    actual = np.asarray(actual, dtype=np.float64)
    drift = np.abs(drift_magnitude(actual, fail_step, steps_per_day)) * 100.0
    drift[~np.isfinite(drift)] = np.nan
    out = []
    for model, fc in forecasts.items():
        mae = error_metrics(actual[fail_step:], np.asarray(fc)[fail_step:], capacity)["mae"]
        for d in range(actual.shape[1]):
            if np.isfinite(drift[d]) and np.isfinite(mae[d]):
                out.append(
                    {
                        "run": run,
                        "model": model,
                        "direction": d,
                        "direction_name": direction_names[d] if direction_names and d < len(direction_names) else str(d),
                        "abs_drift_pct": float(drift[d]),
                        "error_mbps": float(mae[d]),
                    }
                )
    return pd.DataFrame(out, columns=["run", "model", "direction", "direction_name", "abs_drift_pct", "error_mbps"])


@dataclass
class RunData:
    """What the Compare view needs of one stored run (series in Mbit/s, over steps x directions).

    ``problem`` says why ``actual`` is None (e.g. an interrupted run that stored no series).
    ``lower``/``upper`` are the models' stored interval bounds (empty for runs without them),
    ``interval`` their nominal coverage and ``warn_utilization`` the warning threshold (None
    when the run had none).
    """

    id: int
    label: str
    status: str
    first_failure: int | None
    train_steps: int
    step_minutes: float | None
    steps_per_day: int
    capacity: np.ndarray
    direction_names: list[str]
    low_load_fraction: float = MetricsConfig.low_load_fraction
    actual: np.ndarray | None = None
    forecasts: dict[str, np.ndarray] = field(default_factory=dict)
    metrics: list[MetricRow] = field(default_factory=list)
    problem: str | None = None
    lower: dict[str, np.ndarray] = field(default_factory=dict)
    upper: dict[str, np.ndarray] = field(default_factory=dict)
    interval: float | None = None
    warn_utilization: float | None = None
    scenario: str = ""  # one line for exports: topology, failures by name, models, horizon


def run_scenario_text(d: ScenarioDetail) -> str:
    """The stored run as an export names it (:func:`netdrift.dashboard.common.export.scenario_text`)."""
    forecast = d.config.get("forecast") or {}
    horizon = forecast.get("horizon") if isinstance(forecast, dict) else None
    step_minutes = d.step_minutes or d.config.get("step_minutes")
    events = [f"{e.action} {element_name(d.topology, e.target, e.kind)} at step {e.step}" for e in d.events]
    return scenario_text(d.topology.name, events, d.models, None if horizon is None else int(horizon),
                         None if step_minutes is None else float(step_minutes))


def load_run_data(history: HistoryReader, run_id: int, label: str) -> RunData:
    """Read one run of the history (through ``history``, :func:`netdrift.service.history.reading`) into a
    :class:`RunData`.

    The day length follows the run's step length (as the scenario computed it), the MAPE floor
    its metrics settings. A run without stored series (interrupted before its result was
    saved) comes back with ``actual=None`` and ``problem`` set instead of raising.
    """
    from netdrift.engine.errors import InputError

    d = history.get_scenario(run_id)
    step_minutes = d.step_minutes or d.config.get("step_minutes")
    metrics = d.config.get("metrics") or {}
    data = RunData(
        id=int(run_id),
        label=label,
        status=d.status,
        first_failure=first_failure_step(d.events),
        train_steps=int(d.train_steps or 0),
        step_minutes=None if step_minutes is None else float(step_minutes),
        steps_per_day=day_steps(step_minutes) if step_minutes else 288,
        capacity=np.asarray(d.topology.direction_capacity, dtype=np.float64),
        direction_names=direction_labels(d.topology),
        low_load_fraction=float(metrics.get("low_load_fraction", MetricsConfig.low_load_fraction)),
        interval=d.config.get("interval"),
        warn_utilization=d.config.get("warn_utilization"),
        scenario=run_scenario_text(d),
    )
    try:
        data.actual = np.asarray(history.load_series(run_id), dtype=np.float64)
        data.forecasts = {m: np.asarray(history.load_series(run_id, m), dtype=np.float64) for m in d.models}
        data.metrics = history.load_metrics(run_id)
        data.lower, data.upper = load_bounds(history, run_id, d.models)
    except InputError as err:
        data.actual, data.forecasts, data.problem = None, {}, str(err)
    return data
