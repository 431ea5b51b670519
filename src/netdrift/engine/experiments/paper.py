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

from netdrift.engine.evaluation.counterfactual import counterfactual_drift
from netdrift.engine.evaluation.metrics import MetricsConfig
from netdrift.engine.evaluation.scoring import summary_table
from netdrift.engine.evaluation.uncertainty import mean_interval
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.experiments.spec import ModelEntry, ScenarioSpec
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.network.simulation import Simulator
from netdrift.engine.network.topology import Topology
from netdrift.engine.results import ScenarioResult
from netdrift.engine.traffic.series import TrafficMatrixSeries
from netdrift.engine.traffic.sources import make_traffic
from netdrift.engine.traffic.time_grid import steps_per_day

__all__ = ["PaperConfig", "PaperRow", "paper_models", "choose_failures", "run_paper", "failure_step", "aggregate",
           "failure_counts", "is_replay"]

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class PaperConfig:
    """The experiment's knobs; defaults: 2 weeks at 5 min, 1 week of training."""

    topology: str = "geant2001"
    steps: int = 4032
    train_steps: int = 2016
    step_minutes: float = 5.0
    batch_sizes: tuple[int, ...] = (12, 48, 144)
    il_windows: tuple[int, ...] = (288,)
    il_replay: float = 0.5
    per_class: int = 2
    traffic: str = "synthetic"
    traffic_model: str = "sine"
    seeds: int = 1
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
    seed: int = 0
    rmse_day1: float | None = None
    excess_rmse_post: float | None = None
    ttc_excess_steps: int | None = None
    #: the traffic was replayed: every seed ran the same failure scenario (only the models differ)
    replayed: bool = False

    @property
    def failure(self) -> tuple:
        """The failure scenario this row is one run of: the link and drift class, and the seed too
        when the seed drew the traffic (synthetic); with replayed traffic every seed shares it."""
        return (self.drift_class, self.link) if self.replayed else (self.drift_class, self.link, self.seed)


def is_replay(traffic: str) -> bool:
    """Whether ``traffic`` names recorded traffic to replay (anything but ``synthetic``)."""
    return traffic.strip().lower() != "synthetic"


#: Baselines and ablations run next to the paper's models when the catalogue has them.
EXTRA_MODELS = ("persistence", "seasonal", "frozen", "online-ar", "gru", "liquid-stateful", "hybrid")


def paper_models(batch_sizes: tuple[int, ...], il_windows: tuple[int, ...] = (288,),
                 il_replay: float = 0.5) -> list[ModelEntry]:
    """liquid-cfc, liquid-ltc, incremental learning over the B x N sweep (as in the paper, and a
    fairer variant whose re-fits replay a share of the training period), and the baselines.

    >>> [m.label for m in paper_models((12, 48), (288,), 0.5)][:6]
    ['liquid-cfc', 'liquid-ltc', 'incremental-b12', 'incremental-b12-replay', 'incremental-b48', 'incremental-b48-replay']
    """
    from netdrift.engine.forecasting.catalogue import CATALOGUE

    models = [ModelEntry("liquid-cfc", "liquid", (("liquid_cell", "cfc"),)),
              ModelEntry("liquid-ltc", "liquid", (("liquid_cell", "ltc"),))]
    for b in batch_sizes:
        for n in il_windows:
            name = f"incremental-b{b}" + (f"-n{n}" if len(il_windows) > 1 else "")
            base = (("il_batch", b), ("il_window", n))
            models.append(ModelEntry(name, "incremental", base))
            if il_replay > 0:
                models.append(ModelEntry(f"{name}-replay", "incremental", base + (("il_replay", il_replay),)))
    models += [ModelEntry(m, m) for m in EXTRA_MODELS if m in CATALOGUE]
    return models


def failure_step(train_steps: int, steps_per_day: int, steps: int) -> int:
    """Failures strike a day after training ends: a full day of 'pre' period before them."""
    return min(train_steps + max(1, steps_per_day), steps - 1)


def choose_failures(topology: Topology, steps: int, train_steps: int, step_minutes: float, seed: int,
                    per_class: int = 2, metrics: MetricsConfig | None = None,
                    traffic: TrafficMatrixSeries | None = None) -> list[tuple[str, str, float]]:
    """Pick links whose failure causes moderate and drastic drift: [(link, class, max drift)].

    A link's drift is the largest drift over the other link directions against the counterfactual
    (the same traffic without the failure, first day after it: see
    :mod:`netdrift.engine.evaluation.counterfactual`), so the day's own change does not count. Bridges
    (whose failure drops traffic) are skipped: the paper studies re-routing, not partition.
    """
    cfg = metrics or MetricsConfig()
    spd = steps_per_day(step_minutes)
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
        drift = counterfactual_drift(after, base, at, spd)
        drift[own] = 0.0
        drift = np.where(np.isfinite(drift), drift, 0.0)
        m = float(drift.max()) if drift.size else 0.0
        if m >= cfg.drastic_threshold:
            scored.append((link.id, "drastic", m))
        elif m >= cfg.affected_threshold:
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
    """Run the family for every seed; ``on_result(link, class, result)`` is called per failure
    scenario (to store it). Per seed, the models are trained once, one fork runs on without any
    failure (the counterfactual every failure is measured against) and one fork per failure."""
    topo = load_topology(config.topology)
    models = paper_models(config.batch_sizes, config.il_windows, config.il_replay)
    rows: list[PaperRow] = []
    seeds = [config.seed + k for k in range(config.seeds)]
    replayed = is_replay(config.traffic)
    shared: tuple[TrafficMatrixSeries, list[tuple[str, str, float]]] | None = None
    for n_seed, seed in enumerate(seeds):
        share = 1.0 / len(seeds)

        def report(msg: str, f: float, n_seed: int = n_seed, seed: int = seed, share: float = share) -> None:
            if progress:
                progress(f"seed {seed}: {msg}", share * (n_seed + f))

        if shared is None:  # replayed traffic is the same for every seed: read it and choose its failures once
            traffic = make_traffic(config.traffic, topo, config.steps, config.step_minutes, seed,
                                   model=config.traffic_model)
            plan = choose_failures(topo, config.steps, config.train_steps, traffic.step_minutes, seed,
                                   config.per_class, config.metrics, traffic)
            if replayed:
                shared = (traffic, plan)
        else:
            traffic, plan = shared
        spec = ScenarioSpec(topology=config.topology, traffic=config.traffic, traffic_model=config.traffic_model,
                            steps=traffic.steps, train_steps=config.train_steps, step_minutes=traffic.step_minutes,
                            models=tuple(models), forecast=config.forecast, seed=seed, device=config.device,
                            metrics=config.metrics, interval=None, warn_utilization=None)
        base = LiveScenario(spec, topo, traffic)
        base.train(lambda msg, f: report(f"training: {msg}", 0.2 * f))
        at = failure_step(config.train_steps, base.config.steps_per_day, traffic.steps)
        base.advance(at - base.step)
        counterfactual = base.fork()
        counterfactual.advance(counterfactual.total_steps - counterfactual.step)
        without = counterfactual.snapshot()
        for i, (link, cls, drift) in enumerate(plan):
            live = base.fork()
            live.fail(link)
            span = 0.8 / max(1, len(plan))

            def step_progress(msg: str, f: float, i: int = i, link: str = link, n: int = len(plan),
                              span: float = span) -> None:
                report(f"failure {i + 1}/{n} ({link}): {msg}", 0.2 + span * (i + f))

            live.advance(live.total_steps - live.step, step_progress)
            result = live.result(counterfactual=without)
            result.config["paper"] = {"link": link, "drift_class": cls, "max_drift": drift, "seed": seed}
            if on_result:
                on_result(link, cls, result)
            table = summary_table(result.metrics)
            for m in models:
                s = table.get(m.label, {})
                ttc = s.get("ttc_steps") or [None]
                b = dict(m.overrides).get("il_batch")
                rows.append(PaperRow(link, cls, drift, m.label, b, s.get("rmse_post"), s.get("mape_post"), ttc[0],
                                     seed, s.get("rmse_day1"), s.get("excess_rmse_post"), s.get("ttc_excess_steps"),
                                     replayed))
    return rows


def failure_counts(rows: list[PaperRow], config: PaperConfig) -> dict[str, dict[str, Any]]:
    """Per drift class: the distinct failure scenarios ``asked`` (``per_class`` for each traffic:
    one traffic when replayed, one per seed when synthetic) and ``found``, and ``short`` when fewer
    were found (a topology with fewer links of that class that do not partition it)."""
    draws = 1 if is_replay(config.traffic) else config.seeds
    out: dict[str, dict[str, Any]] = {}
    for cls in ("moderate", "drastic"):
        found = len({r.failure for r in rows if r.drift_class == cls})
        asked = config.per_class * draws
        out[cls] = {"asked": asked, "found": found, "short": found < asked}
    return out


def _per_failure(rs: list[PaperRow], value: Callable[[PaperRow], float | None]) -> list[float | None]:
    """``value`` of each failure scenario of ``rs``: its mean over the seeds that ran it (the
    seeds' finite values; None when none has one), so a failure counts once however many seeds."""
    groups: dict[tuple, list[float]] = {}
    for r in rs:
        v = value(r)
        groups.setdefault(r.failure, [])
        if v is not None and np.isfinite(v):
            groups[r.failure].append(float(v))
    return [float(np.mean(v)) if v else None for v in groups.values()]


def aggregate(rows: list[PaperRow], baselines: tuple[str, ...] = ("persistence", "liquid-cfc")
              ) -> list[dict[str, Any]]:
    """Per drift class and model, over its distinct failure scenarios (:attr:`PaperRow.failure`:
    a link with synthetic traffic of one seed; a link with replayed traffic, whatever the seeds):
    each scenario's value is first averaged over the seeds that ran it, then RMSE after the failure
    and on its first day, and the excess RMSE against the counterfactual, are given as means with
    a 95 % t-interval over the scenarios; the paired difference (same failure, same seed, then
    averaged per scenario) to each of ``baselines``' post-failure RMSE with its interval and
    whether it is within noise; TTC as median over the converged runs + censored runs.
    ``failures`` counts the distinct scenarios, ``runs`` the (failure, seed) runs behind them."""
    out: list[dict[str, Any]] = []
    keys = sorted({(r.drift_class, r.model) for r in rows}, key=lambda k: (k[0] != "moderate", k[1]))
    base = {b: {(r.drift_class, r.link, r.seed): r.rmse_post for r in rows if r.model == b} for b in baselines}

    def paired(rs: list[PaperRow], b: str) -> dict[str, Any]:
        ref = base[b]

        def diff(r: PaperRow) -> float | None:
            other = ref.get((r.drift_class, r.link, r.seed))
            return None if r.rmse_post is None or other is None else r.rmse_post - other

        d = mean_interval(_per_failure(rs, diff))
        ci = d["ci"]
        return {**d, "within_noise": None if ci is None else bool(ci[0] <= 0 <= ci[1])}

    for cls, model in keys:
        rs = [r for r in rows if r.drift_class == cls and r.model == model]
        ttc = [r.ttc_steps for r in rs if r.ttc_steps is not None]
        out.append({
            "drift_class": cls, "model": model, "batch_size": rs[0].batch_size,
            "failures": len({r.failure for r in rs}), "runs": len(rs), "seeds": len({r.seed for r in rs}),
            "rmse_post_mbps": mean_interval(_per_failure(rs, lambda r: r.rmse_post)),
            "rmse_day1_mbps": mean_interval(_per_failure(rs, lambda r: r.rmse_day1)),
            "excess_rmse_post_mbps": mean_interval(_per_failure(rs, lambda r: r.excess_rmse_post)),
            "mape_post_pct": mean_interval(_per_failure(rs, lambda r: r.mape_post))["mean"],
            **{f"rmse_post_vs_{b}": paired(rs, b) for b in baselines},
            "ttc_median_steps": float(np.median(ttc)) if ttc else None,
            "ttc_censored": len(rs) - len(ttc),
        })
    return out
