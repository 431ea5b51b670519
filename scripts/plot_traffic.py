"""Plots of the synthetic traffic models beside the published figures (docs/traffic.md).

Writes, for ``backbone`` and ``sine`` (same topology, seed, length and scale):

- ``docs/img/<model>_acf.png``: the autocorrelation of one pair's demand (lags up to 8 days: the
  daily and weekly cycles) and, on log-log axes, the mean over pairs of the autocorrelation of
  their deseasonalised log-demand (the time-of-week mean over the weeks removed) beside fGn's ``rho(k) ~ H(2H-1) k^(2H-2)`` for H = 0.8:
  long-range dependence is a slow power-law decay, short-range noise drops to zero within lags;
- ``docs/img/<model>_marginals.png``: the distribution of log(demand / the pair's mean) over all
  pairs, and of the 5-minute log-returns against a Gaussian of the same standard deviation (log
  counts, so the tails show).

and prints JSON: per model the Hurst exponent (aggregated variance, bias-corrected:
:func:`netdrift.engine.traffic.lrd.hurst_aggregated_variance`) of each pair's deseasonalised
log-demand (median and range over pairs), the excess kurtosis of the log-returns, the weekend /
weekday ratio and the weekday peak / trough ratio of the total, and the missing rows.

Usage: .venv/bin/python scripts/plot_traffic.py [--topology abilene] [--weeks 8] [--seed 0]
       [--out docs/img] [--no-png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from netdrift.engine.network.loaders import load_topology
from netdrift.engine.traffic.lrd import fgn_autocovariance, hurst_aggregated_variance
from netdrift.engine.traffic.sources import make_traffic

STEP_MINUTES = 5.0
MODEL_COLOUR, REFERENCE_COLOUR = "#4c78a8", "#f58518"
DAY = int(24 * 60 / STEP_MINUTES)
WEEK = 7 * DAY


def acf(x: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Sample autocorrelation at ``lags`` (NaN samples left out of each product)."""
    x = np.asarray(x, np.float64)
    x = x - np.nanmean(x)
    var = np.nanmean(x * x)
    return np.array([np.nanmean(x[: len(x) - k] * x[k:]) / var for k in lags])


def deseasonalised_log(series: np.ndarray) -> np.ndarray:
    """log(series) minus its time-of-week mean over the weeks (whole weeks only)."""
    weeks = len(series) // WEEK
    by_week = np.log(series[: weeks * WEEK].astype(np.float64)).reshape(weeks, WEEK)
    return (by_week - np.nanmean(by_week, axis=0)).ravel()


def excess_kurtosis(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    d = x - x.mean()
    return float(np.mean(d ** 4) / np.mean(d ** 2) ** 2 - 3.0)


def summary(demands: np.ndarray, missing: np.ndarray) -> dict[str, Any]:
    """The figures docs/traffic.md quotes, measured on the generated series."""
    hurst = [hurst_aggregated_variance(deseasonalised_log(demands[:, p])) for p in range(demands.shape[1])]
    log_ret = np.diff(np.log(demands.astype(np.float64)), axis=0)
    kurt = [excess_kurtosis(log_ret[:, p]) for p in range(demands.shape[1])]
    total = np.nansum(demands, axis=1)
    total[missing] = np.nan
    weekday = (np.arange(len(total)) // DAY) % 7
    days = total[: len(total) // DAY * DAY].reshape(-1, DAY)
    profile = np.nanmean(days[(np.arange(len(days)) % 7) < 5], axis=0)
    return {
        "hurst_deseasonalised_median": round(float(np.median(hurst)), 3),
        "hurst_deseasonalised_range": [round(float(min(hurst)), 3), round(float(max(hurst)), 3)],
        "log_return_excess_kurtosis_median": round(float(np.median(kurt)), 2),
        "weekend_over_weekday_total": round(float(np.nanmean(total[weekday >= 5]) / np.nanmean(total[weekday < 5])), 3),
        "weekday_peak_over_trough_total": round(float(profile.max() / profile.min()), 2),
        "weekday_peak_hour_utc": round(float(np.argmax(profile)) * STEP_MINUTES / 60.0, 2),
        "missing_rows_pct": round(100.0 * float(missing.mean()), 2),
    }


def _colours(model_series: str, reference: str) -> alt.Color:
    """The model in blue and the published reference in orange, in every chart."""
    return alt.Color("series:N", legend=alt.Legend(orient="bottom", title=None),
                     scale=alt.Scale(domain=[model_series, reference], range=[MODEL_COLOUR, REFERENCE_COLOUR]))


def acf_chart(demands: np.ndarray, pair: int, model: str) -> alt.HConcatChart:
    x = demands[:, pair]
    lags = np.arange(1, 8 * DAY + 1, 3)
    cycles = pd.DataFrame({"lag (days)": lags / DAY, "autocorrelation": acf(x, lags)})
    left = alt.Chart(cycles).mark_line().encode(
        x=alt.X("lag (days):Q", scale=alt.Scale(domain=[0, 8])),
        y=alt.Y("autocorrelation:Q", scale=alt.Scale(domain=[-1, 1])),
    ).properties(title=f"{model}: ACF of one pair's demand (Mbit/s)", width=360, height=240)
    log_lags = np.unique(np.round(np.geomspace(1, 2 * DAY, 40)).astype(int))
    r = np.mean([acf(deseasonalised_log(demands[:, q]), log_lags) for q in range(demands.shape[1])], axis=0)
    ok = r > 0
    rows = [{"lag (5-min steps)": int(k), "autocorrelation": float(v), "series": f"{model} (deseasonalised log)"}
            for k, v in zip(log_lags[ok], r[ok])]
    gamma = fgn_autocovariance(log_lags, 0.8)
    reference = "fGn, H = 0.8 (Leland et al. 1994)"
    rows += [{"lag (5-min steps)": int(k), "autocorrelation": float(v), "series": reference}
             for k, v in zip(log_lags, gamma)]
    right = alt.Chart(pd.DataFrame(rows)).mark_line(point=True).encode(
        x=alt.X("lag (5-min steps):Q", scale=alt.Scale(type="log")),
        y=alt.Y("autocorrelation:Q", scale=alt.Scale(type="log", domain=[0.001, 1]), title="autocorrelation (log)"),
        color=_colours(f"{model} (deseasonalised log)", reference),
    ).properties(title=f"{model}: ACF without the weekly cycle, mean over pairs", width=360, height=240)
    return alt.hconcat(left, right).resolve_scale(color="independent")


def marginals_chart(demands: np.ndarray, model: str) -> alt.HConcatChart:
    d = demands.astype(np.float64)
    rel = np.log(d / np.nanmean(d, axis=0))
    rel = rel[np.isfinite(rel)]
    edges = np.linspace(-3, 2, 81)
    counts, _ = np.histogram(rel, edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    mu, sd = float(rel.mean()), float(rel.std())
    fit = (edges[1] - edges[0]) * np.exp(-0.5 * ((mid - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
    bars = alt.Chart(pd.DataFrame({"log(demand / pair mean)": mid, "share of samples": counts / max(counts.sum(), 1)})
                     ).mark_bar(color=MODEL_COLOUR).encode(x="log(demand / pair mean):Q", y="share of samples:Q")
    lognormal = alt.Chart(pd.DataFrame({"log(demand / pair mean)": mid, "share of samples": fit,
                                        "series": "lognormal fit"})).mark_line().encode(
        x="log(demand / pair mean):Q", y="share of samples:Q", color=_colours(model, "lognormal fit"))
    left = (bars + lognormal).properties(title=f"{model}: marginal of the demand, all pairs", width=360, height=240)
    ret = np.diff(np.log(d), axis=0)
    ret = ret[np.isfinite(ret)]
    sd = float(ret.std())
    edges = np.linspace(-1.5, 1.5, 81)
    counts, _ = np.histogram(ret, edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    width = edges[1] - edges[0]
    gauss = len(ret) * width * np.exp(-0.5 * (mid / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
    frame = pd.concat([
        pd.DataFrame({"5-min log-return": mid, "count": counts.astype(float), "series": model}),
        pd.DataFrame({"5-min log-return": mid, "count": gauss, "series": "Gaussian, same sd"}),
    ])
    frame = frame[frame["count"] >= 1]
    right = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("5-min log-return:Q", scale=alt.Scale(domain=[-1.5, 1.5])),
        y=alt.Y("count:Q", scale=alt.Scale(type="log", domain=[1, 1e6]), title="count (log)"),
        color=_colours(model, "Gaussian, same sd"),
    ).properties(title=f"{model}: 5-min log-returns against a Gaussian", width=360, height=240)
    return alt.hconcat(left, right).resolve_scale(color="independent")


def save_png(chart: alt.TopLevelMixin, path: Path) -> None:
    """The chart as PNG (vl-convert); reduced to a 64-colour palette when Pillow is there (a few
    times smaller, same look), so the committed images stay small."""
    chart.save(str(path), scale_factor=1.0)
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=64)
    small.save(path, optimize=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topology", default="abilene")
    ap.add_argument("--weeks", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pair", type=int, default=None, help="pair plotted (default: the busiest)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "img"))
    ap.add_argument("--no-png", action="store_true", help="print the JSON only")
    args = ap.parse_args()
    topo = load_topology(args.topology)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"topology": topo.name, "steps": args.weeks * WEEK, "step_minutes": STEP_MINUTES,
                              "seed": args.seed}
    for model in ("backbone", "sine"):
        tm = make_traffic("synthetic", topo, args.weeks * WEEK, STEP_MINUTES, args.seed, model=model)
        demands = tm.demands
        pair = args.pair if args.pair is not None else int(np.nanargmax(np.nanmean(demands, axis=0)))
        report[model] = {**summary(demands, tm.missing), "pair_plotted": f"{tm.node_ids[tm.src[pair]]}->"
                                                                          f"{tm.node_ids[tm.dst[pair]]}"}
        if not args.no_png:
            save_png(acf_chart(demands, pair, model), out_dir / f"{model}_acf.png")
            save_png(marginals_chart(demands, model), out_dir / f"{model}_marginals.png")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
