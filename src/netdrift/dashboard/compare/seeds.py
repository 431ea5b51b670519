"""Repeats of one scenario over seeds -> means with 95 % intervals (pure functions, no Streamlit).

``netdrift run --seeds K`` stores K scenarios that differ only in their seed. Among the runs
picked in the Compare view, :func:`seed_groups` finds such repeats (same topology, failure events,
models, steps and training steps); for each group :func:`model_means` gives each model's mean
RMSE after the failure and on its first day with a 95 % Student-t interval over the runs, and
:func:`vs_baseline` each model's paired difference to persistence (per run: the model's RMSE
minus persistence's), with a verdict: "within noise" where the interval spans zero, else
"better" or "worse". Both read the stored aggregate metric rows (``direction`` None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable, Iterable, Sequence

import numpy as np
import pandas as pd

from netdrift.engine.evaluation.uncertainty import mean_interval
from netdrift.engine.results import MetricRow

__all__ = [
    "PERIODS",
    "MEANS_COLUMNS",
    "DIFF_COLUMNS",
    "WITHIN_NOISE",
    "SeedRun",
    "scenario_key",
    "seed_groups",
    "group_title",
    "model_means",
    "vs_baseline",
    "verdict",
]

#: Stored metric period -> how it is named on the screen.
PERIODS: dict[str, str] = {"post": "after the failure", "day1": "first day"}
MEANS_COLUMNS = ["group", "model", "period", "rmse_mean_mbps", "ci_low_mbps", "ci_high_mbps", "runs"]
DIFF_COLUMNS = ["group", "model", "period", "diff_mean_mbps", "ci_low_mbps", "ci_high_mbps", "runs", "verdict"]
WITHIN_NOISE = "within noise"


@dataclass
class SeedRun:
    """One stored run as the seed grouping needs it: its scenario key and aggregate metric rows."""

    id: int
    label: str
    key: Hashable | None
    seed: int | None = None
    metrics: list[MetricRow] = field(default_factory=list)


def scenario_key(detail: Any) -> tuple | None:
    """What repeats over seeds share: topology name, failure events (step, action, target),
    models, steps and training steps of a :class:`netdrift.service.history.ScenarioDetail`; None
    when its stored config does not say its steps and training steps (it then joins no group).

    >>> from types import SimpleNamespace as N
    >>> from netdrift.engine.network.events import FailureEvent
    >>> d = N(topology=N(name="Abilene"), events=[FailureEvent(70, "fail", "0-1")], models=["persistence"],
    ...       config={"steps": 96, "train_steps": 60, "seed": 3}, train_steps=60)
    >>> scenario_key(d)
    ('Abilene', ((70, 'fail', '0-1'),), ('persistence',), 96, 60)
    """
    config = detail.config or {}
    topology = getattr(detail.topology, "name", detail.topology)
    events = tuple(sorted((int(e.step), str(e.action), str(e.target)) for e in detail.events))
    steps, train = config.get("steps"), config.get("train_steps")
    if steps is None or train is None:
        return None
    return (str(topology), events, tuple(detail.models), int(steps), int(train))


def seed_groups(runs: Iterable[SeedRun]) -> list[list[SeedRun]]:
    """The runs that share a :func:`scenario_key`, in groups of two or more (in the order of
    each group's first run). A run without a key joins no group; a run picked twice counts
    once, and so does a seed: a second run with a seed already in its group (a rerun, not a
    new sample) is left out.

    >>> runs = [SeedRun(1, "a", "x", 0), SeedRun(2, "b", "y", 0), SeedRun(3, "c", "x", 1), SeedRun(4, "d", "x", 1),
    ...         SeedRun(5, "e", None, 2), SeedRun(6, "f", None, 3)]
    >>> [[r.id for r in grp] for grp in seed_groups(runs)]
    [[1, 3]]
    """
    groups: dict[Hashable, list[SeedRun]] = {}
    seen: set[int] = set()
    seeds: dict[Hashable, set[int | None]] = {}
    for run in runs:
        if run.id in seen or run.key is None:
            continue
        seen.add(run.id)
        if run.seed is not None and run.seed in seeds.setdefault(run.key, set()):
            continue
        seeds[run.key].add(run.seed)
        groups.setdefault(run.key, []).append(run)
    return [g for g in groups.values() if len(g) >= 2]


def group_title(group: Sequence[SeedRun]) -> str:
    """Short name of a group, e.g. ``'Abilene, fail 0-1@70: runs #1, #2'``.

    >>> group_title([SeedRun(1, "a", ("Abilene", ((70, "fail", "0-1"),), (), 96, 60)), SeedRun(2, "b", None)])
    'Abilene, fail 0-1@70: runs #1, #2'
    """
    key = group[0].key
    head = ""
    if isinstance(key, tuple) and len(key) >= 2:
        events = ", ".join(f"{a} {t}@{s}" for s, a, t in key[1]) or "no failure"
        head = f"{key[0]}, {events}: "
    return head + "runs " + ", ".join(f"#{r.id}" for r in group)


def _rmse(metrics: Iterable[MetricRow]) -> dict[tuple[str, str], float | None]:
    """(model, period) -> the stored aggregate RMSE (None when censored or not finite)."""
    out: dict[tuple[str, str], float | None] = {}
    for r in metrics:
        if r.metric == "rmse" and r.direction is None and r.period in PERIODS:
            v = None if r.value is None or not np.isfinite(r.value) else float(r.value)
            out[(r.model, r.period)] = v
    return out


def _models(group: Sequence[SeedRun], tables: Sequence[dict[tuple[str, str], float | None]]) -> list[str]:
    key = group[0].key
    if isinstance(key, tuple) and len(key) >= 3 and key[2]:
        return list(key[2])
    seen: list[str] = []
    for t in tables:
        for m, _ in t:
            if m not in seen:
                seen.append(m)
    return seen


def _interval(values: Sequence[float | None]) -> tuple[float, float, float, int]:
    r: dict[str, Any] = mean_interval(values)
    mean = np.nan if r["mean"] is None else float(r["mean"])
    lo, hi = (np.nan, np.nan) if r["ci"] is None else (float(r["ci"][0]), float(r["ci"][1]))
    return mean, lo, hi, int(r["n"])


def model_means(group: Sequence[SeedRun], name: str | None = None) -> pd.DataFrame:
    """Each model's mean RMSE (Mbit/s) over the group's runs after the failure and on its first
    day, with the 95 % Student-t interval of the mean (NaN bounds with fewer than 2 values), its
    lower bound clipped at 0 (an RMSE is never negative).

    Columns :data:`MEANS_COLUMNS`; ``group`` is ``name`` (default :func:`group_title`).

    >>> rows = lambda p, f: [MetricRow("persistence", "post", "rmse", p), MetricRow("frozen", "post", "rmse", f)]
    >>> g = [SeedRun(1, "a", "k", metrics=rows(4.0, 3.0)), SeedRun(2, "b", "k", metrics=rows(6.0, 3.0))]
    >>> model_means(g, "g")[["model", "rmse_mean_mbps", "runs"]].values.tolist()
    [['persistence', 5.0, 2], ['frozen', 3.0, 2]]
    """
    name = group_title(group) if name is None else name
    tables = [_rmse(r.metrics) for r in group]
    rows = []
    for period in PERIODS:
        for model in _models(group, tables):
            values = [t.get((model, period)) for t in tables]
            if all(v is None for v in values):
                continue
            mean, lo, hi, n = _interval(values)
            lo = max(0.0, lo) if np.isfinite(lo) else lo  # an RMSE is never negative: the whisker stops at 0
            rows.append({"group": name, "model": model, "period": period, "rmse_mean_mbps": mean,
                         "ci_low_mbps": lo, "ci_high_mbps": hi, "runs": n})
    return pd.DataFrame(rows, columns=MEANS_COLUMNS)


def verdict(lo: float, hi: float) -> str:
    """"within noise" where ``[lo, hi]`` spans zero, "better" below it, "worse" above it; "too few
    runs" without an interval (a difference of RMSE: negative is better).

    >>> verdict(-1.0, 2.0), verdict(-3.0, -1.0), verdict(0.5, 2.0), verdict(float("nan"), float("nan"))
    ('within noise', 'better', 'worse', 'too few runs')
    """
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "too few runs"
    if lo <= 0.0 <= hi:
        return WITHIN_NOISE
    return "better" if hi < 0.0 else "worse"


def vs_baseline(group: Sequence[SeedRun], baseline: str = "persistence", name: str | None = None) -> pd.DataFrame:
    """Each model's paired RMSE difference to ``baseline`` (Mbit/s) over the group's runs.

    Per run and period, the model's stored RMSE minus the baseline's (a run lacking either is
    left out); the mean and 95 % Student-t interval over the runs, and :func:`verdict`. Empty
    (columns :data:`DIFF_COLUMNS`) when the runs have no ``baseline``.

    >>> rows = lambda p, f: [MetricRow("persistence", "post", "rmse", p), MetricRow("frozen", "post", "rmse", f)]
    >>> g = [SeedRun(1, "a", "k", metrics=rows(4.0, 3.0)), SeedRun(2, "b", "k", metrics=rows(6.0, 3.0))]
    >>> vs_baseline(g, name="g")[["model", "diff_mean_mbps", "verdict"]].values.tolist()
    [['frozen', -2.0, 'within noise']]
    """
    name = group_title(group) if name is None else name
    tables = [_rmse(r.metrics) for r in group]
    rows = []
    for period in PERIODS:
        for model in _models(group, tables):
            if model == baseline:
                continue
            diffs = []
            for t in tables:
                m, b = t.get((model, period)), t.get((baseline, period))
                if m is not None and b is not None:
                    diffs.append(m - b)
            if not diffs:
                continue
            mean, lo, hi, n = _interval(diffs)
            rows.append({"group": name, "model": model, "period": period, "diff_mean_mbps": mean,
                         "ci_low_mbps": lo, "ci_high_mbps": hi, "runs": n, "verdict": verdict(lo, hi)})
    return pd.DataFrame(rows, columns=DIFF_COLUMNS)
