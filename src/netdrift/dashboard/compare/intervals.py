"""Stored prediction intervals and overload warnings -> tidy DataFrames for the Compare view.

Pure functions (no Streamlit) beside :mod:`netdrift.dashboard.compare.data`: the rolling coverage of each
model's stored H-step-ahead interval around the first failure, and the table of the interval and
warning scores each run stored (:mod:`netdrift.engine.evaluation.interval_scores` defines them). Runs
stored before intervals existed have no bounds and no such rows; they give empty frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from netdrift.engine.results import MetricRow

if TYPE_CHECKING:
    from netdrift.service.history import HistoryReader

__all__ = [
    "COVERAGE_COLUMNS",
    "INTERVAL_COLUMNS",
    "INTERVAL_HEADERS",
    "load_bounds",
    "aligned_coverage",
    "interval_table",
]

COVERAGE_COLUMNS = ["run", "model", "step", "step_rel", "rolling_coverage_pct", "nominal_pct"]
INTERVAL_COLUMNS = [
    "run", "model", "nominal_pct", "coverage_pre_pct", "coverage_post_pct", "coverage_day1_pct",
    "coverage_day1_informed_pct", "width_post_mbps", "winkler_post_mbps", "warn_precision_pct", "warn_recall_pct", "warn_recall_3_pct",
    "warn_lead_median_steps", "warn_raised", "warn_crossings",
]

#: Column of :func:`interval_table` -> (its header on the screen, its number format).
INTERVAL_HEADERS: dict[str, tuple[str, str]] = {
    "nominal_pct": ("Nominal (%)", "%.0f"),
    "coverage_pre_pct": ("Coverage pre (%)", "%.1f"),
    "coverage_post_pct": ("Coverage post (%)", "%.1f"),
    "coverage_day1_pct": ("Coverage day 1 (%)", "%.1f"),
    "coverage_day1_informed_pct": ("Coverage day 1, forecasts made since the failure (%)", "%.1f"),
    "width_post_mbps": ("Width post (Mbit/s)", "%.2f"),
    "winkler_post_mbps": ("Winkler post (Mbit/s)", "%.2f"),
    "warn_precision_pct": ("Warning precision (%)", "%.1f"),
    "warn_recall_pct": ("Warning recall (%)", "%.1f"),
    "warn_recall_3_pct": ("Recall, lead >= 3 steps (%)", "%.1f"),
    "warn_lead_median_steps": ("Median lead (steps)", "%.1f"),
    "warn_raised": ("Warnings raised", "%d"),
    "warn_crossings": ("Threshold crossings", "%d"),
}

#: (period, stored metric) -> column of :func:`interval_table`, and the factor to its unit.
_CELLS: dict[tuple[str, str], tuple[str, float]] = {
    ("pre", "coverage"): ("coverage_pre_pct", 1.0),
    ("post", "coverage"): ("coverage_post_pct", 1.0),
    ("day1", "coverage"): ("coverage_day1_pct", 1.0),
    ("day1_informed", "coverage"): ("coverage_day1_informed_pct", 1.0),
    ("post", "width"): ("width_post_mbps", 1.0),
    ("post", "winkler"): ("winkler_post_mbps", 1.0),
    ("run", "warn_precision"): ("warn_precision_pct", 100.0),
    ("run", "warn_recall"): ("warn_recall_pct", 100.0),
    ("run", "warn_recall_3"): ("warn_recall_3_pct", 100.0),
    ("run", "warn_lead_steps_median"): ("warn_lead_median_steps", 1.0),
    ("run", "warn_raised"): ("warn_raised", 1.0),
    ("run", "warn_crossings"): ("warn_crossings", 1.0),
}


def load_bounds(history: HistoryReader, run_id: int,
                models: Iterable[str]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """({model: lower}, {model: upper}) stored for a run, (T, D) Mbit/s as float64; a model
    without stored bounds (a run from before intervals, or run without them) is left out."""
    from netdrift.engine.errors import InputError

    lower, upper = {}, {}
    for m in models:
        try:
            lo = np.asarray(history.load_series(run_id, m, kind="lower"), dtype=np.float64)
            up = np.asarray(history.load_series(run_id, m, kind="upper"), dtype=np.float64)
        except InputError:
            continue
        lower[m], upper[m] = lo, up
    return lower, upper


def aligned_coverage(
    actual: np.ndarray,
    lower: Mapping[str, np.ndarray],
    upper: Mapping[str, np.ndarray],
    align_step: int,
    run: str,
    *,
    nominal: float | None = None,
    window: int = 12,
    before: int | None = None,
    after: int | None = None,
    max_points: int = 1500,
) -> pd.DataFrame:
    """Rolling coverage (%) of each model's stored interval, with step 0 at ``align_step``.

    A point is covered when ``lower <= actual <= upper``; per step the covered points and the
    valid ones (actual and both bounds known) are counted over all link directions, and the
    coverage of a step is covered / valid summed over the trailing ``window`` steps (steps with
    no valid point add nothing; NaN until one has). ``nominal`` (a fraction) is the run's
    coverage level, repeated as ``nominal_pct``. ``before``/``after`` and ``max_points`` bound
    and thin the steps as :func:`netdrift.dashboard.compare.data.aligned_errors` does.

    Returns columns :data:`COVERAGE_COLUMNS`.

    >>> a = np.array([[5.0, 5.0], [5.0, 5.0], [5.0, 9.0]])
    >>> lo, up = {"m": np.array([[np.nan, np.nan], [4.0, 4.0], [4.0, 4.0]])}, {"m": np.full((3, 2), 6.0)}
    >>> aligned_coverage(a, lo, up, 1, "r", window=2)["rolling_coverage_pct"].tolist()   # 2/2, (2+1)/(2+2)
    [100.0, 75.0]
    """
    from netdrift.dashboard.compare.data import aligned_span  # compare_data imports this module

    actual = np.asarray(actual, dtype=np.float64)
    lo_step, hi_step, stride = aligned_span(actual, align_step, before, after, max_points)
    w = max(1, int(window))
    frames = []
    for model, low in lower.items():
        if model not in upper:
            continue
        low = np.asarray(low, dtype=np.float64)
        high = np.asarray(upper[model], dtype=np.float64)
        valid = np.isfinite(actual) & np.isfinite(low) & np.isfinite(high)
        covered = valid & (actual >= low) & (actual <= high)
        n_valid = pd.Series(valid.sum(axis=1)).rolling(w, min_periods=1).sum().to_numpy()
        n_covered = pd.Series(covered.sum(axis=1)).rolling(w, min_periods=1).sum().to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = np.where(n_valid > 0, 100.0 * n_covered / n_valid, np.nan)
        steps = np.arange(lo_step, hi_step, stride)
        keep = steps[np.isfinite(pct[steps])]
        frames.append(pd.DataFrame({
            "run": run,
            "model": model,
            "step": keep,
            "step_rel": (keep - align_step).astype(np.float64),
            "rolling_coverage_pct": pct[keep],
            "nominal_pct": np.nan if nominal is None else 100.0 * float(nominal),
        }))
    if not frames:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[COVERAGE_COLUMNS]


def interval_table(metrics: Iterable[MetricRow], run: str, nominal: float | None = None,
                   models: Sequence[str] | None = None) -> pd.DataFrame:
    """The interval and warning scores of one run: one row per model that stored any.

    Coverage before the failure, after it and on its first day (%), mean width and Winkler
    interval score after it (Mbit/s), and the overload warnings' precision, recall and recall
    with a lead of at least 3 steps (%), median lead (steps), warnings raised and threshold
    crossings. Columns :data:`INTERVAL_COLUMNS`; a score the run did not store is NaN. Rows
    follow ``models`` when given, else the order the rows were stored in.

    >>> rows = [MetricRow("liquid", "post", "coverage", 88.0), MetricRow("liquid", "run", "warn_recall", 0.5),
    ...         MetricRow("liquid", "post", "rmse", 3.0)]
    >>> interval_table(rows, "r", 0.9)[["nominal_pct", "coverage_post_pct", "warn_recall_pct"]].values.tolist()
    [[90.0, 88.0, 50.0]]
    """
    table: dict[str, dict[str, object]] = {}
    for r in metrics:
        cell = _CELLS.get((r.period, r.metric))
        if cell is None or r.direction is not None:
            continue
        row = table.setdefault(r.model, {"run": run, "model": r.model,
                                         "nominal_pct": np.nan if nominal is None else 100.0 * float(nominal)})
        column, factor = cell
        row[column] = np.nan if r.value is None else float(r.value) * factor
    order = [m for m in models if m in table] if models is not None else list(table)
    df = pd.DataFrame([table[m] for m in order], columns=INTERVAL_COLUMNS)
    for c in INTERVAL_COLUMNS[2:]:
        df[c] = df[c].astype(np.float64)
    return df
