"""The paper's experiment family (arXiv 2404.05304) on the Geant2001 preset.

Several single-link failures, chosen by the drift they cause (moderate to drastic), each run
with the liquid network (CfC and LTC) against incremental learning at several batch sizes,
plus the baselines. The models are trained once on the shared normal period and forked for
each failure, so every failure scenario starts from the same fitted models.

Examples
--------
>>> plan = choose_failures(load_topology("abilene"), steps=72, train_steps=48,
...                        step_minutes=60, seed=0, per_class=1)
>>> all(c in ("moderate", "drastic") for _, c, _ in plan)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from engine.events import FailureEvent
from engine.forecasting.settings import ForecastSettings
from engine.loaders import load_topology
from engine.evaluation.drift import drift_magnitude
from engine.evaluation.metrics import MetricsConfig
from engine.evaluation.scoring import summary_table
from engine.results import ScenarioResult
from engine.experiments.scenario import LiveScenario
from engine.experiments.spec import ModelEntry
from engine.simulation import Simulator
from engine.topology import Topology
from engine.traffic_sources import make_traffic

__all__ = ["PaperConfig", "PaperRow", "paper_models", "choose_failures", "run_paper", "failure_step"]

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class PaperConfig:
    """The experiment's knobs; defaults: 2 weeks at 5 min, 1 week of training."""

    topology: str = "geant2001"
    steps: int = 4032
    train_steps: int = 2016
    step_minutes: float = 5.0
    batch_sizes: tuple[int, ...] = (12, 48, 144)
    per_class: int = 2
    seed: int = 0
    device: str = "cpu"
    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)


@dataclass(frozen=True)
class PaperRow:
    """One line of the paper table: a model on one failure."""

    link: str
    drift_class: str
    max_drift: float
    model: str
    batch_size: int | None
    rmse_post: float | None
    mape_post: float | None
    ttc_steps: int | None


def paper_models(batch_sizes: tuple[int, ...]) -> list[ModelEntry]:
    """liquid-cfc, liquid-ltc, incremental-b{B} for each B, and the three baselines."""
    models = [ModelEntry("liquid-cfc", "liquid", (("liquid_cell", "cfc"),)),
              ModelEntry("liquid-ltc", "liquid", (("liquid_cell", "ltc"),))]
    models += [ModelEntry(f"incremental-b{b}", "incremental", (("il_batch", b),)) for b in batch_sizes]
    models += [ModelEntry(m, m) for m in ("persistence", "seasonal", "frozen")]
    return models


def failure_step(train_steps: int, steps_per_day: int, steps: int) -> int:
    """Failures strike half a day after training ends (a clean 'pre' period before them)."""
    return min(train_steps + max(1, steps_per_day // 2), steps - 1)


def choose_failures(topology: Topology, steps: int, train_steps: int, step_minutes: float, seed: int,
                    per_class: int = 2, metrics: MetricsConfig | None = None,
                    traffic=None) -> list[tuple[str, str, float]]:
    """Pick links whose failure causes moderate and drastic drift: [(link, class, max |drift|)].

    A link's drift is the largest |relative change of mean load| over the surviving link
    directions between the day before and the day after its failure. Bridges (whose failure
    drops traffic) are skipped: the paper studies re-routing, not partition.
    """
    cfg = metrics or MetricsConfig()
    spd = max(1, int(round(24 * 60 / step_minutes)))
    if traffic is None:
        traffic = make_traffic("synthetic", topology, steps, step_minutes, seed)
    at = failure_step(train_steps, spd, steps)
    sim = Simulator(topology, traffic)
    base = sim.loads.loads
    scored: list[tuple[str, str, float]] = []
    for link in topology.links:
        ev = FailureEvent(at, "fail", link.id, "link")
        sim.add_event(ev)
        loads = sim.loads
        dropped = float(np.nansum(loads.dropped_mbps[at:]))
        after = loads.loads.copy()
        sim.remove_event(ev)
        if dropped > 0:
            continue
        own = [2 * topology.link_index[link.id], 2 * topology.link_index[link.id] + 1]
        series = np.concatenate([base[:at], after[at:]])
        drift = drift_magnitude(series, at, spd)
        drift[own] = 0.0
        drift = np.where(np.isfinite(drift), np.abs(drift), 0.0)
        m = float(drift.max()) if drift.size else 0.0
        if m > cfg.drastic_threshold:
            scored.append((link.id, "drastic", m))
        elif m > cfg.affected_threshold:
            scored.append((link.id, "moderate", m))
    plan: list[tuple[str, str, float]] = []
    for cls in ("moderate", "drastic"):
        group = sorted((s for s in scored if s[1] == cls), key=lambda s: (s[2], s[0]))
        if not group:
            continue
        picks = np.unique(np.linspace(0, len(group) - 1, min(per_class, len(group))).round().astype(int))
        plan += [group[i] for i in picks]
    return plan


def run_paper(config: PaperConfig, progress: Progress | None = None,
              on_result: Callable[[str, str, ScenarioResult], None] | None = None) -> list[PaperRow]:
    """Run the family; ``on_result(link, class, result)`` is called per failure (to store it)."""
    topo = load_topology(config.topology)
    traffic = make_traffic("synthetic", topo, config.steps, config.step_minutes, config.seed)
    plan = choose_failures(topo, config.steps, config.train_steps, config.step_minutes, config.seed,
                           config.per_class, config.metrics, traffic)
    models = paper_models(config.batch_sizes)
    base = LiveScenario(topo, traffic, models, config.forecast, config.train_steps, config.seed,
                        config.device, metrics_config=config.metrics)
    base.train(lambda msg, f: progress and progress(f"training: {msg}", 0.2 * f))
    at = failure_step(config.train_steps, base.config.steps_per_day, config.steps)
    rows: list[PaperRow] = []
    for i, (link, cls, drift) in enumerate(plan):
        live = base.fork()
        live.advance(at - live.step)
        live.fail(link)
        span = 0.8 / max(1, len(plan))

        def step_progress(msg: str, f: float, i: int = i, link: str = link) -> None:
            if progress:
                progress(f"failure {i + 1}/{len(plan)} ({link}): {msg}", 0.2 + span * (i + f))

        live.advance(live.total_steps - live.step, step_progress)
        result = live.result()
        result.config["paper"] = {"link": link, "drift_class": cls, "max_drift": drift}
        if on_result:
            on_result(link, cls, result)
        table = summary_table(result.metrics)
        for m in models:
            s = table.get(m.label, {})
            ttc = s.get("ttc_steps") or [None]
            b = dict(m.overrides).get("il_batch")
            rows.append(PaperRow(link, cls, drift, m.label, b, s.get("rmse_post"), s.get("mape_post"), ttc[0]))
    return rows


def aggregate(rows: list[PaperRow]) -> list[dict[str, Any]]:
    """Mean RMSE/MAPE per model and drift class; TTC as median over converged runs + censored count."""
    out: list[dict[str, Any]] = []
    keys = sorted({(r.drift_class, r.model) for r in rows}, key=lambda k: (k[0] != "moderate", k[1]))
    for cls, model in keys:
        rs = [r for r in rows if r.drift_class == cls and r.model == model]
        rmse = [r.rmse_post for r in rs if r.rmse_post is not None]
        mape = [r.mape_post for r in rs if r.mape_post is not None]
        ttc = [r.ttc_steps for r in rs if r.ttc_steps is not None]
        out.append({
            "drift_class": cls, "model": model, "batch_size": rs[0].batch_size, "failures": len(rs),
            "rmse_post_mbps": float(np.mean(rmse)) if rmse else None,
            "mape_post_pct": float(np.mean(mape)) if mape else None,
            "ttc_median_steps": float(np.median(ttc)) if ttc else None,
            "ttc_censored": len(rs) - len(ttc),
        })
    return out
